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

import numpy as np

from . import steps
from .errors import DrawError, OptionError
from .problem import Problem, Spec, decode_id, from_matrices, load
from .solution import Solution, solve

MAX_DRAWS = 20_000


def _cells(values, roles: Iterable[str], ex: steps.Exercise):
    wanted = set(roles)
    for s in ex.worked:
        if s.role in wanted and s.name in values:
            for row in values[s.name] if not s.is_vector else (values[s.name],):
                yield from row


def _unmasked(xs):
    return [x for x in xs if x is not steps.MASKED]


def _scaled_in_range(sol: Solution) -> bool:
    xs = _unmasked(_cells(sol.values, ["scaled"], sol.exercise))
    return all(SCALED_LOW <= x <= SCALED_HIGH for x in xs)


def _small_products(sol: Solution) -> bool:
    xs = _cells(sol.values, ["Q", "K", "V"], sol.exercise)
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


SCALED_LOW, SCALED_HIGH = -2, 3
PRODUCT_LIMIT = 6
DENOMINATOR_LIMIT = 100


@dataclass(frozen=True)
class Rule:
    """One condition every drawn problem meets, stated once for the sheet and the stress test."""

    name: str
    text: str
    check: Callable[[Solution], bool]


RULES: tuple[Rule, ...] = (
    Rule("products", f"every entry of Q, K and V lies within ±{PRODUCT_LIMIT}", _small_products),
    Rule(
        "scores",
        f"every scaled score lies in {SCALED_LOW}…{SCALED_HIGH}, so 3^x stays within "
        f"1/{3**-SCALED_LOW}…{3**SCALED_HIGH}",
        _scaled_in_range,
    ),
    Rule(
        "denominators",
        f"every attention weight has a denominator of at most {DENOMINATOR_LIMIT}",
        _small_denominators,
    ),
    Rule("not-flat", "no query attends equally to all the tokens it sees", _attention_not_flat),
    Rule("values", "no token has an all-zero value vector", _values_not_zero),
)


def draw_given(spec: Spec, rng: np.random.Generator, ex: steps.Exercise | None = None) -> dict:
    """One uniform draw of the given matrices (not yet checked against the rules)."""
    given = {}
    for s in (ex or spec.exercise()).given:
        lo, hi = spec.x_range if s.role in ("X", "Xq") else spec.w_range
        given[s.name] = rng.integers(lo, hi + 1, size=s.shape).tolist()
    return given


# The steps each rule reads: it is checked as soon as one of them is worked, so most rejected
# draws cost a fraction of a solve. A rule not listed is checked once every step is worked.
_READS = {
    "products": ("Q", "K", "V"),
    "values": ("V",),
    "scores": ("scaled",),
    "denominators": ("A",),
    "not-flat": ("A",),
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
        values[s.name] = tuple(tuple(track.lift(x) for x in row) for row in draft.given[s.name])
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


def draw(spec: Spec, seed: int, max_draws: int = MAX_DRAWS, budget: int = WORK_BUDGET) -> Solution:
    """The first draw from this seed that passes every rule, solved. When none passes within
    `max_draws` draws or `budget` cells of work, a one-line DrawError names the rule that
    rejected the most draws."""
    ex = spec.exercise()
    rng = np.random.default_rng(seed)
    first_broken: dict[str, int] = {}
    work = draws = 0
    while draws < max_draws and work < budget:
        draft = _Draft(spec, ex, draw_given(spec, rng, ex), {})
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
        return decode_id(sheet_id)
    if source is not None:
        return from_matrices(load(source), spec)
    if seed is None:
        seed = new_seed()
    if not isinstance(seed, int) or seed < 0:
        raise OptionError(f"--seed must be a whole number of at least 0, not {seed}")
    return draw(spec, seed).problem


def new_seed() -> int:
    """A fresh seed, short enough to read off a sheet."""
    return secrets.randbelow(1_000_000)


@dataclass(frozen=True)
class StressReport:
    draws: int
    accepted: int
    rejected_by: dict[str, int]

    def lines(self) -> list[str]:
        out = [f"{self.draws} draws, {self.accepted} kept ({self.accepted / self.draws:.1%})"]
        for r in RULES:
            n = self.rejected_by[r.name]
            out.append(f"  {r.name:<13} rejects {n:>6} ({n / self.draws:6.1%})  {r.text}")
        return out


def stress(spec: Spec, seed: int, draws: int) -> StressReport:
    """How often each rule rejects a uniform draw (each failing rule counts)."""
    if not isinstance(seed, int) or seed < 0:
        raise OptionError(f"--seed must be a whole number of at least 0, not {seed}")
    ex = spec.exercise()
    rng = np.random.default_rng(seed)
    rejected = {r.name: 0 for r in RULES}
    accepted = 0
    for _ in range(draws):
        failed = _judge(_Draft(spec, ex, draw_given(spec, rng, ex), {}), first_only=False)
        for name in failed:
            rejected[name] += 1
        accepted += not failed
    return StressReport(draws, accepted, rejected)
