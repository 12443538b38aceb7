"""What the self-checking HTML sheet carries: the problem, never its answers.

The page works the key out itself from the given matrices (exact fractions in JavaScript,
templates/grading.js), so it embeds the step table and the givens and nothing a learner could
read the answers from. The same object is what the shared grading test vectors hold.
"""

from __future__ import annotations

import hashlib
import json
import math
import re

from . import steps
from .errors import OptionError
from .problem import Problem

# The grader refuses 3^x beyond this |x|; the page must refuse the same (grading.EXP_LIMIT).
EXP_LIMIT = 60


def step_json(step: steps.Step) -> dict:
    """One row of the step table, as the page's grader reads it."""
    return {
        "name": step.name,
        "role": step.role,
        "kind": step.kind,
        "inputs": list(step.inputs),
        "rows": step.rows,
        "cols": step.cols,
        "axis": step.axis,
        "mask": step.mask,
        "head": step.head,
        "title": step.title,
        "formula": step.formula,
        "partner": step.partner,
    } | ({"start": step.start} if step.start else {})


def page_data(problem: Problem) -> dict:
    """The problem as the page needs it: its ID, rules, step table and given matrices."""
    spec = problem.spec
    ex = problem.exercise
    out = {
        "id": problem.id,
        "convention": ex.convention,
        "causal": ex.causal,
        "heads": ex.heads,
        "form": ex.form,
        "kvHeads": ex.kv_heads,
        "rounding": spec.rounding,
        "expLimit": EXP_LIMIT,
        "steps": [step_json(s) for s in ex],
        "given": problem.to_json(),
    }
    if ex.shown:  # worked steps printed as givens: the page works them out, never grades them
        out["shown"] = list(ex.shown_in_order())
    return out


def exam_data(problem: Problem, sheet_id: str) -> dict:
    """What an exam page needs to save an answers file, and nothing to grade with: the ID
    (or private code) to write in it and the asked steps' names and shapes; no given matrices,
    no formulas, no step table for a grader."""
    return {
        "id": sheet_id,
        "asked": [
            {"name": s.name, "rows": s.rows, "cols": s.cols if not s.is_vector else None}
            for s in problem.exercise.asked
        ],
    }


# What every sheet of a class shares; the marking page swaps only the ID and the givens.
_PER_SHEET = ("id", "given")


def marking_data(roster: list[tuple[str, Problem]], codes: list | None = None) -> dict:
    """The marking page's data: the class's one step table and rules, and each student's
    name, sheet ID (full, and as their sheet prints it: a private class's code) and givens
    in roster order; `classKey` names the class's kept marking."""
    pages = [page_data(problem) for _, problem in roster]
    shared = {k: v for k, v in pages[0].items() if k not in _PER_SHEET}
    for (name, _), page in zip(roster, pages):
        if {k: v for k, v in page.items() if k not in _PER_SHEET} != shared:
            raise OptionError(
                f"{name}'s sheet has another shape or rules than the class's first; "
                "one marking page marks one kind of sheet"
            )
    who = json.dumps([[name, problem.id] for name, problem in roster], ensure_ascii=False)
    return {
        **pages[0],
        "marking": True,
        "classKey": hashlib.sha256(who.encode()).hexdigest()[:16],
        "students": [
            {
                "student": name,
                "id": page["id"],
                "sheetId": problem.sheet_id,
                **({"code": code} if code else {}),
                "given": page["given"],
            }
            for (name, problem), page, code in zip(roster, pages, codes or [None] * len(pages))
        ],
    }


# --- the words beside each step ------------------------------------------------------------
#
# What a step computes and why, keyed by role (or "role/kind" where one role is worked two
# ways); an entry is one text, or one per convention. A new exercise table adds its roles
# here (a role without words falls back on its kind).
# Fields: {name} the step, {formula}, {a} and {b} its inputs in order, {token} "column" or
# "row" (what a token is), {inputs} all inputs joined, {how} how concat lays them out.

_PRODUCT = "Entry (i, j) is row i of {a} times column j of {b}: multiply pair by pair, then add."

EXPLANATIONS: dict[str, str | dict[str, str]] = {
    "X": "The input: each {token} is one token (a word, say) described by a few numbers, its "
    "features. Everything below is worked out from these numbers and the weights.",
    "Xq": "The query side's input (cross-attention): each {token} is one token whose questions "
    "are put to the tokens of X; its own keys and values are not used.",
    "x": "The new token (a decode step): the one token being generated now, described by its "
    "features. Only its query, key and value are worked; the earlier tokens' are cached.",
    "Kcache": "The key cache: the keys of the earlier tokens, kept from the steps before, so "
    "they need not be worked again.",
    "Vcache": "The value cache: the values of the earlier tokens, kept from the steps before.",
    "q": "{name} = {formula}: the new token's query, the question it asks of every token so "
    "far. " + _PRODUCT,
    "k": "{name} = {formula}: the new token's key, what its own question and later ones are "
    "matched against. " + _PRODUCT,
    "v": "{name} = {formula}: the new token's value, what it hands on when attended to. "
    + _PRODUCT,
    "K/concat": "{name} = {formula}: the cache grows by one. Copy {a} and put the new key {b} "
    "after it as the last {token}: nothing to multiply.",
    "V/concat": "{name} = {formula}: the cache grows by one. Copy {a} and put the new value {b} "
    "after it as the last {token}: nothing to multiply.",
    "WQ": "Query weights. A real model learns them; here they are small whole numbers so that "
    "the work stays by hand. They turn a token's features into the question it asks.",
    "WK": "Key weights: they turn a token's features into what the token can be found by.",
    "WV": "Value weights: they turn a token's features into what the token passes on.",
    "WO": "Output weights: they mix the heads' stacked outputs back into features per token.",
    "Q": "{name} = {formula}: the queries, a projection of the input. Each token's features "
    "become a short vector, the question that token asks of the others. " + _PRODUCT,
    "K": "{name} = {formula}: the keys, a projection of the input. Each token's features "
    "become a short vector that questions are matched against. " + _PRODUCT,
    "V": "{name} = {formula}: the values, a projection of the input. Each token's features "
    "become what it hands on to the tokens that attend to it. " + _PRODUCT,
    "Qr": "{name}: each query turned by its token's position, so that the scores can tell "
    "near tokens from far ones (rotary positions, RoPE). Token m (the first is m = 0) is "
    "turned m quarter turns in each pair of entries (1,2), (3,4), …: one turn takes (a, b) "
    "to (−b, a), two to (−a, −b), three to (b, −a), four back to (a, b).",
    "Kr": "{name}: each key turned by its token's position, exactly as the queries are: token "
    "m turned m quarter turns in each pair of entries, (a, b) to (−b, a) per turn. A key and "
    "a query turned by m and n then score as if only the query were turned by n − m: the "
    "score depends on how far apart the two tokens are, not on where they stand.",
    "qr": "{name}: the new token's query turned by its position, m = {start} (the cached "
    "tokens are m = 0 to {before}): {start} quarter turns in each pair of entries, (a, b) to "
    "(−b, a) per turn.",
    "kr": "{name}: the new token's key turned by its position, m = {start}, as its query is. "
    "The cache holds the earlier keys turned at their own positions when they were worked, so "
    "only this one is turned now; a key and a query turned by m and n score as if only the "
    "query were turned by n − m.",
    "KT": "{name} is {a} with rows and columns swapped: entry (i, j) of {a} goes to (j, i). "
    "Nothing new is worked out; it lines the keys up so that the next product meets every "
    "key with every query.",
    "S": {
        "columns": "{name} = {formula} sets every query against every key. Entry (i, j) is key "
        "i · query j (row i of {a} times column j of {b}), a dot product: large when the two "
        "vectors point the same way, small or negative when they disagree. So column j scores "
        "how well each token answers what token j is looking for.",
        "rows": "{name} = {formula} sets every query against every key. Entry (i, j) is query "
        "i · key j (row i of {a} times column j of {b}), a dot product: large when the two "
        "vectors point the same way, small or negative when they disagree. So row i scores "
        "how well each token answers what token i is looking for.",
    },
    "scaled": "Longer vectors give bigger dot products, and a softmax of big scores puts nearly "
    "all the weight on one token. So a transformer divides the scores by √d_k first ({root}). "
    "By hand, {formula} stands in for that: halving is close enough, and rounding keeps the "
    "numbers whole so that 3^x stays exact. {rounding}",
    "exp": "The top of the softmax fraction. e^x makes every score positive and stretches the "
    "gaps, so the best matches stand out. By hand 3^x stands in for e^x (3 is close to "
    "e ≈ 2.72, and its powers stay exact): 3^0 = 1, 3^2 = 9, 3^-1 = 1/3, 3^-2 = 1/9.",
    "colsum": "Add up each column of {a}: one total per query, the bottom of that query's "
    "softmax fraction.",
    "rowsum": "Add up each row of {a}: one total per query, the bottom of that query's "
    "softmax fraction.",
    "A": {
        "columns": "Divide each entry of {a} by its column's total in {b}. Each column of A is "
        "then a probability distribution: weights between 0 and 1 that add up to exactly 1, "
        "saying how much attention query j pays to each token. Keep them as fractions.",
        "rows": "Divide each entry of {a} by its row's total in {b}. Each row of A is then a "
        "probability distribution: weights between 0 and 1 that add up to exactly 1, saying "
        "how much attention query i pays to each token. Keep them as fractions.",
    },
    "Z": {
        "columns": "{name} = {formula}: the output. Column j is the average of the value "
        "vectors (the columns of {a}), weighted by column j of {b}: token j gathers what the "
        "tokens it attends to pass on, most from its best matches. " + _PRODUCT,
        "rows": "{name} = {formula}: the output. Row i is the average of the value vectors "
        "(the rows of {b}), weighted by row i of {a}: token i gathers what the tokens it "
        "attends to pass on, most from its best matches. " + _PRODUCT,
    },
    "Zcat": "Each head attended in its own way and made its own output. Put them {how} "
    "({inputs}) into one matrix: nothing to work out, copy every head's numbers into place.",
    "O": "{name} = {formula}: the output projection. It mixes what all the heads found back "
    "into as many features per token as X has, ready for the next layer. " + _PRODUCT,
    "W1": "The feed-forward layer's first weights: they take each token's features to the "
    "hidden features, the same weights for every token.",
    "W2": "The feed-forward layer's second weights: they take the hidden features back to as "
    "many features as X has.",
    "b1": "The first bias: one number per hidden feature, added to that feature for every token.",
    "b2": "The second bias: one number per feature, added to that feature for every token.",
    "R1": "{name} = {formula}: the residual connection. Add the attention output to the input "
    "entry by entry, so each token keeps what it had and gains what attention gathered.",
    "F": "{name} = {formula}: the feed-forward layer, one token at a time. Each entry is a dot "
    "product (a row of {a} times a column of {b}), then that hidden feature's bias from {c} "
    "is added, the same for every token.",
    "H": "{name} = {formula}: ReLU keeps each positive entry of {a} and turns every negative "
    "one into 0 (max(x, 0)); 0 stays 0. This bend is what lets the layer learn more than "
    "one straight-line map.",
    "Y": "{name} = {formula}: the second layer, back to X's features. Each entry is a dot "
    "product (a row of {a} times a column of {b}), plus that feature's bias from {c}.",
    "R2": "{name} = {formula}: the second residual connection, the block's output. Add the "
    "feed-forward output to R1 entry by entry. A real block would then apply LayerNorm (it "
    "needs square roots, so this sheet leaves it out; the key shows what it would give).",
}

BY_KIND = {
    "given": "Given numbers: nothing to work out here.",
    "product": "{name} = {formula}. " + _PRODUCT,
    "transpose": "{name} is {a} with rows and columns swapped: entry (i, j) goes to (j, i).",
    "scale": "{name} = {formula}, standing in for dividing by √d_k. {rounding}",
    "exp": "{name} = 3^x of {a}, standing in for e^x.",
    "sum": "Add up each {token} of {a}.",
    "normalise": "Divide each entry of {a} by its total in {b}, so that the totals become 1.",
    "concat": "Put {inputs} {how} into one matrix.",
}

# Added when the step is touched by the causal mask, or belongs to one head of several.
MASK_NOTES = {
    "S": "Causal mask: a token may look only at itself and earlier tokens, so the scores of "
    "later keys are hidden (−∞, hatched: nothing to write).",
    "scaled": "A masked score stays masked.",
    "exp": "3^−∞ = 0: a masked key gets no weight at all.",
    "A": "A masked entry is 0, and the total is over the keys the query may see.",
}
GROUP_NOTE = (
    "Grouped heads: the query heads of a group all score against these keys and mix these "
    "values, so they are worked once and printed again where another head needs them."
)
HEAD_NOTE = (
    "Head {head} starts here: each head has its own weights, so each can look for something "
    "else in the same tokens."
)

_ROUNDING = {
    "floor": "floor rounds down, below zero too: floor(3/2) = 1, floor(-3/2) = -2.",
    "zero": "This sheet rounds toward zero: trunc(3/2) = 1, trunc(-3/2) = -1.",
}


def _shown(name: str, exercise: steps.Exercise) -> str:
    """A step's name as printed on the sheet: K2ᵀ rather than KT2."""
    s = exercise[name] if name in exercise.by_name else None
    if s is not None and s.role == "KT":
        turned = "r" if s.formula.startswith("Kr") else ""
        return "K" + turned + name[len(s.role) :] + "ᵀ"
    return name


def explanation(
    step: steps.Step, exercise: steps.Exercise, rounding: str = "floor", d_k: int = 3
) -> str:
    """What one step computes and why, in words, for the sheet's conventions."""
    text = EXPLANATIONS.get(f"{step.role}/{step.kind}") or EXPLANATIONS.get(step.role)
    if text is None:
        text = BY_KIND.get(step.kind, "{name} = {formula}.")
    if isinstance(text, dict):
        text = text[exercise.convention]
    names = [_shown(i, exercise) for i in step.inputs]
    fields = {
        "name": _shown(step.name, exercise),
        "formula": step.formula,
        "a": names[0] if names else "",
        "b": names[1] if len(names) > 1 else "",
        "c": names[2] if len(names) > 2 else "",
        "inputs": ", ".join(names),
        "token": "column" if exercise.convention == "columns" else "row",
        "how": "one under another" if step.axis == "rows" else "side by side",
        "rounding": _ROUNDING.get(rounding, ""),
        "root": f"here √{d_k} ≈ {math.sqrt(d_k):.2f}",
        "start": step.start,
        "before": step.start - 1,
    }
    parts = [text.format(**fields)]
    if exercise.causal and step.role in MASK_NOTES:
        parts.append(MASK_NOTES[step.role])
    if step.head is not None and exercise.heads > 1 and step.role == "Q":
        parts.append(HEAD_NOTE.format(head=step.head))
    if step.role in ("K", "V", "KT") and _grouped(exercise):
        parts.append(GROUP_NOTE)
    return re.sub(r"-(?=\d|∞)", "−", " ".join(parts)).replace("^x", "ˣ")


def _grouped(exercise: steps.Exercise) -> bool:
    """Whether several query heads share one key and value head."""
    return sum(s.role == "K" for s in exercise) < sum(s.role == "Q" for s in exercise)


def explanations(problem: Problem) -> dict[str, str]:
    """Every step's words, by step name."""
    ex = problem.exercise
    return {s.name: explanation(s, ex, problem.spec.rounding, problem.spec.d_k) for s in ex}
