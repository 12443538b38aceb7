"""A graded report out: text for a person, JSON for tools, a CSV gradebook for a class."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from . import text
from .errors import HandcalcError
from .files import spreadsheet_cell
from .grading import (
    BLANK,
    CORRECT,
    FOLLOW,
    MISTAKE_KINDS,
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


def rules_text(report: Report) -> list[str]:
    """The grading rule and the marking, said once per run (see `to_text`)."""
    return ["Rule: " + RULE, report.marking.describe()]


def to_text(report: Report, rules: bool = True) -> str:
    """The report for a person: score, where it first went wrong and why, then every step;
    then the rules unless `rules` is off (several reports say them once, at the end)."""
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
    if rules:
        out += ["", *rules_text(report)]
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


class Failed(NamedTuple):
    """A file that could not be graded (or whose row was refused): its gradebook row says why,
    with the student and sheet when they are known."""

    file: str
    error: str
    student: str | None = None
    sheet_id: str | None = None


def _failed(r) -> Failed:
    return r if isinstance(r, Failed) else Failed(*r)


MISSING_FILE = "nothing handed in"


class Missing(NamedTuple):
    """A student of a class who handed nothing in: a row with no score (empty, never 0)."""

    student: str
    sheet_id: str
    file: str = MISSING_FILE


def status(r) -> str:
    """A row's status: graded, needs review (cells left out of the score until decided),
    missing (nothing handed in) or failed (the file could not be graded)."""
    if isinstance(r, Missing):
        return "missing"
    if isinstance(r, Report):
        return "needs review" if r.review else "graded"
    return "failed"


MISTAKE_COLUMNS = tuple(f"mistake: {kind}" for kind in MISTAKE_KINDS)


def mistake_counts(r: Report) -> dict[str, int]:
    """How many times each kind of named mistake was named in a student's report."""
    out = dict.fromkeys(MISTAKE_KINDS, 0)
    for res in r.steps.values():
        for m in res.mistakes:
            out[m.kind] = out.get(m.kind, 0) + 1
    return out


@dataclass(frozen=True)
class RosterColumns:
    """A roster's other columns (email, student number, section...) for the gradebook:
    their names as the gradebook writes them, and each student's values by name key."""

    columns: tuple[str, ...] = ()
    by_name: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def of(self, student: str | None) -> Mapping[str, str]:
        return self.by_name.get(_name_key(student), {})


def _step_names(rows) -> list[str]:
    names: list[str] = []
    for r in rows:
        if isinstance(r, Report):
            names += [n for n in r.steps if n not in names]
    return names


def _columns(names: list[str], roster: RosterColumns | None) -> list[str]:
    """The columns between the four first (student, id, file, percent) and the last three
    (review, status, error): the roster's, a mark per step, a count per named mistake."""
    return [*(roster.columns if roster else ()), *names, *MISTAKE_COLUMNS]


def _row(r, names: list[str], roster: RosterColumns | None = None) -> dict[str, str]:
    """One gradebook row, as cells by column: every row (graded, needing review, missing or
    failed) is built here, so the marks, counts and status stay in step with the header.
    Only a graded row has a score; a missing or failed one leaves it empty."""
    if isinstance(r, Report):
        student, sheet, file = r.answers.student, r.solution.problem.id, r.answers.source
    elif isinstance(r, Missing):
        student, sheet, file = r.student, r.sheet_id, r.file
    else:
        f = _failed(r)
        student, sheet, file = f.student, f.sheet_id, f.file
    cells = dict(roster.of(student)) if roster else {}
    cells.update(
        student=_safe(" ".join((student or "").split())),
        id=_safe(sheet),
        file=_safe(file),
        percent="",
        review="",
        status=status(r),
        error="",
    )
    if isinstance(r, Report):
        cells["percent"] = f"{r.percent:.1f}"
        for n in names:
            res = r.steps.get(n)
            cells[n] = f"{float(100 * res.mark):.1f}" if res and res.mark is not None else ""
        counts = mistake_counts(r)
        cells.update({col: str(counts[k]) for col, k in zip(MISTAKE_COLUMNS, MISTAKE_KINDS)})
        cells["review"] = str(len(r.review))
    elif not isinstance(r, Missing):
        cells["error"] = _safe(_failed(r).error)
    return {k: _safe(v) if k in (roster.columns if roster else ()) else v
            for k, v in cells.items()}  # fmt: skip


def gradebook(rows: Sequence[Report | tuple], roster: RosterColumns | None = None) -> bytes:
    """One CSV row per answers file: a Report, a Missing student, or a Failed (file, error)
    for a file that failed."""
    names = _step_names(rows)
    head = [*_HEAD, *_columns(names, roster), *_TAIL]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(head)
    for r in rows:
        cells = _row(r, names, roster)
        w.writerow([cells.get(c, "") for c in head])
    return buf.getvalue().encode("utf-8")


_HEAD = ("student", "id", "file", "percent")
_TAIL = ("review", "status", "error")  # after the step columns; older gradebooks lack the first two


def _plain(cell: str | None) -> str:
    """A cell as written before spreadsheet_cell quoted it: a leading quote is dropped when
    spreadsheet_cell would have added it."""
    cell = cell or ""
    return cell[1:] if cell[:1] == "'" and _safe(cell[1:]) == cell else cell


def _name_key(name: str | None) -> str:
    return " ".join(_plain(name).split()).casefold()


def _sheet_key(sheet_id: str | None) -> str:
    """A sheet ID as compared: the canonical ID of the problem it names, so an ID typed with
    other dashes or case (or written in an older format) is the same sheet."""
    from .problem import decode_id

    text = _plain(sheet_id).strip()
    try:
        return decode_id(text).id
    except HandcalcError:
        return text


@dataclass
class _Line:
    """A row of the gradebook: who and which sheet it belongs to, and its cells by column.

    `key` is ("grade", sheet, name) for a grade, ("failed", file) for a file that failed, and
    None for a row the merge cannot read, which is kept as it was."""

    key: tuple | None
    cells: dict[str, str]
    extra: list[str] = field(default_factory=list)
    file: str = ""

    @property
    def sheet(self) -> str | None:
        return self.key[1] if self.key and self.key[0] == "grade" else None


def _line(cells: dict[str, str], extra=()) -> tuple[_Line, str | None]:
    """A row read from a gradebook, and why it cannot be read (None when it can)."""
    file = _plain(cells.get("file"))
    percent, error = cells.get("percent") or "", cells.get("error") or ""
    if percent:
        try:
            ok = 0 <= float(percent) <= 100
        except ValueError:
            ok = False
        if not ok:
            return _Line(None, cells, list(extra)), f"percent {percent!r} is not a score"
        if not cells.get("id"):
            return _Line(None, cells, list(extra)), "it has a score but no sheet ID"
        key = ("grade", _sheet_key(cells["id"]), _name_key(cells.get("student")))
        return _Line(key, cells, list(extra), file), None
    if error:
        return _Line(("failed", file), cells, list(extra), file), None
    if cells.get("status") == "missing" and cells.get("id"):
        key = ("grade", _sheet_key(cells["id"]), _name_key(cells.get("student")))
        return _Line(key, cells, list(extra), file), None
    return _Line(None, cells, list(extra)), "it has neither a score nor an error"


def _read_book(old: str, where: str) -> tuple[list[str], list[_Line], list[str]]:
    """An existing gradebook's header, rows and notes on the rows kept unread; a ValueError
    when it is not a handcalc gradebook."""
    reader = csv.reader(io.StringIO(old))
    head = next(reader, [])
    if tuple(head[:4]) != _HEAD or head[-1:] != ["error"]:
        raise ValueError("not a handcalc gradebook")
    lines, notes = [], []
    for cells in reader:
        if not any(cells):
            continue
        row = dict(zip(head, cells))
        extra = cells[len(head) :]
        line, why = _line(row, extra)
        if why is None and len(cells) != len(head):
            line, why = _Line(None, row, extra), f"it has {len(cells)} cells, not {len(head)}"
        if why is not None:
            notes.append(f"{where} line {reader.line_num}: kept as it was ({why})")
        lines.append(line)
    return head, lines, notes


def _unnamed_error(r: Report, clash: str) -> str:
    return (
        f"{r.answers.source}: no student name, and sheet {r.solution.problem.id} {clash}; "
        'add "student": "Name" to the file (or check it alone with --student NAME)'
    )


def _keyed(rows, old: list[_Line]) -> tuple[list, list[Failed]]:
    """The rows of this run, each report with the key of its row; a report whose row cannot
    be told apart from another student's is turned into a Failed row saying how to name it."""
    sheets: dict[str, int] = {}
    for r in rows:
        if isinstance(r, Report):
            s = _sheet_key(r.solution.problem.id)
            sheets[s] = sheets.get(s, 0) + 1
    seen: dict[tuple, str] = {}
    out, refused = [], []
    for r in rows:
        if isinstance(r, Missing):
            out.append((("grade", _sheet_key(r.sheet_id), _name_key(r.student)), r))
            continue
        if not isinstance(r, Report):
            f = _failed(r)
            out.append((("failed", _plain(_safe(f.file))), f))
            continue
        sheet, name = _sheet_key(r.solution.problem.id), _name_key(r.answers.student)
        file = r.answers.source
        error = None
        if not name:
            mine = _plain(_safe(file))
            shared = [o for o in old if o.sheet == sheet and (o.key[2] or o.file != mine)]
            if sheets[sheet] > 1:
                error = _unnamed_error(r, "has other answers in this run")
            elif shared:
                where = f"already has a row in the gradebook from {shared[0].file}"
                error = _unnamed_error(r, where)
        key = ("grade", sheet, name)
        if error is None and key in seen:
            error = (
                f"{file}: {r.answers.student} on sheet {r.solution.problem.id} is graded from "
                f"{seen[key]} in this run already; grade one of the two"
            )
        if error is not None:
            f = Failed(file, error, r.answers.student, r.solution.problem.id)
            refused.append(f)
            out.append((("failed", _plain(_safe(file))), f))
            continue
        seen[key] = file
        out.append((key, r))
    return out, refused


@dataclass
class Book:
    """A gradebook to write, and what the merge has to say: rows kept unread, rows refused."""

    data: bytes
    notes: list[str] = field(default_factory=list)
    refused: list[Failed] = field(default_factory=list)


def merge_gradebook(
    old: str | None,
    rows: Sequence,
    unsent: str | None = None,
    where: str = "gradebook",
    roster: RosterColumns | None = None,
) -> Book:
    """This run's rows merged into an existing gradebook (`old`, its text; None for none), so
    no grade written before is lost. A row belongs to a student on a sheet (name + sheet ID):
    a grade of the same student on the same sheet replaces it, in place; a grade of anyone
    else is a row of its own. A file that failed is a row keyed by its file name: it never
    replaces a grade, and the file's next grade replaces it. A student `unsent` (who handed
    nothing in this time) keeps their earlier row. A row the merge cannot read is kept as it
    was, with a note. A ValueError when `old` is not a handcalc gradebook."""
    old_head, lines, notes = _read_book(old, where) if old is not None else ([], [], [])
    keyed, refused = _keyed(rows, lines)
    names = _step_names(rows)
    middle = _columns(names, roster)
    at = {line.key: i for i, line in enumerate(lines) if line.key is not None}
    for key, r in keyed:
        cells = _row(r, names, roster)
        new = _Line(key, cells, file=_plain(cells["file"]))
        if key[0] == "grade":
            if new.file:  # this file grades now: its earlier failure is over
                gone = at.pop(("failed", new.file), None)
                if gone is not None:
                    lines[gone] = None
            for i, o in enumerate(lines):  # a file graded unnamed before, named now
                unnamed = o is not None and o.key == ("grade", key[1], "")
                if key[2] and unnamed and o.file == new.file:
                    lines[i] = None
                    at.pop(o.key, None)
        i = at.get(key)
        if i is None:
            at[key] = len(lines)
            lines.append(new)
        elif not (unsent and key[0] == "grade" and new.file == unsent):
            lines[i] = new
    # the columns stay where the gradebook had them (a run with no hand-ins has no step
    # columns of its own); columns new to it follow
    before = [c for c in old_head[4:-1] if c not in _TAIL]
    steps = before + [c for c in middle if c not in before]
    head = [*_HEAD, *steps, *_TAIL]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(head)
    for line in lines:
        if line is None:
            continue
        if line.key is None:  # unread: as it was
            w.writerow([line.cells.get(c, "") for c in head] + line.extra)
        else:
            w.writerow([_safe(line.cells.get(c)) for c in head] + line.extra)
    return Book(buf.getvalue().encode("utf-8"), notes, refused)


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


def write_gradebook(
    path, rows, force: bool = False, unsent: str | None = None, roster=None
) -> Book:
    """Write a gradebook at `path`, merged into the one already there (see merge_gradebook;
    `force` starts a new one); a CSV file that is not a handcalc gradebook is replaced only
    with `force`. Returns the Book written, with its notes and refused rows."""
    from .errors import OutputError
    from .files import locked, read_text, shown, write_atomic

    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    with locked(folder):
        old = None
        if not force and os.path.isfile(path):
            old = read_text(path, "gradebook", OutputError)
        try:
            book = merge_gradebook(old, rows, unsent, shown(path), roster)
        except (ValueError, csv.Error):
            raise OutputError(
                f"{shown(path)} is not a handcalc gradebook; give another --csv name, "
                "or pass --force to replace it"
            ) from None
        write_atomic(path, book.data)
    return book


def tally(rows: Sequence) -> str:
    """The summary's last line: how many were graded, missing and failed, and the mean over
    those graded (a student who handed nothing in is not a 0 in it)."""
    graded = [r.percent for r in rows if isinstance(r, Report)]
    missing = sum(isinstance(r, Missing) for r in rows)
    failed = len(rows) - len(graded) - missing
    mean = f"mean {sum(graded) / len(graded):.1f} %" if graded else "none graded"
    if graded:
        mean += f" over the {len(graded)} graded"
    gone = f"{missing} missing, " if missing else ""
    return f"{len(graded)} graded, {gone}{failed} failed; {mean}"


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
                    "status": status(r),
                    "error": None,
                }
            )
        elif isinstance(r, Missing):
            out.append(
                {
                    "student": r.student,
                    "file": r.file,
                    "id": r.sheet_id,
                    "percent": None,
                    "first_wrong": None,
                    "review": 0,
                    "status": "missing",
                    "error": None,
                }
            )
        else:
            f = _failed(r)
            out.append(
                {
                    "student": f.student,
                    "file": f.file,
                    "id": f.sheet_id,
                    "percent": None,
                    "first_wrong": None,
                    "review": 0,
                    "status": "failed",
                    "error": f.error,
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
        if r["status"] == "missing":
            lines.append((r["student"] or "-", r["file"], "missing", "-"))
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
    out.append(tally(rows))
    return "\n".join(out) + "\n"
