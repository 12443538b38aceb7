"""The real fillable sheet, filled in with pypdf as a PDF reader would, grades like JSON."""

from __future__ import annotations

import json

import pypdf

from handcalc import steps

from .conftest import run_cli
from .students import SLIPPED, solution, work


def fill(blank_pdf, answers: dict, out_path, exercise=None):
    """Type every answer into its form field, as a student in a PDF reader would (each one
    must have a field: a value with none would be lost without a word)."""
    reader = pypdf.PdfReader(blank_pdf)
    writer = pypdf.PdfWriter(clone_from=reader)
    ex = exercise or solution(1).exercise
    values = {}
    for s in ex.worked:
        rows = answers.get(s.name)
        if rows is None:
            continue
        for r, row in enumerate([rows] if s.is_vector else rows):
            for c, x in enumerate(row):
                if x is None:
                    continue
                name = steps.field_name(s.name, c if s.is_vector else r, None if s.is_vector else c)
                values[name] = str(x)
    assert set(values) <= set(reader.get_fields() or {})
    for page in writer.pages:
        writer.update_page_form_field_values(page, values, auto_regenerate=False)
    with open(out_path, "wb") as fh:
        writer.write(fh)
    return values


def graded_as_form_and_as_json(blank_pdf, sol, work: dict, folder) -> dict:
    """`check --json` of `work` typed into the fillable sheet, after holding it to the same
    work as an answers file: the form's report."""
    filled, as_json = folder / "filled.pdf", folder / "answers.json"
    fill(blank_pdf, work, filled, sol.exercise)
    as_json.write_text(json.dumps({**work, "id": sol.problem.id}))
    from_pdf = json.loads(run_cli("check", str(filled), "--json").stdout)
    from_json = json.loads(run_cli("check", str(as_json), "--json").stdout)
    assert from_pdf["steps"] == from_json["steps"]
    return from_pdf


def test_filled_form_grades_the_same_as_the_same_answers_in_json(cli, tmp_path):
    blank = tmp_path / "blank.pdf"
    assert cli("generate", "--seed", 1, "--fillable", "-o", blank).exit_code == 0
    fields = pypdf.PdfReader(blank).get_fields()
    assert fields["handcalc_id"].get("/V") == solution(1).problem.id
    answers = {k: v for k, v in SLIPPED.items() if k not in ("A", "Z")}  # two steps blank
    filled = tmp_path / "filled.pdf"
    typed = fill(blank, answers, filled)
    assert typed and all(name in fields for name in typed)

    as_json = tmp_path / "answers.json"
    as_json.write_text(json.dumps(answers))
    from_pdf = json.loads(cli("check", filled, "--json").output)
    from_json = json.loads(cli("check", as_json, "--json").output)
    assert from_pdf["steps"] == from_json["steps"]
    assert from_pdf["percent"] == from_json["percent"]
    # the slip in Q[1][2] is wrong, the S cells worked from it follow through, A and Z blank
    verdicts = from_pdf["steps"]
    assert verdicts["Q"]["cells"][0][1] == "wrong"
    assert "follow-through" in {v for row in verdicts["S"]["cells"] for v in row}
    assert {v for row in verdicts["A"]["cells"] for v in row} == {"blank"}
    assert 0 < from_pdf["percent"] < 100


def test_the_key_typed_into_the_form_scores_full_marks(cli, tmp_path):
    blank = tmp_path / "blank.pdf"
    cli("generate", "--seed", 1, "--fillable", "-o", blank)
    filled = tmp_path / "filled.pdf"
    fill(blank, work(solution(1)), filled)
    report = json.loads(cli("check", filled, "--json").output)
    assert report["percent"] == 100.0


def test_a_damaged_pdf_is_one_line_on_stderr_and_nothing_else(tmp_path):
    from .conftest import run_process

    blank = tmp_path / "blank.pdf"
    assert run_process("generate", "--seed", 1, "--fillable", "-o", blank).returncode == 0
    damaged = tmp_path / "damaged.pdf"
    damaged.write_bytes(blank.read_bytes()[:20000])
    done = run_process("check", damaged)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [f"Error: {damaged} is not a readable PDF"]
