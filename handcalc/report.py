"""A graded report out: text for a person, JSON for tools, a CSV gradebook for a class."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence

from . import text
from .files import spreadsheet_cell
from .grading import (
    BLANK,
    CORRECT,
    FOLLOW,
    REVEALED,
    REVIEW,
    RULE,
    VERDICTS,
    WRONG,
    Report,
    StepResult,
)

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


def _revealed_text(counts: dict[str, int]) -> str:
    """Cells the interactive sheet showed the learner: counted, never credited."""
    n = counts[REVEALED]
    return f", {n} revealed, not credited" if n else ""


def _review_text(counts: dict[str, int]) -> str:
    """Cells the teacher must read: left out of the score until decided."""
    n = counts[REVIEW]
    return f"; {n} need{'s' if n == 1 else ''} review, not counted yet" if n else ""


def accept_hint(report: Report, cell: str, likely: str | None) -> str:
    """The option that settles a cell needing review, for the teacher to edit or run."""
    return f"--accept {report.answers.source}:{cell}={likely if likely else 'VALUE'}"


def to_text(report: Report) -> str:
    """The report for a person: score, where it first went wrong and why, then every step."""
    a, p = report.answers, report.solution.problem
    head = f"handcalc check  {a.source}" + (f"  ({a.student})" if a.student else "")
    c = _counts(report)
    counted = report.graded - c[REVIEW]
    out = [
        head,
        f"sheet {p.id}",
        f"score {report.percent:.1f} %  ({report.credited} of {counted} cells: "
        f"{c[CORRECT]} correct, {c[FOLLOW]} follow-through; {c[WRONG]} wrong, {c[BLANK]} blank"
        + _revealed_text(c)
        + _review_text(c)
        + ")",
        "",
    ]
    if report.review:
        out.append("Needs review (left out of the score until decided):")
        for r in report.review:
            likely = f"likely {r.likely}" if r.likely else "no likely reading"
            hint = accept_hint(report, r.cell, r.likely)
            out.append(f"  {r.cell} wrote {r.text!r} ({likely}): {hint}")
        out.append("")
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
            for n, (q, cell) in enumerate(wrong[:_SHOW_WRONG]):
                label = "wrong: " if n == 0 else " " * len("wrong: ")
                out.append(f"{pad}{label}{_where(q)} wrote {cell.text} ({res.say_expected(q)})")
            if len(wrong) > _SHOW_WRONG:
                out.append(f"{pad}       (and {len(wrong) - _SHOW_WRONG} more)")
        for r in res.review:
            out.append(f"{pad}needs review: {r.cell} {r.text!r} ({r.why})")
    out += ["", "Rule: " + RULE, report.marking.describe()]
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
        "marking": {**report.marking.to_json(), "text": report.marking.describe()},
        "review": [
            {**r.to_json(), "accept": accept_hint(report, r.cell, r.likely)} for r in report.review
        ],
        "steps": {
            name: {
                "cells": _verdict_cells(res),
                "mistakes": [m.to_json() for m in res.mistakes],
                "unreadable": [r.to_json() for r in res.review],
            }
            for name, res in report.steps.items()
        },
    }


_safe = spreadsheet_cell


def gradebook(rows: Sequence[Report | tuple[str, str]]) -> bytes:
    """One CSV row per answers file: a Report, or (file, error) for a file that failed."""
    names: list[str] = []
    for r in rows:
        if isinstance(r, Report):
            names += [n for n in r.steps if n not in names]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["student", "id", "file", "percent", *names, "review", "status", "error"])
    for r in rows:
        if not isinstance(r, Report):
            w.writerow(["", "", _safe(r[0]), "", *([""] * len(names)), "", "error", _safe(r[1])])
            continue
        per_step = []
        for n in names:
            res = r.steps.get(n)
            per_step.append(f"{float(100 * res.mark):.1f}" if res and res.mark is not None else "")
        review = len(r.review)
        w.writerow(
            [
                _safe(r.answers.student),
                r.solution.problem.id,
                _safe(r.answers.source),
                f"{r.percent:.1f}",
                *per_step,
                str(review),
                "needs review" if review else "graded",
                "",
            ]
        )
    return buf.getvalue().encode("utf-8")


_HEAD = ("student", "id", "file", "percent")


def merge_gradebook(old: str, new: bytes, unsent: str | None = None) -> bytes:
    """The gradebook `new` merged into an existing one, so no grade written before is lost:
    a sheet graded now replaces its old row; a sheet not graded now (not in `new`, or in it
    as `unsent`, a student who handed nothing in this time) keeps its old row. Rows of files
    that failed are not grades and are not kept. A ValueError when `old` is not a handcalc
    gradebook."""
    old_rows = list(csv.DictReader(io.StringIO(old)))
    old_head = next(csv.reader(io.StringIO(old)), [])
    if tuple(old_head[:4]) != _HEAD or old_head[-1:] != ["error"]:
        raise ValueError("not a handcalc gradebook")
    new_head = next(csv.reader(io.StringIO(new.decode("utf-8"))))
    new_rows = list(csv.DictReader(io.StringIO(new.decode("utf-8"))))
    earlier = {r["id"]: r for r in old_rows if r.get("id") and r.get("percent")}
    merged = []
    for row in new_rows:
        before = earlier.get(row["id"])
        unsent_now = row["id"] and row["file"] == unsent
        merged.append(before if unsent_now and before and before["file"] != unsent else row)
    now = {r["id"] for r in new_rows if r["id"]}
    merged += [r for sid, r in earlier.items() if sid not in now]
    steps = [c for c in new_head[4:-1]] + [c for c in old_head[4:-1] if c not in new_head]
    head = [*_HEAD, *steps, "error"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(head)
    for r in merged:
        w.writerow([_safe(r.get(c)) for c in head])
    return buf.getvalue().encode("utf-8")


def check_gradebook(path, force: bool = False) -> None:
    """Refuse, before any grading, a gradebook path that cannot be written or that holds a
    CSV file handcalc did not write (unless `force`)."""
    from .errors import OutputError
    from .files import check_target, read_text, shown

    check_target(path)
    if force or not os.path.isfile(path):
        return
    old = read_text(path, "gradebook", OutputError)
    head = next(csv.reader(io.StringIO(old)), [])
    if tuple(head[:4]) != _HEAD or head[-1:] != ["error"]:
        raise OutputError(
            f"{shown(path)} is not a handcalc gradebook; give another --csv name, "
            "or pass --force to replace it"
        )


def write_gradebook(path, rows, force: bool = False, unsent: str | None = None) -> None:
    """Write a gradebook at `path`, merged into the one already there (see merge_gradebook)
    unless `force`; a CSV file that is not a handcalc gradebook is replaced only with
    `force`."""
    from .errors import OutputError
    from .files import locked, read_text, shown, write_atomic

    data = gradebook(rows)
    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    with locked(folder):
        if not force and os.path.isfile(path):
            old = read_text(path, "gradebook", OutputError)
            try:
                data = merge_gradebook(old, data, unsent)
            except (ValueError, csv.Error):
                raise OutputError(
                    f"{shown(path)} is not a handcalc gradebook; give another --csv name, "
                    "or pass --force to replace it"
                ) from None
        write_atomic(path, data)


def summary_rows(rows: Sequence[Report | tuple[str, str]]) -> list[dict]:
    """One line per answers file for a table: who, which file, the score and where it first
    went wrong, or the error that kept it from being graded."""
    out = []
    for r in rows:
        if isinstance(r, Report):
            first = r.first_wrong
            out.append(
                {
                    "student": r.answers.student,
                    "file": r.answers.source,
                    "id": r.solution.problem.id,
                    "percent": r.percent,
                    "first_wrong": first.step.name if first else None,
                    "review": len(r.review),
                    "error": None,
                }
            )
        else:
            out.append(
                {
                    "student": None,
                    "file": r[0],
                    "id": None,
                    "percent": None,
                    "first_wrong": None,
                    "review": 0,
                    "error": r[1],
                }
            )
    return out


def summary(rows: Sequence[Report | tuple[str, str]]) -> str:
    """The summary table: a line per file (student, file, score, first wrong step, cells to
    review), and the class mean over the files graded."""
    lines = [("student", "file", "score", "first wrong")]
    for r in summary_rows(rows):
        if r["error"] is not None:
            lines.append((r["student"] or "-", r["file"], "error", r["error"]))
            continue
        score = f"{r['percent']:.1f} %"
        note = r["first_wrong"] or "-"
        if r["review"]:
            note += f"  ({r['review']} to review)"
        lines.append((r["student"] or "-", r["file"], score, note))
    widths = [max(len(line[c]) for line in lines) for c in range(3)]
    out = [
        f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:>{widths[2]}}  {d}".rstrip()
        for a, b, c, d in lines
    ]
    graded = [r.percent for r in rows if isinstance(r, Report)]
    mean = f"mean {sum(graded) / len(graded):.1f} %" if graded else "none graded"
    failed = len(rows) - len(graded)
    out.append(f"{len(graded)} graded, {failed} failed; {mean}")
    return "\n".join(out) + "\n"
