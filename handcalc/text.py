"""Plain-text views for a terminal: the worked solution, step by step."""

from __future__ import annotations

from . import numbers, steps
from .solution import Solution

FORMS = {
    "self": "self-attention",
    "cross": "cross-attention",
    "grouped": "grouped-query attention",
    "decode": "decode step with a KV cache",
}


def cell(x) -> str:
    if x is steps.MASKED:
        return "-inf"
    if isinstance(x, float):
        return f"{x:.4g}"
    return numbers.text(x)


def matrix(value) -> list[str]:
    """Right-aligned columns, one text line per row."""
    rows = [value] if value and not isinstance(value[0], tuple) else list(value)
    cells = [[cell(x) for x in row] for row in rows]
    widths = [max(len(r[c]) for r in cells) for c in range(len(cells[0]))]
    return ["  [ " + "  ".join(x.rjust(w) for x, w in zip(r, widths)) + " ]" for r in cells]


def solution(sol: Solution) -> str:
    p = sol.problem
    seed = f"  seed {p.seed}" if p.seed is not None else ""
    out = [f"handcalc {FORMS[sol.exercise.form]}  ID {p.id}{seed}"]
    out += ["rules: " + "; ".join(p.spec.rules_text()), ""]
    exact = sol.exact
    for s in sol.exercise:
        shape = "×".join(map(str, s.shape))
        given = ", given" if s.name in sol.exercise.shown else ""
        out.append(
            f"{s.name} = {s.formula}   ({s.title}, {shape}{given})"
            if not s.given
            else f"{s.name}   ({s.title}, {shape})"
        )
        out += matrix(sol.values[s.name])
        if s.name in exact:
            out.append(f"  exact track ({_exact_formula(s, p.spec.d_k)}):")
            out += matrix(exact[s.name])
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _exact_formula(s: steps.Step, d_k: int) -> str:
    return {"scale": f"S/√{d_k}", "exp": "e^x"}.get(s.kind, s.formula)
