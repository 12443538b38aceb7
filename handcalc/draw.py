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

from . import numbers, steps
from .errors import DrawError, OptionError
from .problem import Problem, Spec, decode_id, from_matrices, load
from .solution import Solution, beyond_limit, solve

MAX_DRAWS = 20_000


def _cells(values, roles: Iterable[str], ex: steps.Exercise):
    wanted = set(roles)
    for s in ex.worked:
        if s.role in wanted:
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
        if s.role != "A":
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
        if s.role == "V":
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


SCALED_LOW, SCALED_HIGH = -2, 3
PRODUCT_LIMIT = 6
DENOMINATOR_LIMIT = 100
OUTPUT_LIMIT = 20
OUTPUT_ROLES = ("Z", "Zcat", "O")


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


def _where_outputs(sol: Solution) -> str | None:
    hit = _worst(
        sol,
        OUTPUT_ROLES,
        lambda x: Fraction(x).denominator > DENOMINATOR_LIMIT,
        lambda x: Fraction(x).denominator,
    )
    if hit:
        return f"{_place(hit[0])} has a denominator of {Fraction(hit[1]).denominator}"
    hit = _worst(sol, OUTPUT_ROLES, lambda x: abs(x) > OUTPUT_LIMIT, abs)
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
)


def draw_given(spec: Spec, rng: np.random.Generator) -> dict:
    """One uniform draw of the given matrices (not yet checked against the rules)."""
    given = {}
    for s in spec.exercise().given:
        lo, hi = spec.x_range if s.name == "X" else spec.w_range
        given[s.name] = rng.integers(lo, hi + 1, size=s.shape).tolist()
    return given


def _hand_only(problem: Problem) -> Solution:
    """The hand track alone: the rules never look at the exact track, so skip its cost."""
    values = steps.run(problem.exercise, problem.given, steps.simplified(problem.spec.rounding))
    return Solution(problem, values, {})


def failed_rules(sol: Solution) -> list[str]:
    return [r.name for r in RULES if not r.check(sol)]


def _passes(problem: Problem) -> bool:
    """Every rule holds, checked in two stages: the outputs (Z, Zcat, O, the costliest
    products of fractions) are worked only for a draw whose scores and weights passed."""
    ex = problem.exercise
    track = steps.simplified(problem.spec.rounding)
    values = {
        s.name: tuple(tuple(track.lift(x) for x in row) for row in problem.given[s.name])
        for s in ex.given
    }
    sol = Solution(problem, values, {})
    late = {s.name for s in ex.worked if s.role in OUTPUT_ROLES}
    for stage in (False, True):
        for s in ex.worked:
            if (s.name in late) == stage:
                values[s.name] = steps.compute(s, values, track)
        if not all(r.check(sol) for r in RULES if (r.name == "outputs") == stage):
            return False
    return True


def draw(spec: Spec, seed: int, max_draws: int = MAX_DRAWS) -> Solution:
    """The first draw from this seed that passes every rule, solved."""
    spec.check_drawable()
    rng = np.random.default_rng(seed)
    for _ in range(max_draws):
        problem = Problem(spec, draw_given(spec, rng), seed)
        if _passes(problem):
            return solve(problem)
    raise DrawError(
        f"no hand-friendly problem in {max_draws} draws for these sizes and ranges; "
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


def rule_findings(problem: Problem) -> list[tuple[Rule, str | None]]:
    """Every rule with where this problem breaks it (None where it holds). A problem whose
    3^x is beyond steps.EXP_LIMIT cannot be worked at all: solving refuses it."""
    sol = _hand_only(problem)
    return [(r, None if r.check(sol) else r.where(sol)) for r in RULES]


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
            n = self.rejected_by[r.name]
            out.append(f"  {r.name:<13} rejects {n:>6} ({n / self.draws:6.1%})  {r.text}")
        return out


def stress(spec: Spec, seed: int, draws: int) -> StressReport:
    """How often each rule rejects a uniform draw (each failing rule counts)."""
    spec.check_drawable()
    rng = np.random.default_rng(seed)
    rejected = {r.name: 0 for r in RULES}
    accepted = 0
    for _ in range(draws):
        failed = failed_rules(_hand_only(Problem(spec, draw_given(spec, rng))))
        for name in failed:
            rejected[name] += 1
        accepted += not failed
    return StressReport(draws, accepted, rejected)
