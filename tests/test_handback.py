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


def _pdf_text(path) -> str:
    import pypdf

    return "\n".join(page.extract_text() for page in pypdf.PdfReader(path).pages)


def test_feedback_files_mark_each_cell_and_give_the_key_under_a_wrong_one(klass):
    folder, roster, manifest, rows, files = klass
    out = folder / "back"
    done = run_process("check", "--manifest", manifest, "--feedback", out, *files)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "1-Ann-Lee-feedback.html", "1-Ann-Lee-feedback.pdf",
        "2-Ben-Ode-feedback.html", "2-Ben-Ode-feedback.pdf",
    ]  # fmt: skip  (Cy handed nothing in: no feedback)
    key = solve(decode_id(rows[1]["id"])).values["Q"][0][0]
    minus = str.maketrans("-", "−")
    ben = (out / "2-Ben-Ode-feedback.html").read_text(encoding="utf-8")
    assert f"✗{str(key + 1).translate(minus)}" in ben  # what Ben wrote, marked wrong
    assert f"→{str(key).translate(minus)}" in ben  # the key's value under it
    assert "One slip in Q, row 1, column 1" in ben and ben.count("A cell is correct when") == 1
    # the legend has one ✗; Ann has no wrong cell, Ben exactly one
    assert (out / "1-Ann-Lee-feedback.html").read_text(encoding="utf-8").count("✗") == 1
    assert ben.count("✗") == 2 and ben.count("→") == 2  # (the legend has one → too)
    text = _pdf_text(out / "2-Ben-Ode-feedback.pdf")
    book = table(folder / "typed" / "gradebook.csv")
    assert f"Score {book[1]['percent']} %" in text and "Ben Ode" in text
    assert "What went wrong, and where" in text


def test_the_class_report_charts_the_class_from_its_numbers(klass):
    folder, roster, manifest, rows, files = klass
    target = folder / "report.html"
    done = run_process("check", "--manifest", manifest, "--class-report", target, *files)
    assert done.returncode == 0, done.stderr
    html = target.read_text(encoding="utf-8")
    # by hand: Q has 3 x 4 cells; Ann 12 right, Ben 11 -> 23 of 24 = 95.8 %; every other
    # step right for both (Ben's S is the key's, which his own Q does not give, but the key
    # is always right) -> 100.0 %
    assert "<title>23 of 24 cells</title>" in html and ">95.8 %</text>" in html
    assert html.count(">100.0 %</text>") == 9  # K V KT S scaled exp colsum A Z
    # the Q bar: 260 units for 100 %, so 249.2 for 23/24
    assert 'width="249.2"' in html
    assert "<title>Ben Ode</title>" in html  # who made the slip, on hover and in the table
    assert "<td>an arithmetic slip in one cell</td><td class=\"n\">1</td><td>Ben Ode</td>" in html
    # two scores, both in 90-100 %: nine empty bins and one bar of 2
    assert html.count('width="0.0"') == 9
    text = _pdf_text(folder / "report.pdf")
    assert "Not handed in" in text and "Cy Park" in text
    assert "2 graded, 1 missing, 0 failed" in text
    first = (folder / "report.pdf").read_bytes()
    again = run_process("check", "--manifest", manifest, "--class-report", target, *files)
    assert again.returncode == 0 and (folder / "report.pdf").read_bytes() == first


def test_hand_back_files_are_all_written_or_none(klass):
    folder, roster, manifest, rows, files = klass
    out = folder / "back"
    done = run_process(
        "check", "--manifest", manifest, "--feedback", out,
        "--class-report", folder / "no" / "such" / "report.html", *files,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith("Error: cannot write")
    assert not out.exists() and not (folder / "no").exists()
