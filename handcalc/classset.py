"""A class set: one different problem per student, all from one class seed, and its manifest.

Student k (counting from 1) gets the first problem drawn from seed `class_seed * 1000 + j`,
for j = k, k + 1, ..., whose matrices no earlier student has: usually j = k, so a sheet's seed
reads as "class seed, then the student's number". The manifest records each student's name,
sheet ID, seed and where the sheet is, so a class's answers can be matched to its problems.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import os
import re
import unicodedata
from dataclasses import dataclass

from .draw import draw
from .errors import DrawError, HandcalcError, OptionError, OutputError, quoted
from .files import bad_char, first_line, read_text, shown, spreadsheet_cell
from .problem import MAX_SEED, Problem, Spec, check_seed, decode_id
from .worksheet import NAME_LIMIT

SEED_STRIDE = 1000
MAX_STUDENTS = 500
MANIFEST_JSON, MANIFEST_CSV = "manifest.json", "manifest.csv"
MANIFEST_VERSION = 1
COLUMNS = (
    "number", "student", "id", "seed", "file", "page", "key_file", "key_page",
    "screen_file", "answers_file", "code",
)  # fmt: skip
_PLAIN_COLUMNS = COLUMNS[:-1]  # a class that is not private has no code column
# The kinds of file a class set writes: the manifest columns that say where each student's is.
FILE_COLUMNS = {
    "blank": ("file", "page"),
    "key": ("key_file", "key_page"),
    "interactive": ("screen_file", None),
    "answers": ("answers_file", None),
}
SPLIT_SUFFIX = {"blank": "", "key": "-key", "interactive": "-screen", "answers": "-answers"}


class RosterError(HandcalcError):
    """A roster file that names no students, or names one blank."""


class ManifestError(HandcalcError):
    """A manifest file that cannot be read."""


@dataclass(frozen=True)
class Student:
    """One student of a class set: their number (from 1), name and problem."""

    number: int
    name: str
    problem: Problem
    code: str | None = None  # a private class's code, printed instead of the sheet ID

    @property
    def seed(self) -> int:
        return self.problem.seed

    @property
    def id(self) -> str:
        return self.problem.id


def student_seeds(class_seed: int):
    """The seeds students draw from, in order; each student takes the next unused one."""
    check_seed(class_seed)
    return (class_seed * SEED_STRIDE + j for j in range(1, SEED_STRIDE))


def draw_class(spec: Spec, class_seed: int, names: list[str]) -> list[Student]:
    """One problem per name, no two with the same matrices (the ID encodes them all)."""
    seeds = student_seeds(class_seed)
    seen: set[str] = set()
    students = []
    for number, name in enumerate(names, 1):
        for seed in seeds:
            problem = draw(spec, seed).problem
            if problem.id not in seen:
                break
        else:
            raise DrawError(
                f"only {len(students)} different problems in {SEED_STRIDE - 1} seeds for these "
                "sizes and ranges; widen --x-range/--w-range or make the class smaller"
            )
        seen.add(problem.id)
        students.append(Student(number, name, problem))
    return students


# --- private codes ------------------------------------------------------------------------
#
# A private class's sheets print a short code instead of the sheet ID and seed, so a student
# cannot rebuild the key with `handcalc key --id`; only the manifest maps codes to sheets.

_CODE_CHARS = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base 32, as sheet IDs use
_CODE = re.compile(r"P-?([0-9A-Z]{4})-?([0-9A-Z]{4})")


def private_code(class_seed: int, student: Student) -> str:
    """A student's code, "P-" and eight characters: the same for the same class and student
    (so outputs stay byte-identical), and no function of it gives the sheet back."""
    digest = hashlib.blake2b(
        f"{class_seed}:{student.number}:{student.id}".encode(), digest_size=5, person=b"hc-code"
    ).digest()
    n = int.from_bytes(digest, "big")
    chars = "".join(_CODE_CHARS[(n >> (5 * i)) & 31] for i in reversed(range(8)))
    return f"P-{chars[:4]}-{chars[4:]}"


def code_key(text) -> str | None:
    """A private code as written on a sheet ("P-7KQM-2XBD"), in any case and spacing, else
    None for anything that is not one (a sheet ID)."""
    if not isinstance(text, str):
        return None
    clean = "".join(text.split()).upper().translate(str.maketrans("OIL", "011"))
    m = _CODE.fullmatch(clean)
    return f"P-{m.group(1)}-{m.group(2)}" if m else None


def with_codes(class_seed: int, students: list[Student]) -> list[Student]:
    """The class with a private code for every student."""
    out = [dataclasses.replace(s, code=private_code(class_seed, s)) for s in students]
    if len({s.code for s in out}) != len(out):  # 40 bits: not in any class of 500
        raise DrawError("two students drew the same private code; try another --seed")
    return out


def code_error(code: str) -> str:
    return (
        f"{code} is a private class code: only the class's manifest maps it to a sheet; "
        "give --manifest FILE (the class's manifest.json)"
    )


def sheet_of_code(doc: dict, code: str, where: str) -> str:
    """The sheet ID a manifest gives a private code; a one-line error when it has none."""
    for row in doc["students"]:
        if code_key(row.get("code")) == code:
            return row["id"]
    raise OptionError(f"{where} has no student with code {code}")


def class_names(count: int | None, roster: str | None) -> list[str]:
    """The students' names: the roster's, or "Student 1" ... "Student N"."""
    if count is not None and not 1 <= count <= MAX_STUDENTS:
        raise OptionError(f"--count must be from 1 to {MAX_STUDENTS}, not {count}")
    names = read_roster(roster) if roster else None
    if names is not None and count is not None and count != len(names):
        raise OptionError(f"--count {count} but {roster} names {len(names)} students; drop one")
    if names is None:
        if count is None:
            raise OptionError("a class set needs --count N or --roster FILE")
        names = [f"Student {k}" for k in range(1, count + 1)]
    if not 1 <= len(names) <= MAX_STUDENTS:
        raise OptionError(f"a class set has 1 to {MAX_STUDENTS} students, not {len(names)}")
    return names


def read_roster(path: str) -> list[str]:
    """Names from a CSV file's `name` column (any other columns are ignored)."""
    return [name for name, _ in read_roster_table(path)[1]]


def read_roster_table(path: str) -> tuple[list[str], list[tuple[str, dict[str, str]]]]:
    """A roster's other columns (email, student number, section...: the header's names, in
    order) and each line's name with its values in those columns, for the gradebook and the
    grade-import files."""
    text = read_text(path, "roster", RosterError)
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as e:
        raise RosterError(f"roster {path} is not a CSV file ({e})") from None
    if not rows:
        raise RosterError(f"roster {path} is empty; it needs a header line with a name column")
    header = [h.strip().lower() for h in rows[0]]
    if "name" not in header:
        raise RosterError(f"roster {path} has no 'name' column in its header line")
    col = header.index("name")
    others = [
        (k, h.strip())
        for k, h in enumerate(rows[0])
        if k != col and h.strip() and h.strip().lower() not in header[:k]
    ]
    students = []
    for line, row in enumerate(rows[1:], 2):
        if not any(cell.strip() for cell in row):
            continue  # an empty line, often the last
        name = row[col].strip() if col < len(row) else ""
        if not name:
            raise RosterError(f"roster {path} line {line}: the name is blank")
        name = " ".join(name.split())
        if len(name) > NAME_LIMIT:
            raise RosterError(
                f"roster {path} line {line}: the name is {len(name)} characters long; "
                f"at most {NAME_LIMIT} fit on the name line"
            )
        values = {h: (row[k].strip() if k < len(row) else "") for k, h in others}
        students.append((name, values))
    if not students:
        raise RosterError(f"roster {path} names no students")
    return [h for _, h in others], students


# Latin letters that do not decompose into a base letter and marks (NFKD leaves them whole).
_LETTERS = str.maketrans(
    {
        "ø": "o", "Ø": "O", "æ": "ae", "Æ": "Ae", "œ": "oe", "Œ": "Oe", "ß": "ss",
        "ẞ": "Ss", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "Th",
        "ł": "l", "Ł": "L", "ı": "i", "ħ": "h", "Ħ": "H", "ŋ": "ng", "Ŋ": "Ng",
    }
)  # fmt: skip


def plain_letters(name: str) -> str:
    """A name in ASCII, letters kept: accents dropped, Søren → Soren, Straße → Strasse;
    letters of other scripts have no ASCII spelling here and are left out."""
    decomposed = unicodedata.normalize("NFKD", name.translate(_LETTERS))
    return decomposed.encode("ascii", "ignore").decode()


def fold_name(name: str | None) -> str:
    """A name as it is compared when guessing who was meant: plain letters, no punctuation,
    one space between words, case folded ("Chloé O'Brien" and "chloe obrien" fold alike)."""
    decomposed = unicodedata.normalize("NFKD", (name or "").translate(_LETTERS))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^\w\s]+", "", bare).split()).casefold()


def file_stem(student: Student, width: int) -> str:
    """A file name for a student that any file system takes: their number (so names are
    unique and sort in class order), then their name in plain ASCII letters and digits."""
    plain = re.sub(r"[^A-Za-z0-9]+", "-", plain_letters(student.name)).strip("-")
    plain = plain[:40].strip("-")
    return f"{student.number:0{width}d}-{plain or 'student'}"


# What every common file system takes in one name (ext4, APFS, NTFS: 255).
FILE_NAME_BYTES = 255


def split_names(
    students: list[Student], kind: str, fmt: str, previous: dict | None = None
) -> list[str]:
    """Each student's file name in a split folder; a student the folder's manifest already
    lists keeps the name it gave (a class grown past 9 students does not rename 1-Ann)."""
    width = len(str(len(students)))
    suffix = f"{SPLIT_SUFFIX[kind]}.{fmt}"
    before = {}
    for row in (previous or {}).get("students", []):
        name = row.get(FILE_COLUMNS[kind][0])
        if (
            isinstance(name, str)
            and name == os.path.basename(name)
            and name.endswith(suffix)
            and len(name.encode("utf-8", "surrogateescape")) <= FILE_NAME_BYTES
        ):
            before[row.get("id")] = name
    return [before.get(s.id) or f"{file_stem(s, width)}{suffix}" for s in students]


# --- the manifest --------------------------------------------------------------------------


def manifest_rows(students, kind, files, pages, previous: dict | None = None) -> list[dict]:
    """One row per student. The other kind's file and page are kept from the manifest already
    in the folder when it lists the same class (the blank booklet, then its keys)."""
    kept = previous.get("students", []) if previous else []
    if not _grown_from(kept, students):
        kept = []
    kept = kept + [{} for _ in students[len(kept) :]]
    file_col, page_col = FILE_COLUMNS[kind]
    rows = []
    for s, f, p, old in zip(students, files, pages, kept):
        row = {c: old.get(c) for c in COLUMNS}
        row.update(number=s.number, student=s.name, id=s.id, seed=s.seed, code=s.code)
        if s.code is None:
            del row["code"]
        row[file_col] = f
        if page_col is not None:
            row[page_col] = p
        rows.append(row)
    return rows


def manifest_json(class_seed: int, rows: list[dict]) -> bytes:
    doc = {"handcalc_manifest": MANIFEST_VERSION, "class_seed": class_seed, "students": rows}
    if any(r.get("code") for r in rows):
        doc["private"] = True  # every later output of the class prints codes, not IDs
    return (json.dumps(doc, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def manifest_csv(rows: list[dict]) -> bytes:
    columns = COLUMNS if any(r.get("code") for r in rows) else _PLAIN_COLUMNS
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([spreadsheet_cell(r[c]) for c in columns])
    return buf.getvalue().encode("utf-8")


def manifest_files(class_seed: int, rows: list[dict]) -> list[tuple[str, bytes]]:
    """The manifest's two files, by name: JSON for handcalc, CSV for a spreadsheet."""
    return [
        (MANIFEST_JSON, manifest_json(class_seed, rows)),
        (MANIFEST_CSV, manifest_csv(rows)),
    ]


def read_manifest(path: str) -> dict:
    """A manifest written by a class set; a one-line error for anything else."""
    text = read_text(path, "manifest", ManifestError)
    name = shown(path)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        raise ManifestError(f"{name} is not a handcalc manifest (JSON)") from None
    except (ValueError, RecursionError):  # a 5,000-digit number, nesting thousands deep
        raise ManifestError(
            f"{name} is not a handcalc manifest (numbers or nesting too big)"
        ) from None
    if not isinstance(doc, dict) or doc.get("handcalc_manifest") != MANIFEST_VERSION:
        raise ManifestError(f"{name} is not a handcalc manifest")
    try:
        check_seed(doc.get("class_seed"), "its class_seed")
    except OptionError as e:
        raise ManifestError(f"{name}: {e}") from None
    students = doc.get("students")
    if not isinstance(students, list) or not all(
        isinstance(r, dict) and isinstance(r.get("id"), str) for r in students
    ):
        raise ManifestError(f"{name} is not a handcalc manifest (no students with IDs)")
    for number, row in enumerate(students, 1):
        if not isinstance(row.get("student"), str):
            raise ManifestError(f'{name}: student {number} has no name (a "student" text)')
        bad = bad_char(row["student"])
        if bad:
            raise ManifestError(f"{name}: student {number}'s name holds {bad}, which is not text")
        if len(row["student"]) > NAME_LIMIT:
            raise ManifestError(
                f"{name}: student {number}'s name is {len(row['student'])} characters long; "
                f"a roster takes at most {NAME_LIMIT}"
            )
    return doc


def _grown_from(rows: list[dict], students: list[Student]) -> bool:
    """Whether `students` are the class a manifest's `rows` list, with any late students
    added at the end."""
    return len(rows) <= len(students) and [r.get("id") for r in rows] == [
        s.id for s in students[: len(rows)]
    ]


def check_same_class(folder: str, students: list[Student]) -> None:
    """Refuse to overwrite the manifest of another class: its sheets would no longer match
    their students when the class is graded."""
    previous = previous_manifest(folder)
    if previous is None:
        return
    if not _grown_from(previous.get("students", []), students):
        where = os.path.join(folder, MANIFEST_JSON)
        seed = previous.get("class_seed")
        raise OptionError(
            f"{where} belongs to another class (class seed {seed}); for that class drop "
            f"--seed and the size options (or use --manifest {where}), else write this "
            "class to another folder"
        )


def previous_class(folder: str, students: list[Student], force: bool = False) -> dict | None:
    """The manifest already in `folder` when it lists this class (its other kind's files are
    kept), else None. Unless `force`, refuses to replace another class's manifest, or a
    manifest.json or manifest.csv that handcalc did not write."""
    if force or not os.path.isdir(folder):
        return None
    for name, ours in ((MANIFEST_JSON, _is_our_json), (MANIFEST_CSV, _is_our_csv)):
        path = os.path.join(folder, name)
        if os.path.lexists(path) and not ours(path):
            raise OutputError(
                f"{shown(path)} was not written by handcalc; write the class to another "
                "folder, or pass --force to replace it"
            )
    check_same_class(folder, students)
    return previous_manifest(folder)


GRADEBOOK_START = "student,id,file,percent,"


def class_file(path: str) -> str | None:
    """What a file handcalc writes beside a class is ("manifest", "gradebook"), else None:
    `check` passes over these when given a folder's files whole (`typed/*`)."""
    name = os.path.basename(path)
    if name == MANIFEST_JSON and _is_our_json(path):
        return "manifest"
    if name == MANIFEST_CSV and _is_our_csv(path):
        return "manifest"
    if name.endswith(".csv") and (first_line(path) or "").startswith(GRADEBOOK_START):
        return "gradebook"
    return None


def _is_our_json(path: str) -> bool:
    try:
        read_manifest(path)
        return True
    except ManifestError:
        return False


def _is_our_csv(path: str) -> bool:
    return first_line(path) in (",".join(COLUMNS), ",".join(_PLAIN_COLUMNS))


def previous_manifest(folder: str) -> dict | None:
    path = os.path.join(folder, MANIFEST_JSON)
    if not os.path.isfile(path):
        return None
    try:
        return read_manifest(path)
    except ManifestError:
        return None


# --- finding a class again ------------------------------------------------------------------


@dataclass(frozen=True)
class Chosen:
    """The class a command writes: its class seed and students, and where they came from."""

    class_seed: int
    students: list[Student]
    manifest: str | None = None  # the manifest the class was read from
    drawn: bool = False  # the class seed was drawn just now


def choose_class(
    spec: Spec,
    *,
    seed: int | None = None,
    count: int | None = None,
    roster: str | None = None,
    manifest: str | None = None,
    folders: tuple[str, ...] = (),
    spec_flag: str | None = None,
) -> Chosen:
    """The class to write: the one a manifest lists (given, or when no seed is given the
    first found in `folders`), else one drawn from `seed` (a new one when None). A class
    taken from a manifest keeps the problems its sheet IDs name, so its sizes and rules
    cannot be given again (`spec_flag` names the first such option given)."""
    if manifest is None and seed is None and spec_flag is None:
        found = [f for f in folders if previous_manifest(f) is not None]
        if found:
            manifest = os.path.join(found[0], MANIFEST_JSON)
    if manifest is None:
        names = class_names(count, roster)
        drawn = seed is None
        if drawn:
            from .draw import new_seed

            seed = new_seed()
        return Chosen(seed, draw_class(spec, seed, names), None, drawn)
    doc = read_manifest(manifest)
    class_seed = doc.get("class_seed")
    if spec_flag is not None:
        raise OptionError(f"{manifest} fixes every student's sheet; drop {spec_flag}")
    if seed is not None and seed != class_seed:
        raise OptionError(f"{manifest} is the class of seed {class_seed}, not {seed}; drop --seed")
    names = class_names(count, roster) if count is not None or roster else None
    listed = [" ".join(str(r.get("student") or "").split()) for r in doc["students"]]
    if names is not None and len(names) > len(listed) and names[: len(listed)] == listed:
        return Chosen(class_seed, grown_class(spec, doc, manifest, names), manifest)
    return Chosen(class_seed, students_from_manifest(doc, manifest, names), manifest)


def grown_class(spec: Spec, doc: dict, where: str, names: list[str]) -> list[Student]:
    """A manifest's class with late students added at the end of its names: the class is
    drawn again from its seed, and must come out as the manifest lists it."""
    rows = doc["students"]
    class_seed = doc.get("class_seed")
    if not isinstance(class_seed, int) or isinstance(class_seed, bool):
        raise ManifestError(f"{where} has no class seed to draw late students from")
    students = draw_class(spec, class_seed, names)
    if not _grown_from(rows, students):
        raise OptionError(
            f"{where} was drawn with other sizes or ranges; to add students give "
            f"--seed {class_seed} and the size options the class was made with"
        )
    return with_codes(class_seed, students) if doc.get("private") else students


def students_from_manifest(doc: dict, where: str, names: list[str] | None = None):
    """The students a manifest lists, each with the problem their sheet ID names; `names`
    (a roster's) must be the manifest's, in the same order."""
    rows = doc["students"]
    if names is not None:
        if len(names) != len(rows):
            raise OptionError(
                f"{where} lists {len(rows)} students, not {len(names)}; add late students "
                "at the end, the others as listed; for a new class give --seed and write it "
                "to another folder"
            )
        for k, (name, row) in enumerate(zip(names, rows), 1):
            listed = " ".join(str(row.get("student") or "").split())
            if name != listed:
                raise OptionError(
                    f"student {k} is {quoted(name)} here but {quoted(listed)} in {where}; "
                    "give the roster the class was made from"
                )
    students = []
    for k, row in enumerate(rows, 1):
        try:
            problem = decode_id(row["id"])
        except HandcalcError:
            raise ManifestError(f"{where}: student {k}'s sheet ID is damaged") from None
        seed = row.get("seed")
        if isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed <= MAX_SEED:
            problem = dataclasses.replace(problem, seed=seed)
        name = " ".join(str(row.get("student") or f"Student {k}").split())
        code = code_key(row.get("code")) if doc.get("private") else None
        students.append(Student(k, name, problem, code))
    return students
