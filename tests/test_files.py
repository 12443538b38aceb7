"""Writing files: all or nothing, modes kept, one run per folder, other programs' files kept."""

from __future__ import annotations

import json
import os
import resource
import signal
import stat
import subprocess
import sys

import pytest

from handcalc import files
from handcalc.errors import OutputError

from .conftest import ROOT


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def leftovers(folder) -> list[str]:
    return sorted(n for n in os.listdir(folder) if n.startswith(".handcalc-"))


# --- Staging: every file moves in, or none ----------------------------------------------------


def test_staged_files_appear_only_at_the_commit(tmp_path):
    with files.Staging() as out:
        out.write(tmp_path / "a.txt", b"A")
        out.write(tmp_path / "b.txt", b"B")
        assert sorted(os.listdir(tmp_path)) == leftovers(tmp_path)  # only hidden parts so far
        assert len(leftovers(tmp_path)) == 2
    assert (tmp_path / "a.txt").read_bytes() == b"A"
    assert (tmp_path / "b.txt").read_bytes() == b"B"
    assert leftovers(tmp_path) == []


def test_a_failure_before_the_commit_leaves_every_old_file(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"old A")
    with pytest.raises(RuntimeError):
        with files.Staging() as out:
            out.write(tmp_path / "a.txt", b"new A")
            out.write(tmp_path / "b.txt", b"new B")
            raise RuntimeError("the second sheet failed")
    assert sorted(os.listdir(tmp_path)) == ["a.txt"]
    assert (tmp_path / "a.txt").read_bytes() == b"old A"


def test_a_failure_half_way_through_the_commit_puts_the_first_files_back(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"old A")
    out = files.Staging()
    out.write(tmp_path / "a.txt", b"new A")
    out.write(tmp_path / "new.txt", b"new")
    out.write(tmp_path / "b.txt", b"new B")
    (tmp_path / "b.txt").mkdir()  # the last move now fails: a folder is in the way
    (tmp_path / "b.txt" / "x").write_text("x")
    with pytest.raises(OutputError, match="cannot write .*b.txt"):
        out.commit()
    assert (tmp_path / "a.txt").read_bytes() == b"old A"
    assert sorted(os.listdir(tmp_path)) == ["a.txt", "b.txt"]


def test_a_new_folder_appears_whole_at_the_commit(tmp_path):
    target = tmp_path / "sheets"
    with files.Staging() as out:
        out.folder(target)
        out.write(target / "1.html", b"one")
        out.write(tmp_path / "beside.txt", b"b")
        assert not target.exists()
    assert sorted(os.listdir(target)) == ["1.html"]
    assert leftovers(tmp_path) == []


# --- modes ------------------------------------------------------------------------------------


def test_a_private_file_stays_private_when_replaced(tmp_path):
    key = tmp_path / "key.html"
    key.write_bytes(b"old")
    key.chmod(0o600)
    files.write_atomic(key, b"new")
    assert key.read_bytes() == b"new"
    assert mode(key) == 0o600


def test_writing_through_a_symlink_keeps_the_link_and_the_mode(tmp_path):
    real = tmp_path / "real.pdf"
    real.write_bytes(b"old")
    real.chmod(0o640)
    link = tmp_path / "link.pdf"
    link.symlink_to(real)
    files.write_atomic(link, b"new")
    assert link.is_symlink() and real.read_bytes() == b"new"
    assert mode(real) == 0o640


@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_new_file_follows_the_umask(tmp_path, umask, expected):
    old = os.umask(umask)
    try:
        files.write_atomic(tmp_path / "new.json", b"{}")
    finally:
        os.umask(old)
    assert mode(tmp_path / "new.json") == expected


def test_a_class_set_keeps_a_private_booklets_mode(cli, tmp_path):
    out = tmp_path / "class.html"
    out.write_text("old")
    out.chmod(0o600)
    assert cli("key", "--count", 2, "--seed", 4, "-o", out).exit_code == 0
    assert mode(out) == 0o600 and "Student 2" in out.read_text()


# --- other programs' files ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["manifest.json", "manifest.csv"])
def test_a_class_set_never_replaces_a_manifest_it_did_not_write(cli, tmp_path, name):
    theirs = tmp_path / name
    theirs.write_text('{"app": "gradebook-web", "version": 3}\n')
    result = cli("generate", "--count", 2, "--seed", 4, "-o", tmp_path / "class.html")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: {theirs} was not written by handcalc; write the class to another folder, "
        "or pass --force to replace it"
    ]
    assert theirs.read_text() == '{"app": "gradebook-web", "version": 3}\n'
    assert sorted(os.listdir(tmp_path)) == [name]
    forced = cli("generate", "--count", 2, "--seed", 4, "-o", tmp_path / "class.html", "--force")
    assert forced.exit_code == 0, forced.output
    assert json.loads((tmp_path / "manifest.json").read_text())["class_seed"] == 4


def test_a_failed_write_on_a_full_disk_keeps_the_old_booklet_and_manifest(tmp_path):
    """A file-size limit makes writes fail with EFBIG, as a full disk fails them."""
    args = [sys.executable, "-m", "handcalc", "generate", "--count", "3", "--seed", "2"]
    first = subprocess.run(
        [*args, "-o", "class.html"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert first.returncode == 0, first.stderr
    before = {n: (tmp_path / n).read_bytes() for n in os.listdir(tmp_path)}
    limit = len(before["manifest.json"]) + 100  # the booklet no longer fits

    def small_disk():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    second = subprocess.run(
        [*args, "--title", "Week 2", "-o", "class.html"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        preexec_fn=small_disk,
    )
    assert second.returncode == 1
    assert second.stderr.strip().splitlines() == ["Error: cannot write class.html: File too large"]
    assert {n: (tmp_path / n).read_bytes() for n in os.listdir(tmp_path)} == before


# --- one run per folder -----------------------------------------------------------------------


def test_a_second_run_into_a_locked_folder_fails_in_one_line(cli, tmp_path):
    with files.locked(tmp_path):
        result = cli("generate", "--count", 2, "--seed", 4, "-o", tmp_path / "class.html")
        split = cli(
            "key", "--count", 2, "--seed", 4, "--split", tmp_path / "new", "--format", "html"
        )
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: another handcalc run is writing into {tmp_path}; "
        "wait for it to finish, then try again"
    ]
    assert split.exit_code == 1 and "another handcalc run" in split.output
    assert os.listdir(tmp_path) == []
    assert cli("generate", "--count", 2, "--seed", 4, "-o", tmp_path / "class.html").exit_code == 0


def test_two_class_sets_at_once_into_one_folder_one_fails(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "handcalc",
                "generate",
                "--count",
                "40",
                "--seed",
                str(s),
                "-o",
                f"class{s}.html",
            ],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for s in (1, 2)
    ]
    results = [(p.communicate(timeout=300)[1], p.returncode)[::-1] for p in runs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 1], results
    err = next(e for code, e in results if code == 1)
    assert len(err.strip().splitlines()) == 1 and "Error:" in err
    seed = json.loads((tmp_path / "manifest.json").read_text())["class_seed"]
    winner = next(s for s, (code, _) in zip((1, 2), results) if code == 0)
    assert seed == winner
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["manifest.csv", "manifest.json", f"class{winner}.html"]
    )


# --- odd names and spreadsheet cells ---------------------------------------------------------


def test_a_non_utf8_name_is_shown_with_escapes():
    name = os.fsdecode(b"Zo\xe9.json")
    assert files.shown(name) == "Zo\\xe9.json"
    assert files.shown(b"caf\xc3\xa9") == "café"
    assert files.shown("Zoé.json") == "Zoé.json"


@pytest.mark.parametrize(
    "raw, cell",
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ('\t=HYPERLINK("http://x")', '\'\t=HYPERLINK("http://x")'),
        ("\r=1+1", "' =1+1"),
        ("\n=1+1", "' =1+1"),
        (" =1+1", "' =1+1"),
        ("\u00a0 @SUM(A1)", "'\u00a0 @SUM(A1)"),
        ("\uff1d1+1", "'\uff1d1+1"),
        ("\uff0b1", "'\uff0b1"),
        ("\uff0d1", "'\uff0d1"),
        ("\uff20SUM(A1)", "'\uff20SUM(A1)"),
        ("Ann\r\nLee", "Ann Lee"),
        ("Zoé", "Zoé"),
        (None, ""),
    ],
)
def test_spreadsheet_cells_never_run_and_never_break_a_row(raw, cell):
    assert files.spreadsheet_cell(raw) == cell
