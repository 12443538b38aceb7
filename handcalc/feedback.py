"""A graded student's feedback: their own answers on the sheet's layout, marked cell by cell.

The sheet is the worksheet's own (worksheet.build, kind "feedback"): each answer box holds
what the student wrote after a mark (✓ correct, ↪ follow-through, ✗ wrong, ? needs review,
* revealed, — blank), a wrong cell has the key's value under it, and under the grid come the score, each
named mistake with where it happened, the cells waiting for review and the rules, once.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

from . import numbers, worksheet
from .grading import BLANK, CORRECT, FOLLOW, REVEALED, REVIEW, RULE, WRONG, Report, at, positions

MARKS = {CORRECT: "✓", FOLLOW: "↪", WRONG: "✗", REVIEW: "?", REVEALED: "*"}
LEGEND = (
    "✓ correct",
    "↪ follow-through: right from your own earlier answers",
    "✗ wrong, with the key's value under it (→)",
    "? needs review by your teacher",
    "— blank",
    "* revealed on screen (no credit)",
)


def cell_texts(report: Report, name: str) -> tuple:
    """A step's cells as the feedback sheet shows them, shaped like the step's value: the
    mark and what was written, and a second line holding the key's value under a wrong cell."""
    res = report.steps[name]
    step = res.step
    firsts, seconds = {}, {}
    for p in positions(step):
        verdict, cell, key = at(res.verdicts, p), at(res.cells, p), at(res.key, p)
        second = ""
        if verdict is None:  # not graded: a masked cell shows what the key holds there
            first = worksheet._cell_text(key)
        elif verdict == BLANK:
            first = "—"
        else:
            written = " ".join((cell.text or "").split()) or "?"
            first = f"{MARKS.get(verdict, '')}{written}"
            if verdict == WRONG:
                second = "→" + worksheet.show(numbers.text(key))
        firsts[p], seconds[p] = worksheet.show(first), second
    return _shaped(step, firsts), _shaped(step, seconds)


def _shaped(step, by_pos: dict) -> tuple:
    if step.is_vector:
        return tuple(by_pos[(r, None)] for r in range(step.rows))
    return tuple(tuple(by_pos[(r, c)] for c in range(step.cols)) for r in range(step.rows))


def words(report: Report) -> worksheet.Feedback:
    """The words under the grid: score, mistakes with where, cells to review, the rules."""
    counted = report.graded - sum(r.count(REVIEW) for r in report.steps.values())
    score = f"Score {report.percent:.1f} %  ({report.credited} of {counted} cells credited)"
    if report.review:
        score += f"; {len(report.review)} waiting for review"
    mistakes = []
    for name, res in report.steps.items():
        for m in res.mistakes:
            mistakes.append(worksheet.show(f"{name}: {m.text}"))
        wrong = [(p, cell) for p, cell in res.wrong_cells() if not cell.unreadable]
        if wrong and not res.mistakes:
            where = ", ".join(_where(p) for p, _ in wrong[:6])
            more = f" and {len(wrong) - 6} more" if len(wrong) > 6 else ""
            mistakes.append(f"{name}: {len(wrong)} wrong ({where}{more})")
    review = [
        f"{r.cell}: you wrote {r.text!r}" + (f" (likely {r.likely})" if r.likely else "")
        for r in report.review
    ]
    rules = (worksheet.show(RULE), report.marking.describe())
    return worksheet.Feedback(score, LEGEND, tuple(mistakes), tuple(review), rules)


def _where(p) -> str:
    r, c = p
    return f"entry {r + 1}" if c is None else f"row {r + 1} col {c + 1}"


def sheet(report: Report, paper: str = "a4") -> worksheet.Sheet:
    """The feedback sheet's view model for one graded report."""
    filled = {name: cell_texts(report, name) for name in report.steps}
    return worksheet.build(
        report.solution,
        kind="feedback",
        paper=paper,
        student=report.answers.student,
        filled=filled,
        feedback=words(report),
    )


def file_stem(number: int, width: int, name: str | None) -> str:
    from .classset import plain_letters

    plain = re.sub(r"[^A-Za-z0-9]+", "-", plain_letters(name or "")).strip("-")[:40].strip("-")
    return f"{number:0{width}d}-{plain or 'student'}-feedback"


def feedback_files(rows: Sequence) -> list[tuple[str, bytes]]:
    """(file name, bytes) of every graded student's feedback, HTML and PDF, in class order.
    A student who is missing or whose file failed has none."""
    from . import render

    graded = [(k, r) for k, r in enumerate(rows, 1) if isinstance(r, Report)]
    width = len(str(len(rows)))
    out = []
    for k, r in graded:
        view = sheet(r)
        source = os.path.splitext(os.path.basename(r.answers.source))[0]
        stem = file_stem(k, width, r.answers.student or source)
        out.append((stem + ".html", render.render_html(view).encode("utf-8")))
        out.append((stem + ".pdf", render.render_pdf(view)))
    return out
