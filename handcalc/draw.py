"""Seeded drawing of hand-friendly problems, with the rules that say what hand-friendly means.

Draws are uniform small integers from numpy's seeded generator; a draw is kept only when every
rule in RULES passes. numpy does not promise the same stream across versions, so the sheet ID,
not the seed, is what brings a problem back.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

from . import numbers, steps
from .errors import DrawError, OptionError
from .problem import Problem, Spec, check_seed, decode_id, from_matrices, load
from .solution import Solution, beyond_limit, solve

if TYPE_CHECKING:
    import numpy as np

MAX_DRAWS = 20_000


def _cells(values, roles: Iterable[str], ex: steps.Exercise):
    wanted = set(roles)
    for s in ex.worked:
        if s.role in wanted and s.name in values:
            for row in values[s.name] if not s.is_vector else (values[s.name],):
                yield from row


def _unmasked(xs):
    return [x for x in xs if x is not steps.MASKED]


# Roles of the projections: Q, K, V, and a decode step's new q, k, v (its grown K and V hold
# the cache, drawn as projections too).
_PROJECTIONS = ("Q", "K", "V", "q", "k", "v")


def _scaled_in_range(sol: Solution) -> bool:
    xs = _unmasked(_cells(sol.values, ["scaled"], sol.exercise))
    return all(SCALED_LOW <= x <= SCALED_HIGH for x in xs)


def _small_products(sol: Solution) -> bool:
    xs = _cells(sol.values, _PROJECTIONS, sol.exercise)
    return all(abs(x) <= PRODUCT_LIMIT for x in xs)


def _small_denominators(sol: Solution) -> bool:
    xs = _cells(sol.values, ["A"], sol.exercise)
    return all(Fraction(x).denominator <= DENOMINATOR_LIMIT for x in xs)


def _attention_not_flat(sol: Solution) -> bool:
    """Each query's weights must differ somewhere (a flat column teaches nothing)."""
    ex = sol.exercise
    for s in ex.worked:
        if s.role != "A" or s.name not in sol.values:
            continue
        a = sol.values[s.name]
        lines = list(zip(*a)) if s.axis == "columns" else list(a)
        for line in lines:
            live = [x for x in line if x != 0]
            if len(live) > 1 and len(set(live)) == 1:
                return False
    return True


def _values_not_zero(sol: Solution) -> bool:
    """Every value vector carries something, so Z is worth computing."""
    ex = sol.exercise
    for s in ex.worked:
        if s.role == "V" and s.name in sol.values:
            v = sol.values[s.name]
            tokens = list(zip(*v)) if ex.convention == "columns" else list(v)
            if any(all(x == 0 for x in t) for t in tokens):
                return False
    return True


def _small_outputs(sol: Solution) -> bool:
    """Z, Zcat and O keep A's promise: small denominators and entries (multi-head O mixes the
    heads' denominators, so it needs its own rule)."""
    for x in _cells(sol.values, OUTPUT_ROLES, sol.exercise):
        x = Fraction(x)
        if x.denominator > DENOMINATOR_LIMIT or abs(x) > OUTPUT_LIMIT:
            return False
    return True


def _block_small(sol: Solution) -> bool:
    """The block's steps keep the outputs' promise: small denominators, entries within ±20."""
    return all(_output_ok(x) for x in _cells(sol.values, BLOCK_ROLES, sol.exercise))


def _relu_teaches(sol: Solution) -> bool:
    """ReLU both zeroes some entry of F (a negative one) and keeps some (a positive one)."""
    xs = list(_cells(sol.values, ["F"], sol.exercise))
    return not xs or (any(x < 0 for x in xs) and any(x > 0 for x in xs))


SCALED_LOW, SCALED_HIGH = -2, 3
PRODUCT_LIMIT = 6
DENOMINATOR_LIMIT = 100
OUTPUT_LIMIT = 20
OUTPUT_ROLES = ("Z", "Zcat", "O")
BLOCK_ROLES = ("F", "H", "Y", "R2")


# --- where a rule breaks, for the one-line report on a typed problem ------------------------


def _place(step: steps.Step) -> str:
    return step.role if step.head is None else f"{step.role} of head {step.head}"


def _worst(sol: Solution, roles, bad, size) -> tuple[steps.Step, object] | None:
    """The step and value breaking a rule the most (by `size`), or None when none does."""
    found = None
    for s in sol.exercise.worked:
        if s.role not in roles:
            continue
        value = sol.values[s.name]
        for x in _unmasked(value if s.is_vector else (y for row in value for y in row)):
            if bad(x) and (found is None or size(x) > size(found[1])):
                found = (s, x)
    return found


def _where_products(sol: Solution) -> str | None:
    hit = _worst(sol, ["Q", "K", "V"], lambda x: abs(x) > PRODUCT_LIMIT, abs)
    return hit and f"{_place(hit[0])} holds {hit[1]}"


def _where_scores(sol: Solution) -> str | None:
    hit = _worst(sol, ["scaled"], lambda x: not SCALED_LOW <= x <= SCALED_HIGH, lambda x: abs(x))
    return hit and f"hand track needs 3^{hit[1]} in {_place(hit[0])}"


def _where_denominators(sol: Solution) -> str | None:
    hit = _worst(
        sol,
        ["A"],
        lambda x: Fraction(x).denominator > DENOMINATOR_LIMIT,
        lambda x: Fraction(x).denominator,
    )
    return hit and f"{_place(hit[0])} has a denominator of {Fraction(hit[1]).denominator}"


def _where_flat(sol: Solution) -> str | None:
    if _attention_not_flat(sol):
        return None
    for s in sol.exercise.worked:
        if s.role == "A":
            lines = list(zip(*sol.values[s.name])) if s.axis == "columns" else sol.values[s.name]
            for i, line in enumerate(lines, 1):
                live = [x for x in line if x != 0]
                if len(live) > 1 and len(set(live)) == 1:
                    what = "column" if s.axis == "columns" else "row"
                    return f"{_place(s)} is flat in {what} {i} (all {live[0]})"
    return "attention is flat"


def _where_values(sol: Solution) -> str | None:
    ex = sol.exercise
    for s in ex.worked:
        if s.role == "V":
            v = sol.values[s.name]
            tokens = list(zip(*v)) if ex.convention == "columns" else list(v)
            for i, t in enumerate(tokens, 1):
                if all(x == 0 for x in t):
                    return f"{_place(s)} is all zeros for token {i}"
    return None


def _where_relu(sol: Solution) -> str | None:
    if _relu_teaches(sol):
        return None
    xs = list(_cells(sol.values, ["F"], sol.exercise))
    return "F has no negative entry" if all(x >= 0 for x in xs) else "F has no positive entry"


def _where_outputs(sol: Solution, roles: tuple[str, ...] = OUTPUT_ROLES) -> str | None:
    """The worst cell of `roles` (the attention's outputs; the block's with BLOCK_ROLES)."""
    hit = _worst(
        sol,
        roles,
        lambda x: Fraction(x).denominator > DENOMINATOR_LIMIT,
        lambda x: Fraction(x).denominator,
    )
    if hit:
        return f"{_place(hit[0])} has a denominator of {Fraction(hit[1]).denominator}"
    hit = _worst(sol, roles, lambda x: abs(x) > OUTPUT_LIMIT, abs)
    return hit and f"{_place(hit[0])} holds {numbers.text(hit[1])}"


@dataclass(frozen=True)
class Rule:
    """One condition every drawn problem meets, stated once for the sheet and the stress test.

    `check` is the fast test a draw must pass; `where` says, for a problem that breaks the
    rule, where it breaks the most (None when it holds); `short` is the rule in a few words."""

    name: str
    text: str
    check: Callable[[Solution], bool]
    where: Callable[[Solution], str | None] | None = None
    short: str = ""


RULES: tuple[Rule, ...] = (
    Rule(
        "products",
        f"every entry of Q, K and V lies within ±{PRODUCT_LIMIT}",
        _small_products,
        _where_products,
        f"Q, K, V within ±{PRODUCT_LIMIT}",
    ),
    Rule(
        "scores",
        f"every scaled score lies in {SCALED_LOW}…{SCALED_HIGH}, so 3^x stays within "
        f"1/{3**-SCALED_LOW}…{3**SCALED_HIGH}",
        _scaled_in_range,
        _where_scores,
        f"scaled within {SCALED_LOW}…{SCALED_HIGH}",
    ),
    Rule(
        "denominators",
        f"every attention weight has a denominator of at most {DENOMINATOR_LIMIT}",
        _small_denominators,
        _where_denominators,
        f"denominators of A at most {DENOMINATOR_LIMIT}",
    ),
    Rule(
        "not-flat",
        "no query attends equally to all the tokens it sees",
        _attention_not_flat,
        _where_flat,
        "no flat attention",
    ),
    Rule(
        "values",
        "no token has an all-zero value vector",
        _values_not_zero,
        _where_values,
        "no all-zero value vector",
    ),
    Rule(
        "outputs",
        f"every entry of Z (and of Zcat and O) has a denominator of at most {DENOMINATOR_LIMIT} "
        f"and lies within ±{OUTPUT_LIMIT}",
        _small_outputs,
        _where_outputs,
        f"Z, Zcat, O denominators at most {DENOMINATOR_LIMIT}, entries within ±{OUTPUT_LIMIT}",
    ),
    Rule(
        "block",
        f"every entry of the block's F, H, Y and R2 has a denominator of at most "
        f"{DENOMINATOR_LIMIT} and lies within ±{OUTPUT_LIMIT}",
        _block_small,
        lambda sol: _where_outputs(sol, BLOCK_ROLES),
        f"F, H, Y, R2 denominators at most {DENOMINATOR_LIMIT}, entries within ±{OUTPUT_LIMIT}",
    ),
    Rule(
        "relu",
        "ReLU zeroes at least one entry of F (a negative one) and keeps at least one",
        _relu_teaches,
        _where_relu,
        "F has a negative and a positive entry",
    ),
)
# Rules that only a sheet with the block can break: other sheets neither print nor count them.
BLOCK_RULES = ("block", "relu")


def rules_for(spec) -> tuple[Rule, ...]:
    """The rules a sheet of this spec keeps: the block's only with the block."""
    return tuple(r for r in RULES if spec.block or r.name not in BLOCK_RULES)


def sheet_rules(spec) -> tuple[str, ...]:
    """The drawing rules in words for one sheet's key: the outputs rule names only the
    outputs that sheet has (no Zcat or O on a one-head sheet)."""
    outputs = "Z" if spec.heads == 1 else "Z, Zcat and O" if spec.output_projection else "Z and Zcat"
    return tuple(r.text.replace("Z (and of Zcat and O)", outputs) for r in rules_for(spec))


_CACHES = {"Kcache": "WK", "Vcache": "WV"}


def draw_given(spec: Spec, rng: np.random.Generator, ex: steps.Exercise | None = None) -> dict:
    """One uniform draw of the given matrices (not yet checked against the rules). A decode
    step's caches are what its weights make of earlier tokens drawn like x, as a model's
    cache would be."""
    given, drawn = {}, {}
    for s in (ex or spec.exercise()).given:
        if s.name in _CACHES:
            continue
        lo, hi = spec.x_range if s.role in ("X", "Xq", "x") else spec.w_range
        drawn[s.name] = rng.integers(lo, hi + 1, size=s.shape)
        given[s.name] = drawn[s.name].tolist()
    if spec.form == "decode":
        cols = spec.convention == "columns"
        earlier = (spec.d_in, spec.tokens - 1) if cols else (spec.tokens - 1, spec.d_in)
        lo, hi = spec.x_range
        x = rng.integers(lo, hi + 1, size=earlier)
        for cache, w in _CACHES.items():
            weights = drawn[w]
            given[cache] = (weights @ x if cols else x @ weights).tolist()
    return given


# The steps each rule reads: it is checked as soon as one of them is worked, so most rejected
# draws cost a fraction of a solve. A rule not listed is checked once every step is worked.
_READS = {
    "products": _PROJECTIONS,
    "values": ("V",),
    "scores": ("scaled",),
    "denominators": ("A",),
    "not-flat": ("A",),
    "outputs": OUTPUT_ROLES,
    "block": BLOCK_ROLES,
    "relu": ("F",),
}
# A draw whose numbers break a limit of the arithmetic itself (3^x beyond ±EXP_LIMIT) is
# rejected by this rule: only scaled scores far outside its range get there.
_LIMIT_RULE = "scores"
# How much work a search may do before it says the rules cannot be met, counted in cells
# drawn and worked (not seconds, so the answer is the same on every machine): well under a
# second even on a busy machine, and plenty for rules that keep one draw in 100.
WORK_BUDGET = 300_000
DRAW_WORK = 100  # what drawing and setting up one draw costs, in the same cells


def _schedule(ex: steps.Exercise) -> dict[int, list[Rule]]:
    """For each worked step's index, the rules to check once it is worked: those that read
    it (each rule holds for every cell, so a step's cells can break it alone), and the
    rules not in _READS after the last step."""
    worked = ex.worked
    due: dict[int, list[Rule]] = {}
    for rule in RULES:
        reads = _READS.get(rule.name)
        at = [i for i, s in enumerate(worked) if s.role in reads] if reads else []
        if rule.name in BLOCK_RULES and not at:
            continue  # no block on this sheet: nothing for the rule to read
        for i in at or [len(worked) - 1]:
            due.setdefault(i, []).append(rule)
    return due


@dataclass
class _Draft:
    """A draw being judged: the steps worked so far (what the rules read of a Solution)."""

    spec: Spec
    exercise: steps.Exercise
    given: dict
    values: dict
    work: int = 0

    @property
    def problem(self) -> Problem:
        return Problem(self.spec, self.given)


def _judge(draft: _Draft, first_only: bool) -> list[str]:
    ex = draft.exercise
    track = steps.simplified(draft.spec.rounding)
    values = draft.values
    for s in ex.given:
        values[s.name] = steps.lift(draft.given[s.name], s, track)
        draft.work += s.rows * (s.cols or 1)
    due = _SCHEDULES.get(draft.spec) or _SCHEDULES.setdefault(draft.spec, _schedule(ex))
    failed: list[str] = []
    for i, s in enumerate(ex.worked):
        draft.work += s.rows * (s.cols or 1)
        try:
            values[s.name] = steps.compute(s, values, track)
        except ValueError:
            return failed if _LIMIT_RULE in failed else [*failed, _LIMIT_RULE]
        for rule in due.get(i, ()):
            if rule.name not in failed and not rule.check(draft):
                failed.append(rule.name)
                if first_only:
                    return failed
    return failed


_SCHEDULES: dict[Spec, dict[int, list[Rule]]] = {}


def judge(problem: Problem, first_only: bool = False) -> list[str]:
    """The names of the rules a problem breaks, worked on the hand track alone (the rules
    never look at the exact track). With `first_only`, stops at the first one broken. A draw
    that breaks a limit of the arithmetic breaks the scores rule; rules that read steps
    beyond it cannot be judged and are left out."""
    draft = _Draft(problem.spec, problem.exercise, dict(problem.given), {})
    return _judge(draft, first_only)


def failed_rules(sol: Solution) -> list[str]:
    return [r.name for r in RULES if not r.check(sol)]


def _generator(seed: int) -> np.random.Generator:
    """numpy's seeded generator. numpy is imported here, where drawing starts, not with this
    module: a class set's workers only print RULES's words on their sheets."""
    import numpy as np

    return np.random.default_rng(seed)


def draw(spec: Spec, seed: int, max_draws: int = MAX_DRAWS, budget: int = WORK_BUDGET) -> Solution:
    """The first draw from this seed that passes every rule, solved. When none passes within
    `max_draws` draws or `budget` cells of work, a one-line DrawError names the rule that
    rejected the most draws."""
    spec.check_drawable()
    ex = spec.exercise()
    rng = _generator(seed)
    first_broken: dict[str, int] = {}
    work = draws = 0
    while draws < max_draws and work < budget:
        draft = _Draft(spec, ex, draw_given(spec, rng, ex), {})
        failed = _judge(draft, first_only=True)
        if failed == ["outputs"] and _only_o_breaks(draft):
            better = _redraw_wo_lines(draft, spec, rng)
            if better is not None:
                work += draft.work
                draft = _Draft(spec, ex, better, {})
                failed = _judge(draft, first_only=True)
        if not failed:
            return solve(Problem(spec, draft.given, seed))
        draws += 1
        work += draft.work + DRAW_WORK
        first_broken[failed[0]] = first_broken.get(failed[0], 0) + 1
    worst = max(RULES, key=lambda r: first_broken.get(r.name, 0))
    n = first_broken.get(worst.name, 0)
    raise DrawError(
        f"no hand-friendly problem in {draws} draws for these sizes and ranges: "
        f"rule '{worst.name}' ({worst.text}) rejected {n} of them; "
        "try smaller sizes or narrower --x-range/--w-range"
    )


# With several heads, O = WO·Zcat mixes the heads' denominators: a uniform WO rarely keeps
# them small (0 in 2,000 draws for 3 heads). Each line of WO makes one line of O alone, so a
# draw whose heads passed redraws the lines of WO whose line of O breaks the rule, up to
# WO_TRIES times each (about 1 line in 3 passes with 3 heads, 1 in 13 with 4); each try
# counts as the cells it draws.
WO_TRIES = 2000


def _only_o_breaks(draft: _Draft) -> bool:
    """The outputs rule fails at O alone: every head's Z and Zcat keep it."""
    ex = draft.exercise
    if "O" not in draft.values or "WO" not in draft.given:
        return False
    for s in ex.worked:
        if s.role in ("Z", "Zcat") and not all(_output_ok(x) for x in _flat(draft.values[s.name])):
            return False
    return True


def _flat(value):
    return [x for row in value for x in row]


def _output_ok(x) -> bool:
    x = Fraction(x)
    return x.denominator <= DENOMINATOR_LIMIT and abs(x) <= OUTPUT_LIMIT


def _redraw_wo_lines(draft: _Draft, spec: Spec, rng: np.random.Generator) -> dict | None:
    """The draw's givens with each line of WO whose line of O breaks the rule redrawn (a row
    with tokens as columns, a column with tokens as rows); None if some line never passes."""
    cols = spec.convention == "columns"
    zcat = draft.values["Zcat"]
    wo = [list(r) for r in draft.given["WO"]]
    lines = len(wo) if cols else len(wo[0])
    width = len(wo[0]) if cols else len(wo)
    lo, hi = spec.w_range

    def line_of_o(w: list[int]) -> list:
        if cols:  # O row = w · Zcat
            return [sum(w[k] * zcat[k][j] for k in range(width)) for j in range(len(zcat[0]))]
        return [sum(zcat[r][k] * w[k] for k in range(width)) for r in range(len(zcat))]

    for i in range(lines):
        w = wo[i] if cols else [wo[k][i] for k in range(width)]
        tries = 0
        while not all(_output_ok(x) for x in line_of_o(w)):
            if tries == WO_TRIES:
                return None
            w = rng.integers(lo, hi + 1, size=width).tolist()
            tries += 1
            draft.work += width
        if cols:
            wo[i] = w
        else:
            for k in range(width):
                wo[k][i] = w[k]
    return {**draft.given, "WO": wo}


def make_problem(
    seed: int | None = None,
    source: str | None = None,
    sheet_id: str | None = None,
    spec: Spec | None = None,
) -> Problem:
    """A problem from exactly one of: a seed (drawn), a problem file, a sheet ID."""
    if sum(x is not None for x in (seed, source, sheet_id)) > 1:
        raise OptionError("give only one of --seed, --from and --id")
    spec = spec or Spec()
    if sheet_id is not None:
        return from_id(sheet_id)
    if source is not None:
        return from_matrices(load(source), spec)
    if seed is None:
        seed = new_seed()
    check_seed(seed)
    return draw(spec, seed).problem


def from_id(text: str) -> Problem:
    """The problem a sheet ID names, full or short; a short ID of a drawn sheet is drawn again
    from its seed and refused if the numbers differ from those its sheet was printed with."""
    return decode_id(text, redraw=lambda spec, seed: draw(spec, seed).problem)


def new_seed() -> int:
    """A fresh seed, short enough to read off a sheet."""
    return secrets.randbelow(1_000_000)


def rule_findings(problem: Problem) -> list[tuple[Rule, str | None]]:
    """Every rule with where this problem breaks it (None where it holds). A problem whose
    3^x is beyond steps.EXP_LIMIT cannot be worked at all: solving refuses it."""
    values = steps.run(problem.exercise, problem.given, steps.simplified(problem.spec.rounding))
    sol = Solution(problem, values, {})
    return [(r, None if r.check(sol) else r.where(sol)) for r in rules_for(problem.spec)]


def unfriendly_line(problem: Problem) -> str | None:
    """One line naming each rule the problem breaks and where, or None if it keeps them all."""
    try:
        broken = [(r, where) for r, where in rule_findings(problem) if where is not None]
    except ValueError:  # beyond EXP_LIMIT: solving says so itself
        return None
    if not broken:
        return None
    parts = [f"{where} (rule: {r.short})" for r, where in broken]
    return "not hand-friendly: " + "; ".join(parts)


def problem_report(problem: Problem) -> list[str]:
    """`stress --from`: every rule, kept or broken (and where), for one problem."""
    out = [f"sheet {problem.id}"]
    try:
        findings = rule_findings(problem)
    except ValueError:
        return out + [
            f"  cannot be worked: {beyond_limit(problem)}, and 3^x is refused beyond "
            f"±{steps.EXP_LIMIT}"
        ]
    kept = sum(where is None for _, where in findings)
    out[0] += f": keeps {kept} of {len(findings)} hand-friendly rules"
    for r, where in findings:
        verdict = "keeps " if where is None else "breaks"
        out.append(f"  {r.name:<13} {verdict}  {r.text}" + (f": {where}" if where else ""))
    return out


@dataclass(frozen=True)
class StressReport:
    draws: int
    accepted: int
    rejected_by: dict[str, int]

    def lines(self) -> list[str]:
        out = [f"{self.draws} draws, {self.accepted} kept ({self.accepted / self.draws:.1%})"]
        for r in RULES:
            if r.name not in self.rejected_by:
                continue
            n = self.rejected_by[r.name]
            out.append(f"  {r.name:<13} rejects {n:>6} ({n / self.draws:6.1%})  {r.text}")
        return out


def stress(spec: Spec, seed: int, draws: int, progress=None) -> StressReport:
    """How often each rule rejects a uniform draw (each failing rule counts); `progress(n)`
    hears of every thousand draws done."""
    check_seed(seed)
    spec.check_drawable()
    ex = spec.exercise()
    rng = _generator(seed)
    rejected = {r.name: 0 for r in rules_for(spec)}
    accepted = 0
    for done in range(1, draws + 1):
        failed = _judge(_Draft(spec, ex, draw_given(spec, rng, ex), {}), first_only=False)
        for name in failed:
            rejected[name] += 1
        accepted += not failed
        if progress and (done % 1000 == 0 or done == draws):
            progress(done % 1000 or 1000)
    return StressReport(draws, accepted, rejected)
