"""Grading: a solution and a student's answers -> verdicts per cell, follow-through, mistakes.

The algorithm, to be mirrored exactly by any other implementation (the interactive sheet):

Matching. A written number w *matches* a target t when w = t exactly (as a fraction: "9/46",
"0.5" for 1/2, "3"), or when w is a decimal written to p places with |w - t| <= 10^-p / 2 and
p >= 2 if t is not a whole number. (Key 9/46 = 0.19565…: "0.196" and "0.20" match, "0.2" does
not.) Nothing matches a masked cell.

Hidden cells. With a causal mask, the cells the mask hides in S are not graded (verdict None),
nor the same cells of every step that works cell by cell from it (kinds scale, exp, normalise:
scaled, exp, A). Wherever a value is needed, a hidden cell takes the key's value.

Steps are graded in table order (`steps.Exercise.worked`); givens (X, WQ, …) are not graded,
nor are the worked steps a drill prints as givens (`Exercise.shown`): they count as the key.
For each step:
 1. Inputs. Each input is a given matrix or an earlier worked step seen two ways:
    *credited*: the key for a hidden, blank or unreadable cell and for a correct cell, the
    target a follow-through cell matched, the number as written for a wrong cell; and
    *as written*: every readable cell as written, the key for hidden, blank, unreadable.
    Either way, a step the student left trivial (no readable cell, or, in a step of more than
    one graded cell, every readable cell the same number: all zeros, all ones…) counts as the
    key, whole; a one-cell step (a decode step's one column sum) is trivial only when blank.
    The two views differ only where decimals were written; a student who carries rounded
    decimals forward is followed.
 2. Targets = steps.compute(step, inputs) for the credited view, then the as-written view
    (when its inputs differ), on the sheet's hand track, where 3^x accepts only a whole x
    within ±EXP_LIMIT. A view whose compute fails (a zero sum to divide by, 3^x of a
    fraction) gives no target.
 3. Verdict of each cell, first that applies: None if hidden; "wrong" if unreadable; "blank"
    if empty; "correct" if it matches the key; "follow-through" if it matches a target (the
    first it matches is what it is credited as); else "wrong".
 4. Mistakes, only if some readable cell is wrong. Each entry of MISTAKES for the step's role
    recomputes the step the mistaken way from the credited inputs, then the as-written ones;
    it is named when it has the step's shape and every readable, graded cell the student
    wrote matches that mistaken value. If none is named and exactly one graded cell is
    wrong, it is readable, no graded cell is blank and the step has more than one graded
    cell, that cell is named as a slip: what was written, the key's value and, where it
    differs, what was expected from the student's own earlier steps (the first target;
    "yours" are the inputs of the view that gave it which differ from the key), and a
    reminder of the places needed when the cell is a decimal that would match but for
    having fewer than two (`say_expected`).
 5. The step's two views (rule 1) are made for the steps after it.
Revealed cells. An answers file may list cells the interactive sheet revealed ("revealed":
["S_r2_c3", ...]). A revealed cell that is graded gets the verdict "revealed" whatever it
holds; it counts as the key in both views and is left out of the cells rules 1 (trivial) and
4 (mistakes) look at, as if the learner had not written it.
Score = 100 × (correct + follow-through) / graded cells (revealed cells are graded, never
credited). The first step with a wrong cell is "first_wrong".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from fractions import Fraction

from . import numbers, steps
from .answers import Answers, Cell
from .draw import from_id
from .errors import AnswersError, DrawError, ProblemFileError
from .problem import Problem, id_names
from .solution import Solution, solve

CORRECT, FOLLOW, WRONG, BLANK = "correct", "follow-through", "wrong", "blank"
REVEALED = "revealed"
VERDICTS = (CORRECT, FOLLOW, WRONG, BLANK, REVEALED)
EXP_LIMIT = steps.EXP_LIMIT

RULE = (
    "A cell is correct when it equals the key exactly (a fraction such as 9/46, a whole number, "
    "or an exact decimal such as 0.5), or when it is a decimal within half a unit of its last "
    "written place of the key, written to at least two decimals when the key is not a whole "
    "number: for 9/46 = 0.1956…, 0.196 and 0.20 are correct, 0.2 is not. A decimal comma reads "
    "as a point (0,196), except before exactly three digits after a non-zero whole number "
    "(1,234), which could separate thousands and is refused. A cell that is wrong "
    "but equals what the step gives from the student's own earlier answers is follow-through "
    "and earns credit. Blank and unreadable earlier cells count as the key; an earlier step "
    "left blank or trivial (all one value) counts as the key, so it earns no follow-through."
)

Pos = tuple[int, "int | None"]


def matches(w: numbers.Written, target) -> bool:
    """Whether a written number counts as the target (the tolerance rule above)."""
    if target is steps.MASKED or target is None:
        return False
    t = Fraction(target)
    if w.value == t:
        return True
    if w.places is None or (t.denominator != 1 and w.places < 2):
        return False
    return abs(w.value - t) * 2 * 10**w.places <= 1


def positions(step: steps.Step) -> list[Pos]:
    if step.is_vector:
        return [(r, None) for r in range(step.rows)]
    return [(r, c) for r in range(step.rows) for c in range(step.cols)]


def at(value, pos: Pos):
    r, c = pos
    return value[r] if c is None else value[r][c]


def shaped(step: steps.Step, cell: Callable[[Pos], object]) -> tuple:
    """A step-shaped value (rows, or a flat tuple for a vector) from a function of positions."""
    if step.is_vector:
        return tuple(cell((r, None)) for r in range(step.rows))
    return tuple(tuple(cell((r, c)) for c in range(step.cols)) for r in range(step.rows))


# --- tracks the grader works on -----------------------------------------------------------


def _e_to(x) -> Fraction:
    if abs(x) > EXP_LIMIT:
        raise ValueError("e^x of a huge x")
    return Fraction(math.exp(x))


def hand_track(rounding: str) -> steps.Track:
    """The sheet's hand track; its 3^x refuses what a student's numbers could make huge."""
    return steps.simplified(rounding)


_FAILS = (ZeroDivisionError, ValueError, OverflowError, TypeError, IndexError)


def _attempt(f: Callable, *args):
    try:
        return f(*args)
    except _FAILS:
        return None


# --- named mistakes ----------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    """What a mistaken recomputation may look at: the table, fed values, the sheet's rules."""

    exercise: steps.Exercise
    fed: Mapping[str, steps.Value]
    rounding: str

    @property
    def track(self) -> steps.Track:
        return hand_track(self.rounding)

    def weights(self, step: steps.Step) -> str:
        """The weight matrix a projection multiplies its input by (WQ2 of Q2)."""
        return next(i for i in step.inputs if self.exercise[i].role.startswith("W"))


def _weights_swapped(cx: Context, s: steps.Step):
    """The step's own input multiplied by its partner's weights (WK·Xq for a cross query)."""
    if s.partner is None:  # a decode step's grown K is no projection
        raise ValueError(f"{s.name} has no partner projection")
    own_w, other_w = cx.weights(s), cx.weights(cx.exercise[s.partner])
    swapped = replace(s, inputs=tuple(other_w if i == own_w else i for i in s.inputs))
    return steps.compute(swapped, cx.fed, cx.track)


def _say_weights_swapped(cx: Context, s: steps.Step) -> str:
    own_w, other_w = cx.weights(s), cx.weights(cx.exercise[s.partner])
    return (
        f"{s.name} was worked with {other_w} instead of {own_w}: "
        "the query and key weights were swapped."
    )


def _scores_transposed(cx: Context, s: steps.Step):
    plain = steps.compute(replace(s, mask=None), cx.fed, cx.track)
    return steps.apply_mask(steps.transpose(plain), s.mask)


def _say_scores_transposed(cx: Context, s: steps.Step) -> str:
    wrong = "Qᵀ·K (or K·Qᵀ)" if cx.exercise.convention == "columns" else "K·Qᵀ"
    return f"{s.name} is transposed: it was worked as {wrong} instead of {s.formula}."


def _other_rounding(cx: Context, s: steps.Step):
    other = "zero" if cx.rounding == "floor" else "floor"
    return steps.compute(s, cx.fed, hand_track(other))


def _say_other_rounding(cx: Context, s: steps.Step) -> str:
    if cx.rounding == "floor":
        return f"{s.name} rounds halves toward zero instead of down: floor(-3/2) is -2, not -1."
    return (
        f"{s.name} rounds halves down (floor) instead of toward zero, as this sheet says: "
        "-3/2 becomes -1, not -2."
    )


def _unscaled(cx: Context, s: steps.Step):
    if s.kind == "scale":
        return cx.fed[s.inputs[0]]
    scale = cx.exercise[s.inputs[0]]
    return steps.compute(s, {**cx.fed, scale.name: cx.fed[scale.inputs[0]]}, cx.track)


def _say_unscaled(cx: Context, s: steps.Step) -> str:
    if s.kind == "scale":
        return f"{s.name} = {s.inputs[0]}: the scores were not scaled (halved and rounded)."
    scores = cx.exercise[s.inputs[0]].inputs[0]
    return f"{s.name} = 3^{scores}: the scaling step was skipped."


def _e_not_three(cx: Context, s: steps.Step):
    return steps.compute(s, cx.fed, replace(cx.track, exp=_e_to))


def _say_e_not_three(cx: Context, s: steps.Step) -> str:
    return f"{s.name} used e^x instead of 3^x: this sheet's stand-in for e^x is 3^x."


def _other_axis(axis: str) -> str:
    return "rows" if axis == "columns" else "columns"


def _softmax_axis(cx: Context, s: steps.Step):
    e = cx.fed[s.inputs[0]]
    other = _other_axis(s.axis)
    if s.kind == "sum":
        return steps.sums(e, other, Fraction(0))
    return steps.normalise(e, steps.sums(e, other, Fraction(0)), other)


def _say_softmax_axis(cx: Context, s: steps.Step) -> str:
    line, other = ("column", "row") if s.axis == "columns" else ("row", "column")
    if s.kind == "sum":
        return f"{s.name} holds {other} sums: softmax sums each {line} of exp (one per query)."
    return (
        f"{s.name} was normalised along {other}s instead of {line}s: "
        f"each {line} of A must sum to 1."
    )


def _weights_name(cx: Context, s: steps.Step) -> str:
    return next(i for i in s.inputs if cx.exercise[i].role == "A")


def _weights_transposed(cx: Context, s: steps.Step):
    a = _weights_name(cx, s)
    return steps.compute(s, {**cx.fed, a: steps.transpose(cx.fed[a])}, cx.track)


def _say_weights_transposed(cx: Context, s: steps.Step) -> str:
    a = _weights_name(cx, s)
    wrong = "·".join(i + "ᵀ" if i == a else i for i in s.inputs)
    return (
        f"{s.name} was worked as {wrong} instead of {'·'.join(s.inputs)}: "
        "the weights were applied along the wrong axis."
    )


def _factors_swapped(cx: Context, s: steps.Step):
    left, right = (cx.fed[i] for i in s.inputs)
    value = steps.matmul(right, left, Fraction(0))
    return value if (len(value), len(value[0])) == s.shape else None


def _say_factors_swapped(cx: Context, s: steps.Step) -> str:
    return (
        f"{s.name} was worked as {'·'.join(reversed(s.inputs))} instead of "
        f"{'·'.join(s.inputs)}: the weights were applied along the wrong axis."
    )


@dataclass(frozen=True)
class Way:
    """One usual mistake: the roles it happens in, how to redo a step that way, its sentence."""

    kind: str
    roles: tuple[str, ...]
    redo: Callable[[Context, steps.Step], steps.Value | None]
    say: Callable[[Context, steps.Step], str]


def _shaped_like(value, step: steps.Step) -> bool:
    """Whether a mistaken value has the step's shape (a transposed n × N score does not)."""
    if step.is_vector:
        return len(value) == step.rows and not isinstance(value[0], tuple)
    return len(value) == step.rows and all(len(r) == step.cols for r in value)


MISTAKES: tuple[Way, ...] = (
    Way("weights-swapped", ("Q", "K", "q", "k"), _weights_swapped, _say_weights_swapped),
    Way("scores-transposed", ("S",), _scores_transposed, _say_scores_transposed),
    Way("rounding", ("scaled",), _other_rounding, _say_other_rounding),
    Way("not-scaled", ("scaled", "exp"), _unscaled, _say_unscaled),
    Way("e-not-3", ("exp",), _e_not_three, _say_e_not_three),
    Way("softmax-axis", ("colsum", "rowsum", "A"), _softmax_axis, _say_softmax_axis),
    Way("weights-axis", ("Z",), _weights_transposed, _say_weights_transposed),
    Way("weights-axis", ("Z",), _factors_swapped, _say_factors_swapped),
)


# --- the report ------------------------------------------------------------------------


@dataclass(frozen=True)
class Mistake:
    """A named mistake: a kind for tools, a sentence for people; a slip also says where."""

    kind: str
    text: str
    cell: str | None = None
    wrote: str | None = None
    expected: str | None = None

    key: str | None = None

    def to_json(self) -> dict:
        out = {"kind": self.kind, "text": self.text}
        if self.cell is not None:
            out.update(cell=self.cell, wrote=self.wrote, expected=self.expected, key=self.key)
        return out


@dataclass(frozen=True)
class StepResult:
    """One step graded: verdicts shaped like the step (None where not graded), and why.

    `expected` is what the student's own earlier answers give (the key if it cannot be
    worked out from them); `yours` names the earlier steps where those answers differ from
    the key."""

    step: steps.Step
    verdicts: tuple
    mistakes: tuple[Mistake, ...]
    cells: tuple
    key: steps.Value
    expected: steps.Value
    yours: tuple[str, ...] = ()

    def say_expected(self, p: Pos) -> str:
        """What a wrong cell should have been, in words (see `say_expected`)."""
        return say_expected(at(self.cells, p), at(self.expected, p), at(self.key, p), self.yours)

    def flat(self) -> list[str]:
        return [at(self.verdicts, p) for p in positions(self.step) if at(self.verdicts, p)]

    def count(self, verdict: str) -> int:
        return self.flat().count(verdict)

    @property
    def graded(self) -> int:
        return len(self.flat())

    @property
    def credited(self) -> int:
        return self.count(CORRECT) + self.count(FOLLOW)

    @property
    def unreadable(self) -> list[tuple[str, Cell]]:
        return [
            (steps.field_name(self.step.name, *p), at(self.cells, p))
            for p in positions(self.step)
            if at(self.cells, p).unreadable
        ]

    def wrong_cells(self) -> list[tuple[Pos, Cell]]:
        return [
            (p, at(self.cells, p)) for p in positions(self.step) if at(self.verdicts, p) == WRONG
        ]


@dataclass(frozen=True)
class Report:
    """A whole answers file graded against one solution."""

    solution: Solution
    answers: Answers
    steps: Mapping[str, StepResult]

    @property
    def graded(self) -> int:
        return sum(r.graded for r in self.steps.values())

    @property
    def credited(self) -> int:
        return sum(r.credited for r in self.steps.values())

    @property
    def percent(self) -> float:
        return 100 * self.credited / self.graded if self.graded else 0.0

    @property
    def first_wrong(self) -> StepResult | None:
        return next((r for r in self.steps.values() if r.count(WRONG)), None)


# --- the algorithm ---------------------------------------------------------------------


def hidden_cells(exercise: steps.Exercise, key: Mapping[str, steps.Value]) -> dict[str, set]:
    """Per step, the cells the causal mask hides (ungraded)."""
    hidden: dict[str, set] = {}
    for s in exercise.worked:
        if s.mask:
            hidden[s.name] = {p for p in positions(s) if at(key[s.name], p) is steps.MASKED}
        elif s.kind in ("scale", "exp", "normalise") and s.inputs[0] in hidden:
            hidden[s.name] = hidden[s.inputs[0]]
        else:
            hidden[s.name] = set()
    return hidden


def _judge(cell: Cell, key, targets: list) -> tuple[str, object]:
    """A cell's verdict (rule 3), and the value it is credited as for later steps."""
    if cell.unreadable:
        return WRONG, key
    if cell.blank:
        return BLANK, key
    if matches(cell.written, key):
        return CORRECT, key
    for t in targets:
        if matches(cell.written, t):
            return FOLLOW, t
    return WRONG, cell.written.value


def _trivial(cells, graded: list[Pos]) -> bool:
    values = {at(cells, p).written.value for p in graded if at(cells, p).written is not None}
    return not values or (len(values) == 1 and len(graded) > 1)


def too_short(w: numbers.Written | None, target) -> bool:
    """A decimal that would match the target but for having fewer places than the rule asks."""
    if w is None or w.places is None or target is steps.MASKED or target is None:
        return False
    t = Fraction(target)
    return t.denominator != 1 and w.places < 2 and abs(w.value - t) * 2 * 10**w.places <= 1


def say_expected(cell: Cell, expected, key, yours: tuple[str, ...]) -> str:
    """What a wrong cell should have been: the key's value and, where it differs, the value
    the student's own earlier steps lead to ("from your colsum: 27/8; key: 27/38"), and the
    places a too-short decimal needs."""
    parts = []
    if expected is not None and expected is not steps.MASKED and expected != key and yours:
        parts.append(f"from your {' and '.join(yours)}: {numbers.text(expected)}")
    parts.append(f"key: {numbers.text(key)}")
    out = "; ".join(parts)
    if too_short(cell.written, key) or too_short(cell.written, expected):
        out += "; write at least 2 decimals"
    return out


def _slip(s: steps.Step, cells, p: Pos, expected, key, yours) -> Mistake:
    r, c = p
    where = f"row {r + 1}, column {c + 1}" if c is not None else f"entry {r + 1}"
    cell = at(cells, p)
    text = f"One slip in {s.name}, {where}: wrote {cell.text}; "
    text += say_expected(cell, expected, key, yours) + "."
    name = steps.field_name(s.name, *p)
    return Mistake("slip", text, name, cell.text, numbers.text(expected), numbers.text(key))


def _mistakes(
    contexts: list[Context], s: steps.Step, cells, verdicts, expected, graded, key, yours
):
    """Rule 4: the usual mistakes that explain every number written, else a single slip."""
    wrong = [p for p in graded if at(verdicts, p) == WRONG]
    readable_wrong = [p for p in wrong if at(cells, p).written is not None]
    if not readable_wrong:
        return []
    written = [p for p in graded if at(cells, p).written is not None]
    found: list[Mistake] = []
    for way in MISTAKES:
        if s.role not in way.roles or any(m.kind == way.kind for m in found):
            continue
        for cx in contexts:
            value = _attempt(way.redo, cx, s)
            if (
                value is not None
                and _shaped_like(value, s)
                and all(matches(at(cells, p).written, at(value, p)) for p in written)
            ):
                found.append(Mistake(way.kind, way.say(cx, s)))
                break
    blanks = [p for p in graded if at(verdicts, p) == BLANK]
    if found or len(wrong) != 1 or len(readable_wrong) != 1 or blanks or len(graded) < 2:
        return found
    p = wrong[0]
    return [_slip(s, cells, p, at(expected, p), at(key, p), yours)]


def _same(key: steps.Value, value: steps.Value) -> steps.Value:
    """The key object itself when equal, so that `_target` can skip recomputing it."""
    return key if value == key else value


def _target(s: steps.Step, view: Mapping, key: Mapping, track: steps.Track):
    """Rule 2 for one view; inputs that are the key's own give the key without working."""
    if all(view[i] is key[i] for i in s.inputs):
        return key[s.name]
    return _attempt(steps.compute, s, view, track)


def _split_revealed(graded: list[Pos], revealed: set) -> tuple[list[Pos], list[Pos]]:
    """The graded cells the page revealed, and the ones that are the learner's own work."""
    return [p for p in graded if p in revealed], [p for p in graded if p not in revealed]


def grade(solution: Solution, answers: Answers) -> Report:
    """Grade every worked step of one answers file against the solution's key."""
    ex = solution.exercise
    key = solution.values
    rounding = solution.problem.spec.rounding
    track = hand_track(rounding)
    grid = answers.grid(ex)
    hidden = hidden_cells(ex, key)
    revealed = answers.revealed_cells(ex)
    credited: dict[str, steps.Value] = {s.name: key[s.name] for s in ex.given}
    as_written = dict(credited)
    results: dict[str, StepResult] = {}
    for s in ex.worked:
        if s.name in ex.shown:  # printed as a given: not graded, and the chain starts from it
            credited[s.name] = as_written[s.name] = key[s.name]
            continue
        cells, k = grid[s.name], key[s.name]
        views = [credited]
        if any(credited[i] != as_written[i] for i in s.inputs):
            views.append(as_written)
        worked = [(view, _target(s, view, key, track)) for view in views]
        worked = [(view, t) for view, t in worked if t is not None]
        targets = [t for _, t in worked]
        yours = tuple(i for i in s.inputs if worked and worked[0][0][i] != key[i])
        graded = [p for p in positions(s) if p not in hidden[s.name]]
        shown, own = _split_revealed(graded, revealed[s.name])
        judged = {p: _judge(at(cells, p), at(k, p), [at(t, p) for t in targets]) for p in own}
        judged.update({p: (REVEALED, at(k, p)) for p in shown})
        verdicts = shaped(s, lambda p, judged=judged: judged[p][0] if p in judged else None)
        expected = targets[0] if targets else k
        contexts = [Context(ex, view, rounding) for view in views]
        found = _mistakes(contexts, s, cells, verdicts, expected, own, k, yours)
        results[s.name] = StepResult(s, verdicts, tuple(found), cells, k, expected, yours)
        if _trivial(cells, own):
            credited[s.name] = as_written[s.name] = k
            continue
        credited[s.name] = _same(
            k, shaped(s, lambda p, j=judged, k=k: j[p][1] if p in j else at(k, p))
        )

        def seen(p: Pos, cells=cells, k=k, own=frozenset(own)):
            written = at(cells, p).written
            return written.value if p in own and written is not None else at(k, p)

        as_written[s.name] = _same(k, shaped(s, seen))
    return Report(solution, answers, results)


def sheet_for(answers: Answers, fixed: Problem | None = None) -> Problem:
    """The problem an answers file is graded against: the one given, else the file's own ID."""
    own = None
    if fixed is not None:
        if answers.sheet_id is not None and not id_names(fixed, answers.sheet_id):
            raise AnswersError(
                f"{answers.source}: answers are for sheet {answers.sheet_id}, "
                f"not {fixed.sheet_id}"
            )
        return fixed
    if answers.sheet_id is not None:
        try:
            own = from_id(answers.sheet_id)
        except (ProblemFileError, DrawError) as e:
            raise AnswersError(f"{answers.source}: {e}") from None
    if own is None:
        raise AnswersError(
            f'{answers.source} has no "id"; name its sheet with --seed, --from or --id'
        )
    return own


def check(answers: Answers, fixed: Problem | None = None, solved: dict | None = None) -> Report:
    """Grade one answers file against its sheet (see `sheet_for`); `solved` caches keys by ID."""
    problem = sheet_for(answers, fixed)
    solved = {} if solved is None else solved
    if problem.id not in solved:
        solved[problem.id] = solve(problem)
    return grade(solved[problem.id], answers)
