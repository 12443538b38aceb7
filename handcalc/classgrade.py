"""Grading a class: match each handed-in answers file to its student in a class set's manifest.

A file is matched by its sheet ID (an answers file's "id", a filled PDF's handcalc_id field),
or, when it has none, by its "student" name. Every student in the manifest gets a gradebook
row, in class order: one who handed nothing in, or only an untouched answers file, is a
Missing row (no score, not 0 %). A file that
matches no student, or a student already matched, is a row of its own with the error.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping, Sequence

from . import answers as answers_mod
from . import grading
from .classset import code_key, fold_name, read_manifest
from .errors import AnswersError, HandcalcError, echoed
from .files import shown
from .problem import decode_id, id_names
from .report import MISSING_FILE, Failed, Missing

NOTHING_HANDED_IN = MISSING_FILE
NOTHING_WRITTEN = "nothing written"


def _names(row: dict, sheet_id: str) -> bool:
    """Whether an answers file's ID (full, or the short one a sheet prints) names this row's
    problem: no redrawing, as the manifest holds each full ID and seed."""
    try:
        problem = dataclasses.replace(decode_id(row["id"]), seed=row.get("seed"))
    except HandcalcError:
        return False
    return id_names(problem, sheet_id)


def _key(name: str | None) -> str:
    return " ".join((name or "").split()).casefold()


def match(rows: list[dict], sub: answers_mod.Answers) -> int:
    """The manifest row an answers file belongs to; a one-line error when there is none."""
    if sub.sheet_id:
        code = code_key(sub.sheet_id)
        for i, row in enumerate(rows):
            if _names(row, sub.sheet_id):
                return i
            if code is not None and code_key(row.get("code")) == code:
                return i
        raise AnswersError(f"{sub.source}: sheet ID {echoed(sub.sheet_id)} is not in this class")
    if sub.student:
        hits = [i for i, row in enumerate(rows) if _key(row["student"]) == _key(sub.student)]
        if len(hits) == 1:
            return hits[0]
        if hits:
            raise AnswersError(
                f"{sub.source}: {len(hits)} students are named {sub.student!r}; "
                'add the sheet\'s "id" to the answers'
            )
        raise AnswersError(
            f"{sub.source}: no student named {sub.student!r} in this class"
            + _suggestion([row["student"] for row in rows], sub.student)
        )
    raise AnswersError(f'{sub.source} has neither an "id" nor a "student" to match it by')


def nearest_name(names: Sequence[str], name: str) -> str | None:
    """The roster name closest to `name` once accents, punctuation and case are folded away,
    if any is close enough to be worth suggesting."""
    folded = {}
    for n in names:
        folded.setdefault(fold_name(n), n)
    close = difflib.get_close_matches(fold_name(name), list(folded), n=1, cutoff=0.75)
    return folded[close[0]] if close else None


def _suggestion(names: Sequence[str], name: str) -> str:
    near = nearest_name(names, name)
    return f'; did you mean {near!r}? (write that in "student")' if near else ""


def handed_in(files: Sequence[str]):
    """(file, answers) for each answers object the files hold, a class answers file giving
    one per student; (file, error) for a file that cannot be read."""
    for path in files:
        try:
            subs = answers_mod.load_each(path)
        except HandcalcError as e:
            yield path, e
            continue
        for sub in subs:
            yield path, sub


def grade_class(
    manifest_path: str,
    files: Sequence[str],
    marking: grading.Marking | None = None,
    decisions: Mapping[str, Mapping[str, str]] | None = None,
):
    """Gradebook rows (grading Reports, Missing students, or (file, error) pairs) and the
    errors, one a line;
    `decisions` are a teacher's readings of cells that need review, by file."""
    manifest = read_manifest(manifest_path)
    rows = manifest["students"]
    matched: dict[int, answers_mod.Answers] = {}
    extra: list[tuple[str, str]] = []
    for path, sub in handed_in(files):
        try:
            if isinstance(sub, HandcalcError):
                raise sub
            mine = answers_mod.decisions_for(decisions or {}, path)
            if mine:
                sub = dataclasses.replace(sub, decided=mine)
            i = match(rows, sub)
            if i in matched:
                raise AnswersError(
                    f"{sub.source}: {rows[i]['student']} already handed in {matched[i].source}"
                )
            matched[i] = sub
        except HandcalcError as e:
            extra.append((shown(path), str(e)))
    solved: dict = {}
    graded: list = []
    failed: list = []
    missing: list = []
    for i, row in enumerate(rows):
        if i not in matched:
            graded.append(Missing(row["student"], row["id"]))
            missing.append(row["student"])
            continue
        sub = dataclasses.replace(matched[i], student=row["student"])
        if code_key(sub.sheet_id):  # a private class's code: the manifest names the sheet
            sub = dataclasses.replace(sub, sheet_id=row["id"])
        try:
            problem = decode_id(row["id"])
            if sub.nothing_written(problem.exercise):
                graded.append(
                    Missing(row["student"], row["id"], f"{sub.source}: {NOTHING_WRITTEN}")
                )
                missing.append(f"{row['student']} ({sub.source}: {NOTHING_WRITTEN})")
                continue
            graded.append(grading.check(sub, problem, solved, marking or grading.Marking()))
        except HandcalcError as e:  # the row keeps its place, so class order stays
            graded.append(Failed(sub.source, str(e), row["student"], row["id"]))
            failed.append(str(e))
    return graded + extra, failed + [e for _, e in extra], missing
