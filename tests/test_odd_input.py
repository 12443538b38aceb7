"""Odd input, odd names and signals: one line and a non-zero exit, and no grade ever lost."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys

import pytest
from click.testing import CliRunner

from handcalc import booklet
from handcalc.cli import main
from handcalc.problem import decode_id
from handcalc.solution import solve

from .conftest import ROOT, class_set_rendering

ZOE = os.fsdecode(b"Zo\xe9.json")  # a Latin-1 name, as unzipped from a Windows archive
CAFE = os.fsdecode(b"caf\xe9")  # a Latin-1 argument, as a Latin-1 terminal types it
# Nesting deeper than json's recursion guard on every Python: 3.13 parses 3,000 levels.
DEEP = 100_000


def run(*args, **kw):
    """The CLI in-process; any exception other than an exit fails the test."""
    result = CliRunner().invoke(main, [str(a) for a in args], **kw)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def one_line(result, code=1) -> str:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def key_answers(sheet_id: str, **extra) -> dict:
    return {**solve(decode_id(sheet_id)).to_json()["steps"], **extra}


def book(path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


# --- a re-grade never loses a grade -------------------------------------------------------


@pytest.fixture
def graded_class(tmp_path):
    assert run("generate", "--count", 3, "--seed", 5, "-o", tmp_path / "c.html").exit_code == 0
    rows = json.loads((tmp_path / "manifest.json").read_text())["students"]
    (tmp_path / "a.json").write_text(json.dumps(key_answers(rows[0]["id"], id=rows[0]["id"])))
    (tmp_path / "b.json").write_text(json.dumps(key_answers(rows[1]["id"], id=rows[1]["id"])))
    first = run("check", "--manifest", tmp_path / "manifest.json", tmp_path / "a.json")
    assert first.exit_code == 0, first.output
    return tmp_path, rows


def test_a_regrade_with_no_files_keeps_every_grade(graded_class):
    folder, rows = graded_class
    before = (folder / "gradebook.csv").read_bytes()
    again = run("check", "--manifest", folder / "manifest.json")
    assert again.exit_code == 0, again.output
    assert (folder / "gradebook.csv").read_bytes() == before
    # issue 24: nothing handed in is an empty score, not 0
    assert [r["percent"] for r in book(folder / "gradebook.csv")] == ["100.0", "", ""]


def test_a_later_hand_in_is_merged_and_earlier_grades_stay(graded_class):
    folder, rows = graded_class
    later = run("check", "--manifest", folder / "manifest.json", folder / "b.json")
    assert later.exit_code == 0, later.output
    grades = book(folder / "gradebook.csv")
    assert [(r["student"], r["percent"]) for r in grades] == [
        ("Student 1", "100.0"),
        ("Student 2", "100.0"),
        ("Student 3", ""),
    ]
    assert grades[0]["file"] == str(folder / "a.json")
    assert grades[1]["file"] == str(folder / "b.json")


def test_force_replaces_the_gradebook(graded_class):
    folder, _ = graded_class
    forced = run("check", "--manifest", folder / "manifest.json", "--force")
    assert forced.exit_code == 0
    assert [r["percent"] for r in book(folder / "gradebook.csv")] == ["", "", ""]


def test_a_csv_that_is_not_a_gradebook_is_never_replaced(graded_class):
    folder, _ = graded_class
    theirs = folder / "marks.csv"
    theirs.write_text("name,mark\nAnn,7\n")
    result = run("check", "--manifest", folder / "manifest.json", "--csv", theirs)
    assert one_line(result) == (
        f"Error: {theirs} is not a handcalc gradebook; give another --csv name, "
        "or pass --force to replace it"
    )
    assert theirs.read_text() == "name,mark\nAnn,7\n"


def test_a_plain_check_merges_by_sheet_too(graded_class):
    folder, rows = graded_class
    out = folder / "grades.csv"
    assert run("check", folder / "a.json", "--csv", out).exit_code == 0
    assert run("check", folder / "b.json", "--csv", out).exit_code == 0
    assert sorted(r["id"] for r in book(out)) == sorted([rows[0]["id"], rows[1]["id"]])


def test_a_non_utf8_file_name_is_shown_and_graded(graded_class):
    folder, rows = graded_class
    odd = folder / ZOE
    odd.write_text(json.dumps(key_answers(rows[2]["id"], id=rows[2]["id"])))
    result = run("check", "--manifest", folder / "manifest.json", odd)
    assert result.exit_code == 0, result.output
    grades = book(folder / "gradebook.csv")
    assert grades[2]["file"] == str(folder) + "/Zo\\xe9.json" and grades[2]["percent"] == "100.0"
    assert "Zo\\xe9.json" in result.stdout
    plain = run("check", odd, "--csv", folder / "one.csv")
    assert plain.exit_code == 0 and book(folder / "one.csv")[0]["file"].endswith("Zo\\xe9.json")


# --- damaged manifests and problem files --------------------------------------------------


@pytest.mark.parametrize(
    "doc, message",
    [
        ({"students": [{"id": "X"}]}, "student 1 has no name"),
        ({"students": [{"id": "X", "student": 2}]}, "student 1 has no name"),
        ({"students": [{"id": "X", "student": "A" * 81}]}, "name is 81 characters long"),
        ("deep", "numbers or nesting too big"),
        ("digits", "numbers or nesting too big"),
    ],
    ids=["no-student", "number-student", "long-name", "deep", "digits"],
)
def test_a_hand_edited_manifest_is_one_line(tmp_path, doc, message):
    path = tmp_path / "manifest.json"
    if doc == "deep":
        path.write_text("[" * DEEP + "]" * DEEP)
    elif doc == "digits":
        path.write_text('{"handcalc_manifest": 1, "class_seed": ' + "7" * 5000 + "}")
    else:
        path.write_text(json.dumps({"handcalc_manifest": 1, "class_seed": 1, **doc}))
    assert message in one_line(run("check", "--manifest", path))


@pytest.mark.parametrize("text", ["[" * DEEP + "]" * DEEP, '{"X": [[' + "9" * 5000 + "]]}"])
def test_a_problem_file_nested_deep_or_with_huge_numbers_is_one_line(tmp_path, text):
    path = tmp_path / "p.json"
    path.write_text(text)
    assert "numbers or nesting too big" in one_line(run("solve", "--from", path))


# --- odd text on the command line ---------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["generate", "--seed", 1, "--title", CAFE, "-o", "s.html"],
        ["generate", "--seed", 1, "--student", CAFE, "-o", "s.pdf"],
        ["generate", "--seed", 1, "--student", CAFE, "--fillable", "-o", "s.pdf"],
        ["key", "--count", 2, "--seed", 1, "--title", CAFE, "-o", "c.html"],
        ["answers", "--seed", 1, "--student", CAFE, "-o", "a.json"],
    ],
    ids=["title", "student-pdf", "fillable", "class", "answers"],
)
def test_text_that_is_not_utf8_is_one_line(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    flag = "--title" if "--title" in args else "--student"
    assert one_line(run(*args)) == f"Error: {flag} is not UTF-8 text; give it in UTF-8"
    assert os.listdir(tmp_path) == []


def test_a_long_student_name_is_refused_like_a_long_title(tmp_path):
    result = run("generate", "--seed", 1, "--student", "x" * 120_000, "-o", tmp_path / "s.html")
    assert one_line(result) == (
        "Error: --student is 120000 characters long; at most 80 fit on the name line"
    )
    roster = tmp_path / "r.csv"
    roster.write_text("name\nAnn\n" + "y" * 81 + "\n")
    result = run("generate", "--roster", roster, "--seed", 1, "-o", tmp_path / "c.html")
    assert "line 3: the name is 81 characters long" in one_line(result)
    ok = run("generate", "--seed", 1, "--student", "z" * 80, "-o", tmp_path / "s.html")
    assert ok.exit_code == 0 and "z" * 80 in (tmp_path / "s.html").read_text()


def test_bare_handcalc_prints_its_help_without_error():
    result = run()
    assert result.exit_code == 0
    assert "Error" not in result.output
    assert result.stdout.startswith("Usage: ") and "Commands:" in result.stdout


def test_stdout_on_a_full_disk_is_one_line():
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "handcalc", "solve", "--seed", "1"],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "Error: cannot write the output: No space left on device"
    ]


def test_workers_never_outnumber_the_sheets_or_the_cores():
    cores = booklet.default_workers(10_000)
    assert booklet.worker_count(64, 2) == min(2, cores)
    assert booklet.worker_count(64, 500) == cores
    assert booklet.worker_count(None, 3) == min(3, cores)
    assert booklet.worker_count(1, 500) == 1


# --- SIGTERM and SIGHUP clean up like Ctrl-C ---------------------------------------------


@pytest.mark.parametrize("sig, word", [(signal.SIGTERM, "terminated"), (signal.SIGHUP, "hung up")])
def test_a_signal_during_a_class_set_cleans_up_like_ctrl_c(tmp_path, sig, word):
    proc = class_set_rendering(tmp_path)
    os.killpg(proc.pid, sig)  # as a closed terminal or a service manager does
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig
    assert err.strip().splitlines() == [word], err
    assert os.listdir(tmp_path) == []
