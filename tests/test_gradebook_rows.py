"""A gradebook row belongs to a student on a sheet: grading in any order, in any number of
runs, never loses a grade, and what the merge cannot read or refuses is said in one line."""

from __future__ import annotations

import csv
import io
import itertools
import json

import pytest

from .conftest import dump_json as dump
from .conftest import run_caught as run
from .students import SLIPPED, solution, work

SHEET = solution(1).problem.id  # one sheet for the whole class, as with one --seed
# SLIPPED's score under the default marking: one of Q's 12 cells wrong costs 1/12 of Q's
# weight out of 37/4 (test_grading), 100 * (1 - 1/111) = 99.1 %
SLIP = "99.1"


def book(path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def grades(path) -> dict[str, str]:
    return {r["student"]: r["percent"] for r in book(path)}


@pytest.fixture
def shared(tmp_path):
    """Three students who all worked sheet 1: Alice and Carol right, Bob with one slip."""
    return {
        "Alice": dump(tmp_path / "alice.json", work(solution(1), student="Alice")),
        "Bob": dump(tmp_path / "bob.json", {**SLIPPED, "student": "Bob"}),
        "Carol": dump(tmp_path / "carol.json", work(solution(1), student="Carol")),
    }


def test_students_on_one_sheet_graded_in_separate_runs_each_keep_a_row(tmp_path, shared):
    g = tmp_path / "g.csv"
    assert run("check", shared["Alice"], "--csv", g).exit_code == 0
    second = run("check", shared["Bob"], "--csv", g)
    assert second.exit_code == 0, second.output
    assert grades(g) == {"Alice": "100.0", "Bob": SLIP}
    assert [r["id"] for r in book(g)] == [SHEET, SHEET]


def test_a_run_of_two_then_a_third_run_keeps_all_three(tmp_path, shared):
    g = tmp_path / "g.csv"
    assert run("check", shared["Alice"], shared["Bob"], "--csv", g).exit_code == 0
    assert run("check", shared["Carol"], "--csv", g).exit_code == 0
    assert grades(g) == {"Alice": "100.0", "Bob": SLIP, "Carol": "100.0"}


@pytest.mark.parametrize("order", list(itertools.permutations(["Alice", "Bob", "Carol"])))
def test_any_order_of_runs_gives_every_student_a_row(tmp_path, shared, order):
    g = tmp_path / "g.csv"
    for name in order:
        assert run("check", shared[name], "--csv", g).exit_code == 0
    assert grades(g) == {"Alice": "100.0", "Bob": SLIP, "Carol": "100.0"}
    assert [r["student"] for r in book(g)] == list(order)  # rows stay where they were first


def test_regrading_a_student_replaces_that_students_row_only(tmp_path, shared):
    g = tmp_path / "g.csv"
    assert run("check", *shared.values(), "--csv", g).exit_code == 0
    dump(shared["Bob"], work(solution(1), student="bob "))  # Bob hands in a corrected copy
    assert run("check", shared["Bob"], "--csv", g).exit_code == 0
    rows = book(g)
    assert [(r["student"], r["percent"]) for r in rows] == [
        ("Alice", "100.0"),
        ("bob", "100.0"),
        ("Carol", "100.0"),
    ]


def test_an_unnamed_file_on_a_shared_sheet_is_refused_with_how_to_name_it(tmp_path, shared):
    g = tmp_path / "g.csv"
    assert run("check", shared["Alice"], "--csv", g).exit_code == 0
    before = book(g)
    nobody = dump(tmp_path / "nobody.json", work(solution(1)))
    result = run("check", nobody, "--csv", g)
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert errors == [
        f"Error: {nobody}: no student name, and sheet {SHEET} already has a row in the "
        f"gradebook from {shared['Alice']}; add \"student\": \"Name\" to the file (or check it "
        "alone with --student NAME)"
    ]
    rows = book(g)
    assert rows[0] == before[0]  # Alice's grade is untouched
    assert rows[1]["file"] == str(nobody) and rows[1]["percent"] == ""
    assert rows[1]["error"].startswith(f"{nobody}: no student name")
    named = run("check", nobody, "--student", "Dan", "--csv", g)
    assert named.exit_code == 0, named.output
    assert grades(g) == {"Alice": "100.0", "Dan": "100.0"}  # the refusal row is gone


def test_two_unnamed_files_of_one_sheet_in_one_run_are_both_refused(tmp_path, shared):
    g = tmp_path / "g.csv"
    one = dump(tmp_path / "one.json", work(solution(1)))
    two = dump(tmp_path / "two.json", work(solution(1)))
    result = run("check", one, two, shared["Carol"], "--csv", g)
    assert result.exit_code == 1
    assert result.stderr.count("has other answers in this run; add \"student\"") == 2
    assert grades(g)["Carol"] == "100.0"
    assert [r["percent"] for r in book(g)] == ["", "", "100.0"]


def test_an_unnamed_file_alone_on_its_sheet_is_graded_and_regraded_in_place(tmp_path):
    g = tmp_path / "g.csv"
    mine = dump(tmp_path / "mine.json", SLIPPED)
    assert run("check", mine, "--csv", g).exit_code == 0
    dump(mine, work(solution(1)))
    assert run("check", mine, "--csv", g).exit_code == 0
    assert [(r["student"], r["percent"]) for r in book(g)] == [("", "100.0")]
    named = run("check", mine, "--student", "Ann", "--csv", g)  # named later: same row
    assert named.exit_code == 0
    assert [(r["student"], r["percent"]) for r in book(g)] == [("Ann", "100.0")]


def test_student_option_is_for_one_file_and_must_agree_with_the_file(tmp_path, shared):
    two = run("check", shared["Alice"], shared["Bob"], "--student", "X")
    assert two.exit_code == 1 and "--student names one file's student" in two.output
    other = run("check", shared["Alice"], "--student", "Zed")
    assert other.exit_code == 1
    assert other.output.strip() == f"Error: {shared['Alice']} names 'Alice'; drop --student"


def test_a_row_the_merge_cannot_read_is_kept_as_it_was_and_reported(tmp_path, shared):
    g = tmp_path / "g.csv"
    assert run("check", shared["Alice"], shared["Bob"], "--csv", g).exit_code == 0
    lines = g.read_text().splitlines()
    hand = lines[2].split(",")
    hand[3] = "A+"  # the teacher typed a letter grade over Bob's score
    lines[2] = ",".join(hand)
    lines.append("Eve,,,,late: ask")  # a short row typed by hand
    g.write_text("\n".join(lines) + "\n")
    result = run("check", shared["Carol"], "--csv", g)
    assert result.exit_code == 0, result.output
    notes = [line for line in result.stderr.splitlines() if "kept as it was" in line]
    assert notes == [
        f"{g} line 3: kept as it was (percent 'A+' is not a score)",
        f"{g} line 4: kept as it was (it has neither a score nor an error)",
    ]
    after = g.read_text().splitlines()
    assert after[2] == lines[2]
    assert after[3].startswith("Eve,,,,late: ask")
    assert grades(g)["Carol"] == "100.0" and grades(g)["Alice"] == "100.0"


def test_a_failed_file_gets_a_row_and_never_replaces_a_grade(tmp_path, shared):
    g = tmp_path / "g.csv"
    assert run("check", shared["Alice"], shared["Bob"], "--csv", g).exit_code == 0
    shared["Alice"].write_text('{"student": "Alice", "id": "' + SHEET + '", "Q": [[1]]}')
    failed = run("check", shared["Alice"], "--csv", g)
    assert failed.exit_code == 1
    rows = book(g)
    assert [(r["student"], r["percent"]) for r in rows] == [
        ("Alice", "100.0"),  # the earlier grade stays
        ("Bob", SLIP),
        ("Alice", ""),  # and the failure is said beside it
    ]
    assert rows[2]["error"] == f"{shared['Alice']}: Q must be 3×4, got 1×1"
    assert rows[2]["id"] == SHEET
    dump(shared["Alice"], {**SLIPPED, "student": "Alice"})  # fixed: graded again
    assert run("check", shared["Alice"], "--csv", g).exit_code == 0
    assert [(r["student"], r["percent"]) for r in book(g)] == [("Alice", SLIP), ("Bob", SLIP)]


def test_a_file_that_fails_again_replaces_its_own_failure_row(tmp_path):
    g = tmp_path / "g.csv"
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert run("check", bad, "--csv", g).exit_code == 1
    bad.write_text("[]")
    assert run("check", bad, "--csv", g).exit_code == 1
    rows = book(g)
    assert len(rows) == 1 and rows[0]["error"].endswith("must be a JSON object of step matrices")


def test_the_same_student_twice_in_one_run_keeps_the_first_and_says_so(tmp_path, shared):
    g = tmp_path / "g.csv"
    copy = dump(tmp_path / "alice2.json", {**SLIPPED, "student": "Alice"})
    result = run("check", shared["Alice"], copy, "--csv", g)
    assert result.exit_code == 1
    assert (
        f"Error: {copy}: Alice on sheet {SHEET} is graded from {shared['Alice']} in this run "
        "already; grade one of the two"
    ) in result.stderr
    assert [(r["student"], r["percent"]) for r in book(g)] == [("Alice", "100.0"), ("Alice", "")]


def test_a_class_regrade_with_no_files_keeps_the_hand_in(tmp_path):
    assert run("answers", "--count", 2, "--seed", 4, "--split", tmp_path / "typed").exit_code == 0
    rows = json.loads((tmp_path / "typed" / "manifest.json").read_text())["students"]
    g = tmp_path / "typed" / "gradebook.csv"
    first = dump(tmp_path / "s1.json", {**work(solution(1)), "id": rows[0]["id"], "Q": None})
    assert run("check", "--manifest", tmp_path / "typed" / "manifest.json", first).exit_code == 0
    again = run("check", "--manifest", tmp_path / "typed" / "manifest.json")
    assert again.exit_code == 0
    assert [r["student"] for r in book(g)] == ["Student 1", "Student 2"]
    assert book(g)[0]["file"] == str(first)


def test_two_filled_forms_of_one_sheet_each_keep_a_row(tmp_path, cli):
    import pypdf

    from .test_fillable_roundtrip import fill

    blank = tmp_path / "blank.pdf"
    assert cli("generate", "--seed", 1, "--fillable", "-o", blank).exit_code == 0
    g = tmp_path / "g.csv"
    names = [f for f in pypdf.PdfReader(blank).get_fields() if "student" in f]
    assert names, "the fillable sheet has a name field"
    for who, answers in (("Ann", work(solution(1))), ("Ben", SLIPPED)):
        filled = tmp_path / f"{who}.pdf"
        fill(blank, answers, filled)
        reader = pypdf.PdfReader(filled)
        writer = pypdf.PdfWriter(clone_from=reader)
        for page in writer.pages:
            writer.update_page_form_field_values(page, {names[0]: who}, auto_regenerate=False)
        with open(filled, "wb") as fh:
            writer.write(fh)
        assert run("check", filled, "--csv", g).exit_code == 0
    assert grades(g) == {"Ann": "100.0", "Ben": SLIP}


def test_merged_rows_keep_the_review_and_status_columns(tmp_path, shared):
    """The merge (rows keyed by student + sheet) and the needs-review columns meet: every
    row, graded, needing review or failed, is one shape, and each run keeps the others."""
    data = work(solution(1), student="Dan")
    data["A"][0][0] = "seven"  # unreadable: needs review, left out of the score
    dan = dump(tmp_path / "dan.json", data)
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    g = tmp_path / "g.csv"
    assert run("check", shared["Alice"], "--csv", g).exit_code == 0
    assert run("check", dan, broken, "--csv", g).exit_code == 1
    assert run("check", shared["Bob"], "--csv", g).exit_code == 0
    head = g.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert head[:4] == ["student", "id", "file", "percent"]
    assert head[-3:] == ["review", "status", "error"] and head.count("review") == 1
    rows = [(r["student"], r["percent"], r["review"], r["status"]) for r in book(g)]
    assert rows == [
        ("Alice", "100.0", "0", "graded"),
        ("Dan", "100.0", "1", "needs review"),
        ("", "", "", "failed"),
        ("Bob", SLIP, "0", "graded"),
    ]


def test_a_gradebook_without_review_columns_is_merged_into_one_with_them(tmp_path, shared):
    g = tmp_path / "g.csv"
    g.write_text(
        "student,id,file,percent,Q,error\n" f"Carol,{SHEET},carol.json,100.0,100.0,\n",
        encoding="utf-8",
    )
    assert run("check", shared["Bob"], "--csv", g).exit_code == 0
    head = g.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert head[-3:] == ["review", "status", "error"] and head.count("Q") == 1
    rows = [(r["student"], r["percent"], r["status"]) for r in book(g)]
    assert rows == [("Carol", "100.0", ""), ("Bob", SLIP, "graded")]
