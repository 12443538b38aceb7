"""The exercise as data: each step's name, inputs, operation, shape and colour.

Solving, the sheet, grading and follow-through all walk this one table, so another exercise
(more heads, a causal mask, the row convention) is another table, not more code.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction

Matrix = tuple[tuple, ...]
Vector = tuple
Value = Matrix | Vector


class _Masked:
    """A score hidden by the causal mask: printed as masked, weight exactly 0."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MASKED"

    def __reduce__(self):
        return (_Masked, ())


MASKED = _Masked()


def _floor_half(x: Fraction) -> Fraction:
    return Fraction(math.floor(Fraction(x) / 2))


def _trunc_half(x: Fraction) -> Fraction:
    return Fraction(math.trunc(Fraction(x) / 2))


# 3^x is worked exactly, so its size is bounded: a huge power would take minutes to write out
# and overflow the exact track's e^x. Drawn sheets stay far inside (scaled within -2…3).
EXP_LIMIT = 60


def _three_to(x: Fraction) -> Fraction:
    x = Fraction(x)
    if x.denominator != 1 or abs(x) > EXP_LIMIT:
        raise ValueError(f"3^x needs a whole x within ±{EXP_LIMIT}, not {x}")
    return Fraction(3) ** int(x)


@dataclass(frozen=True)
class Track:
    """How the two stand-ins are worked: by hand (floor(S/2), 3^x) or as a transformer does."""

    name: str
    scale: Callable
    exp: Callable
    lift: Callable = Fraction
    scale_text: str = ""
    exp_text: str = ""


ROUNDINGS = ("floor", "zero")


def simplified(rounding: str = "floor") -> Track:
    """The hand track: exact fractions; halves rounded down (floor) or toward zero.

    Givens enter as ints (products stay ints, twice as fast as Fractions); scaling, 3^x and
    the division by sums turn them into Fractions, so every value stays exact."""
    if rounding == "floor":
        return Track("simplified", _floor_half, _three_to, int, "floor(x/2)", "3^x")
    if rounding == "zero":
        return Track("simplified", _trunc_half, _three_to, int, "trunc(x/2)", "3^x")
    raise ValueError(f"unknown rounding {rounding!r}")


def exact(d_k: int) -> Track:
    """The real track: S/√d_k and e^x, in floats."""
    root = math.sqrt(d_k)
    return Track("exact", lambda x: x / root, math.exp, float, f"x/√{d_k}", "e^x")


# Colour groups of the sheet (design.md): given warm, products purple, scaling yellow,
# softmax green, output blue.
GROUPS = ("given", "product", "scale", "softmax", "output")


@dataclass(frozen=True)
class Step:
    """One box of the exercise: what it is called, how it is made, and its shape."""

    name: str
    role: str
    kind: str
    inputs: tuple[str, ...]
    rows: int
    cols: int | None
    group: str
    formula: str
    title: str
    head: int | None = None
    axis: str | None = None
    mask: str | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.rows,) if self.cols is None else (self.rows, self.cols)

    @property
    def is_vector(self) -> bool:
        return self.cols is None

    @property
    def given(self) -> bool:
        return self.kind == "given"


@dataclass(frozen=True)
class Exercise:
    """The ordered step table for one set of sizes and rules."""

    steps: tuple[Step, ...]
    convention: str = "columns"
    causal: bool = False
    heads: int = 1
    shown: frozenset = frozenset()
    by_name: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "by_name", {s.name: s for s in self.steps})

    def __getitem__(self, name: str) -> Step:
        return self.by_name[name]

    def __iter__(self):
        return iter(self.steps)

    @property
    def given(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.given)

    @property
    def worked(self) -> tuple[Step, ...]:
        """Every step computed from the givens (including those printed as givens)."""
        return tuple(s for s in self.steps if not s.given)

    @property
    def asked(self) -> tuple[Step, ...]:
        """The worked steps a student fills in and is graded on: all but the shown ones."""
        return tuple(s for s in self.steps if not s.given and s.name not in self.shown)

    def shown_in_order(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.steps if s.name in self.shown)

    def downstream(self, names: Sequence[str]) -> set[str]:
        """Names of the steps that depend, directly or not, on any of `names`."""
        hit = set(names)
        for s in self.steps:
            if any(i in hit for i in s.inputs):
                hit.add(s.name)
        return hit - set(names)

    def track_dependent(self) -> tuple[str, ...]:
        """Steps whose value differs between the hand track and the exact track."""
        roots = [s.name for s in self.steps if s.kind == "scale"]
        dep = set(roots) | self.downstream(roots)
        return tuple(s.name for s in self.steps if s.name in dep)


def build(
    tokens: int,
    d_in: int,
    d_k: int,
    d_v: int | None = None,
    heads: int = 1,
    convention: str = "columns",
    causal: bool = False,
    rounding: str = "floor",
    output_projection: bool = True,
) -> Exercise:
    """The step table for these sizes. Multi-head step names carry the head number: Q1, S2.
    Without `output_projection` a multi-head exercise stops at the concatenated heads."""
    d_v = d_k if d_v is None else d_v
    cols = convention == "columns"
    if convention not in ("columns", "rows"):
        raise ValueError(f"unknown convention {convention!r}")

    def shaped(r: int, c: int) -> tuple[int, int]:
        """Column-convention shape (features × tokens), turned for the row convention."""
        return (r, c) if cols else (c, r)

    steps: list[Step] = []

    def add(name, role, kind, inputs, shape, group, formula, title, head=None, **kw):
        rows, ncols = (shape[0], None) if len(shape) == 1 else shape
        steps.append(
            Step(name, role, kind, tuple(inputs), rows, ncols, group, formula, title, head, **kw)
        )

    add("X", "X", "given", (), shaped(d_in, tokens), "given", "X", "Input features")
    suffixes = [""] if heads == 1 else [str(h) for h in range(1, heads + 1)]
    for h, sfx in enumerate(suffixes, start=1):
        head = None if heads == 1 else h
        for w, d in (("WQ", d_k), ("WK", d_k), ("WV", d_v)):
            title = {"WQ": "Query weights", "WK": "Key weights", "WV": "Value weights"}[w]
            add(w + sfx, w, "given", (), (d, d_in) if cols else (d_in, d), "given", w, title, head)
    if heads > 1 and output_projection:
        add(
            "WO",
            "WO",
            "given",
            (),
            (d_in, heads * d_v) if cols else (heads * d_v, d_in),
            "given",
            "WO",
            "Output projection",
        )

    for h, sfx in enumerate(suffixes, start=1):
        head = None if heads == 1 else h

        def n(role: str, sfx: str = sfx) -> str:
            return role + sfx

        for role, w, d, title in (
            ("Q", "WQ", d_k, "Queries"),
            ("K", "WK", d_k, "Keys"),
            ("V", "WV", d_v, "Values"),
        ):
            inputs = (n(w), "X") if cols else ("X", n(w))
            formula = f"{w}·X" if cols else f"X·{w}"
            add(
                n(role), role, "product", inputs, shaped(d, tokens), "product", formula, title, head
            )
        add(
            n("KT"),
            "KT",
            "transpose",
            (n("K"),),
            shaped(d_k, tokens)[::-1],
            "product",
            "Kᵀ",
            "Keys, transposed",
            head,
        )
        mask = ("below" if cols else "above") if causal else None
        inputs = (n("KT"), n("Q")) if cols else (n("Q"), n("KT"))
        add(
            n("S"),
            "S",
            "product",
            inputs,
            (tokens, tokens),
            "product",
            "Kᵀ·Q" if cols else "Q·Kᵀ",
            "Attention scores",
            head,
            mask=mask,
        )
        half = "floor(S/2)" if rounding == "floor" else "trunc(S/2)"
        add(
            n("scaled"),
            "scaled",
            "scale",
            (n("S"),),
            (tokens, tokens),
            "scale",
            half,
            "Scaled scores",
            head,
        )
        add(
            n("exp"),
            "exp",
            "exp",
            (n("scaled"),),
            (tokens, tokens),
            "softmax",
            "3^x",
            "Softmax numerators",
            head,
        )
        total = "colsum" if cols else "rowsum"
        add(
            n(total),
            total,
            "sum",
            (n("exp"),),
            (tokens,),
            "softmax",
            "column sums" if cols else "row sums",
            "Column sums" if cols else "Row sums",
            head,
            axis="columns" if cols else "rows",
        )
        add(
            n("A"),
            "A",
            "normalise",
            (n("exp"), n(total)),
            (tokens, tokens),
            "softmax",
            "exp / " + ("column sum" if cols else "row sum"),
            "Attention weights",
            head,
            axis="columns" if cols else "rows",
        )
        inputs = (n("V"), n("A")) if cols else (n("A"), n("V"))
        add(
            n("Z"),
            "Z",
            "product",
            inputs,
            shaped(d_v, tokens),
            "output",
            "V·A" if cols else "A·V",
            "Attention output",
            head,
        )

    if heads > 1:
        zs = tuple("Z" + s for s in suffixes)
        add(
            "Zcat",
            "Zcat",
            "concat",
            zs,
            shaped(heads * d_v, tokens),
            "output",
            "heads' Z stacked" if cols else "heads' Z side by side",
            "Concatenated heads",
            axis="rows" if cols else "columns",
        )
    if heads > 1 and output_projection:
        inputs = ("WO", "Zcat") if cols else ("Zcat", "WO")
        add(
            "O",
            "O",
            "product",
            inputs,
            shaped(d_in, tokens),
            "output",
            "WO·Zcat" if cols else "Zcat·WO",
            "Multi-head output",
        )
    return Exercise(tuple(steps), convention, causal, heads)


# --- drills: worked steps printed filled in, as givens ----------------------------------

# Common drills by name: the steps they give (in every head), so the rest is practised.
DRILLS = {
    "scores": ("Q", "K", "V"),
    "softmax": ("S", "V"),
    "output": ("A", "V"),
}


def shown_steps(exercise: Exercise, requested) -> frozenset:
    """The worked steps printed as givens: those requested (a step name such as S2, a role
    such as S for every head's S, or a drill from DRILLS), and every step that only leads to
    them (with S given, Q, K and Kᵀ are no longer needed). Raises ValueError, in words."""
    wanted: set[str] = set()
    lookup = {}
    for s in exercise.steps:
        lookup.setdefault(s.name.lower(), set()).add(s.name)
        lookup.setdefault(s.role.lower(), set()).add(s.name)
    names = [n.strip() for n in requested]
    for name in names:
        key = name.lower()
        if key in DRILLS:
            roles = DRILLS[key]
            wanted |= {s.name for s in exercise.worked if s.role in roles}
            continue
        if key not in lookup:
            known = ", ".join(s.name for s in exercise.worked)
            raise ValueError(
                f"--given: no step named {name!r} (steps: {known}; drills: {', '.join(DRILLS)})"
            )
        hits = lookup[key]
        if any(exercise[h].given for h in hits):
            raise ValueError(f"--given: {name} is a given matrix already; name worked steps")
        wanted |= hits
    consumers: dict[str, set[str]] = {s.name: set() for s in exercise.steps}
    for s in exercise.steps:
        for i in s.inputs:
            consumers[i].add(s.name)
    for s in reversed(exercise.worked):
        if s.name not in wanted and consumers[s.name] and consumers[s.name] <= wanted:
            wanted.add(s.name)
    if all(s.name in wanted for s in exercise.worked):
        raise ValueError("--given leaves no step to work; give fewer steps")
    return frozenset(wanted)


def with_shown(exercise: Exercise, requested) -> Exercise:
    """The same table with some worked steps printed as givens (see `shown_steps`)."""
    return replace(exercise, shown=shown_steps(exercise, requested))


# --- the operations: pure functions of values -------------------------------------------


def matmul(a: Matrix, b: Matrix, zero=0) -> Matrix:
    """a·b over any numbers; `zero` keeps empty sums on the caller's track."""
    if len(a[0]) != len(b):
        raise ValueError(f"cannot multiply {len(a)}×{len(a[0])} by {len(b)}×{len(b[0])}")
    bt = list(zip(*b))
    return tuple(tuple(sum((x * y for x, y in zip(row, col)), zero) for col in bt) for row in a)


def transpose(a: Matrix) -> Matrix:
    return tuple(zip(*a))


def apply_mask(a: Matrix, mask: str | None) -> Matrix:
    """Hide the scores a token may not attend to: later keys for each query."""
    if mask is None:
        return a
    hidden = (lambda r, c: r > c) if mask == "below" else (lambda r, c: c > r)
    return tuple(
        tuple(MASKED if hidden(r, c) else x for c, x in enumerate(row)) for r, row in enumerate(a)
    )


def elementwise(a: Matrix, f: Callable, masked=MASKED) -> Matrix:
    return tuple(tuple(masked if x is MASKED else f(x) for x in row) for row in a)


def sums(a: Matrix, axis: str, zero=0) -> Vector:
    """Column sums (axis="columns": one per column) or row sums."""
    lines = zip(*a) if axis == "columns" else a
    return tuple(sum(line, zero) for line in lines)


def normalise(a: Matrix, totals: Vector, axis: str) -> Matrix:
    """Divide each column (or row) by its total, so that it sums to 1."""
    if axis == "columns":
        return tuple(tuple(x / totals[c] for c, x in enumerate(row)) for row in a)
    return tuple(tuple(x / totals[r] for x in row) for r, row in enumerate(a))


def concat(parts: Sequence[Matrix], axis: str) -> Matrix:
    """Stack the heads' outputs: one under another (axis="rows") or side by side."""
    if axis == "rows":
        return tuple(row for part in parts for row in part)
    return tuple(tuple(x for part in parts for x in part[r]) for r in range(len(parts[0])))


def compute(step: Step, values: Mapping[str, Value], track: Track) -> Value:
    """The value of one step from the values of its inputs, on one track."""
    args = [values[i] for i in step.inputs]
    zero = track.lift(0)
    if step.kind == "product":
        return apply_mask(matmul(args[0], args[1], zero), step.mask)
    if step.kind == "transpose":
        return transpose(args[0])
    if step.kind == "scale":
        return elementwise(args[0], track.scale)
    if step.kind == "exp":
        return elementwise(args[0], track.exp, masked=zero)
    if step.kind == "sum":
        return sums(args[0], step.axis, zero)
    if step.kind == "normalise":
        return normalise(args[0], args[1], step.axis)
    if step.kind == "concat":
        return concat(args, step.axis)
    raise ValueError(f"step {step.name} has no computation ({step.kind})")


def field_name(step: str, row: int, col: int | None = None) -> str:
    """The name of one answer cell wherever a cell needs a name (PDF form fields, HTML inputs):
    1-based, dot-free, e.g. S_r2_c3, or colsum_3 for a vector."""
    return f"{step}_{row + 1}" if col is None else f"{step}_r{row + 1}_c{col + 1}"


def run(exercise: Exercise, given: Mapping[str, Value], track: Track) -> dict[str, Value]:
    """Every step's value, in table order, from the given matrices."""
    values: dict[str, Value] = {
        s.name: tuple(tuple(track.lift(x) for x in row) for row in given[s.name])
        for s in exercise.given
    }
    for s in exercise.worked:
        values[s.name] = compute(s, values, track)
    return values
