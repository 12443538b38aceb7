"""Issue 24: marks handed back and carried on. A class of three from a roster with emails:
the gradebook keeps the roster's columns and a status, the LMS files have the documented
headers, the rule is said once, and feedback and the class report hold the real numbers."""

from __future__ import annotations

import csv
import io
import json

import pytest

from handcalc.problem import decode_id
from handcalc.solution import solve

from .conftest import run_process

ROSTER = (
    "name,email,student number,section\n"
    "Ann Lee,ann@uni.example,s001,A\n"
    "Ben Ode,ben@uni.example,s002,B\n"
    "Cy Park,cy@uni.example,s003,A\n"
)


def key_answers(sheet_id: str, **extra) -> dict:
    return {**solve(decode_id(sheet_id)).to_json()["steps"], **extra}


def table(path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


@pytest.fixture
def klass(tmp_path, cli):
    """Ann right everywhere; Ben with one slip in Q (its first cell one too big); Cy
    handed nothing in."""
    roster = tmp_path / "class.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    made = cli("answers", "--roster", roster, "--seed", 7, "--split", tmp_path / "typed")
    assert made.exit_code == 0, made.output
    manifest = tmp_path / "typed" / "manifest.json"
    rows = json.loads(manifest.read_text(encoding="utf-8"))["students"]
    ann = tmp_path / "ann.json"
    ann.write_text(json.dumps(key_answers(rows[0]["id"], id=rows[0]["id"])))
    slip = key_answers(rows[1]["id"], id=rows[1]["id"])
    slip["Q"][0][0] += 1
    ben = tmp_path / "ben.json"
    ben.write_text(json.dumps(slip))
    return tmp_path, roster, manifest, rows, [ann, ben]


def test_gradebook_keeps_roster_columns_and_says_missing(klass):
    folder, roster, manifest, rows, files = klass
    done = run_process("check", "--manifest", manifest, "--roster", roster, *files)
    assert done.returncode == 0, done.stderr
    book = table(folder / "typed" / "gradebook.csv")
    got = [(r["student"], r["email"], r["student number"], r["section"], r["status"]) for r in book]
    assert got == [
        ("Ann Lee", "ann@uni.example", "s001", "A", "graded"),
        ("Ben Ode", "ben@uni.example", "s002", "B", "graded"),
        ("Cy Park", "cy@uni.example", "s003", "A", "missing"),
    ]
    assert book[2]["percent"] == "" and book[0]["percent"] == "100.0"
    assert (book[1]["mistake: slip"], book[0]["mistake: slip"], book[2]["mistake: slip"]) == (
        "1",
        "0",
        "",
    )
    # the mean is over the two who handed in, with the count: (100 + Ben's) / 2
    mean = (100 + float(book[1]["percent"])) / 2
    last = done.stdout.splitlines()[-1]
    assert last == f"2 graded, 1 missing, 0 failed; mean {mean:.1f} % over the 2 graded"
    assert done.stdout.count("Rule: A cell is correct") == 1


def test_moodle_and_canvas_files_have_the_documented_headers(klass):
    folder, roster, manifest, rows, files = klass
    done = run_process(
        "check", "--manifest", manifest, "--roster", roster, "--lms", "moodle",
        "--lms", "canvas", "--lms-item", "Attention 1", *files,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    book = table(folder / "typed" / "gradebook.csv")
    moodle = (folder / "typed" / "gradebook-moodle.csv").read_text(encoding="utf-8")
    canvas = (folder / "typed" / "gradebook-canvas.csv").read_text(encoding="utf-8")
    # Moodle's import maps "Email address" (useremail) or "ID number" (useridnumber)
    assert moodle.splitlines() == [
        "First name,Last name,ID number,Email address,Attention 1",
        "Ann Lee,,s001,ann@uni.example,100.0",
        f"Ben Ode,,s002,ben@uni.example,{book[1]['percent']}",
    ]
    # Canvas's gradebook columns: Student, ID, SIS User ID, SIS Login ID, Section
    assert canvas.splitlines() == [
        "Student,ID,SIS User ID,SIS Login ID,Section,Attention 1",
        "Ann Lee,,s001,ann@uni.example,A,100.0",
        f"Ben Ode,,s002,ben@uni.example,B,{book[1]['percent']}",
    ]
    assert "left out: Cy Park (missing)" in done.stderr


def test_lms_without_a_roster_column_to_match_by_is_one_line(klass, tmp_path):
    folder, _, manifest, rows, files = klass
    plain = tmp_path / "names.csv"
    plain.write_text("name\nAnn Lee\nBen Ode\nCy Park\n", encoding="utf-8")
    done = run_process("check", "--manifest", manifest, "--roster", plain, "--lms", "moodle")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "Error: --lms moodle matches students by 'ID number' or 'Email address': give "
        "--roster with such a column (such as email or student number)"
    )
    assert not (folder / "typed" / "gradebook-moodle.csv").exists()
