"""`handcalc class`: a class's whole week of files in one run, the same bytes the per-kind
commands write, graded through its manifest, all or nothing, and never over a student's work."""

from __future__ import annotations

import glob
import json
import os
import re
import shlex
import shutil

import pytest
from pypdf import PdfReader

from handcalc import booklet, classset
from handcalc.problem import Spec

from .conftest import ROOT
from .test_classgrade import gradebook, key_answers

NAMES = ["Ann", "Chloé Ünal"]


def write_roster(path, names):
    path.write_text("name\n" + "".join(f"{n}\n" for n in names), encoding="utf-8")
    return path


def readme_week() -> list[list[str]]:
    """The commands of the README's "A teacher's week", as written."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## A teacher's week") :]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [args for args in (shlex.split(line, comments=True) for line in block.splitlines())
            if args]  # fmt: skip


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    """The README's `class` command run as written, and the same class made by the per-kind
    commands (from its manifest) in another folder."""
    from click.testing import CliRunner

    from handcalc.cli import main

    root = tmp_path_factory.mktemp("week")
    write_roster(root / "class.csv", NAMES)
    run = CliRunner().invoke
    first = readme_week()[0]
    assert first[:2] == ["handcalc", "class"] and first[first.index("-o") + 1] == "week1"
    cwd = os.getcwd()
    os.chdir(root)
    try:
        one = run(main, first[1:])
    finally:
        os.chdir(cwd)
    assert one.exit_code == 0, one.output
    os.rename(root / "week1", root / "w1")
    apart = root / "apart"
    args = ["--manifest", str(root / "w1" / "manifest.json")]
    for cmd in (
        ["generate", *args, "-o", str(apart / "class.pdf")],
        ["key", *args, "-o", str(apart / "keys.pdf")],
        ["answers", *args, "--split", str(apart)],
        ["generate", *args, "--interactive", "--split", str(apart)],
        ["mark", "--manifest", str(apart / "manifest.json")],
    ):
        apart.mkdir(exist_ok=True)
        done = run(main, cmd)
        assert done.exit_code == 0, done.output
    return root, one


def test_one_run_writes_the_weeks_files(week):
    root, result = week
    folder = root / "w1"
    assert sorted(os.listdir(folder)) == [
        "1-Ann-answers.json", "1-Ann-screen.html", "2-Chloe-Unal-answers.json",
        "2-Chloe-Unal-screen.html", "keys.pdf", "manifest.csv", "manifest.json", "mark.html",
        "sheets.pdf",
    ]  # fmt: skip
    doc = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    rows = doc["students"]
    assert [r["student"] for r in rows] == NAMES
    assert f"class seed {doc['class_seed']}" in result.output
    assert [(r["file"], r["page"]) for r in rows] == [("sheets.pdf", 1), ("sheets.pdf", 2)]
    # a key is two pages (the values, then the working): the second starts on page 3
    assert [(r["key_file"], r["key_page"]) for r in rows] == [("keys.pdf", 1), ("keys.pdf", 3)]
    assert [r["answers_file"] for r in rows] == ["1-Ann-answers.json", "2-Chloe-Unal-answers.json"]
    assert len(PdfReader(folder / "sheets.pdf").pages) == 2
    assert len(PdfReader(folder / "keys.pdf").pages) == 4


def test_the_files_are_the_bytes_the_per_kind_commands_write(week):
    """Sheets, keys, answers files, pages and marking page: one problem per student, drawn
    and solved once, give what four commands and `mark` give separately."""
    root, _ = week
    w1, apart = root / "w1", root / "apart"
    assert (w1 / "sheets.pdf").read_bytes() == (apart / "class.pdf").read_bytes()
    assert (w1 / "keys.pdf").read_bytes() == (apart / "keys.pdf").read_bytes()
    for name in os.listdir(w1):
        if name.endswith(("-answers.json", "-screen.html")) or name == "mark.html":
            assert (w1 / name).read_bytes() == (apart / name).read_bytes(), name
    ours = json.loads((w1 / "manifest.json").read_text(encoding="utf-8"))["students"]
    theirs = json.loads((apart / "manifest.json").read_text(encoding="utf-8"))["students"]
    assert [r["id"] for r in ours] == [r["id"] for r in theirs]


def test_the_readme_check_grades_the_answers_files_and_hands_them_back(
    week, cli, tmp_path, monkeypatch
):
    root, _ = week
    folder = tmp_path / "week1"
    shutil.copytree(root / "w1", folder)
    rows = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["students"]
    ann = folder / rows[0]["answers_file"]
    blank = json.loads(ann.read_text(encoding="utf-8"))
    assert blank["student"] == "Ann" and blank["id"] == rows[0]["id"]
    ann.write_text(json.dumps(key_answers(rows[0]["id"], student="Ann")), encoding="utf-8")
    check = readme_week()[1]
    assert check[:2] == ["handcalc", "check"]
    monkeypatch.chdir(tmp_path)
    argv = [x for a in check[1:] for x in (sorted(glob.glob(a)) if "*" in a else [a])]
    done = cli(*argv)
    assert done.exit_code == 0, done.output
    book = gradebook(folder / "gradebook.csv")
    assert [(r["student"], r["id"]) for r in book] == [(r["student"], r["id"]) for r in rows]
    # Chloé's answers file is as `class` wrote it: nothing written is missing, not 0 %,
    # and gets no feedback sheet
    assert [(r["percent"], r["status"]) for r in book] == [("100.0", "graded"), ("", "missing")]
    assert sorted(os.listdir(folder / "feedback")) == ["1-Ann-feedback.html", "1-Ann-feedback.pdf"]
    ann_back = (folder / "feedback" / "1-Ann-feedback.html").read_text(encoding="utf-8")
    assert "Ann" in ann_back and "100.0" in ann_back


def test_typed_answers_are_kept_and_force_replaces_them(week, cli, tmp_path):
    root, _ = week
    folder = tmp_path / "w1"
    shutil.copytree(root / "w1", folder)
    typed = folder / "1-Ann-answers.json"
    typed.write_text('{"student": "Ann", "Q": [[1]]}', encoding="utf-8")
    roster = root / "class.csv"
    again = cli("class", "--roster", roster, "-o", folder)  # the class of the folder's manifest
    assert again.exit_code == 0, again.output
    assert "kept 1 filled answers files" in again.output
    assert typed.read_text(encoding="utf-8") == '{"student": "Ann", "Q": [[1]]}'
    assert (folder / "sheets.pdf").read_bytes() == (root / "w1" / "sheets.pdf").read_bytes()
    forced = cli("class", "--roster", roster, "-o", folder, "--force")
    assert forced.exit_code == 0, forced.output
    assert typed.read_bytes() == (root / "w1" / "1-Ann-answers.json").read_bytes()


def fail_on_second(job):
    """A worker's job that breaks on the second student (runs in a worker process)."""
    if job.student == NAMES[1]:
        raise RuntimeError("worker failed")
    return booklet.render_student(job)


def class_outputs(folder):
    return [
        booklet.Output("blank", "pdf", str(folder / "sheets.pdf"), False),
        booklet.Output("key", "pdf", str(folder / "keys.pdf"), False),
        booklet.Output("answers", "json", str(folder), True),
    ]


@pytest.mark.parametrize("exists", [False, True])
def test_a_failure_writes_nothing(tmp_path, exists):
    folder = tmp_path / "w1"
    students = classset.draw_class(Spec(), 7, NAMES)
    if exists:
        folder.mkdir()
        (folder / "sheets.pdf").write_bytes(b"last week's")
    with pytest.raises(RuntimeError, match="worker failed"):
        booklet.write_class(
            students, 7, str(folder), class_outputs(folder), renderer=fail_on_second, workers=1
        )
    if exists:
        assert os.listdir(folder) == ["sheets.pdf"]
        assert (folder / "sheets.pdf").read_bytes() == b"last week's"
    else:
        assert os.listdir(tmp_path) == []


def test_bad_class_options_are_one_line(tmp_path, cli):
    for args, message in (
        (["--count", "2", "--id", "X"], "drop --id"),
        (["--count", "2", "--exam"], "--exam makes the --interactive pages"),
        ([], "needs --count N or --roster FILE"),
    ):
        done = cli("class", *args, "-o", tmp_path / "w")
        assert done.exit_code == 1 and message in done.output, done.output
        assert done.output.count("\n") == 1
    assert os.listdir(tmp_path) == []


def test_help_lists_the_commands_in_the_order_of_a_week_with_examples(cli):
    from handcalc.cli import WEEK, main

    text = cli("--help").output
    commands = text.split("Commands:")[1]
    listed = [line.split()[0] for line in commands.splitlines() if line[2:3].isalpha()]
    assert listed == [name for name, _ in WEEK] == list(main.list_commands(None))
    assert set(listed) == set(main.commands)
    assert "e.g. handcalc class --roster class.csv -o week1" in text
    assert "--format [html|pdf]" in cli("generate", "--help").output
    done = cli("generate", "--seed", 1, "--format", "docx", "-o", "x.pdf")
    assert done.exit_code == 1 and "--format must be html or pdf" in done.output


def test_every_choice_shows_its_choices_and_shared_options_read_alike(cli):
    """A teacher reading `--help` sees what each choice option takes; an option of the same
    name on several commands (a class set's --private, --fillable, ...) reads the same."""
    from handcalc.cli import main

    shown = {
        "generate": ["--paper [a4|letter|a3]", "--level [easy|classic|hard]",
                     "--rounding [floor|zero]", "--convention [columns|rows]",
                     "--x-range LO:HI", "--id ID"],
        "class": ["--paper [a4|letter|a3]"],
        "mark": ["--paper [a4|letter|a3]"],
        "check": ["--lms [moodle|canvas]", "--weights [light-copy|steps|cells][,NAME=W...]"],
    }  # fmt: skip
    for command, marks in shown.items():
        text = cli(command, "--help").output
        for mark in marks:
            assert mark in text, (command, mark)
    helps = {}
    for name in ("generate", "key", "answers", "class"):
        for param in main.commands[name].params:
            if param.name in ("working", "interactive", "exam", "fillable", "marking_page",
                              "private"):  # fmt: skip
                helps.setdefault(param.name, set()).add(param.help)
    assert set(helps) == {"working", "interactive", "exam", "fillable", "marking_page", "private"}
    assert all(len(h) == 1 for h in helps.values()), helps
