"""Class answers files (a JSON list of ordinary answers objects, as the marking page exports):
`check --manifest` grades one like the same answers in separate files; a student in two files
is an error, never a silent replacement; a damaged list is one line."""

from __future__ import annotations

import json

import pytest

from handcalc.draw import make_problem
from handcalc.errors import OptionError
from handcalc.interactive import marking_data
from handcalc.problem import Spec

from .conftest import run_caught
from .test_classgrade import gradebook, handed_in, key_answers  # noqa: F401 (a fixture)


def _rows(book):
    return [{k: v for k, v in r.items() if k != "file"} for r in book]


def test_a_class_answers_file_grades_like_separate_files(handed_in, cli):  # noqa: F811
    folder, rows, subs = handed_in
    files = sorted(subs.iterdir())
    apart = cli("check", "--manifest", folder / "manifest.json", *files, "--csv",
                folder / "apart.csv")  # fmt: skip
    assert apart.exit_code == 0, apart.output
    listed = [json.loads(f.read_text(encoding="utf-8")) for f in files]
    one = folder / "marks.json"
    one.write_text(json.dumps(listed), encoding="utf-8")
    together = cli("check", "--manifest", folder / "manifest.json", one, "--csv",
                   folder / "together.csv")  # fmt: skip
    assert together.exit_code == 0, together.output
    assert _rows(gradebook(folder / "together.csv")) == _rows(gradebook(folder / "apart.csv"))
    assert "marks.json #2" in together.stdout  # each object is named by its place


def test_a_student_in_two_class_files_is_an_error_not_a_replacement(handed_in):  # noqa: F811
    folder, rows, _ = handed_in
    first = key_answers(rows[0]["id"], id=rows[0]["id"], student="Student 1")
    second = dict(first, Q=[[0] * 4] * 3)
    for name, obj in (("m1.json", first), ("m2.json", second)):
        (folder / name).write_text(json.dumps([obj]), encoding="utf-8")
    result = run_caught("check", "--manifest", folder / "manifest.json", folder / "m1.json",
                        folder / "m2.json")  # fmt: skip
    assert result.exit_code == 1
    assert "m2.json #1 (Student 1): Student 1 already handed in " in result.output
    assert "m1.json #1 (Student 1)" in result.output


@pytest.mark.parametrize(
    "text, said",
    [
        ("[]", "an empty class answers file"),
        ('[{"id": "x"}, 3]', "must be a JSON object"),
        ('[{"student": 5}]', '"student" must be a name'),
    ],
)
def test_a_damaged_class_answers_file_is_one_line(handed_in, text, said):  # noqa: F811
    folder, _, _ = handed_in
    bad = folder / "bad.json"
    bad.write_text(text, encoding="utf-8")
    result = run_caught("check", "--manifest", folder / "manifest.json", bad)
    assert result.exit_code == 1 and said in result.output


def test_a_class_answers_file_without_manifest_says_to_use_one(handed_in):  # noqa: F811
    folder, rows, _ = handed_in
    marks = folder / "marks.json"
    marks.write_text(json.dumps([key_answers(rows[0]["id"], id=rows[0]["id"])]))
    result = run_caught("check", marks)
    assert result.exit_code == 1 and "grade it with check --manifest" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_one_marking_page_marks_one_kind_of_sheet():
    classic, rows = make_problem(seed=1), make_problem(seed=1, spec=Spec(convention="rows"))
    data = marking_data([("A", classic), ("B", make_problem(seed=2))])
    assert [s["student"] for s in data["students"]] == ["A", "B"]
    assert data["students"][1]["given"] != data["students"][0]["given"]
    assert "answers" not in json.dumps(data) and "colsum\": [" not in json.dumps(data)
    with pytest.raises(OptionError, match="B's sheet has another shape or rules"):
        marking_data([("A", classic), ("B", rows)])
