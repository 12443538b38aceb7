"""Grade-import files for learning management systems, from a graded class and its roster.

Moodle's CSV grade import maps a column of the file to its users ("Email address" to the
user's email, or "ID number" to the user's ID number) and a column to a grade item; its import
format is its export format, whose user columns include "First name", "Last name", "ID
number" and "Email address". Canvas's gradebook import reads the columns of its export: "Student",
"ID", "SIS User ID", "SIS Login ID" and "Section", then one column per assignment.

Only graded students are written: a student who handed nothing in, whose file failed or who
has cells waiting for review has no grade to carry over yet, and is listed for the teacher.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence

from .errors import OptionError
from .files import spreadsheet_cell
from .grading import Report
from .report import RosterColumns, status

SYSTEMS = ("moodle", "canvas")
MOODLE_HEAD = ("First name", "Last name", "ID number", "Email address")
CANVAS_HEAD = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")

# Which roster columns fill each system's columns (a roster header, spacing, case, "_" and
# "-" aside): the first that the roster has.
_FROM_ROSTER = {
    "First name": ("first name", "firstname", "given name"),
    "Last name": ("last name", "lastname", "surname", "family name"),
    "ID number": ("id number", "idnumber", "student number", "student id"),
    "Email address": ("email address", "email", "e mail"),
    "ID": ("canvas id", "id"),
    "SIS User ID": ("sis user id", "student number", "id number", "student id"),
    "SIS Login ID": ("sis login id", "login", "login id", "username", "email"),
    "Section": ("section",),
}
_KEYS = {"moodle": ("ID number", "Email address"), "canvas": ("ID", "SIS User ID", "SIS Login ID")}


def _plain(header: str) -> str:
    return " ".join(header.replace("_", " ").replace("-", " ").lower().split())


def source_columns(roster: RosterColumns) -> dict[str, str]:
    """Each system column the roster can fill, and the roster column it comes from."""
    by_plain = {}
    for col in roster.columns:
        by_plain.setdefault(_plain(col), col)
    out = {}
    for target, names in _FROM_ROSTER.items():
        found = next((by_plain[n] for n in names if n in by_plain), None)
        if found is not None:
            out[target] = found
    return out


def import_file(
    system: str, rows: Sequence, roster: RosterColumns | None, item: str
) -> tuple[bytes, list[str]]:
    """The grade-import CSV for `system` (one row per graded student, the score in percent
    under the column `item`), and the students left out with why."""
    if system not in SYSTEMS:
        raise OptionError(f"--lms is one of {', '.join(SYSTEMS)}, not {system!r}")
    roster = roster or RosterColumns()
    found = source_columns(roster)
    keys = _KEYS[system]
    if not any(k in found for k in keys):
        need = " or ".join(f"'{k}'" for k in keys)
        raise OptionError(
            f"--lms {system} matches students by {need}: give --roster with such a column "
            "(such as email or student number)"
        )
    head = MOODLE_HEAD if system == "moodle" else CANVAS_HEAD
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([*head, item])
    left_out = []
    for r in rows:
        if not isinstance(r, Report) or r.review:
            who = getattr(r, "student", None) or getattr(r, "file", "?")
            left_out.append(f"{who} ({status(r)})")
            continue
        name = r.answers.student or ""
        values = _values(roster.of(name), found)
        if system == "moodle":
            values.setdefault("First name", name if "Last name" not in found else "")
        else:
            values["Student"] = name
        w.writerow([spreadsheet_cell(values.get(c, "")) for c in head] + [f"{r.percent:.1f}"])
    return buf.getvalue().encode("utf-8"), left_out


def _values(cells: Mapping[str, str], found: Mapping[str, str]) -> dict[str, str]:
    return {target: cells.get(col, "") for target, col in found.items() if cells.get(col)}
