"""A graded report out: text for a person, JSON for tools, a CSV gradebook for a class."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from . import numbers, text
from .grading import BLANK, CORRECT, FOLLOW, REVEALED, RULE, VERDICTS, WRONG, Report, StepResult, at

_SHOW_WRONG = 4


def _counts(r: StepResult | Report) -> dict[str, int]:
    if isinstance(r, Report):
        return {v: sum(s.count(v) for s in r.steps.values()) for v in VERDICTS}
    return {v: r.count(v) for v in VERDICTS}


def _counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {v}" for v, n in counts.items() if n)


def _where(p) -> str:
    r, c = p
    return f"row {r + 1} col {c + 1}" if c is not None else f"entry {r + 1}"


def _expected(res: StepResult, p) -> str:
    return numbers.text(at(res.expected, p))


def _revealed_text(counts: dict[str, int]) -> str:
    """Cells the interactive sheet showed the learner: counted, never credited."""
    n = counts[REVEALED]
    return f", {n} revealed (shown by the sheet, not credited)" if n else ""


def to_text(report: Report) -> str:
    """The report for a person: score, where it first went wrong and why, then every step."""
    a, p = report.answers, report.solution.problem
    head = f"handcalc check  {a.source}" + (f"  ({a.student})" if a.student else "")
    c = _counts(report)
    out = [
        head,
        f"sheet {p.id}",
        f"score {report.percent:.1f} %  ({report.credited} of {report.graded} cells: "
        f"{c[CORRECT]} correct, {c[FOLLOW]} follow-through; {c[WRONG]} wrong, {c[BLANK]} blank"
        + _revealed_text(c)
        + ")",
        "",
    ]
    first = report.first_wrong
    if first is None:
        out.append("No wrong cells." if not c[BLANK] else "No wrong cells, but some are blank.")
    else:
        s = first.step
        out.append(f"First went wrong at {s.name} ({s.title}, {s.name} = {s.formula}):")
        out += [f"  {m.text}" for m in first.mistakes]
        out.append(f"  The right {s.name}:")
        out += text.matrix(first.key)
    out += ["", "Step by step:"]
    width = max(len(name) for name in report.steps)
    for name, res in report.steps.items():
        out.append(f"  {name:<{width}}  {res.graded:>3} cells  {_counts_text(_counts(res))}")
        pad = " " * (width + 4)
        out += [f"{pad}{m.text}" for m in res.mistakes]
        wrong = [(q, cell) for q, cell in res.wrong_cells() if not cell.unreadable]
        if wrong and not any(m.kind == "slip" for m in res.mistakes):
            shown = "; ".join(
                f"{_where(q)} wrote {cell.text}, expected {_expected(res, q)}"
                for q, cell in wrong[:_SHOW_WRONG]
            )
            more = f" (and {len(wrong) - _SHOW_WRONG} more)" if len(wrong) > _SHOW_WRONG else ""
            out.append(f"{pad}wrong: {shown}{more}")
        for field, cell in res.unreadable:
            out.append(f"{pad}unreadable: {field} {cell.text!r} ({cell.error})")
    out += ["", "Rule: " + RULE]
    return "\n".join(out) + "\n"


def _verdict_cells(res: StepResult):
    v = res.verdicts
    return list(v) if res.step.is_vector else [list(row) for row in v]


def to_json(report: Report) -> dict:
    """The contract's `check --json` object, with who, which sheet and where it went wrong."""
    first = report.first_wrong
    return {
        "file": report.answers.source,
        "student": report.answers.student,
        "id": report.solution.problem.id,
        "percent": report.percent,
        "graded": report.graded,
        "credited": report.credited,
        "counts": _counts(report),
        "first_wrong": first.step.name if first else None,
        "rule": RULE,
        "steps": {
            name: {
                "cells": _verdict_cells(res),
                "mistakes": [m.to_json() for m in res.mistakes],
                "unreadable": [
                    {"cell": field, "text": cell.text, "error": cell.error}
                    for field, cell in res.unreadable
                ],
            }
            for name, res in report.steps.items()
        },
    }


def _safe(value: str | None) -> str:
    """Spreadsheets run a cell starting with = + - @ as a formula; quote such text."""
    value = value or ""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def gradebook(rows: Sequence[Report | tuple[str, str]]) -> bytes:
    """One CSV row per answers file: a Report, or (file, error) for a file that failed."""
    names: list[str] = []
    for r in rows:
        if isinstance(r, Report):
            names += [n for n in r.steps if n not in names]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["student", "id", "file", "percent", *names, "error"])
    for r in rows:
        if not isinstance(r, Report):
            w.writerow(["", "", _safe(r[0]), "", *([""] * len(names)), _safe(r[1])])
            continue
        per_step = []
        for n in names:
            res = r.steps.get(n)
            per_step.append(f"{100 * res.credited / res.graded:.1f}" if res and res.graded else "")
        w.writerow(
            [
                _safe(r.answers.student),
                r.solution.problem.id,
                _safe(r.answers.source),
                f"{r.percent:.1f}",
                *per_step,
                "",
            ]
        )
    return buf.getvalue().encode("utf-8")
