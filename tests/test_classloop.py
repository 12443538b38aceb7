"""The classroom loop: a class found again from its manifest, and one file per student for
work on screen (self-checking pages, blank answers files)."""

from __future__ import annotations

import csv
import html
import io
import json
import re

import pytest

from handcalc import answers
from handcalc.problem import decode_id

ROSTER = "name\nChloé O'Brien\nSøren Kierkegaard\nAda Lovelace\n"


def manifest(folder) -> list[dict]:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["students"]


def page_data(path) -> dict:
    text = path.read_text(encoding="utf-8")
    found = re.search(r'<script type="application/json" id="handcalc-data">(.*?)</script>', text)
    return json.loads(found.group(1))


def name_on_page(path) -> str:
    text = path.read_text(encoding="utf-8")
    return html.unescape(re.search(r'id="student"[^>]*value="([^"]*)"', text).group(1))


@pytest.fixture
def made(tmp_path, cli, monkeypatch):
    """A roster's class made without --seed, as an HTML booklet, in its own folder."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "class.csv").write_text(ROSTER, encoding="utf-8")
    result = cli("generate", "--roster", "class.csv", "-o", "sheets.html")
    assert result.exit_code == 0, result.output
    seed = int(re.search(r"drew class seed (\d+)", result.stderr).group(1))
    return tmp_path, seed


def test_keys_made_later_find_the_class_seed_in_the_manifest(made, cli):
    folder, seed = made
    result = cli("key", "--roster", "class.csv", "-o", "keys.html")
    assert result.exit_code == 0, result.output
    assert f"class seed {seed}" in result.stderr and "manifest.json" in result.stderr
    rows = manifest(folder)
    assert [r["student"] for r in rows] == ["Chloé O'Brien", "Søren Kierkegaard", "Ada Lovelace"]
    assert [r["key_file"] for r in rows] == ["keys.html"] * 3
    assert [r["seed"] for r in rows] == [seed * 1000 + k for k in (1, 2, 3)]
    # the same bytes as keys drawn from the class seed, written elsewhere
    (folder / "elsewhere").mkdir()
    again = cli("key", "--roster", "class.csv", "--seed", seed, "-o", "elsewhere/keys.html")
    assert again.exit_code == 0, again.output
    assert (folder / "keys.html").read_bytes() == (folder / "elsewhere/keys.html").read_bytes()
    # --manifest names the class from any folder
    (folder / "third").mkdir()
    third = cli("key", "--manifest", "manifest.json", "-o", "third/keys.html")
    assert third.exit_code == 0, third.output
    assert (folder / "third/keys.html").read_bytes() == (folder / "keys.html").read_bytes()


def test_a_class_that_does_not_fit_its_manifest_is_told_what_to_use(made, cli):
    folder, seed = made
    before = (folder / "manifest.json").read_bytes()
    other = cli("key", "--roster", "class.csv", "--seed", seed + 1, "-o", "keys.html")
    assert other.exit_code == 1
    assert f"belongs to another class (class seed {seed})" in other.output
    assert "drop --seed" in other.output
    given = cli("key", "--manifest", "manifest.json", "--seed", seed + 1, "-o", "k.html")
    assert f"is the class of seed {seed}, not {seed + 1}" in given.output
    sized = cli("key", "--manifest", "manifest.json", "--tokens", 3, "-o", "k.html")
    assert "fixes every student's sheet; drop --tokens" in sized.output
    (folder / "renamed.csv").write_text(ROSTER.replace("Ada", "Ida"), encoding="utf-8")
    renamed = cli("key", "--roster", "renamed.csv", "-o", "keys.html")
    assert "student 3 is 'Ida Lovelace' here but 'Ada Lovelace' in" in renamed.output
    bigger = cli("key", "--count", 4, "-o", "keys.html")
    assert "lists 3 students, not 4" in bigger.output
    assert (folder / "manifest.json").read_bytes() == before
    assert not (folder / "keys.html").exists() and not (folder / "k.html").exists()


def test_one_self_checking_page_per_student(made, cli):
    folder, seed = made
    result = cli("generate", "--interactive", "--roster", "class.csv", "--split", "screen")
    assert result.exit_code == 0, result.output
    class_rows = manifest(folder)
    rows = manifest(folder / "screen")
    assert [r["id"] for r in rows] == [r["id"] for r in class_rows]  # the same class
    files = [r["screen_file"] for r in rows]
    assert files == [
        "1-Chloe-O-Brien-screen.html",
        "2-Soren-Kierkegaard-screen.html",
        "3-Ada-Lovelace-screen.html",
    ]
    for row, name in zip(rows, files):
        page = folder / "screen" / name
        assert name_on_page(page) == row["student"]
        data = page_data(page)
        assert data["id"] == row["id"]
        assert data["given"] == decode_id(row["id"]).to_json()
    # the same pages straight into the class folder: the one manifest lists them all
    here = cli("generate", "--interactive", "--roster", "class.csv", "--split", ".")
    assert here.exit_code == 0, here.output
    rows = manifest(folder)
    assert [r["screen_file"] for r in rows] == files
    assert [r["file"] for r in rows] == ["sheets.html"] * 3


def test_interactive_class_sets_are_web_pages_one_per_student(tmp_path, cli):
    booklet = cli("generate", "--interactive", "--count", 2, "--seed", 1, "-o", tmp_path / "a.html")
    assert booklet.exit_code == 1 and "need --split DIR" in booklet.output
    pdf = cli(
        "generate", "--interactive", "--count", 2, "--seed", 1, "--format", "pdf",
        "--split", tmp_path / "p",
    )  # fmt: skip
    assert pdf.exit_code == 1 and "web pages" in pdf.output
    assert not (tmp_path / "p").exists()


def test_one_blank_answers_file_per_student_that_grades_as_theirs(made, cli):
    folder, seed = made
    result = cli("answers", "--manifest", "manifest.json", "--split", "answers")
    assert result.exit_code == 0, result.output
    rows = manifest(folder / "answers")
    assert [r["answers_file"] for r in rows] == [
        "1-Chloe-O-Brien-answers.json",
        "2-Soren-Kierkegaard-answers.json",
        "3-Ada-Lovelace-answers.json",
    ]
    paths = [folder / "answers" / r["answers_file"] for r in rows]
    for row, path in zip(rows, paths):
        data = json.loads(path.read_text(encoding="utf-8"))
        assert data == {**answers.blank(decode_id(row["id"])), "student": row["student"]}
    # each file is matched to its student; left as written, it is missing (not 0 %)
    graded = cli("check", "--manifest", "manifest.json", "--csv", "blank.csv", *paths)
    assert graded.exit_code == 0, graded.output
    book = list(csv.DictReader(io.StringIO((folder / "blank.csv").read_text(encoding="utf-8"))))
    assert [(r["student"], r["id"], r["file"], r["percent"], r["status"]) for r in book] == [
        (r["student"], r["id"], f"{path}: nothing written", "", "missing")
        for r, path in zip(rows, paths)
    ]
    assert "0 graded, 3 missing, 0 failed; none graded" in graded.stdout
    # a roster without a seed finds the class too; without --split it is one line
    again = cli("answers", "--roster", "class.csv", "--split", "again")
    assert again.exit_code == 0 and [p.read_bytes() for p in paths] == [
        (folder / "again" / p.name).read_bytes() for p in paths
    ]
    alone = cli("answers", "--roster", "class.csv")
    assert alone.exit_code == 1 and "need --split DIR" in alone.output


def test_check_of_a_folder_passes_over_the_class_files_in_it(made, cli):
    folder, seed = made
    assert cli("answers", "--split", "typed").exit_code == 0  # the class, found beside typed/
    files = sorted((folder / "typed").iterdir())
    assert [p.name for p in files][-2:] == ["manifest.csv", "manifest.json"]
    graded = cli("check", "--manifest", "manifest.json", *files)
    assert graded.exit_code == 0, graded.output
    for name in ("manifest.csv", "manifest.json"):
        assert f"skipped {folder / 'typed' / name} (the class's manifest, not answers)" in (
            graded.stderr
        )
    again = cli("check", "--manifest", "manifest.json", *files, folder / "gradebook.csv")
    assert again.exit_code == 0, again.output
    assert "(the class's gradebook, not answers)" in again.stderr
    assert "0 graded, 3 missing, 0 failed" in again.stdout  # the blank files, each matched
    # a file that only borrows the name is still graded, and fails as answers
    other = folder / "elsewhere"
    other.mkdir()
    (other / "manifest.json").write_text('{"S": [[1]]}', encoding="utf-8")
    odd = cli("check", "--manifest", "manifest.json", other / "manifest.json")
    assert odd.exit_code == 1 and "skipped" not in odd.stderr
