"""check --manifest: a class's answers matched to its students and graded into one gradebook."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from handcalc.problem import decode_id
from handcalc.solution import solve

from .conftest import run_process


def key_answers(sheet_id: str, **extra) -> dict:
    """A perfect answers file: every worked step copied from the key."""
    steps = solve(decode_id(sheet_id)).to_json()["steps"]
    return {**steps, **extra}


@pytest.fixture
def handed_in(tmp_path, cli):
    """A class of four (HTML, so no PDF is rendered) and three students' answers."""
    result = cli("generate", "--count", 4, "--seed", 5, "-o", tmp_path / "class.html")
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))["students"]
    subs = tmp_path / "submissions"
    subs.mkdir()
    perfect = key_answers(rows[0]["id"], id=rows[0]["id"].lower().replace("-", ""))
    (subs / "a.json").write_text(json.dumps(perfect))
    slip = key_answers(rows[1]["id"], student="  student   2 ")  # matched by name alone
    slip["Q"][0][0] = slip["Q"][0][0] + 1  # one arithmetic slip in one cell
    (subs / "b.json").write_text(json.dumps(slip))
    (subs / "d.json").write_text(json.dumps(key_answers(rows[3]["id"], id=rows[3]["id"])))
    return tmp_path, rows, subs


def gradebook(path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_a_class_is_graded_into_one_row_per_student(handed_in, cli):
    folder, rows, subs = handed_in
    files = sorted(subs.iterdir(), reverse=True)  # the order handed in does not matter
    result = cli("check", "--manifest", folder / "manifest.json", *files)
    assert result.exit_code == 0, result.output
    book = gradebook(folder / "gradebook.csv")
    assert [r["student"] for r in book] == ["Student 1", "Student 2", "Student 3", "Student 4"]
    assert [r["id"] for r in book] == [r["id"] for r in rows]
    assert [r["percent"] for r in book][0] == "100.0"
    assert [r["percent"] for r in book][3] == "100.0"
    assert 90 < float(book[1]["percent"]) < 100
    assert book[1]["Z"] == "100.0"  # follow-through: Z built on the slip still earns credit
    assert float(book[1]["Q"]) < 100
    # issue 24: a student who handed nothing in has an empty score, not 0, and says so
    assert book[2]["percent"] == "" and book[2]["file"] == "nothing handed in"
    assert [r["status"] for r in book] == ["graded", "graded", "missing", "graded"]
    assert book[2]["Q"] == book[2]["mistake: slip"] == ""
    assert book[1]["mistake: slip"] == "1" and book[0]["mistake: slip"] == "0"
    assert {"S", "A", "colsum", "Z", "error"} <= set(book[0])
    assert "no answers from Student 3" in result.stderr
    out = result.stdout
    assert out.count("handcalc check  ") == 3  # a full report for each file handed in
    assert "(Student 2)" in out and "One slip in Q, row 1, column 1: wrote" in out
    assert re.search(r"^Student 3 +nothing handed in +missing  -$", out, re.M)
    assert re.search(rf"^Student 2 +{re.escape(str(subs / 'b.json'))} +9\d\.\d %  Q$", out, re.M)
    mean = sum(float(r["percent"]) for r in book if r["percent"]) / 3  # over those graded
    assert out.splitlines()[-1] == f"3 graded, 1 missing, 0 failed; mean {mean:.1f} % over the 3 graded"
    assert out.count("Rule: ") == 1  # said once for the run, after every report


def test_unmatched_files_are_one_line_errors_and_rows_of_their_own(handed_in, tmp_path):
    folder, rows, subs = handed_in
    (subs / "x.json").write_text(json.dumps(key_answers(rows[2]["id"], id="0000-0000")))
    (subs / "y.json").write_text(json.dumps(key_answers(rows[2]["id"], student="Nobody")))
    (subs / "z.json").write_text(json.dumps(key_answers(rows[0]["id"], id=rows[0]["id"])))
    out = tmp_path / "book.csv"
    files = sorted(subs.iterdir())
    done = run_process("check", "--manifest", folder / "manifest.json", "--csv", out, *files)
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert errors == [
        f"Error: {subs / 'x.json'}: sheet ID 0000-0000 is not in this class",
        f"Error: {subs / 'y.json'}: no student named 'Nobody' in this class",
        f"Error: {subs / 'z.json'}: Student 1 already handed in {subs / 'a.json'}",
    ]
    book = gradebook(out)
    assert [r["student"] for r in book[:4]] == [r["student"] for r in rows]
    assert [r["file"] for r in book[4:]] == [str(subs / n) for n in ("x.json", "y.json", "z.json")]
    assert all(r["error"] and not r["percent"] for r in book[4:])
    assert book[2]["status"] == "missing"  # student 3's answers never matched


def test_a_name_that_matches_no_one_suggests_the_nearest_roster_name(tmp_path, cli):
    roster = tmp_path / "class.csv"
    roster.write_text("name\nChloé O'Brien\nSøren Kierkegaard\nAda Lovelace\n", encoding="utf-8")
    result = cli("generate", "--roster", roster, "--seed", 2, "-o", tmp_path / "class.html")
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))["students"]
    subs = tmp_path / "in"
    subs.mkdir()
    (subs / "c.json").write_text(json.dumps(key_answers(rows[0]["id"], student="Chloe OBrien")))
    (subs / "s.json").write_text(json.dumps(key_answers(rows[1]["id"], student="soren kierkegard")))
    (subs / "x.json").write_text(json.dumps(key_answers(rows[2]["id"], student="Alan Turing")))
    done = run_process("check", "--manifest", tmp_path / "manifest.json", *sorted(subs.iterdir()))
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    hint = '(write that in "student")'
    assert errors == [
        f"Error: {subs / 'c.json'}: no student named 'Chloe OBrien' in this class; "
        f'did you mean "Chloé O\'Brien"? {hint}',
        f"Error: {subs / 's.json'}: no student named 'soren kierkegard' in this class; "
        f"did you mean 'Søren Kierkegaard'? {hint}",
        f"Error: {subs / 'x.json'}: no student named 'Alan Turing' in this class",
    ]


def test_manifest_rejects_problem_options_and_foreign_files(handed_in, cli, tmp_path):
    folder, _, subs = handed_in
    done = run_process(
        "check", "--manifest", folder / "manifest.json", "--seed", 3, subs / "a.json"
    )
    assert done.returncode == 1 and "drop --seed" in done.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    done = run_process("check", "--manifest", bad, subs / "a.json")
    assert done.returncode == 1 and "is not a handcalc manifest" in done.stderr


def test_a_filled_pdf_from_a_split_class_is_matched_by_its_id_field(tmp_path, cli):
    from .test_answers import fill

    out = tmp_path / "forms"
    result = cli("generate", "--count", 2, "--seed", 5, "--split", out, "--fillable")
    assert result.exit_code == 0, result.output
    rows = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["students"]
    assert [r["file"] for r in rows] == ["1-Student-1.pdf", "2-Student-2.pdf"]
    filled = tmp_path / "handed-in.pdf"
    filled.write_bytes(fill((out / rows[1]["file"]).read_bytes(), key_answers(rows[1]["id"])))
    result = cli("check", "--manifest", out / "manifest.json", filled)
    assert result.exit_code == 0, result.output
    book = gradebook(out / "gradebook.csv")
    assert [(r["student"], r["percent"]) for r in book] == [
        ("Student 1", ""),
        ("Student 2", "100.0"),
    ]


def test_a_class_that_handed_nothing_in_gets_a_gradebook_of_missing_rows(tmp_path, cli):
    assert cli("generate", "--count", 2, "--seed", 3, "-o", tmp_path / "c.html").exit_code == 0
    result = cli("check", "--manifest", tmp_path / "manifest.json")
    assert result.exit_code == 0, result.output
    book = list(csv.DictReader(io.StringIO((tmp_path / "gradebook.csv").read_text())))
    assert [(r["student"], r["percent"], r["status"]) for r in book] == [
        ("Student 1", "", "missing"),
        ("Student 2", "", "missing"),
    ]
    assert result.stdout.splitlines()[-1] == "0 graded, 2 missing, 0 failed; none graded"


def test_check_without_files_or_manifest_is_one_line(cli):
    result = cli("check")
    assert result.exit_code != 0
    assert result.output.strip().splitlines() == [
        "Error: give the answers files to check (JSON, or filled PDF sheets)"
    ]


def test_an_untouched_answers_file_is_missing_and_a_failed_one_keeps_its_place(tmp_path, cli):
    """The week's Friday glob picks up the blank answers files `class` wrote: a student who
    wrote nothing is missing (no score), not 0 %. A file that fails keeps its student's row
    in class order, so feedback files are numbered by the class, not by the files graded."""
    made = cli("answers", "--count", 4, "--seed", 5, "--split", tmp_path / "week")
    assert made.exit_code == 0, made.output
    week = tmp_path / "week"
    files = sorted(week.glob("*-answers.json"))
    rows = json.loads((week / "manifest.json").read_text(encoding="utf-8"))["students"]
    files[0].write_text(json.dumps(key_answers(rows[0]["id"], id=rows[0]["id"], Qx=[[1]])))
    files[1].write_text(json.dumps(key_answers(rows[1]["id"], id=rows[1]["id"])))
    files[3].write_text(json.dumps(key_answers(rows[3]["id"], id=rows[3]["id"])))
    done = run_process(
        "check", "--manifest", week / "manifest.json", *files, "--feedback", tmp_path / "fb"
    )
    assert done.returncode == 1, done.stderr
    book = gradebook(week / "gradebook.csv")
    assert [(r["student"], r["status"], r["percent"]) for r in book] == [
        ("Student 1", "failed", ""),
        ("Student 2", "graded", "100.0"),
        ("Student 3", "missing", ""),
        ("Student 4", "graded", "100.0"),
    ]
    assert book[2]["file"] == f"{files[2]}: nothing written"
    assert f"no answers from Student 3 ({files[2]}: nothing written)" in done.stderr
    assert book[0]["error"].startswith(f"{files[0]}: unknown step 'Qx'") and book[0]["id"]
    assert sorted(p.name for p in (tmp_path / "fb").iterdir()) == [
        "2-Student-2-feedback.html", "2-Student-2-feedback.pdf",
        "4-Student-4-feedback.html", "4-Student-4-feedback.pdf",
    ]  # fmt: skip
