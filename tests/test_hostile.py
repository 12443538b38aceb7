"""Hostile files and sizes (issue 28): bounded reads that never wait, whole numbers on every
path, no write outside the folder asked for, quiet ends, and echoed text cut and escaped."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import types

import pytest
from click.testing import CliRunner

from handcalc import answers as answers_mod
from handcalc import files
from handcalc.cli import main
from handcalc.draw import make_problem, stress
from handcalc.errors import LINE_LIMIT, echoed, quoted
from handcalc.problem import Spec, decode_id, encode_id, from_matrices
from handcalc.solution import solve

from .conftest import ROOT, class_set_rendering, default_ctrl_c, time_limit

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def run(*args, seconds: float = 30):
    with time_limit(seconds, f"handcalc {' '.join(map(str, args))}"):
        result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def one_line(result, codes=(1,)) -> str:
    assert result.exit_code in codes, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def problem_text(changes: dict) -> dict:
    data = make_problem(seed=1).to_json()
    for (name, r, c), value in changes.items():
        data[name][r][c] = value
    return data


# --- 1. every file read is a regular file, read with a cap ------------------------------------

KINDS = {
    "problem": (["solve", "--from", "{f}"], "problem file", ".json", 1_000_000),
    "roster": (
        ["generate", "--seed", 1, "--roster", "{f}", "-o", "{d}/c.html"], "roster", ".csv", 5_000_000
    ),
    "manifest": (["check", "--manifest", "{f}"], "manifest", ".json", 10_000_000),
    "answers": (["check", "{f}"], "answers file", ".json", 50_000_000),
    "filled pdf": (["check", "{f}"], "answers file", ".pdf", 50_000_000),
    "csv answers": (["check", "{f}"], "answers file", ".csv", 50_000_000),
}  # fmt: skip


def make_input(tmp_path, how: str, suffix: str, cap: int):
    path = tmp_path / f"input{suffix}"
    if how == "pipe":
        os.mkfifo(path)
    elif how == "device":
        path.symlink_to("/dev/zero")
    else:  # a file one byte over the cap, sparse, so the test stays small on disk
        with open(path, "wb") as fh:
            fh.write(b"{")
            fh.truncate(cap + 1)
    return path


@pytest.mark.parametrize("how", ["pipe", "device", "big"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_pipes_devices_and_oversized_inputs_are_refused_at_once(tmp_path, kind, how):
    args, what, suffix, cap = KINDS[kind]
    path = make_input(tmp_path, how, suffix, cap)
    started = time.monotonic()
    result = run(*[str(a).format(f=path, d=tmp_path) for a in args], seconds=20)
    line = one_line(result)
    assert time.monotonic() - started < 10
    why = {
        "pipe": "it is a pipe, not a file",
        "device": "it is a device, not a file",
        "big": f"a {what} is at most {cap / 1e6:.1f} MB",
    }[how]
    assert f"cannot read {what} {path}: " in line and why in line, line


def test_a_folder_given_as_a_file_is_one_line(tmp_path):
    assert "is a directory" in one_line(run("check", tmp_path), codes=(2,))  # click's check
    with pytest.raises(answers_mod.AnswersError, match="it is a folder"):
        answers_mod.load(tmp_path)


def test_a_pipe_where_a_class_keeps_its_manifest_never_blocks(tmp_path):
    os.mkfifo(tmp_path / "manifest.csv")
    line = one_line(run("answers", "--count", 2, "--seed", 1, "--split", tmp_path, seconds=20))
    assert "manifest.csv was not written by handcalc" in line
    os.mkfifo(tmp_path / "grades.csv")  # check peeks at each .csv to see if it is a gradebook
    assert "it is a pipe" in one_line(run("check", tmp_path / "grades.csv", seconds=20))


def test_a_gradebook_over_its_cap_is_refused_before_grading(tmp_path):
    p = make_problem(seed=1)
    (tmp_path / "a.json").write_text(json.dumps(answers_mod.blank(p)))
    book = tmp_path / "g.csv"
    with open(book, "wb") as fh:
        fh.write(b"student,id,file,percent,error\n")
        fh.truncate(50_000_001)
    line = one_line(run("check", tmp_path / "a.json", "--csv", book))
    assert "a gradebook is at most 50.0 MB" in line
    assert os.path.getsize(book) == 50_000_001


def test_a_file_is_checked_again_once_open():
    # /dev/stdin of a process started with a pipe: stat and open both see the pipe
    code = (
        "from handcalc.files import read_bytes\n"
        "try:\n read_bytes('/dev/stdin', 'problem file', ValueError)\n"
        "except ValueError as e:\n print(e)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, capture_output=True, text=True,
        cwd=ROOT, env=ENV, timeout=30,
    )  # fmt: skip
    assert done.stdout.strip() == "cannot read problem file /dev/stdin: it is a pipe, not a file"


# --- 2. whole numbers, whatever their JSON type; the same limits on every path ----------------


@pytest.mark.parametrize(
    "value, words",
    [
        (100.0, "X holds 100; entries must lie within ±60"),
        (1e15, "X holds 1000000000000000; entries must lie within ±60"),
        (-61.0, "X holds -61; entries must lie within ±60"),
        (True, "X holds True; entries must be integers"),
        (False, "X holds False; entries must be integers"),
        (2.5, "X holds 2.5; entries must be integers"),
        ("1", "X holds '1'; entries must be integers"),
        (float("nan"), "X holds nan; entries must be integers"),
        (10**700, "X holds 1" + "0" * 59 + "…(+641 chars); entries must lie within ±60"),
    ],
    ids=["100.0", "1e15", "-61.0", "true", "false", "2.5", "text", "NaN", "700 digits"],
)
def test_every_entry_of_a_problem_file_is_a_whole_number_in_range(tmp_path, value, words):
    path = tmp_path / "p.json"
    path.write_text(json.dumps(problem_text({("X", 0, 0): value})))
    sheets = (["generate", "-o", tmp_path / "s.html"], ["key", "-o", tmp_path / "k.html"])
    for command in (["solve"], *sheets):
        assert words in one_line(run(*command, "--from", path))
    assert os.listdir(tmp_path) == ["p.json"]  # no sheet made whose ID would not decode


def test_a_whole_float_is_that_integer_and_its_id_comes_back(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps(problem_text({("X", 0, 0): 1.0, ("WQ", 0, 0): -1.0})))
    plain = from_matrices(problem_text({("X", 0, 0): 1, ("WQ", 0, 0): -1}))
    p = from_matrices(json.loads(path.read_text()))
    assert p.given == plain.given and decode_id(p.id).given == plain.given
    assert run("answers", "--from", path, "-o", tmp_path / "a.json").exit_code == 0


def test_an_id_holding_entries_beyond_the_limit_is_refused_like_a_file(tmp_path):
    p = make_problem(seed=1)
    given = {k: [list(r) for r in m] for k, m in p.given.items()}
    given["X"][0][0] = 100  # what a 100.0 in a problem file used to make
    forged = encode_id(types.SimpleNamespace(given=given, spec=p.spec, exercise=p.exercise))
    assert f"{quoted(forged)} is not a handcalc sheet ID" in one_line(run("solve", "--id", forged))
    answers = tmp_path / "a.json"
    answers.write_text(json.dumps({"id": forged}))
    assert "is not a handcalc sheet ID" in one_line(run("check", answers))


@pytest.mark.parametrize(
    "seed, words",
    [
        (True, "class_seed must be a whole number of at least 0, not True"),
        (3.0, "class_seed must be a whole number of at least 0, not 3.0"),
        (-2, "class_seed must be a whole number of at least 0, not -2"),
        (10**30, "class_seed must be at most 999999999999999999"),
    ],
)
def test_a_manifests_class_seed_is_a_whole_number(tmp_path, seed, words):
    row = {"number": 1, "student": "Ann", "id": make_problem(seed=1).id}
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"handcalc_manifest": 1, "class_seed": seed, "students": [row]}))
    assert words in one_line(run("check", "--manifest", path))


def test_a_seed_is_at_most_eighteen_digits():
    assert one_line(run("solve", "--seed", 10**70)) == (
        "Error: --seed must be at most 999999999999999999 (18 digits), not "
        + "1" + "0" * 59 + "…(+11 chars)"
    )
    assert run("solve", "--seed", 10**18 - 1).exit_code == 0


def test_kv_heads_without_heads_is_refused():
    words = "--kv-heads groups the query heads of --heads; give both (e.g. --heads 4 --kv-heads 2)"
    class_set = ["generate", "--count", 2, "-o", "c.html"]
    for args in (["solve", "--seed", 1], ["stress", "--draws", 5], class_set):
        assert one_line(run(*args, "--kv-heads", 1)) == f"Error: {words}"
    assert run("solve", "--seed", 1, "--heads", 2, "--kv-heads", 1).exit_code == 0


# --- 3. never a write outside the folder asked for; owners kept -------------------------------


def test_a_symlink_planted_in_a_split_folder_is_replaced_not_followed(tmp_path):
    split, outside = tmp_path / "class", tmp_path / "outside"
    split.mkdir()
    outside.mkdir()
    victim = outside / "passwd"
    victim.write_text("root:x:0:0\n")
    (split / "1-Student-1-answers.json").symlink_to(victim)  # a predictable name
    (split / "2-Student-2-answers.json").symlink_to(outside / "new.json")  # a dangling one
    result = run("answers", "--count", 2, "--seed", 1, "--split", split)
    assert result.exit_code == 0, result.output
    assert victim.read_text() == "root:x:0:0\n" and os.listdir(outside) == ["passwd"]
    for k in (1, 2):
        planted = split / f"{k}-Student-{k}-answers.json"
        assert not planted.is_symlink()
        assert json.loads(planted.read_text())["student"] == f"Student {k}"
    # a link where the manifest goes is not handcalc's manifest: refused, nothing written
    (split / "manifest.csv").unlink()
    (split / "manifest.csv").symlink_to(outside / "m.csv")
    line = one_line(run("answers", "--count", 2, "--seed", 1, "--split", split))
    assert "manifest.csv was not written by handcalc" in line
    assert os.listdir(outside) == ["passwd"]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")
def test_as_root_a_named_symlink_of_another_user_is_refused_and_owners_are_kept(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep")
    link = tmp_path / "sheet.html"
    link.symlink_to(victim)
    os.lchown(link, 4321, 4321)
    line = one_line(run("generate", "--seed", 1, "-o", link))
    assert "it is a symlink another user owns" in line and victim.read_text() == "keep"
    theirs = tmp_path / "theirs.html"
    theirs.write_text("old")
    os.chown(theirs, 4321, 4322)
    theirs.chmod(0o640)
    assert run("generate", "--seed", 1, "-o", theirs).exit_code == 0
    st = os.stat(theirs)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (4321, 4322, 0o640)


# --- 4. quiet ends: closed or broken stdout, SIGKILL -------------------------------------------


def test_a_closed_stdout_writes_the_file_and_says_nothing(tmp_path):
    done = subprocess.run(
        ["sh", "-c", 'exec "$0" -m handcalc generate --seed 1 -o s.html >&-', sys.executable],
        cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (0, "")
    assert (tmp_path / "s.html").stat().st_size > 0


def test_a_broken_stdout_ends_quietly():
    read, write = os.pipe()
    os.close(read)  # `| head -c1` once head has gone
    try:
        done = subprocess.run(
            [sys.executable, "-m", "handcalc", "solve", "--seed", "1"],
            stdout=write, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=ENV, timeout=120,
        )  # fmt: skip
    finally:
        os.close(write)
    assert done.returncode == 1 and done.stderr == ""


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_staged_files_of_a_dead_run_are_swept_and_others_kept(tmp_path):
    dead = dead_pid()
    stale = f".handcalc-{dead}-{files._HOST}-x1y2.part"
    (tmp_path / stale).write_bytes(b"half a booklet")
    (tmp_path / f".handcalc-{dead}-{files._HOST}-dir.part").mkdir()
    kept = [
        f".handcalc-{os.getpid()}-{files._HOST}-live.part",  # a run still going
        f".handcalc-{dead}-0badc0de-other.part",  # another host's: its pid means nothing here
        ".handcalc-abc123.part",  # an older name without a pid: not provably stale
        "notes.part",
    ]
    for name in kept:
        (tmp_path / name).write_bytes(b"x")
    files.write_atomic(tmp_path / "out.txt", b"new")
    assert sorted(os.listdir(tmp_path)) == sorted([*kept, "out.txt"])


def session_processes(sid: int) -> list[str]:
    out = subprocess.run(["ps", "-e", "-o", "sid=,pid="], capture_output=True, text=True).stdout
    return [line.split()[1] for line in out.splitlines() if line.split()[0] == str(sid)]


def test_after_sigkill_the_workers_end_quietly_and_the_next_run_sweeps(tmp_path):
    proc = class_set_rendering(tmp_path)
    assert len(session_processes(proc.pid)) >= 2  # the parent and its workers
    proc.kill()  # the parent alone, by SIGKILL: nothing of ours runs in it
    _, err = proc.communicate(timeout=60)  # returns once every worker closed its stderr
    assert err == ""
    deadline = time.monotonic() + 30
    while session_processes(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert session_processes(proc.pid) == []
    assert [n for n in os.listdir(tmp_path) if n.endswith(".part")]  # what SIGKILL left
    assert run("problem", "--seed", 1, "-o", tmp_path / "p.json").exit_code == 0
    assert sorted(os.listdir(tmp_path)) == ["p.json"]


# --- 5. echoed text cut with a mark, control characters escaped -------------------------------


def test_echoed_text_is_cut_with_a_mark_and_escaped():
    assert echoed("x" * 100) == "x" * 60 + "…(+40 chars)"
    assert echoed("a\nb\x1b[31m\u202e") == "a\\nb\\x1b[31m\\u202e"
    assert quoted("y" * 61) == repr("y" * 60) + "…(+1 chars)"
    assert echoed(10**400).startswith("1000") and echoed(10**400).endswith("…(+341 chars)")
    assert echoed(10**5000) == "<a number of about 5000 digits>"
    assert echoed("Zoë <b>") == "Zoë <b>"


def test_a_huge_answer_is_shown_cut_with_a_mark(tmp_path):
    p = make_problem(seed=1)
    key = solve(p).to_json()["steps"]
    key["S"][0][0] = 10**400
    path = tmp_path / "a.json"
    path.write_text(json.dumps({**key, "id": p.id}))
    out = run("check", path).stdout
    assert "wrote 1" + "0" * 59 + "…(+341 chars); key: 0" in out
    assert not re.search(r"\d{61}", out)


def test_long_and_control_text_from_files_stays_on_one_short_line(tmp_path):
    p = make_problem(seed=1)
    name = tmp_path / "a.json"
    name.write_text(json.dumps({"id": p.id, "student": "Eve" + "e" * 100_000}))
    out = run("check", name).stdout
    head = out.splitlines()[0]
    assert head.endswith("(Eve" + "e" * 117 + "…(+99883 chars))")
    # a control character in an answers file is bad text (issue 23): the file is refused in
    # one line that names the character, never shows it raw
    name.write_text(json.dumps({"id": p.id, "student": "Eve\x1b[2J" + "e" * 100_000}))
    line = one_line(run("check", name))
    assert line.endswith('"student" holds U+001B, which is not a character of text; retype it')
    assert "\x1b" not in line and len(line) < 400
    bad = "x" * 20_000
    line = one_line(run("solve", "--id", bad))
    assert len(line) < 200 and "…(+19940 chars)" in line
    odd = tmp_path / "line\nbreak.json"
    odd.write_text("{")
    line = one_line(run("check", odd))
    assert "line\\nbreak.json" in line
    cell = tmp_path / "c.json"
    cell.write_text(json.dumps({"id": p.id, "Q": [["1" + " " * 100_000 + "x"] * 4] * 3}))
    result = run("check", cell)
    assert max(len(line) for line in result.stdout.splitlines() if "Q_r" in line) < 400
    path = tmp_path / "p.json"
    path.write_text(json.dumps({**p.to_json(), "Z" * 100_000: [[1]]}))
    assert len(one_line(run("solve", "--from", path))) < 200


def test_an_error_line_is_never_longer_than_the_limit(tmp_path):
    deep = tmp_path / ("d" * 200)
    for _ in range(20):
        deep = deep / ("d" * 200)
    line = one_line(run("solve", "--from", deep / "p.json"))
    assert len(line) <= LINE_LIMIT + len("…(+99999 chars)") and "chars)" in line


# --- 6. long runs ----------------------------------------------------------------------------


def test_stress_has_a_ceiling_and_reports_progress():
    line = one_line(run("stress", "--draws", 1_000_000), codes=(2,))
    assert "1000000 is not in the range 1<=x<=100000" in line
    ticks: list[int] = []
    report = stress(Spec(), 3, 2500, progress=ticks.append)
    assert ticks == [1000, 1000, 500] and report.draws == 2500


def test_ctrl_c_stops_a_long_stress_with_exit_130():
    proc = subprocess.Popen(
        [sys.executable, "-m", "handcalc", "stress", "--draws", "100000", "--seed", "1"],
        cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=default_ctrl_c,
    )  # fmt: skip
    time.sleep(3)
    assert proc.poll() is None
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err.strip() == "interrupted" and out == ""
