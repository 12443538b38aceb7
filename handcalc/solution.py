"""A problem worked out: every step on the hand track (exact fractions) and the exact track."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from . import numbers, steps
from .errors import ProblemFileError
from .problem import Problem


@dataclass(frozen=True)
class Solution:
    """Every step's value. `values` is the hand track; `exact` holds the real transformer's
    floats for the steps where the two tracks part (scaled onwards)."""

    problem: Problem
    values: Mapping[str, steps.Value]
    exact: Mapping[str, steps.Value]

    @property
    def exercise(self) -> steps.Exercise:
        return self.problem.exercise

    def __getitem__(self, name: str) -> steps.Value:
        return self.values[name]

    def to_json(self) -> dict:
        """The contract's `solve --json` object."""
        ex = self.exercise
        out = {
            "id": self.problem.id,
            "seed": self.problem.seed,
            "problem": self.problem.to_json(),
            "steps": {s.name: json_value(self.values[s.name]) for s in ex.worked},
            "exact": {name: json_value(self.exact[name]) for name in ex.track_dependent()},
        }
        if ex.shown:
            out["given_steps"] = list(ex.shown_in_order())
        return out


def solve(problem: Problem) -> Solution:
    """Work every step of the problem on both tracks."""
    ex = problem.exercise
    spec = problem.spec
    try:
        values = steps.run(ex, problem.given, steps.simplified(spec.rounding))
    except ValueError:
        raise ProblemFileError(
            f"this problem's scaled scores go beyond ±{steps.EXP_LIMIT} ({beyond_limit(problem)}),"
            " too big to work even in a key; use smaller entries"
        ) from None
    real = steps.run(ex, problem.given, steps.exact(spec.d_k))
    exact = {name: real[name] for name in ex.track_dependent()}
    return Solution(problem, values, exact)


def beyond_limit(problem: Problem) -> str:
    """Where a problem's scaled scores pass ±EXP_LIMIT the most: "scaled2 reaches 90"."""
    track = replace(steps.simplified(problem.spec.rounding), exp=lambda x: 1)
    values = steps.run(problem.exercise, problem.given, track)
    worst = None
    for s in problem.exercise.worked:
        if s.kind == "scale":
            for row in values[s.name]:
                for x in row:
                    if x is not steps.MASKED and (worst is None or abs(x) > abs(worst[1])):
                        worst = (s.name, x)
    return f"{worst[0]} reaches {worst[1]}" if worst else "no scaled scores"


def json_cell(x):
    if x is steps.MASKED:
        return "-inf"
    if isinstance(x, float):
        return round(x, 12)
    return numbers.to_json(x)


def json_value(v: steps.Value):
    """A matrix as a list of rows (a vector as a flat list) of JSON-ready cells."""
    if v and isinstance(v[0], tuple):
        return [[json_cell(x) for x in row] for row in v]
    return [json_cell(x) for x in v]
