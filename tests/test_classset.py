"""Class sets: rosters, seeds, different problems, booklets matched to keys, no partial output."""

from __future__ import annotations

import io
import json
import os
import pickle
import re
import signal
import sys

import pytest
from pypdf import PdfReader

from handcalc import booklet, classset
from handcalc.errors import DrawError, OptionError
from handcalc.problem import Spec

from .conftest import class_set_rendering, run_process, run_python

ID = re.compile(r"sheet ID\s*([0-9A-Z]{5}(?:-[0-9A-Z]{1,5})+)")
NASTY = ['Zoë "Z" O\'Neil', "<script>alert(1)</script> & co", "<b>Bold</b> Ünal", "=SUM(A1)"]


def write_roster(path, names, extra="email", bom=True):
    lines = [f"{extra},name"] + [f'x@y,"{n.replace(chr(34), chr(34) * 2)}"' for n in names]
    data = "\n".join(lines) + "\n"
    path.write_bytes(("\ufeff" if bom else "").encode() + data.encode("utf-8"))
    return path


def page_ids(path) -> list[str]:
    return [ID.search(p.extract_text()).group(1) for p in PdfReader(path).pages]


def page_texts(path) -> list[str]:
    return [p.extract_text() for p in PdfReader(path).pages]


# --- rosters, names, seeds ------------------------------------------------------------------


def test_roster_reads_the_name_column_with_a_bom_and_other_columns(tmp_path):
    path = write_roster(tmp_path / "r.csv", NASTY + ["  Ann   Lee "])
    assert classset.read_roster(str(path)) == NASTY + ["Ann Lee"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("name\nAnn\n  \nBob\n,\n", None),
        ("name,email\nAnn,a@x\n,b@x\n", "line 3: the name is blank"),
        ("first,email\nAnn,a@x\n", "no 'name' column"),
        ("name\n", "names no students"),
        ("", "is empty"),
    ],
)
def test_roster_errors_are_one_line(tmp_path, text, message):
    path = tmp_path / "r.csv"
    path.write_text(text, encoding="utf-8")
    if message is None:
        assert classset.read_roster(str(path)) == ["Ann", "Bob"]
        return
    with pytest.raises(classset.RosterError, match=re.escape(message)) as e:
        classset.read_roster(str(path))
    assert "\n" not in str(e.value)


def test_count_and_roster_must_agree(tmp_path):
    path = write_roster(tmp_path / "r.csv", ["A", "B", "C"])
    assert classset.class_names(3, str(path)) == ["A", "B", "C"]
    assert classset.class_names(2, None) == ["Student 1", "Student 2"]
    with pytest.raises(OptionError, match="--count 4 but .* names 3 students"):
        classset.class_names(4, str(path))
    with pytest.raises(OptionError, match="1 to 500"):
        classset.class_names(0, None)


def test_students_draw_from_class_seed_times_1000_plus_k():
    students = classset.draw_class(Spec(), 42, ["a", "b", "c", "d", "e"])
    assert [s.seed for s in students] == [42001, 42002, 42003, 42004, 42005]
    assert len({s.id for s in students}) == 5
    again = classset.draw_class(Spec(), 42, ["a", "b", "c", "d", "e"])
    assert [s.id for s in again] == [s.id for s in students]


def test_a_repeated_problem_is_skipped_and_an_exhausted_space_is_an_error():
    # X = [[1]] and three weights in {1, 2}: exactly 8 different problems exist.
    tiny = Spec(tokens=1, d_in=1, d_k=1, x_range=(1, 1), w_range=(1, 2))
    students = classset.draw_class(tiny, 5, [str(k) for k in range(8)])
    assert len({s.id for s in students}) == 8
    seeds = [s.seed for s in students]
    assert seeds == sorted(seeds) and seeds[-1] > 5008  # some seeds were skipped
    with pytest.raises(DrawError, match="only 8 different problems"):
        classset.draw_class(tiny, 5, [str(k) for k in range(9)])


def test_split_file_names_are_safe_and_unique():
    names = ["Zoë Ünal", "../../etc/passwd", "李雷", "a/b\\c:d*?", "Zoë Ünal", "CON"]
    names += ["Søren Ørsted", "Łukasz Straße", "Ærø Þór"]
    students = classset.draw_class(Spec(), 1, names)
    files = classset.split_names(students, "key", "pdf")
    assert files == [
        "1-Zoe-Unal-key.pdf",
        "2-etc-passwd-key.pdf",
        "3-student-key.pdf",
        "4-a-b-c-d-key.pdf",
        "5-Zoe-Unal-key.pdf",
        "6-CON-key.pdf",
        "7-Soren-Orsted-key.pdf",
        "8-Lukasz-Strasse-key.pdf",
        "9-Aero-Thor-key.pdf",
    ]
    assert all(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.-]*", f) for f in files)


def test_a_manifest_keeps_file_names_but_not_ones_no_file_system_takes():
    students = classset.draw_class(Spec(), 1, ["Ann", "Ben"])
    kept = {"id": students[0].id, "key_file": "1-Annie-key.pdf"}
    long = {"id": students[1].id, "key_file": "x" * 300 + "-key.pdf"}
    files = classset.split_names(students, "key", "pdf", {"students": [kept, long]})
    assert files == ["1-Annie-key.pdf", "2-Ben-key.pdf"]


# --- booklets through the CLI ---------------------------------------------------------------


@pytest.fixture(scope="module")
def booklets(tmp_path_factory):
    """A class of four from a roster: blank booklet, key booklet and their manifest."""
    from click.testing import CliRunner

    from handcalc.cli import main

    folder = tmp_path_factory.mktemp("class")
    roster = write_roster(folder / "roster.csv", NASTY)
    runner = CliRunner()
    out = {}
    for kind, name in (("generate", "class.pdf"), ("key", "keys.pdf")):
        args = [kind, "--roster", str(roster), "--seed", "7", "-o", str(folder / name)]
        result = runner.invoke(main, args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        out[kind] = result
    return folder, out


def test_a_class_is_four_different_problems_each_with_its_name(booklets):
    folder, out = booklets
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    rows = manifest["students"]
    assert manifest["class_seed"] == 7
    assert [r["student"] for r in rows] == NASTY
    assert [r["seed"] for r in rows] == [7001, 7002, 7003, 7004]
    assert len({r["id"] for r in rows}) == 4
    assert "class seed 7" in out["generate"].output
    assert "rendering" not in out["generate"].output  # no progress bar off a terminal


def test_manifest_matches_every_booklet_page_to_its_key(booklets):
    folder, _ = booklets
    rows = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["students"]
    blank_ids, key_ids = page_ids(folder / "class.pdf"), page_ids(folder / "keys.pdf")
    assert len(blank_ids) == 4
    for r in rows:
        assert (r["file"], r["key_file"]) == ("class.pdf", "keys.pdf")
        assert blank_ids[r["page"] - 1] == r["id"]
        assert key_ids[r["key_page"] - 1] == r["id"]
    # every key page belongs to the student whose key starts at or before it
    starts = [r["key_page"] for r in rows] + [len(key_ids) + 1]
    for r, end in zip(rows, starts[1:]):
        assert set(key_ids[r["key_page"] - 1 : end - 1]) == {r["id"]}
    csv_lines = (folder / "manifest.csv").read_text(encoding="utf-8").splitlines()
    assert csv_lines[0] == (
        "number,student,id,seed,file,page,key_file,key_page,screen_file,answers_file"
    )
    assert csv_lines[4].startswith("4,'=SUM(A1),")  # a spreadsheet would run it as a formula


def test_names_are_printed_literally_in_the_pdf(booklets):
    folder, _ = booklets
    texts = page_texts(folder / "class.pdf")
    for name, text in zip(NASTY, texts):
        assert f"Name {name}" in " ".join(text.split())


def test_same_class_seed_gives_the_same_bytes_whatever_the_workers(booklets, tmp_path, cli):
    folder, _ = booklets
    roster = folder / "roster.csv"
    out = tmp_path / "class.pdf"
    result = cli("generate", "--roster", roster, "--seed", 7, "-o", out, "--workers", 1)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "class.pdf").read_bytes() == (folder / "class.pdf").read_bytes()
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    first = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert [r["id"] for r in manifest["students"]] == [r["id"] for r in first["students"]]


def test_html_class_set_escapes_names_and_breaks_pages(tmp_path, cli):
    roster = write_roster(tmp_path / "r.csv", NASTY[:2])
    result = cli("generate", "--roster", roster, "--seed", 3, "-o", tmp_path / "class.html")
    assert result.exit_code == 0, result.output
    page = (tmp_path / "class.html").read_text(encoding="utf-8")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page
    assert "Zoë &#34;Z&#34; O&#39;Neil" in page
    assert page.count('<div class="sheet blank" style="page: s') == 2  # named: own footer
    assert ".sheet + .sheet { break-before: page; }" in page


def test_split_writes_one_file_per_student_and_a_manifest(tmp_path, cli):
    roster = write_roster(tmp_path / "r.csv", ["Zoë Ünal", "../x", "Zoë Ünal"])
    out = tmp_path / "sheets"
    result = cli("key", "--roster", roster, "--seed", 9, "--split", out, "--format", "html")
    assert result.exit_code == 0, result.output
    files = sorted(os.listdir(out))
    assert files == [
        "1-Zoe-Unal-key.html",
        "2-x-key.html",
        "3-Zoe-Unal-key.html",
        "manifest.csv",
        "manifest.json",
    ]
    rows = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["students"]
    assert [r["key_file"] for r in rows] == files[:3]
    for r in rows:
        assert r["id"] in (out / r["key_file"]).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--count", 2, "--id", "X"], "drop --id"),
        (["--count", 2, "--student", "Ann", "-o", "c.pdf"], "drop --student"),
        (["--count", 2], "needs -o FILE"),
        (["--count", 2, "-o", "c.pdf", "--split", "d"], "not both"),
        (["--count", 2, "-o", "c.pdf", "--fillable"], "--fillable class sets need --split"),
        (["--count", 0, "-o", "c.pdf"], "--count must be from 1 to 500, not 0"),
        (["--count", -1, "-o", "c.pdf"], "--count must be from 1 to 500, not -1"),
        (["--roster", "missing.csv", "-o", "c.pdf"], "cannot read roster missing.csv"),
        (["--workers", 2, "-o", "c.pdf"], "--workers is for class sets"),
    ],
)
def test_class_option_errors_are_one_line(tmp_path, args, message):
    done = run_process("generate", *args, cwd=tmp_path)
    assert done.returncode == 1
    assert message in done.stderr and done.stderr.count("\n") == 1
    assert os.listdir(tmp_path) == []


# --- all or nothing -------------------------------------------------------------------------


def fail_on_c(job):
    """A booklet renderer that breaks on the third student (runs in a worker process)."""
    if job.student == "C":
        raise RuntimeError("worker failed on C")
    return booklet.render_student(job)


def fail_file_on_c(job):
    """The same for --split."""
    return fail_on_c(job)


@pytest.fixture(scope="module")
def abc():
    return classset.draw_class(Spec(), 11, ["A", "B", "C", "D"])


def test_a_failed_booklet_leaves_no_file(tmp_path, abc):
    (tmp_path / "mine.txt").write_text("keep")
    with pytest.raises(RuntimeError, match="worker failed on C"):
        booklet.write_class_set(
            abc, "blank", 11, output=str(tmp_path / "class.pdf"), renderer=fail_on_c, workers=2
        )
    assert os.listdir(tmp_path) == ["mine.txt"]


@pytest.mark.parametrize("exists", [False, True])
def test_a_failed_split_leaves_no_file_and_keeps_the_users(tmp_path, abc, exists):
    out = tmp_path / "sheets"
    if exists:
        out.mkdir()
        (out / "1-A.pdf").write_bytes(b"the user's own")
    with pytest.raises(RuntimeError, match="worker failed on C"):
        booklet.write_class_set(
            abc, "blank", 11, split=str(out), renderer=fail_file_on_c, workers=2
        )
    if exists:
        assert os.listdir(out) == ["1-A.pdf"]
        assert (out / "1-A.pdf").read_bytes() == b"the user's own"
    else:
        assert os.listdir(tmp_path) == []


def test_split_into_an_existing_folder_replaces_only_its_own_names(tmp_path, abc):
    out = tmp_path / "sheets"
    out.mkdir()
    (out / "notes.txt").write_text("keep")
    written = booklet.write_class_set(abc[:2], "blank", 11, split=str(out), workers=1)
    assert sorted(os.listdir(out)) == [
        "1-A.pdf",
        "2-B.pdf",
        "manifest.csv",
        "manifest.json",
        "notes.txt",
    ]
    assert written.files == [str(out / "1-A.pdf"), str(out / "2-B.pdf")]
    assert page_ids(out / "2-B.pdf") == [abc[1].id]


def test_ctrl_c_leaves_no_partial_output(tmp_path):
    proc = class_set_rendering(tmp_path)
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C reaches the whole group
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1] == "interrupted"
    assert "Traceback" not in err
    assert os.listdir(tmp_path) == []


# --- the progress bar -----------------------------------------------------------------------


def test_progress_bar_shows_on_a_terminal_only(monkeypatch, capsys):
    from handcalc import cli

    with cli._progress(3, "rendering 3 sheets") as tick:
        assert tick is None
    assert capsys.readouterr().err == ""

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    with cli._progress(3, "rendering 3 sheets") as tick:
        for _ in range(3):
            tick(1)
    err = capsys.readouterr().err
    assert "rendering 3 sheets" in err and "100%" in err


def test_booklet_is_a_well_formed_pdf_with_its_title(booklets, tmp_path):
    folder, _ = booklets
    reader = PdfReader(folder / "keys.pdf", strict=True)
    assert reader.metadata.title == "handcalc class set"
    assert reader.metadata.producer == "handcalc"
    assert len(reader.pages) == len(page_ids(folder / "keys.pdf"))
    assert reader.trailer["/Root"]["/Lang"] == "en"
    # a title that looks like PDF syntax stays text; each sheet's start page is returned
    from handcalc import pdfjoin

    one = (folder / "class.pdf").read_bytes()
    with open(tmp_path / "t.pdf", "wb") as fh:
        assert pdfjoin.join([one, one], fh, "Zoë (1 0 R) \\0") == [1, 5]
    again = PdfReader(tmp_path / "t.pdf", strict=True)
    assert again.metadata.title == "Zoë (1 0 R) \\0"
    assert page_ids(tmp_path / "t.pdf") == page_ids(folder / "class.pdf") * 2


def test_joining_gives_the_same_bytes_every_time_and_holds_no_sheet_open(booklets, tmp_path):
    """The booklet's bytes are a function of its sheets (no dates, an /ID from the content),
    and every sheet's streams are read before the sheet is closed."""
    import gc

    from handcalc import pdfjoin

    folder, _ = booklets
    sheets = [(folder / "class.pdf").read_bytes(), (folder / "keys.pdf").read_bytes()]
    made = []
    for _ in range(2):
        fh = io.BytesIO()
        pdfjoin.join(iter(list(sheets)), fh, "twice")
        gc.collect()
        made.append(fh.getvalue())
    assert made[0] == made[1]
    assert b"/CreationDate" not in made[0] and b"/ModDate" not in made[0]
    texts = page_texts(io.BytesIO(made[0]))
    assert texts == page_texts(folder / "class.pdf") + page_texts(folder / "keys.pdf")


def test_the_parent_process_never_imports_weasyprint(tmp_path):
    code = (
        "import sys\n"
        "from handcalc.cli import main\n"
        f"main(['generate', '--count', '2', '--seed', '1', '-o', {str(tmp_path / 'c.pdf')!r}],"
        " standalone_mode=False)\n"
        "print('weasyprint' in sys.modules, 'pypdf' in sys.modules)\n"
    )
    done = run_python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "False False"
    assert len(PdfReader(tmp_path / "c.pdf").pages) == 2


def test_a_worker_renders_a_sheet_without_importing_numpy(tmp_path):
    """Workers render and never draw: numpy (about 0.1 s to import) stays out of them. The
    job reaches the process pickled, as the pool sends it, with a drawn problem's seed."""
    student = classset.draw_class(Spec(), 7, ["Ann"])[0]
    job = booklet.Job(student.problem, student.name, (booklet.Render("key", "pdf"),))
    (tmp_path / "job").write_bytes(pickle.dumps(job))
    code = (
        "import pickle, sys\n"
        "from handcalc import booklet\n"
        f"job = pickle.loads(open({str(tmp_path / 'job')!r}, 'rb').read())\n"
        "(pdf,) = booklet.render_student(job)\n"
        "numpy = 'numpy' in sys.modules\n"
        "import io, pypdf\n"
        "print(len(pypdf.PdfReader(io.BytesIO(pdf)).pages), numpy)\n"
    )
    done = run_python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "2 False"


def test_a_second_class_never_replaces_the_first_ones_manifest(cli, tmp_path):
    folder = tmp_path / "D"
    args = ("--count", 2, "--format", "html", "--split", folder)
    assert cli("generate", "--seed", 5, *args).exit_code == 0
    before = (folder / "manifest.json").read_bytes()
    assert cli("key", "--seed", 5, *args).exit_code == 0  # the same class's keys: welcome
    with_keys = (folder / "manifest.json").read_bytes()
    keys = [r["key_file"] for r in json.loads(with_keys)["students"]]
    assert [r["key_file"] for r in json.loads(before)["students"]] == [None, None]
    assert keys == ["1-Student-1-key.html", "2-Student-2-key.html"]
    other = cli("key", "--seed", 6, *args)
    assert other.exit_code != 0 and "belongs to another class" in other.output
    assert (folder / "manifest.json").read_bytes() == with_keys
    assert len(list(folder.glob("*.html"))) == 4


def test_a_key_booklet_without_working_has_one_page_per_student(cli, tmp_path):
    out = tmp_path / "keys.pdf"
    result = cli("key", "--count", 3, "--seed", 3, "--no-working", "-o", out, "--workers", 1)
    assert result.exit_code == 0, result.output
    assert len(PdfReader(out).pages) == 3
    rows = json.loads((tmp_path / "manifest.json").read_text())["students"]
    assert [r["key_page"] for r in rows] == [1, 2, 3]
