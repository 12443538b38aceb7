"""A class output never replaces a file holding a student's work: a split answers file or a
fillable form that differs from the blank one is kept and reported; late students are added."""

from __future__ import annotations

import json

import pypdf

from .conftest import run_caught as run

ROSTER = "name\nAnn\nBen\nCal\n"


def roster(tmp_path, names: str):
    path = tmp_path / "class.csv"
    path.write_text(names)
    return path


def type_into(path, step="Q", value=1):
    data = json.loads(path.read_text())
    data[step][0][0] = value
    path.write_text(json.dumps(data))


def test_running_answers_again_keeps_typed_files_and_adds_a_late_student(tmp_path):
    typed = tmp_path / "typed"
    first = run("answers", "--roster", roster(tmp_path, ROSTER), "--seed", 7, "--split", typed)
    assert first.exit_code == 0, first.output
    ann, ben = typed / "1-Ann-answers.json", typed / "2-Ben-answers.json"
    type_into(ann)
    type_into(ben, "S", "4")
    typed_ann, typed_ben = ann.read_bytes(), ben.read_bytes()
    blank_cal = (typed / "3-Cal-answers.json").read_bytes()
    ids = [r["id"] for r in json.loads((typed / "manifest.json").read_text())["students"]]

    late = roster(tmp_path, ROSTER + "Dee\n")
    again = run("answers", "--roster", late, "--split", typed)
    assert again.exit_code == 0, again.output
    assert (
        f"kept 2 filled files in {typed} (different from the blank ones: a student's work); "
        "--force replaces them"
    ) in again.stderr
    assert ann.read_bytes() == typed_ann and ben.read_bytes() == typed_ben
    assert (typed / "3-Cal-answers.json").read_bytes() == blank_cal
    dee = json.loads((typed / "4-Dee-answers.json").read_text())
    assert dee["student"] == "Dee"
    rows = json.loads((typed / "manifest.json").read_text())["students"]
    assert [r["student"] for r in rows] == ["Ann", "Ben", "Cal", "Dee"]
    assert [r["id"] for r in rows[:3]] == ids and dee["id"] == rows[3]["id"] not in ids

    forced = run("answers", "--roster", late, "--split", typed, "--force")
    assert forced.exit_code == 0 and "kept" not in forced.output
    assert json.loads(ann.read_text())["Q"][0][0] is None


def test_the_same_class_with_the_seed_and_a_late_student(tmp_path):
    typed = tmp_path / "typed"
    made = run("answers", "--roster", roster(tmp_path, ROSTER), "--seed", 3, "--split", typed)
    assert made.exit_code == 0
    type_into(typed / "3-Cal-answers.json")
    late = roster(tmp_path, ROSTER + "Dee\n")
    again = run("answers", "--roster", late, "--seed", 3, "--split", typed)
    assert again.exit_code == 0, again.output
    assert "kept 1 filled file in" in again.stderr and "--force replaces it" in again.stderr
    assert json.loads((typed / "3-Cal-answers.json").read_text())["Q"][0][0] == 1
    assert (typed / "4-Dee-answers.json").is_file()


def test_a_class_grown_past_nine_keeps_its_file_names(tmp_path):
    typed = tmp_path / "typed"
    names = "name\n" + "".join(f"S{k}\n" for k in range(1, 10))
    made = run("answers", "--roster", roster(tmp_path, names), "--seed", 2, "--split", typed)
    assert made.exit_code == 0
    type_into(typed / "1-S1-answers.json")
    grown = run("answers", "--roster", roster(tmp_path, names + "S10\n"), "--split", typed)
    assert grown.exit_code == 0, grown.output
    files = sorted(p.name for p in typed.glob("*.json") if p.name != "manifest.json")
    assert files[:2] == ["1-S1-answers.json", "10-S10-answers.json"] and len(files) == 10
    assert json.loads((typed / "1-S1-answers.json").read_text())["Q"][0][0] == 1


def test_a_roster_that_reorders_the_class_is_refused(tmp_path):
    typed = tmp_path / "typed"
    made = run("answers", "--roster", roster(tmp_path, ROSTER), "--seed", 7, "--split", typed)
    assert made.exit_code == 0
    result = run("answers", "--roster", roster(tmp_path, "name\nBen\nAnn\nCal\nDee\n"), "--split",
                 typed)  # fmt: skip
    assert result.exit_code == 1
    assert "lists 3 students, not 4; add late students at the end, the others as listed" in (
        result.output
    )


def test_a_late_student_with_other_sizes_says_what_to_give(tmp_path):
    typed = tmp_path / "typed"
    made = run("answers", "--roster", roster(tmp_path, ROSTER), "--seed", 7, "--tokens", 3,
               "--split", typed)  # fmt: skip
    assert made.exit_code == 0
    late = run("answers", "--roster", roster(tmp_path, ROSTER + "Dee\n"), "--split", typed)
    assert late.exit_code == 1
    assert late.output.strip().endswith(
        "was drawn with other sizes or ranges; to add students give --seed 7 and the size "
        "options the class was made with"
    )
    ok = run("answers", "--roster", tmp_path / "class.csv", "--seed", 7, "--tokens", 3,
             "--split", typed)  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert (typed / "4-Dee-answers.json").is_file()


def test_filled_fillable_forms_are_kept(tmp_path):
    forms = tmp_path / "forms"
    names = roster(tmp_path, "name\nAnn\nBen\n")
    made = run("generate", "--fillable", "--roster", names, "--seed", 5, "--split", forms)
    assert made.exit_code == 0, made.output
    ann = forms / "1-Ann.pdf"
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(ann))
    for page in writer.pages:
        writer.update_page_form_field_values(page, {"Q_r1_c1": "2"}, auto_regenerate=False)
    with open(ann, "wb") as fh:
        writer.write(fh)
    filled = ann.read_bytes()
    blank_ben = (forms / "2-Ben.pdf").read_bytes()
    again = run("generate", "--fillable", "--roster", names, "--split", forms)
    assert again.exit_code == 0, again.output
    assert "kept 1 filled file in" in again.stderr
    assert ann.read_bytes() == filled and (forms / "2-Ben.pdf").read_bytes() == blank_ben
    fields = pypdf.PdfReader(ann).get_form_text_fields()
    assert fields["Q_r1_c1"] == "2"
