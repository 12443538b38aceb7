"""Keys kept from students: a --private class set prints a code per student (no sheet ID, no
seed anywhere in the file); only the manifest maps codes to sheets. An --exam page only
collects answers: no key, no grader, no hints or reveal."""

from __future__ import annotations

import json
import os
import re
import zlib

import pypdf
import pytest

from handcalc.classset import code_key
from handcalc.problem import decode_id
from handcalc.solution import solve

from .conftest import CHROMIUM
from .conftest import run_caught as run

ROSTER = "name\nAnn\nBen\n"
CODE = re.compile(r"P-[0-9A-Z]{4}-[0-9A-Z]{4}")


@pytest.fixture(scope="module")
def private(tmp_path_factory):
    """A private class of two: a booklet, fillable forms, answers files and exam pages."""
    folder = tmp_path_factory.mktemp("private")
    home = os.getcwd()
    os.chdir(folder)  # the paths a teacher types, relative to the class's folder
    (folder / "class.csv").write_text(ROSTER)
    for args in (
        ("generate", "-o", "sheets.pdf"),
        ("generate", "-o", "sheets.html"),
        ("generate", "--fillable", "--split", "forms"),
        ("answers", "--split", "typed"),
        ("generate", "--interactive", "--exam", "--split", "screen"),
    ):
        made = run(*args, "--roster", "class.csv", "--seed", 12, "--private")
        assert made.exit_code == 0, made.output
    rows = json.loads((folder / "manifest.json").read_text())["students"]
    yield folder, rows
    os.chdir(home)


def secrets_of(rows) -> list[str]:
    """What must not be in a student's file: each sheet ID (with and without its dashes),
    each seed and the class seed, and the word "seed"."""
    out = ["seed", "12001", "12002"]
    for r in rows:
        out += [r["id"], r["id"].replace("-", "")]
    return out


def pdf_haystack(path) -> str:
    """Everything a PDF holds, as text: raw bytes, every stream inflated, the extracted text,
    the metadata and every form field's value."""
    raw = path.read_bytes()
    parts = [raw.decode("latin-1")]
    for m in re.finditer(rb"stream\r?\n(.*?)endstream", raw, re.S):
        try:
            parts.append(zlib.decompress(m.group(1)).decode("latin-1"))
        except zlib.error:
            pass
    reader = pypdf.PdfReader(path)
    parts += [page.extract_text() for page in reader.pages]
    parts.append(json.dumps({str(k): str(v) for k, v in (reader.metadata or {}).items()}))
    parts.append(json.dumps(reader.get_form_text_fields() or {}))
    return "\n".join(parts)


def test_the_manifest_maps_a_code_to_each_student(private):
    folder, rows = private
    codes = [r["code"] for r in rows]
    assert all(CODE.fullmatch(c) for c in codes) and len(set(codes)) == 2
    assert json.loads((folder / "manifest.json").read_text())["private"] is True
    assert "code" in (folder / "manifest.csv").read_text().splitlines()[0].split(",")


@pytest.mark.parametrize(
    "name", ["sheets.pdf", "forms/1-Ann.pdf", "forms/2-Ben.pdf"], ids=["booklet", "form1", "form2"]
)
def test_a_private_pdf_holds_codes_and_no_sheet_id_or_seed(private, name):
    folder, rows = private
    hay = pdf_haystack(folder / name)
    for secret in secrets_of(rows):
        assert secret not in hay, secret
    wanted = [r["code"] for r in rows] if name == "sheets.pdf" else [rows[int(name[6]) - 1]["code"]]
    for code in wanted:
        assert f"code {code}" in hay
    if name.startswith("forms"):
        assert pypdf.PdfReader(folder / name).get_form_text_fields()["handcalc_id"] == wanted[0]


@pytest.mark.parametrize(
    "name", ["sheets.html", "typed/1-Ann-answers.json", "screen/1-Ann-screen.html"]
)
def test_private_html_and_answers_files_hold_no_sheet_id_or_seed(private, name):
    folder, rows = private
    text = (folder / name).read_text(encoding="utf-8")
    for secret in secrets_of(rows):
        assert secret not in text, secret
    assert rows[0]["code"] in text


def test_key_and_check_given_a_code_without_the_manifest_refuse(private):
    folder, rows = private
    code = rows[0]["code"]
    said = (
        f"Error: {code} is a private class code: only the class's manifest maps it to a "
        "sheet; give --manifest FILE (the class's manifest.json)"
    )
    for args in (("key", "--id", code, "-o", "k.pdf"), ("solve", "--id", code.lower())):
        result = run(*args)
        assert result.exit_code == 1 and result.output.splitlines() == [said]
    typed = folder / "typed" / "1-Ann-answers.json"
    checked = run("check", typed)
    assert checked.exit_code == 1
    assert checked.output.splitlines() == [f"Error: {typed}: {said[len('Error: '):]}"]
    assert not (folder / "k.pdf").exists()


def test_key_and_check_with_the_manifest_work(private):
    folder, rows = private
    key = run("key", "--id", rows[1]["code"], "--manifest", "manifest.json", "-o", "k.html")
    assert key.exit_code == 0, key.output
    assert f"sheet ID <b>{rows[1]['id']}</b>" in (folder / "k.html").read_text()
    answers = folder / "ben.json"
    steps = solve(decode_id(rows[1]["id"])).to_json()["steps"]
    answers.write_text(json.dumps({**steps, "id": rows[1]["code"].lower()}))
    graded = run("check", "--manifest", "manifest.json", "typed/1-Ann-answers.json", answers,
                 "forms/1-Ann.pdf", "--csv", "g.csv")  # fmt: skip
    assert graded.exit_code == 1
    assert "Ann already handed in" in graded.output  # the form matched Ann by her code too
    book = (folder / "g.csv").read_text().splitlines()
    blank = f"Ann,{rows[0]['id']},typed/1-Ann-answers.json: nothing written,,"
    assert book[1].startswith(blank) and book[1].endswith(",missing,")
    assert book[2].startswith(f"Ben,{rows[1]['id']},{answers},100.0,")
    unknown = run("key", "--id", "P-0000-0000", "--manifest", "manifest.json", "-o", "k2.html")
    assert unknown.exit_code == 1
    assert unknown.output.strip() == "Error: manifest.json has no student with code P-0000-0000"


def test_later_outputs_of_a_private_class_stay_private(private):
    folder, rows = private
    again = run("answers", "--roster", "class.csv", "--split", "late")
    assert again.exit_code == 0, again.output
    data = json.loads((folder / "late" / "2-Ben-answers.json").read_text())
    assert data["id"] == rows[1]["code"]


def test_codes_are_the_same_for_the_same_class_and_read_in_any_case():
    assert code_key(" p-0mm9-438v ") == "P-0MM9-438V"
    assert code_key("p0mm9438v") == "P-0MM9-438V"
    assert code_key("ADD8B-6S0PQ-9Q981-FQSK9-TFD8B-D5K1X-PB74S") is None
    assert code_key("P-0MM9-438") is None and code_key(None) is None


def test_private_and_exam_misuse_is_one_line(tmp_path):
    alone = run("generate", "--seed", 1, "--private", "-o", tmp_path / "a.pdf")
    assert alone.output.strip() == "Error: --private is for class sets (--count or --roster)"
    exam = run("generate", "--seed", 1, "--exam", "-o", tmp_path / "a.html")
    assert exam.output.strip() == (
        "Error: --exam makes an --interactive page that only collects answers"
    )
    checking = run("generate", "--interactive", "--count", 2, "--seed", 3, "--private",
                   "--split", tmp_path / "s")  # fmt: skip
    assert checking.output.strip().endswith(
        "Error: a private class's pages must not check answers: add --exam"
    )
    assert not (tmp_path / "s").exists()


# --- the exam page -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exam_page(tmp_path_factory):
    folder = tmp_path_factory.mktemp("exam")
    out = folder / "exam.html"
    made = run("generate", "--seed", 1, "--interactive", "--exam", "-o", out)
    assert made.exit_code == 0, made.output
    return out


def test_an_exam_page_holds_no_key_grader_or_guide(exam_page):
    html = exam_page.read_text(encoding="utf-8")
    for absent in ("HandcalcGrading", "grade(", "solve(", 'id="check"', 'id="hint"',
                   "reveal", "Walkthrough", 'class="why"', 'id="report"', '"formula"',
                   '"given"'):  # fmt: skip
        assert absent not in html, absent
    sol = solve(decode_id(json.loads(
        re.search(r'id="handcalc-data">(.*?)</script>', html).group(1))["id"]))  # fmt: skip
    # the key's fractions, none printed on a blank sheet (the stated rules quote floor(-1/2))
    sheet = re.sub(r'<p class="rules">.*?</p>', "", html, flags=re.S)
    for name in ("colsum", "A", "Z"):
        for value in json.dumps(sol.to_json()["steps"][name]).split('"'):
            if "/" in value:
                assert value not in sheet, (name, value)
    interactive = exam_page.with_name("full.html")
    assert run("generate", "--seed", 1, "--interactive", "-o", interactive).exit_code == 0
    assert "HandcalcGrading" in interactive.read_text()  # the test above can fail


@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing")
def test_an_exam_page_in_chromium_saves_answers_that_check_grades(browser, exam_page, tmp_path):
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(exam_page.as_uri())
    assert page.is_enabled("#save")
    assert page.locator("#check, #hint, #reveal-cell, #walk, #report").count() == 0
    assert page.evaluate("typeof window.HandcalcGrading") == "undefined"
    key = solve(decode_id(json.loads(page.inner_text("#handcalc-data"))["id"])).to_json()
    page.fill("#student", "Ada")
    q = key["steps"]["Q"]
    page.fill("input[name=Q_r1_c1]", str(q[0][0]))
    page.fill("input[name=Q_r1_c2]", str(q[0][1] + 1))
    page.fill("input[name=colsum_2]", str(key["steps"]["colsum"][1]))
    with page.expect_download() as dl:
        page.click("#save")
    saved = tmp_path / "answers.json"
    dl.value.save_as(saved)
    context.close()
    assert errors == []
    data = json.loads(saved.read_text())
    assert data["student"] == "Ada" and data["Q"][0][:3] == [str(q[0][0]), str(q[0][1] + 1), None]
    assert "revealed" not in data
    result = run("check", saved, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["steps"]["Q"]["cells"][0][:2] == ["correct", "wrong"]
    assert report["steps"]["colsum"]["cells"][1] == "correct"
    assert report["counts"]["correct"] == 2
