"""A student's answers in: answers files (JSON) and filled PDF forms, checked against a sheet.

Reading happens in two stages, because the sheet may be named inside the file itself:
`load(path)` reads what was written (and the sheet ID, if any); `Answers.grid(exercise)` then
lays it out cell by cell for that sheet, with one-line errors for wrong shapes and names.
pypdf is imported only when a PDF is given.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from . import numbers, steps
from .errors import AnswersError, echoed, quoted
from .files import MAX_BYTES, bad_char, read_bytes, shown

ID_FIELD = "handcalc_id"
STUDENT_FIELDS = ("student", "handcalc_student")
_META = ("student", "id", "revealed")
NAME_ECHO = 120  # a name on a sheet has at most 80 characters
_MAX_BYTES = MAX_BYTES["answers file"]


@dataclass(frozen=True)
class Cell:
    """One answer box: the text as written, and the number read from it.

    `written` is None for a blank box and for one that could not be read; `error` says why
    it could not be read, and `readings` what it may mean (numbers.Unclear; `by_range`: the
    grader may pick the one that fits the step). `decided` is the reading a teacher gave
    (`check --accept`), which `written` then holds."""

    text: str | None = None
    written: numbers.Written | None = None
    error: str | None = None
    readings: tuple[numbers.Written, ...] = ()
    by_range: bool = False
    decided: str | None = None

    @property
    def blank(self) -> bool:
        return self.written is None and self.error is None

    @property
    def unreadable(self) -> bool:
        return self.error is not None


BLANK = Cell()


def read_cell(raw) -> Cell:
    """A cell from a JSON value or a form field's text; never raises."""
    if raw is None:
        return BLANK
    # the text as reports show it: a 400-digit number or a long cell cut with a mark
    text = echoed(raw if isinstance(raw, str) else _json_text(raw))
    if isinstance(raw, (list, dict)):
        return Cell(text, None, f"cannot read {quoted(_json_text(raw))} as a number")
    try:
        written = numbers.parse(raw)
    except numbers.Unclear as e:
        return Cell(text, None, str(e), e.readings, e.by_range)
    except AnswersError as e:
        return Cell(text, None, echoed(str(e), 200))
    return BLANK if written is None else Cell(text, written)


def _json_text(raw) -> str:
    try:
        return json.dumps(raw, ensure_ascii=False)
    except (ValueError, RecursionError):  # an int too long to print, nesting too deep
        return echoed(raw) if isinstance(raw, int) else "[…]"


@dataclass(frozen=True)
class Answers:
    """What one file holds: step values by name (JSON) or form fields by cell name (PDF)."""

    source: str
    student: str | None = None
    sheet_id: str | None = None
    steps: Mapping[str, object] = field(default_factory=dict)
    fields: Mapping[str, str | None] | None = None
    revealed: tuple[str, ...] = ()
    decided: Mapping[str, str] = field(default_factory=dict)

    def grid(self, exercise: steps.Exercise) -> dict[str, tuple]:
        """Every worked step's cells, shaped like the step (rows of Cells, or a flat tuple),
        with the readings the teacher decided (`decided`: cell name -> number) put in."""
        return _decide(self._grid(exercise), exercise, self.decided, self.source)

    def _grid(self, exercise: steps.Exercise) -> dict[str, tuple]:
        if self.fields is not None:
            return {s.name: _from_fields(s, self.fields) for s in exercise.asked}
        known = {s.name for s in exercise.steps}
        for name in self.steps:
            if name not in known:
                worked = ", ".join(s.name for s in exercise.worked)
                raise AnswersError(
                    f"{self.source}: unknown step {quoted(name)} (this sheet's steps are {worked})"
                )
        return {s.name: _from_json(s, self.steps.get(s.name), self.source) for s in exercise.asked}

    def nothing_written(self, exercise: steps.Exercise) -> bool:
        """Whether every box is blank: the untouched answers file a class set wrote, which a
        class's grading counts as not handed in rather than as 0 %."""
        if self.decided:
            return False
        for cells in self._grid(exercise).values():
            for row in cells:
                for cell in row if isinstance(row, tuple) else (row,):
                    if cell.text is not None and cell.text.strip():
                        return False
        return True

    def revealed_cells(self, exercise: steps.Exercise) -> dict[str, set]:
        """Per worked step, the positions the learner had the page reveal (their "revealed"
        cell names); a name that is no cell of this sheet is an error."""
        where = {}
        for s in exercise.worked:
            for r in range(s.rows):
                for c in [None] if s.is_vector else range(s.cols):
                    where[steps.field_name(s.name, r, c)] = (s.name, (r, c))
        out: dict[str, set] = {s.name: set() for s in exercise.worked}
        for name in self.revealed:
            if name not in where:
                raise AnswersError(
                    f'{self.source}: "revealed" names {quoted(name)}, '
                    "which is no cell of this sheet"
                )
            step, pos = where[name]
            out[step].add(pos)
        return out


def _decide(grid: dict, exercise: steps.Exercise, decided: Mapping[str, str], source: str):
    """The grid with a teacher's readings of some cells: each such cell holds the number
    decided, and keeps the text the student wrote."""
    if not decided:
        return grid
    where = {}
    for s in exercise.asked:
        for r in range(s.rows):
            for c in [None] if s.is_vector else range(s.cols):
                where[steps.field_name(s.name, r, c)] = (s.name, r, c)
    out = {
        name: [list(row) if isinstance(row, tuple) else row for row in v]
        for name, v in grid.items()
    }
    for name, value in decided.items():
        if name not in where:
            raise AnswersError(f"{source}: --accept names {name!r}, which is no cell to grade")
        try:
            written = numbers.parse(value)
        except AnswersError as e:
            raise AnswersError(f"{source}: --accept {name}={value}: {e}") from None
        if written is None:
            raise AnswersError(f"{source}: --accept {name}= needs a number")
        step, r, c = where[name]
        cell = out[step][r] if c is None else out[step][r][c]
        new = Cell(cell.text, written, decided=str(value))
        if c is None:
            out[step][r] = new
        else:
            out[step][r][c] = new
    return {
        name: tuple(tuple(row) if isinstance(row, list) else row for row in v)
        for name, v in out.items()
    }


def _from_fields(step: steps.Step, fields: Mapping[str, str | None]) -> tuple:
    if step.is_vector:
        return tuple(
            read_cell(fields.get(steps.field_name(step.name, r))) for r in range(step.rows)
        )
    return tuple(
        tuple(read_cell(fields.get(steps.field_name(step.name, r, c))) for c in range(step.cols))
        for r in range(step.rows)
    )


def _size(step: steps.Step) -> str:
    return "×".join(map(str, step.shape))


def _from_json(step: steps.Step, value, source: str) -> tuple:
    if value is None or value == "":
        return _from_fields(step, {})
    where = f"{source}: {step.name}"
    if step.is_vector:
        if not isinstance(value, list) or any(isinstance(x, list) for x in value):
            raise AnswersError(f"{where} must be a flat list of {step.rows} numbers")
        if len(value) != step.rows:
            raise AnswersError(f"{where} must have {step.rows} entries, got {len(value)}")
        return tuple(read_cell(x) for x in value)
    if not isinstance(value, list) or not all(isinstance(row, list) for row in value):
        raise AnswersError(f"{where} must be a list of rows ({_size(step)})")
    widths = sorted({len(row) for row in value})
    if len(widths) > 1:
        raise AnswersError(f"{where} has rows of different lengths ({widths})")
    got = f"{len(value)}×{widths[0] if widths else 0}"
    if got != _size(step):
        raise AnswersError(f"{where} must be {_size(step)}, got {got}")
    return tuple(tuple(read_cell(x) for x in row) for row in value)


def _where(path: tuple) -> str:
    name, *at = path
    if name in _META or len(at) not in (1, 2) or not all(isinstance(i, int) for i in at):
        return f'"{name}"'  # a name, or a value nested where no cell can be (an object)
    if len(at) == 1:
        return f"{name} entry {at[0] + 1}"
    return f"{name} row {at[0] + 1} col {at[1] + 1}"


def check_text(data, source: str) -> None:
    """Refuse, in one line, a file holding a character that is not text (files.bad_char)
    anywhere in its names or values: it could not be shown, written to a gradebook or
    compared with a roster. Walked with a stack, as a file may nest deeply."""
    todo: list[tuple[tuple, object]] = [((), data)]
    while todo:
        path, value = todo.pop()
        if isinstance(value, str):
            bad = bad_char(value)
            if bad:
                raise AnswersError(
                    f"{source}: {_where(path)} holds {bad}, which is not a character of text; "
                    "retype it"
                )
        elif isinstance(value, dict):
            for k, v in value.items():
                bad = bad_char(k) if isinstance(k, str) else None
                if bad:
                    raise AnswersError(
                        f"{source}: a name holds {bad}, which is not a character of text; "
                        "retype it"
                    )
                todo.append(((*path, k), v))
        elif isinstance(value, list):
            todo += [((*path, i), v) for i, v in enumerate(value)]


def from_json(data, source: str = "answers") -> Answers:
    """Answers from a parsed answers file: an object of step matrices, "student" and "id"."""
    if isinstance(data, list) and data and all(isinstance(x, dict) for x in data):
        raise AnswersError(
            f"{source} is a class answers file (a list): grade it with check --manifest"
        )
    if not isinstance(data, dict):
        raise AnswersError(f"{source}: an answers file must be a JSON object of step matrices")
    check_text(data, source)
    student, sheet_id = data.get("student"), data.get("id")
    if student is not None and not isinstance(student, str):
        raise AnswersError(f'{source}: "student" must be a name (text)')
    if sheet_id is not None and not isinstance(sheet_id, str):
        raise AnswersError(f'{source}: "id" must be the sheet ID as text')
    revealed = data.get("revealed", [])
    if not isinstance(revealed, list) or not all(isinstance(x, str) for x in revealed):
        raise AnswersError(f'{source}: "revealed" must be a list of cell names such as "S_r2_c3"')
    work = {k: v for k, v in data.items() if k not in _META}
    return Answers(source, _name(student), sheet_id or None, work, revealed=tuple(revealed))


def _name(student: str | None) -> str | None:
    """A student's name as reports and gradebooks show it: one space between words, cut
    to NAME_ECHO characters with a mark, and any other unprintable character escaped."""
    words = " ".join(student.split()) if student else ""
    return echoed(words, NAME_ECHO) if words else None


def from_fields(fields: Mapping[str, str | None], source: str = "form") -> Answers:
    """Answers from a filled form's text fields, named by `steps.field_name`."""
    check_text(dict(fields), source)
    sheet_id = fields.get(ID_FIELD)
    if not sheet_id or not isinstance(sheet_id, str):
        raise AnswersError(f"{source} is not a handcalc sheet (it has no {ID_FIELD} field)")
    student = next((fields[k] for k in STUDENT_FIELDS if fields.get(k)), None)
    return Answers(source, _name(student), sheet_id.strip(), {}, dict(fields))


def _pdf_fields(data: bytes, source: str) -> dict[str, str | None]:
    import io
    import logging

    import pypdf

    # pypdf logs its repairs of a damaged file to stderr; the one-line error says enough
    log = logging.getLogger("pypdf")
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        fields = reader.get_form_text_fields()
    except Exception:  # pypdf raises many kinds on a damaged file; all mean "unreadable"
        raise AnswersError(f"{source} is not a readable PDF") from None
    finally:
        log.setLevel(level)
    return {str(k): (None if v is None else str(v)) for k, v in fields.items()}


def parse_text(text: str, source: str = "answers") -> Answers:
    """Answers from the text of an answers file."""
    return from_json(_parsed(text, source), source)


def _parsed(text: str, source: str):
    try:
        # Decimals stay text, so "0.20" keeps the places the student wrote.
        data = json.loads(text, parse_float=str, parse_constant=str)
    except json.JSONDecodeError as e:
        raise AnswersError(f"{source} is not valid JSON (line {e.lineno}: {e.msg})") from None
    except (ValueError, RecursionError):
        raise AnswersError(
            f"{source} is not an answers file (numbers or nesting too big)"
        ) from None
    return data


def load_each(path: str | os.PathLike) -> list[Answers]:
    """The answers a file holds: one, or from a class answers file (a JSON list of ordinary
    answers objects, each with "student" and "id", as the marking page exports) one per
    object, each named by its place and student for errors and reports."""
    data = read_bytes(path, "answers file", AnswersError)
    source = shown(path)
    if data.lstrip()[:1] != b"[":
        return [from_bytes(data, source)]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise AnswersError(f"{source} is not an answers file (JSON text)") from None
    items = _parsed(text, source)
    if not items:
        raise AnswersError(f"{source} is an empty class answers file (a list of no answers)")
    out = []
    for k, item in enumerate(items, 1):
        who = item.get("student") if isinstance(item, dict) else None
        where = f"{source} #{k}" + (f" ({echoed(who, 40)})" if isinstance(who, str) else "")
        out.append(from_json(item, where))
    return out


def load(path: str | os.PathLike) -> Answers:
    """Answers from a file: a filled handcalc PDF form, or an answers file (JSON)."""
    return from_bytes(read_bytes(path, "answers file", AnswersError), shown(path))


def from_bytes(data: bytes, source: str = "answers") -> Answers:
    """Answers from a file's bytes: a PDF form if it starts like a PDF, else JSON text."""
    if len(data) > _MAX_BYTES:
        raise AnswersError(f"{source} is too big to be an answers file")
    if data.lstrip()[:5] == b"%PDF-":
        return from_fields(_pdf_fields(data, source), source)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise AnswersError(
            f"{source} is neither a PDF nor an answers file (JSON text): byte "
            f"0x{data[e.start]:02X} at position {e.start} is not UTF-8; save it as UTF-8"
        ) from None
    return parse_text(text, source)


def blank(problem) -> dict:
    """A blank answers file for a problem: its ID, a student line, every asked step as nulls."""
    out: dict = {"id": problem.id, "student": None}
    for s in problem.exercise.asked:
        out[s.name] = [None] * s.rows if s.is_vector else [[None] * s.cols for _ in range(s.rows)]
    return out


def to_text(data: Mapping) -> str:
    """An answers file as JSON text that is easy to fill by hand: one key a line, and each
    matrix row on a line of its own, so the file reads like the sheet."""

    def dump(value) -> str:
        return json.dumps(value, ensure_ascii=False)

    def rows(value) -> str:
        if isinstance(value, list) and value and all(isinstance(r, list) for r in value):
            inner = ",\n".join(f"  {dump(r)}" for r in value)
            return f"[\n{inner}\n ]"
        return dump(value)

    lines = ",\n".join(f" {dump(k)}: {rows(v)}" for k, v in data.items())
    return "{\n" + lines + "\n}\n"


# --- a teacher's readings of cells that need review ------------------------------------


def parse_accept(items) -> dict[str, dict[str, str]]:
    """`check --accept FILE:CELL=VALUE` (repeatable) -> {file: {cell: value}}."""
    out: dict[str, dict[str, str]] = {}
    for item in items:
        left, eq, value = item.rpartition("=")
        path, colon, cell = left.rpartition(":")
        if not eq or not colon or not path or not cell.strip() or not value.strip():
            raise AnswersError(
                f"--accept {item!r} must be FILE:CELL=VALUE, such as alice.json:A_r3_c4=0.222"
            )
        out.setdefault(path, {})[cell.strip()] = value.strip()
    return out


def read_review(path) -> dict[str, dict[str, str]]:
    """A review file: JSON {"FILE": {"CELL": "VALUE", ...}, ...}, a teacher's readings of the
    cells that need review, FILE as the report names it (or its base name)."""
    from .files import read_text

    where = shown(path)
    try:
        data = json.loads(read_text(path, "review file", AnswersError))
    except (json.JSONDecodeError, RecursionError):
        raise AnswersError(f"review file {where} is not valid JSON") from None
    if not isinstance(data, dict) or not all(
        isinstance(cells, dict)
        and all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in cells.values())
        for cells in data.values()
    ):
        raise AnswersError(f'review file {where} must be {{"FILE": {{"CELL": "VALUE", ...}}, ...}}')
    return {f: {c: str(v) for c, v in cells.items()} for f, cells in data.items()}


def decisions_for(decisions: Mapping[str, Mapping[str, str]], path) -> dict[str, str]:
    """The readings meant for one answers file: named by its path as given or shown, or by
    its base name."""
    names = {os.fspath(path), shown(path), os.path.basename(os.fspath(path))}
    out: dict[str, str] = {}
    for name, cells in decisions.items():
        if name in names:
            out.update(cells)
    return out


def check_decisions(decisions: Mapping[str, Mapping[str, str]], paths) -> None:
    """Refuse readings for a file that is not being graded (a typo would silently do nothing)."""
    known = set()
    for p in paths:
        known |= {os.fspath(p), shown(p), os.path.basename(os.fspath(p))}
    for name in decisions:
        if name not in known:
            raise AnswersError(
                f"--accept/--review names {name!r}, which is not a file being graded"
            )
