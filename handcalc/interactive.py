"""What the self-checking HTML sheet carries: the problem, never its answers.

The page works the key out itself from the given matrices (exact fractions in JavaScript,
templates/grading.js), so it embeds the step table and the givens and nothing a learner could
read the answers from. The same object is what the shared grading test vectors hold.
"""

from __future__ import annotations

from . import steps
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
    }


def page_data(problem: Problem) -> dict:
    """The problem as the page needs it: its ID, rules, step table and given matrices."""
    spec = problem.spec
    ex = problem.exercise
    out = {
        "id": problem.id,
        "convention": ex.convention,
        "causal": ex.causal,
        "heads": ex.heads,
        "rounding": spec.rounding,
        "expLimit": EXP_LIMIT,
        "steps": [step_json(s) for s in ex],
        "given": problem.to_json(),
    }
    if ex.shown:  # worked steps printed as givens: the page works them out, never grades them
        out["shown"] = list(ex.shown_in_order())
    return out
