"""Grading: a solution and a student's answers -> verdicts per cell, follow-through, mistakes.

The algorithm, to be mirrored exactly by any other implementation (the interactive sheet):

Matching. A written number w *matches* a target t when w = t exactly (as a fraction: "9/46",
"0.5" for 1/2, "3"), or when w is a decimal written to p places with |w - t| <= 10^-p / 2 and
p >= needed_places(t) if t is not a whole number: P places (the marking's, default 2) when
|t| < 1, else enough for P significant figures, at least 1 (P = 2: 1 place from 1 up). (Key
9/46 = 0.19565…: "0.196" and "0.20" match, "0.2" does not; key 47/20 = 2.35: "2.4" matches.)
Nothing matches a masked cell. A written w matches
an interval target [lo, hi] (rule 2) when lo - h <= w <= hi + h, h = 10^-p / 2 (0 for an exact
w), with p >= P unless the interval is one whole number.

Readings. A cell with two readings that the step's range may settle (numbers.Unclear,
"4,222": 4.222 or 4222) takes the one reading whose size is at most 10 × max(1, M), M the
largest size of the key's graded cells and of the credited and as-written targets' (rule 2);
with no such reading, or more than one, it needs review. A cell the teacher decided
(`check --accept`) holds the teacher's reading.

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
    key, whole, unless every cell of it is right or follow-through (a ReLU that zeroes all of
    the student's own F); a one-cell step (a decode step's one column sum) is trivial only
    when blank.
    The two views differ only where decimals were written; a student who carries rounded
    decimals forward is followed. A third view, *rough*, is the as-written one with every
    decimal the student wrote (to p places) widened to the interval w ± 10^-p / 2: the
    rounding they wrote.
 2. Targets = steps.compute(step, inputs) for the credited view, then the as-written view
    (when its inputs differ), on the sheet's hand track, where 3^x accepts only a whole x
    within ±EXP_LIMIT; then, for a step of kind product, sum, normalise, transpose or concat
    whose rough inputs differ from the as-written ones, the rough view worked in interval
    arithmetic (a sum adds the half-units; a quotient divides the intervals' ends), cells
    from exact inputs staying exact. A view whose compute fails (a zero sum to divide by,
    3^x of a fraction, a divisor interval holding 0) gives no target.
 3. Verdict of each cell, first that applies: None if hidden; "needs-review" if unreadable
    (and not settled by its range); "blank" if empty; "correct" if it matches the key;
    "follow-through" if it matches a target (the first it matches is what it is credited as:
    the target, or the number written for an interval); else "wrong".
 4. Mistakes, only if some readable cell is wrong. Each entry of MISTAKES for the step's role
    recomputes the step the mistaken way from the credited inputs, then the as-written ones;
    it is named when it has the step's shape and every readable, graded cell the student
    wrote matches that mistaken value. If none is named and exactly one graded cell is
    wrong, no graded cell is blank or needs review and the step has more than one graded
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
Score. A step's mark is (correct + follow-through) / counted cells, where counted cells are
its graded cells but those that need review (revealed cells are counted, never credited).
Score = 100 × Σ weight × mark / Σ weight over the steps with a counted cell, the weights those
of the marking (`Marking.weight`): preset "cells" weighs a step by its counted cells (the score
is then the share of counted cells credited), "steps" weighs every step 1, "light-copy" (the
default) weighs every step 1 but a copy step (kind transpose or concat: Kᵀ, Zcat) 1/4;
"NAME=W" entries multiply the steps of that name or role by W. The first step with a wrong
cell is "first_wrong".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from fractions import Fraction

from . import numbers, steps
from .answers import Answers, Cell
from .draw import from_id
from .errors import AnswersError, DrawError, OptionError, ProblemFileError
from .problem import Problem, id_names
from .solution import Solution, solve

CORRECT, FOLLOW, WRONG, BLANK = "correct", "follow-through", "wrong", "blank"
REVEALED, REVIEW = "revealed", "needs-review"
VERDICTS = (CORRECT, FOLLOW, WRONG, BLANK, REVEALED, REVIEW)
EXP_LIMIT = steps.EXP_LIMIT

RULE = (
    "A cell is correct when it equals the key exactly (a fraction such as 9/46, a whole number, "
    "or an exact decimal such as 0.5), or when it is a decimal within half a unit of its last "
    "written place of the key, written to at least two decimals when the key is not a whole "
    "number and below 1, one from 1 up: for 9/46 = 0.1956…, 0.196 and 0.20 are correct, 0.2 "
    "is not; for 47/20 = 2.35, 2.4 is correct. A decimal comma reads "
    "as a point (0,196), except before exactly three digits after a non-zero whole number "
    "(1,234), which could separate thousands and is read only where one reading fits the "
    "step's range. A cell that cannot be read needs review by the teacher and is left out "
    "of the score until decided. A cell that is wrong "
    "but equals what the step gives from the student's own earlier answers is follow-through "
    "and earns credit. Blank and unreadable earlier cells count as the key; an earlier step "
    "left blank or trivial (all one value) counts as the key, so it earns no follow-through, "
    "unless that value is what the student's own earlier answers give; "
    "a value worked from the student's own rounded decimals is followed within the rounding "
    "they wrote."
)

Pos = tuple[int, "int | None"]

PRESETS = ("cells", "steps", "light-copy")
COPY_KINDS = ("transpose", "concat")
COPY_WEIGHT = Fraction(1, 4)


@dataclass(frozen=True)
class Marking:
    """How cells become a score: the places a decimal needs, and what each step weighs.

    The default weighs every worked step alike but copy steps (Kᵀ, Zcat) a quarter: a step is
    a thing the student understood or not, whatever its number of cells (see DEVELOPING.md's
    figures)."""

    places: int = 2
    preset: str = "light-copy"
    factors: tuple[tuple[str, Fraction], ...] = ()
    relative: bool = True

    def weight(self, step: steps.Step, counted: int) -> Fraction:
        """A step's weight in the score, given how many of its cells count."""
        base = {"cells": Fraction(counted), "steps": Fraction(1)}.get(self.preset)
        if base is None:
            base = COPY_WEIGHT if step.kind in COPY_KINDS else Fraction(1)
        for name, factor in self.factors:
            if name in (step.name, step.role):
                base *= factor
        return base

    def check(self, exercise: steps.Exercise) -> None:
        """Refuse weights naming no worked step of this sheet."""
        known = {n for s in exercise.worked for n in (s.name, s.role)}
        for name, _ in self.factors:
            if name not in known:
                raise OptionError(
                    f"--weights names {name!r}, which is no step of this sheet "
                    f"(its steps: {', '.join(s.name for s in exercise.asked)})"
                )

    def describe(self) -> str:
        """The rule in words, printed in every report."""
        weights = {
            "cells": "every graded cell weighs alike",
            "steps": "every worked step weighs alike, whatever its number of cells",
            "light-copy": "every worked step weighs alike, a copy step (Kᵀ, Zcat) a quarter",
        }[self.preset]
        extra = ", ".join(f"{n} ×{numbers.text(f)}" for n, f in self.factors)
        places = "decimal" if self.places == 1 else "decimals"
        if self.relative:
            rule = (
                f"A non-whole key below 1 needs at least {self.places} {places}, "
                f"one from 1 up {self.places} significant figures (at least 1 decimal). "
            )
        else:
            rule = f"A non-whole key needs at least {self.places} {places}. "
        return (
            f"Marks: {weights}"
            + (f"; {extra}" if extra else "")
            + ". "
            + rule
            + "Cells that need review are left out until decided."
        )

    def to_json(self) -> dict:
        return {
            "places": self.places,
            "relative": self.relative,
            "weights": self.preset,
            "factors": {n: numbers.to_json(f) for n, f in self.factors},
        }


def parse_weights(text: str | None) -> tuple[str, tuple[tuple[str, Fraction], ...]]:
    """`--weights`: a preset and/or NAME=W entries, comma-separated ("steps,KT=0.5")."""
    preset, factors = Marking.preset, []
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        if "=" not in item:
            if item not in PRESETS:
                raise OptionError(
                    f"--weights: unknown preset {item!r} (presets: {', '.join(PRESETS)}; "
                    "or NAME=W such as KT=0.5)"
                )
            preset = item
            continue
        name, _, w = (x.strip() for x in item.partition("="))
        try:
            value = Fraction(w)
        except (ValueError, ZeroDivisionError):
            value = Fraction(-1)
        if not name or value < 0:
            raise OptionError(f"--weights: {item!r} must be NAME=W with W a number ≥ 0")
        factors.append((name, value))
    return preset, tuple(factors)


@dataclass(frozen=True)
class Interval:
    """A value known only to lie in [lo, hi]: a rounded decimal, and what is worked from it.

    Just the arithmetic `steps.compute` does on a step of kind product, sum, normalise,
    transpose or concat; anything else (floor, 3^x) fails, and that view gives no target."""

    lo: Fraction
    hi: Fraction

    @staticmethod
    def of(x) -> Interval:
        return x if isinstance(x, Interval) else Interval(Fraction(x), Fraction(x))

    def __add__(self, other):
        o = Interval.of(other)
        return Interval(self.lo + o.lo, self.hi + o.hi)

    __radd__ = __add__

    def __mul__(self, other):
        o = Interval.of(other)
        ends = [a * b for a in (self.lo, self.hi) for b in (o.lo, o.hi)]
        return Interval(min(ends), max(ends))

    __rmul__ = __mul__

    def __truediv__(self, other):
        o = Interval.of(other)
        if o.lo <= 0 <= o.hi:
            raise ZeroDivisionError("a divisor interval holding 0")
        return self * Interval(1 / o.hi, 1 / o.lo)

    def __rtruediv__(self, other):
        return Interval.of(other) / self


def rough(w: numbers.Written):
    """A written number with the rounding its places say: an interval, or the exact value."""
    if w.places is None:
        return w.value
    half = Fraction(1, 2 * 10**w.places)
    return Interval(w.value - half, w.value + half)


def needed_places(t: Fraction, places: int = 2, relative: bool = True) -> int:
    """The decimals a non-whole key t needs: `places` below 1 in size; from 1 up, enough for
    `places` significant figures, at least one (with 2: 0.19 needs 0.20, 2.35 needs 2.4).
    Not `relative`: `places` whatever the size (the rule before issue 23)."""
    size = abs(t)
    if size < 1 or not relative:
        return places
    digits = len(str(size.numerator // size.denominator))
    return min(places, max(1, places - digits))


def matches(w: numbers.Written, target, places: tuple = (2, True)) -> bool:
    """Whether a written number counts as the target (the tolerance rule above)."""
    if target is steps.MASKED or target is None:
        return False
    if isinstance(target, Interval):
        whole = target.lo == target.hi and target.lo.denominator == 1
        need = needed_places((target.lo + target.hi) / 2, *places)
        if w.places is not None and w.places < need and not whole:
            return False
        half = Fraction(0) if w.places is None else Fraction(1, 2 * 10**w.places)
        return target.lo - half <= w.value <= target.hi + half
    t = Fraction(target)
    if w.value == t:
        return True
    if w.places is None or (t.denominator != 1 and w.places < needed_places(t, *places)):
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


def _rounding_case(cx: Context, s: steps.Step) -> Fraction:
    """The learner's own case for the rounding message: the first score (as fed) whose half
    floor and truncation round apart, e.g. -1 (floor(-1/2) is -1, not 0)."""
    for p in positions(s):
        x = at(cx.fed[s.inputs[0]], p)
        if x is not steps.MASKED and math.floor(Fraction(x) / 2) != math.trunc(Fraction(x) / 2):
            return Fraction(x)
    return Fraction(-3)


def _say_other_rounding(cx: Context, s: steps.Step) -> str:
    x = _rounding_case(cx, s)
    t = numbers.text(x) if x.denominator == 1 else f"({numbers.text(x)})"
    down, zero = math.floor(x / 2), math.trunc(x / 2)
    if cx.rounding == "floor":
        return (
            f"{s.name} rounds halves toward zero instead of down: "
            f"floor({t}/2) is {down}, not {zero}."
        )
    return (
        f"{s.name} rounds halves down (floor) instead of toward zero, as this sheet says: "
        f"{t}/2 becomes {zero}, not {down}."
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


def _turned_back(cx: Context, s: steps.Step):
    """Each token turned the other way: (a, b) -> (b, -a), i.e. -m quarter turns."""
    return steps.rotate(cx.fed[s.inputs[0]], s.axis, lambda m: -(m + s.start))


def _say_turned_back(cx: Context, s: steps.Step) -> str:
    return (
        f"{s.name} turns the wrong way: a quarter turn takes (a, b) to (−b, a), "
        "not to (b, −a)."
    )


def _turned_from_one(cx: Context, s: steps.Step):
    """Positions counted from 1: the first token turned once instead of not at all (for a
    decode step's new token at m = 3, four turns: no turn, which not-rotated names)."""
    if s.start and (s.start + 1) % 4 == 0:
        raise ValueError("four quarter turns: the same as none")
    return steps.rotate(cx.fed[s.inputs[0]], s.axis, lambda m: m + s.start + 1)


def _say_turned_from_one(cx: Context, s: steps.Step) -> str:
    if s.start:  # a decode step's new token
        return (
            f"{s.name} turns the new token by the wrong position: counted from m = 0, the "
            f"{s.start} cached tokens are m = 0 to {s.start - 1}, so it is m = {s.start} "
            f"({s.start} quarter turns)."
        )
    return (
        f"{s.name} turns each token by the wrong position: the first token is m = 0 "
        "(not turned at all), the second m = 1 (one quarter turn), and so on."
    )


def _bias_left_out(cx: Context, s: steps.Step):
    """F = W1·R1 (or Y = W2·H) without the bias."""
    return steps.matmul(cx.fed[s.inputs[0]], cx.fed[s.inputs[1]])


def _say_bias_left_out(cx: Context, s: steps.Step) -> str:
    return f"{s.name} leaves out the bias: {s.formula} adds {s.inputs[2]} to every token."


def _relu_before_bias(cx: Context, s: steps.Step):
    """H = ReLU(W1·R1) + b1: the bias added after ReLU instead of before it."""
    f = cx.exercise[s.inputs[0]]
    product = steps.matmul(cx.fed[f.inputs[0]], cx.fed[f.inputs[1]])
    return steps.add_bias(steps.elementwise(product, steps.relu), cx.fed[f.inputs[2]], f.axis)


def _say_relu_before_bias(cx: Context, s: steps.Step) -> str:
    f = cx.exercise[s.inputs[0]]
    b = f.inputs[2]
    return (
        f"{s.name} applies ReLU before the bias: it is ReLU({f.formula}), the bias {b} added "
        f"first, not ReLU(…) + {b}."
    )


def _residual_forgotten(cx: Context, s: steps.Step):
    """R1 = Zo without X, or R2 = Y without R1: the residual's skip left out."""
    return cx.fed[s.inputs[1]]


def _say_residual_forgotten(cx: Context, s: steps.Step) -> str:
    skip, branch = s.inputs
    return (
        f"{s.name} forgets the residual: it is {skip} + {branch}, the input carried round "
        f"and added back, not {branch} alone."
    )


def _negative_kept(cx: Context, s: steps.Step):
    """H = F: ReLU left the negative entries as they were."""
    return cx.fed[s.inputs[0]]


def _say_negative_kept(cx: Context, s: steps.Step) -> str:
    return (
        f"{s.name} keeps negative entries: ReLU(x) = max(x, 0) turns every negative entry "
        f"of {s.inputs[0]} into 0."
    )


def _unturned(cx: Context, name: str):
    """A turned step's value as if no turn had been made: Qr is Q, Kr is K, Krᵀ is Kᵀ, from
    the fed values (a step that was never turned has no unturned form)."""
    s = cx.exercise[name]
    if s.kind == "rotate":
        return cx.fed[s.inputs[0]]
    if s.kind == "transpose":
        return steps.transpose(_unturned(cx, s.inputs[0]))
    if s.kind == "concat":  # a decode step's keys: the cache (turned already) and the new key
        parts = [_attempt(_unturned, cx, i) for i in s.inputs]
        if all(p is None for p in parts):
            raise ValueError(f"{name} is not turned")
        return steps.concat([cx.fed[i] if p is None else p for i, p in zip(s.inputs, parts)], s.axis)
    raise ValueError(f"{name} is not turned")


def _not_turned(cx: Context, s: steps.Step):
    """Rotation left out: the step worked from the unturned queries and keys."""
    if s.kind in ("rotate", "transpose", "concat"):
        return _unturned(cx, s.name)
    fed = {i: _unturned(cx, i) for i in s.inputs}
    return steps.compute(s, {**cx.fed, **fed}, cx.track)


def _say_not_turned(cx: Context, s: steps.Step) -> str:
    if s.kind == "rotate" and s.start:
        return (
            f"{s.name} = {s.inputs[0]}: the new token was not turned; it is m = {s.start}, so "
            f"it turns {s.start} quarter turns, (a, b) → (−b, a) per turn."
        )
    if s.kind == "rotate":
        return (
            f"{s.name} = {s.inputs[0]}: the tokens were not turned; token m turns m quarter "
            "turns, (a, b) → (−b, a) per turn (only the first, m = 0, stays as it is)."
        )
    if s.kind == "concat":
        new = s.inputs[-1]
        return (
            f"{s.name} took the new key before its turn: the cache holds turned keys, so "
            f"{new} joins it, {s.name} = {s.formula}."
        )
    if s.kind == "transpose":
        return (
            f"{s.name} was copied from the keys before their turn: it is {s.formula}, the "
            "turned keys transposed."
        )
    q = next(cx.exercise[i] for i in s.inputs if cx.exercise[i].kind == "rotate")
    wrong = s.formula.replace("Krᵀ", "Kᵀ").replace(q.role, q.inputs[0].rstrip("0123456789"))
    return (
        f"{s.name} was worked as {wrong}, from the unturned queries and keys: with rotary "
        f"positions the scores are {s.formula}."
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
    Way("rotation-direction", ("Qr", "Kr", "qr", "kr"), _turned_back, _say_turned_back),
    Way("rotation-position", ("Qr", "Kr", "qr", "kr"), _turned_from_one, _say_turned_from_one),
    Way("not-rotated", ("Qr", "Kr", "qr", "kr", "K", "KT", "S"), _not_turned, _say_not_turned),
    Way("bias-left-out", ("F", "Y"), _bias_left_out, _say_bias_left_out),
    Way("relu-before-bias", ("H",), _relu_before_bias, _say_relu_before_bias),
    Way("residual-forgotten", ("R1", "R2"), _residual_forgotten, _say_residual_forgotten),
    Way("relu-kept-negative", ("H",), _negative_kept, _say_negative_kept),
)

# Every kind of named mistake, in the order they are looked for, then the slip: the
# gradebook's mistake columns and the class report's ranking use these names.
MISTAKE_KINDS = (*dict.fromkeys(w.kind for w in MISTAKES), "slip")


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
class Review:
    """A cell the teacher must read: where, what was written, its likely reading and why."""

    cell: str
    text: str | None
    likely: str | None
    why: str

    def to_json(self) -> dict:
        return {"cell": self.cell, "text": self.text, "likely": self.likely, "error": self.why}


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
    review: tuple[Review, ...] = ()
    places: tuple = (2, True)

    def say_expected(self, p: Pos) -> str:
        """What a wrong cell should have been, in words (see `say_expected`)."""
        return say_expected(
            at(self.cells, p), at(self.expected, p), at(self.key, p), self.yours, self.places
        )

    def flat(self) -> list[str]:
        return [at(self.verdicts, p) for p in positions(self.step) if at(self.verdicts, p)]

    def count(self, verdict: str) -> int:
        return self.flat().count(verdict)

    @property
    def graded(self) -> int:
        return len(self.flat())

    @property
    def counted(self) -> int:
        """The graded cells the score counts: all but those waiting for review."""
        return self.graded - self.count(REVIEW)

    @property
    def credited(self) -> int:
        return self.count(CORRECT) + self.count(FOLLOW)

    @property
    def mark(self) -> Fraction | None:
        return Fraction(self.credited, self.counted) if self.counted else None

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
    marking: Marking = Marking()

    @property
    def graded(self) -> int:
        return sum(r.graded for r in self.steps.values())

    @property
    def credited(self) -> int:
        return sum(r.credited for r in self.steps.values())

    @property
    def review(self) -> list[Review]:
        return [c for r in self.steps.values() for c in r.review]

    @property
    def score(self) -> Fraction:
        """The weighted score (module docstring), exactly, from 0 to 100."""
        total = weighted = Fraction(0)
        for r in self.steps.values():
            if r.mark is None:
                continue
            w = self.marking.weight(r.step, r.counted)
            total += w
            weighted += w * r.mark
        return 100 * weighted / total if total else Fraction(0)

    @property
    def percent(self) -> float:
        return float(self.score)

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


def _judge(cell: Cell, key, targets: list, places: tuple) -> tuple[str, object]:
    """A cell's verdict (rule 3), and the value it is credited as for later steps."""
    if cell.unreadable:
        return REVIEW, key
    if cell.blank:
        return BLANK, key
    if matches(cell.written, key, places):
        return CORRECT, key
    for t in targets:
        if matches(cell.written, t, places):
            return FOLLOW, cell.written.value if isinstance(t, Interval) else t
    return WRONG, cell.written.value


def _trivial(cells, graded: list[Pos]) -> bool:
    values = {at(cells, p).written.value for p in graded if at(cells, p).written is not None}
    return not values or (len(values) == 1 and len(graded) > 1)


def _earned(judged: dict, graded: list[Pos]) -> bool:
    """Every cell right or follow-through: an all-one-value step the student's own work
    gives (a ReLU that zeroes every entry of their F) is followed, not taken as the key."""
    return bool(graded) and all(judged.get(p, (None,))[0] in (CORRECT, FOLLOW) for p in graded)


def too_short(w: numbers.Written | None, target, places: tuple = (2, True)) -> bool:
    """A decimal that would match the target but for having fewer places than the rule asks."""
    if w is None or w.places is None or target is steps.MASKED or target is None:
        return False
    t = Fraction(target)
    short = t.denominator != 1 and w.places < needed_places(t, *places)
    return short and abs(w.value - t) * 2 * 10**w.places <= 1


def say_expected(
    cell: Cell, expected, key, yours: tuple[str, ...], places: tuple = (2, True)
) -> str:
    """What a wrong cell should have been: the key's value and, where it differs, the value
    the student's own earlier steps lead to ("from your colsum: 27/8; key: 27/38"), and the
    places a too-short decimal needs."""
    parts = []
    if expected is not None and expected is not steps.MASKED and expected != key and yours:
        parts.append(f"from your {' and '.join(yours)}: {numbers.text(expected)}")
    parts.append(f"key: {numbers.text(key)}")
    out = "; ".join(parts)
    for t in (key, expected):
        if too_short(cell.written, t, places):
            need = needed_places(Fraction(t), *places)
            out += f"; write at least {need} decimal{'s' if need > 1 else ''}"
            break
    return out


def _slip(s: steps.Step, cells, p: Pos, expected, key, yours, places: tuple) -> Mistake:
    r, c = p
    where = f"row {r + 1}, column {c + 1}" if c is not None else f"entry {r + 1}"
    cell = at(cells, p)
    text = f"One slip in {s.name}, {where}: wrote {cell.text}; "
    text += say_expected(cell, expected, key, yours, places) + "."
    name = steps.field_name(s.name, *p)
    return Mistake("slip", text, name, cell.text, numbers.text(expected), numbers.text(key))


def _mistakes(
    contexts: list[Context], s: steps.Step, cells, verdicts, expected, graded, key, yours, places
):
    """Rule 4: the usual mistakes that explain every number written, else a single slip."""
    wrong = [p for p in graded if at(verdicts, p) == WRONG]
    if not wrong:
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
                and all(matches(at(cells, p).written, at(value, p), places) for p in written)
            ):
                found.append(Mistake(way.kind, way.say(cx, s)))
                break
    unsure = [p for p in graded if at(verdicts, p) in (BLANK, REVIEW)]
    if found or len(wrong) != 1 or unsure or len(graded) < 2:
        return found
    p = wrong[0]
    return [_slip(s, cells, p, at(expected, p), at(key, p), yours, places)]


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


ROUGH_KINDS = ("product", "sum", "normalise", "transpose", "concat")
RANGE_FACTOR = 10


def _size(x) -> Fraction:
    if x is steps.MASKED or x is None:
        return Fraction(0)
    if isinstance(x, Interval):
        return max(abs(x.lo), abs(x.hi))
    return abs(Fraction(x))


def _bound(graded: list[Pos], values: list) -> Fraction:
    """The size a reading may have in this step (the "Readings" rule)."""
    return RANGE_FACTOR * max([Fraction(1)] + [_size(at(v, p)) for v in values for p in graded])


def _settle(cells, graded: list[Pos], bound: Fraction, s: steps.Step) -> tuple:
    """Cells with readings the step's range settles, read that way."""

    def settled(p: Pos):
        cell = at(cells, p)
        if not cell.by_range or p not in graded:
            return cell
        fits = [w for w in cell.readings if abs(w.value) <= bound]
        return replace(cell, written=fits[0], error=None) if len(fits) == 1 else cell

    return shaped(s, settled)


def _likely(cell: Cell, bound: Fraction) -> str | None:
    """The reading shown to the teacher: the first that fits the range, else the first."""
    if not cell.readings:
        return None
    fits = [w for w in cell.readings if abs(w.value) <= bound] if cell.by_range else []
    return numbers.likely_text((fits or list(cell.readings))[0])


def grade(solution: Solution, answers: Answers, marking: Marking = Marking()) -> Report:
    """Grade every worked step of one answers file against the solution's key."""
    ex = solution.exercise
    marking.check(ex)
    places = (marking.places, marking.relative)
    key = solution.values
    rounding = solution.problem.spec.rounding
    track = hand_track(rounding)
    grid = answers.grid(ex)
    hidden = hidden_cells(ex, key)
    revealed = answers.revealed_cells(ex)
    credited: dict[str, steps.Value] = {s.name: key[s.name] for s in ex.given}
    as_written = dict(credited)
    roughly = dict(credited)
    results: dict[str, StepResult] = {}
    for s in ex.worked:
        if s.name in ex.shown:  # printed as a given: not graded, and the chain starts from it
            credited[s.name] = as_written[s.name] = roughly[s.name] = key[s.name]
            continue
        k = key[s.name]
        views = [credited]
        if any(credited[i] != as_written[i] for i in s.inputs):
            views.append(as_written)
        worked = [(view, _target(s, view, key, track)) for view in views]
        worked = [(view, t) for view, t in worked if t is not None]
        targets = [t for _, t in worked]
        if s.kind in ROUGH_KINDS and any(roughly[i] is not as_written[i] for i in s.inputs):
            t = _attempt(steps.compute, s, roughly, track)
            if t is not None:
                targets.append(t)
        yours = tuple(i for i in s.inputs if worked and worked[0][0][i] != key[i])
        graded = [p for p in positions(s) if p not in hidden[s.name]]
        bound = _bound(graded, [k, *(t for _, t in worked)])
        cells = _settle(grid[s.name], graded, bound, s)
        shown, own = _split_revealed(graded, revealed[s.name])
        judged = {
            p: _judge(at(cells, p), at(k, p), [at(t, p) for t in targets], places) for p in own
        }
        judged.update({p: (REVEALED, at(k, p)) for p in shown})
        verdicts = shaped(s, lambda p, judged=judged: judged[p][0] if p in judged else None)
        expected = worked[0][1] if worked else k
        contexts = [Context(ex, view, rounding) for view in views]
        found = _mistakes(contexts, s, cells, verdicts, expected, own, k, yours, places)
        review = tuple(
            Review(
                steps.field_name(s.name, *p),
                at(cells, p).text,
                _likely(at(cells, p), bound),
                at(cells, p).error,
            )
            for p in own
            if judged[p][0] == REVIEW
        )
        results[s.name] = StepResult(
            s, verdicts, tuple(found), cells, k, expected, yours, review, places
        )
        if _trivial(cells, own) and not _earned(judged, own):
            credited[s.name] = as_written[s.name] = roughly[s.name] = k
            continue
        credited[s.name] = _same(
            k, shaped(s, lambda p, j=judged, k=k: j[p][1] if p in j else at(k, p))
        )

        def seen(p: Pos, cells=cells, k=k, own=frozenset(own), widen=False):
            written = at(cells, p).written
            if p not in own or written is None:
                return at(k, p)
            return rough(written) if widen else written.value

        as_written[s.name] = _same(k, shaped(s, seen))
        widened = shaped(s, lambda p: seen(p, widen=True))
        has_interval = any(isinstance(at(widened, p), Interval) for p in positions(s))
        roughly[s.name] = widened if has_interval else as_written[s.name]
    return Report(solution, answers, results, marking)


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


def check(
    answers: Answers,
    fixed: Problem | None = None,
    solved: dict | None = None,
    marking: Marking = Marking(),
) -> Report:
    """Grade one answers file against its sheet (see `sheet_for`); `solved` caches keys by ID."""
    problem = sheet_for(answers, fixed)
    solved = {} if solved is None else solved
    if problem.id not in solved:
        solved[problem.id] = solve(problem)
    return grade(solved[problem.id], answers, marking)
