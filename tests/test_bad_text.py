"""Bad text in one answers file (a lone surrogate, a control character, bytes that are not
UTF-8) is one clear line for that file; everyone else in the run is graded and written."""

from __future__ import annotations

import csv
import io
import json

import pytest

from .conftest import dump_json as dump
from .conftest import run_caught as run
from .students import solution, work

GOOD = work(solution(1), student="Ann")


def bad_file(tmp_path, where: str, char: str):
    """An answers file whose `where` ("student", or a cell) holds `char`, written as JSON
    escapes exactly as a broken editor or a hostile file would."""
    data = json.loads(json.dumps(GOOD))
    if where == "student":
        data["student"] = "Bo" + char
    elif where == "S":
        data["S"][1][2] = "3" + char
    else:
        data["colsum"][2] = char
    path = tmp_path / f"bad-{where}.json"
    path.write_text(json.dumps(data), encoding="ascii")  # "\ud800" stays an escape
    return path


CASES = [
    ("student", "\ud800", '"student" holds U+D800'),
    ("S", "\udc80", "S row 2 col 3 holds U+DC80"),
    ("colsum", "\x00", "colsum entry 3 holds U+0000"),
    ("student", "\x1b[31m", '"student" holds U+001B'),
    ("S", "\x85", "S row 2 col 3 holds U+0085"),
]
IDS = ["surrogate-student", "surrogate-cell", "nul-entry", "escape-student", "c1-cell"]


@pytest.mark.parametrize("where, char, said", CASES, ids=IDS)
def test_one_file_alone_is_one_line(tmp_path, where, char, said):
    path = bad_file(tmp_path, where, char)
    for extra in ([], ["--json"]):
        result = run("check", path, *extra)
        assert result.exit_code == 1
        assert result.output.splitlines() == [
            f"Error: {path}: {said}, which is not a character of text; retype it"
        ]


@pytest.mark.parametrize("where, char, said", CASES, ids=IDS)
def test_everyone_else_in_the_run_is_graded_and_written(tmp_path, where, char, said):
    bad = bad_file(tmp_path, where, char)
    good = dump(tmp_path / "ann.json", GOOD)
    g = tmp_path / "g.csv"
    result = run("check", bad, good, "--json", "--csv", g)
    assert result.exit_code == 1
    assert [r["student"] for r in json.loads(result.stdout)] == ["Ann"]
    rows = list(csv.DictReader(io.StringIO(g.read_text(encoding="utf-8"))))
    assert [(r["student"], r["percent"]) for r in rows] == [("", ""), ("Ann", "100.0")]
    assert said in rows[0]["error"]
    assert f"Error: {bad}: {said}" in result.stderr
    text = run("check", bad, good)
    assert text.exit_code == 1
    assert f"handcalc check  {good}  (Ann)" in text.stdout
    assert "1 graded, 1 failed; mean 100.0 %" in text.stdout


def test_bytes_that_are_not_utf8_say_where(tmp_path):
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'{"student": "Zo\xe9"}')
    good = dump(tmp_path / "ann.json", GOOD)
    result = run("check", latin, good, "--csv", tmp_path / "g.csv")
    assert result.exit_code == 1
    assert (
        f"Error: {latin} is neither a PDF nor an answers file (JSON text): byte 0xE9 at "
        "position 15 is not UTF-8; save it as UTF-8"
    ) in result.stderr
    assert "Ann" in (tmp_path / "g.csv").read_text()


def test_a_class_graded_by_manifest_keeps_going_past_bad_text(tmp_path):
    assert run("answers", "--count", 2, "--seed", 8, "--split", tmp_path / "t").exit_code == 0
    manifest = tmp_path / "t" / "manifest.json"
    rows = json.loads(manifest.read_text())["students"]
    first = dump(tmp_path / "one.json", {"id": rows[0]["id"], "student": "Student 1\ud800"})
    second = dump(tmp_path / "two.json", {"id": rows[1]["id"], "Q": [[1]]})  # something written
    result = run("check", "--manifest", manifest, first, second, "--json")
    assert result.exit_code == 1
    assert f'Error: {first}: "student" holds U+D800' in result.stderr
    book = list(csv.DictReader(io.StringIO((tmp_path / "t" / "gradebook.csv").read_text())))
    assert [(r["student"], r["file"]) for r in book][:2] == [
        ("Student 1", "nothing handed in"),
        ("Student 2", str(second)),
    ]
    assert book[2]["error"].startswith(f'{first}: "student" holds U+D800')


def test_a_manifest_name_that_is_not_text_is_one_line(tmp_path):
    assert run("answers", "--count", 1, "--seed", 8, "--split", tmp_path / "t").exit_code == 0
    manifest = tmp_path / "t" / "manifest.json"
    doc = json.loads(manifest.read_text())
    doc["students"][0]["student"] = "Ann\ud800"
    manifest.write_text(json.dumps(doc))
    result = run("check", "--manifest", manifest)
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"Error: {manifest}: student 1's name holds U+D800, which is not text"
    ]


def test_bad_text_nested_where_no_cell_can_be_is_one_line(tmp_path):
    """Found by the Hypothesis test of test_answers: an object inside a step."""
    path = tmp_path / "odd.json"
    path.write_text(json.dumps({"Q": {"": ["\x1f"]}}), encoding="ascii")
    result = run("check", path, "--seed", 1)
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f'Error: {path}: "Q" holds U+001F, which is not a character of text; retype it'
    ]
