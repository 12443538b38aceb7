"""Simulated students for the grading tests: the key, or the key with one step done another way.

A student works the chain in order; from the changed step on, every later step is worked from
the student's own written numbers (so later steps are exact follow-through). The mistaken
values themselves are written out here by hand (zip, math.trunc, math.exp, loops), not taken
from the grader's table of mistakes.
"""

from __future__ import annotations

from fractions import Fraction
from functools import cache

from handcalc import numbers, steps
from handcalc.draw import draw
from handcalc.problem import Spec

CONFIGS = {
    "columns": {},
    "rows": {"convention": "rows"},
    "causal": {"causal": True},
    "heads": {"heads": 2},
}


@cache
def solution(seed: int, config: str = "columns", **sizes):
    return draw(Spec(**CONFIGS[config], **sizes), seed)


def hidden(sol, name: str) -> set:
    """Cells a causal mask hides, worked out from the rule (tokens see only earlier tokens)."""
    ex = sol.exercise
    s = ex[name]
    if not ex.causal or s.role not in ("S", "scaled", "exp", "A"):
        return set()
    n = s.rows
    if ex.convention == "columns":  # column = query, row = key: keys after the query hidden
        return {(r, c) for r in range(n) for c in range(n) if r > c}
    return {(r, c) for r in range(n) for c in range(n) if c > r}


def graded_cells(sol, name: str) -> list:
    s = sol.exercise[name]
    if s.is_vector:
        return [(r, None) for r in range(s.rows)]
    cells = [(r, c) for r in range(s.rows) for c in range(s.cols)]
    return [p for p in cells if p not in hidden(sol, name)]


def write(x, decimals: int | None = None):
    """One cell as a student writes it: a fraction (or whole number), or a decimal."""
    if x is steps.MASKED:
        return None
    if isinstance(x, str):
        return x
    if decimals is None:
        return numbers.to_json(Fraction(x))
    return numbers.decimal(Fraction(x), decimals)


def written(value, decimals=None):
    if value and isinstance(value[0], tuple):
        return [[write(x, decimals) for x in row] for row in value]
    return [write(x, decimals) for x in value]


def read_back(value):
    """What the student's written numbers are worth, for working the next steps."""

    def one(x):
        return steps.MASKED if x is None else numbers.parse(x).value

    if value and isinstance(value[0], list):
        return tuple(tuple(one(x) for x in row) for row in value)
    return tuple(one(x) for x in value)


def work(sol, changes: dict | None = None, decimals=None, carry=False, **extra) -> dict:
    """An answers file: each step as the key would have it, worked from the student's own
    earlier numbers, except the `changes` (step name -> value or function of the values so
    far), which are written as given. With `decimals`, every cell is written rounded; with
    `carry` too, the student works on from the rounded numbers."""
    changes = changes or {}
    ex = sol.exercise
    track = steps.simplified(sol.problem.spec.rounding)
    values = {s.name: sol.values[s.name] for s in ex.given}
    out = {"id": sol.problem.id, **extra}
    dirty = False  # has the student's work left the key yet?
    for s in ex.worked:
        if s.name in changes:
            change = changes[s.name]
            value = change(values) if callable(change) else change
        elif dirty:
            value = steps.compute(s, values, track)
        else:
            value = sol.values[s.name]
        out[s.name] = written(value, decimals)
        if s.name in changes or carry:
            value = read_back(out[s.name])
            dirty = True
        values[s.name] = _remask(value, s, ex)
    return out


def _remask(value, s, ex):
    """Exp and A hold 0, not MASKED, where the mask hides a score."""
    if s.role in ("exp", "A") and ex.causal:
        return tuple(tuple(0 if x is steps.MASKED else x for x in row) for row in value)
    return value


# Seed 1, column convention. Key:
#   Q  = [[-2, 0, -1, -1], [0, -2, 0, -1], [0, 0, 1, 1]]
#   Kᵀ = [[0, -1, 0], [-1, 1, 0], [-1, 1, 2], [-1, 2, 1]]
#   V  = [[0, -1, -1, 0], [2, 2, 2, 2], [1, 1, 0, -1]]
# The student writes Q[0][1] = 1 instead of 0, so query 1 is (1, -2, 0) and column 1 of
# S = Kᵀ·q1 = (2, -3, -3, -5) (key: 2, -2, -2, -4); floor(S/2) = (1, -2, -2, -3);
# 3^x = (3, 1/9, 1/9, 1/27), summing to 88/27; A = (81, 3, 3, 1)/88;
# Z column 1 = V·a = (-6/88, 2, 83/88) = (-3/44, 2, 83/88) (key: -3/17, 2, 29/34).
SLIPPED = {
    "id": solution(1).problem.id,
    "Q": [[-2, 1, -1, -1], [0, -2, 0, -1], [0, 0, 1, 1]],
    "K": [[0, -1, -1, -1], [-1, 1, 1, 2], [0, 0, 2, 1]],
    "V": [[0, -1, -1, 0], [2, 2, 2, 2], [1, 1, 0, -1]],
    "KT": [[0, -1, 0], [-1, 1, 0], [-1, 1, 2], [-1, 2, 1]],
    "S": [[0, 2, 0, 1], [2, -3, 1, 0], [2, -3, 3, 2], [2, -5, 2, 0]],
    "scaled": [[0, 1, 0, 0], [1, -2, 0, 0], [1, -2, 1, 1], [1, -3, 1, 0]],
    "exp": [[1, 3, 1, 1], [3, "1/9", 1, 1], [3, "1/9", 3, 3], [3, "1/27", 3, 1]],
    "colsum": [10, "88/27", 8, 6],
    "A": [
        ["1/10", "81/88", "1/8", "1/6"],
        ["3/10", "3/88", "1/8", "1/6"],
        ["3/10", "3/88", "3/8", "1/2"],
        ["3/10", "1/88", "3/8", "1/6"],
    ],
    "Z": [["-3/5", "-3/44", "-1/2", "-2/3"], [2, 2, 2, 2], ["1/10", "83/88", "-1/8", "1/6"]],
}


# --- mistaken steps, written out by hand --------------------------------------------------


def T(m):
    return tuple(zip(*m))


def mm(a, b):
    return tuple(tuple(sum(x * y for x, y in zip(row, col)) for col in zip(*b)) for row in a)


def cellwise(m, f):
    return tuple(tuple(x if x is steps.MASKED else f(x) for x in row) for row in m)


# --- papers with slips, for the marking page ------------------------------------------------


def slipped(sol, slips: dict | None = None, marks: dict | None = None, **extra) -> dict:
    """A paper: the student works each step from their own earlier numbers but writes cell
    (r, c) of step `name` off by `slips[name][(r, c)]` (c is None in a vector), and writes
    `marks[name][(r, c)]` (None: left blank; "?": unreadable) in the last cells they fill."""
    ex = sol.exercise
    track = steps.simplified(sol.problem.spec.rounding)

    def changed(s, cells):
        def f(values):
            worked = steps.compute(s, values, track)
            value = [list(r) if isinstance(r, tuple) else r for r in worked]
            for (r, c), delta in cells.items():
                if c is None:
                    value[r] += delta
                else:
                    value[r][c] += delta
            return tuple(tuple(r) if isinstance(r, list) else r for r in value)

        return f

    out = work(sol, {n: changed(ex[n], cells) for n, cells in (slips or {}).items()}, **extra)
    for name, cells in (marks or {}).items():
        for (r, c), x in cells.items():
            if c is None:
                out[name][r] = x
            else:
                out[name][r][c] = x
    return out
