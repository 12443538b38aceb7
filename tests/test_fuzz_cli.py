"""Fuzzing the command line: random valid, boundary and invalid options and files for every
command, run in-process. No case may end in a traceback, an error of more than one line or a
staged file left behind. Seeded, so a failure repeats; HANDCALC_FUZZ=N runs N cases.

Hostile input is in the mix (issue 28): a pipe, a device and an oversized file wherever a
file is read (no case may wait: each has a time limit), whole-number floats and booleans in
problem files, a 400-digit answer, a 100,000-character name with control characters, a
line break in a file name, symlinks planted in the class folders under the names the
students' files get (the file outside must stay as it was), and options out of range."""

from __future__ import annotations

import json
import os
import random
import re
import time

from click.testing import CliRunner

from handcalc import answers as answers_mod
from handcalc.cli import main
from handcalc.draw import make_problem
from handcalc.errors import LINE_LIMIT
from handcalc.solution import solve

from .conftest import time_limit

CASES = int(os.environ.get("HANDCALC_FUZZ", "200"))
SEED = int(os.environ.get("HANDCALC_FUZZ_SEED", "12"))
LATIN1 = os.fsdecode(b"Zo\xe9.json")
BREAK = "line\nbreak.json"  # a line break in a file name
SECONDS = 60  # no case may take longer: a read that waits on a pipe would hang for ever
VICTIM = "root:x:0:0\n"

# Lines a command may print on stderr besides its one error: what it drew, graded or wrote.
INFO = re.compile(r"^(drew (class )?seed|the class of|no answers from|wrote |\d+ graded|\S.*  +\S)")


def files_for_fuzzing(folder) -> None:
    """Every kind of file a user might hand over: good, damaged, foreign and odd."""
    problem = make_problem(seed=1)
    key = solve(problem).to_json()["steps"]
    put = {
        "good.json": json.dumps(problem.to_json()),
        "ans.json": json.dumps(answers_mod.blank(problem)),
        "key.json": json.dumps({**key, "id": problem.id, "student": "=HYPERLINK(1)"}),
        "bad.json": "{",
        "deep.json": "[" * 3000 + "]" * 3000,
        "digits.json": '{"X": [[' + "9" * 5000 + "]]}",
        "list.json": "[]",
        "empty.json": "",
        "roster.csv": "name\nAnn\n\tBo\r\n=1+1\n",
        "noname.csv": "who\nAnn\n",
        "longname.csv": "name\n" + "x" * 200 + "\n",
        LATIN1: json.dumps({**key, "id": problem.id}),
    }
    for name, text in put.items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "bytes.bin").write_bytes(bytes(range(256)) * 4)
    hostile_files(folder, problem, key)
    (folder / "latin1.json").write_bytes(b'{"student": "caf\xe9"}')
    (folder / "sub").mkdir()
    (folder / "manifest.json").write_text('{"app": "not handcalc"}')


def hostile_files(folder, problem, key) -> None:
    """Files an attacker or an unlucky user hands over (issue 28)."""
    entries = problem.to_json()
    for name, value in (("float.json", 100.0), ("e15.json", 1e15), ("bool.json", True)):
        x = [[value] + r[1:] for r in entries["X"]]
        (folder / name).write_text(json.dumps({**entries, "X": x}))
    floats = {k: [[float(v) for v in r] for r in m] for k, m in entries.items()}
    (folder / "whole.json").write_text(json.dumps(floats))
    huge = {**key, "id": problem.id, "S": [[10**400] + r[1:] for r in key["S"]]}
    (folder / "huge-answer.json").write_text(json.dumps(huge))
    name = "Eve\x1b[2J\u202e" + "e" * 100_000
    (folder / "long-name.json").write_text(json.dumps({**key, "id": problem.id, "student": name}))
    (folder / BREAK).write_text(json.dumps({**key, "id": problem.id, "student": "A\nB"}))
    (folder / "long-roster.csv").write_text("name\nAnn\nBo\x1b[2J\n" + "q" * 100_000 + "\n")
    os.mkfifo(folder / "fifo.json")
    os.mkfifo(folder / "fifo.csv")
    (folder / "zero.json").symlink_to("/dev/zero")
    with open(folder / "huge.json", "wb") as fh:  # over every cap; sparse, so small on disk
        fh.write(b"{")
        fh.truncate(50_000_001)
    (folder / "outside").mkdir()
    (folder / "outside" / "passwd").write_text(VICTIM)
    for split in ("split", "ansdir"):  # symlinks under the names students' files get
        (folder / split).mkdir()
        for k, who in [(1, "Student-1"), (2, "Student-2"), (3, "Student-3"), (1, "Ann")]:
            for suffix in ("", "-key", "-screen", "-answers"):
                for ext in ("html", "pdf", "json"):
                    link = folder / split / f"{k}-{who}{suffix}.{ext}"
                    link.symlink_to(folder / "outside" / ("passwd" if k == 1 else f"new{k}"))


FILES = [
    "good.json", "ans.json", "key.json", LATIN1, "bad.json", "deep.json", "digits.json",
    "list.json", "empty.json", "bytes.bin", "latin1.json", "missing.json", "sub", "roster.csv",
    "float.json", "e15.json", "bool.json", "whole.json", "huge-answer.json", "long-name.json",
    BREAK, "fifo.json", "fifo.csv", "zero.json", "huge.json",
]  # fmt: skip
# Each option's values: a few valid ones (boundaries among them), then invalid ones.
SIZES = (["1", "2", "3", "4"], ["0", "-1", "13", "x", "", "1e3", "99999999999", "2.0", "true"])
RANGES = (["0:1", "-1:1", "0:2", "-3:3", "-9:9", "0:0"], ["1:0", "-10:10", "x", "1", "1:2:3"])
TEXT = (
    ["Week 1", "", " ", "Zoë <b>&</b>", "=cmd|' /C calc'!A0", "\t=1", "\r=1+1", "x" * 80],
    ["x" * 81, os.fsdecode(b"caf\xe9"), "y" * 5000, "a\nb\x1b[2J", "z" * 100_000],
)
OUTPUTS = (
    ["out.html", "o.HTML", "sub/x.html", "good.json", LATIN1, "out.json"],
    ["sub", "nowhere/out.html", "noext", "manifest.json", "bytes.bin", "fifo.json", "zero.json"],
)


def pick(rng: random.Random, values) -> str:
    """A valid value mostly, an invalid one now and then."""
    if isinstance(values, list):
        return rng.choice(values)
    good, bad = values
    return rng.choice(bad if rng.random() < 0.15 else good)


def problem_options(rng: random.Random, often: float = 0.7) -> list[str]:
    opts = []
    if rng.random() < often:
        seeds = (["1", "2", "0", "7", "123456789"], ["-1", "x", "", "1.0", str(10**30)])
        opts += ["--seed", pick(rng, seeds)]
    choices = [
        ("--from", FILES),
        (
            "--id",
            (
                ["95E84-VWK0H-H5YSM-TFRVD-KVV21-23R1X-PB785"],
                ["12345", "", "O0IL-1", "x" * 500, "7" * 20_000, "A\nB"],
            ),
        ),
        ("--level", (["easy", "classic", "hard"], ["HARD", "impossible"])),
        ("--tokens", SIZES),
        ("--d-in", SIZES),
        ("--d-k", SIZES),
        ("--d-v", SIZES),
        ("--heads", (["1", "2"], ["0", "5", "x"])),
        ("--kv-heads", (["1", "2"], ["0", "3", "x"])),
        ("--x-range", RANGES),
        ("--w-range", RANGES),
        ("--rounding", (["floor", "zero"], ["up"])),
        ("--convention", (["columns", "rows"], ["diagonal"])),
    ]
    for flag, values in rng.sample(choices, rng.choice([0, 0, 1, 1, 2, 3])):
        opts += [flag, pick(rng, values)]
    if rng.random() < 0.1:
        opts.append("--causal")
    return opts


def sheet_options(rng: random.Random, command: str) -> list[str]:
    opts = []
    if rng.random() < 0.9:
        opts += ["-o", pick(rng, OUTPUTS)]
    choices = [
        ("--format", (["html", "HTML"], ["docx", ""])),
        ("--paper", (["a4", "letter"], ["a3"])),
        ("--title", TEXT),
        ("--student", TEXT),
        ("--count", (["1", "2", "3"], ["0", "-1", "501", "x"])),
        (
            "--roster",
            (
                ["roster.csv"],
                ["noname.csv", "longname.csv", "missing.csv", "bytes.bin", "fifo.csv",
                 "zero.json", "huge.json", "long-roster.csv"],
            ),
        ),  # fmt: skip
        ("--split", (["split", "sub"], ["good.json", "nowhere/deeper"])),
        ("--workers", (["1", "2"], ["0", "65", "x"])),
        (
            "--manifest",
            (
                ["c/manifest.json"],
                ["split/manifest.json", "good.json", "deep.json", "fifo.json", "zero.json"],
            ),
        ),
    ]
    for flag, values in rng.sample(choices, rng.choice([0, 1, 1, 2, 3])):
        opts += [flag, pick(rng, values)]
    flags = ["--force", "--fillable", "--interactive"] if command == "generate" else ["--force"]
    flags += ["--no-working"] if command == "key" else []
    for flag in flags:
        if rng.random() < 0.08:
            opts.append(flag)
    return opts


def command_line(rng: random.Random) -> list[str]:
    command = rng.choice(["solve", "problem", "stress", "generate", "key", "answers", "check"])
    args = [command, *problem_options(rng, 0.3 if command == "check" else 0.7)]
    if command == "solve" and rng.random() < 0.5:
        args.append("--json")
    elif command == "problem":
        args += ["-o", pick(rng, OUTPUTS)] if rng.random() < 0.9 else []
    elif command == "stress":
        args += ["--draws", pick(rng, (["1", "50", "200"], ["0", "-5", "x", "100001", "1e3"]))]
    elif command in ("generate", "key"):
        args += sheet_options(rng, command)
    elif command == "answers":
        args += ["-o", pick(rng, OUTPUTS)] if rng.random() < 0.7 else []
        if rng.random() < 0.3:
            args += ["--count", pick(rng, (["2"], ["0", "x"])), "--split", "ansdir"]
        if rng.random() < 0.3:
            args += ["--student", pick(rng, TEXT)]
    else:
        args += rng.sample(FILES, rng.randint(0, 3))
        for flag, values in [
            ("--json", None),
            ("--summary", None),
            ("--force", None),
            (
                "--csv",
                (["grades.csv", "g2.csv"], ["roster.csv", "sub", "nowhere/g.csv", "fifo.csv"]),
            ),
            (
                "--manifest",
                (["c/manifest.json"], ["manifest.json", "good.json", "deep.json", "fifo.json"]),
            ),
        ]:
            if rng.random() < 0.25:
                args += [flag] if values is None else [flag, pick(rng, values)]
    if rng.random() < 0.03:
        args.append(rng.choice(["--nope", "-z", "--seed"]))  # unknown, or a missing value
    return args


# A character a terminal would act on (a raw escape, a bidi override) in what is printed.
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def leftovers(folder) -> list[str]:
    found = []
    for root, dirs, names in os.walk(folder):
        found += [os.path.join(root, n) for n in names + dirs if n.startswith(".handcalc-")]
    return found


def test_fuzzed_command_lines_end_in_one_line_or_success(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    files_for_fuzzing(tmp_path)
    runner = CliRunner()
    setup = runner.invoke(main, ["generate", "--count", "2", "--seed", "3", "-o", "c.html"])
    assert setup.exit_code == 1  # the foreign manifest.json is refused, and kept
    (tmp_path / "c").mkdir()
    setup = runner.invoke(main, ["generate", "--count", "3", "--seed", "3", "-o", "c/c.html"])
    assert setup.exit_code == 0, setup.output
    rng = random.Random(SEED)
    seen_codes = set()
    started = time.monotonic()
    for case in range(CASES):
        args = command_line(rng)
        where = f"case {case}: handcalc {' '.join(repr(a[:200]) for a in args)}"
        with time_limit(SECONDS, where):
            result = runner.invoke(main, args)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise AssertionError(f"{where} raised {result.exception!r}") from result.exception
        assert "Traceback" not in result.output, where
        assert result.exit_code in (0, 1, 2), f"{where} exited {result.exit_code}"
        seen_codes.add(result.exit_code)
        errors = result.stderr.strip().splitlines()
        assert not RAW_CONTROL.search(result.stderr), f"{where}\n{result.stderr[:500]!r}"
        assert all(len(line) <= LINE_LIMIT + 20 for line in errors), where
        if args[0] == "check":  # one line per file that failed, each its own "Error:"
            assert all(line.startswith("Error: ") or INFO.match(line) for line in errors), where
        elif result.exit_code:
            errors = [line for line in errors if not INFO.match(line)]
            assert len(errors) == 1 and errors[0].startswith("Error: "), f"{where}\n{errors}"
        assert leftovers(tmp_path) == [], where
        assert (tmp_path / "outside" / "passwd").read_text() == VICTIM, where
        assert os.listdir(tmp_path / "outside") == ["passwd"], where
    assert seen_codes == {0, 1, 2}  # the generator reaches successes and both kinds of error
    print(f"{CASES} cases in {time.monotonic() - started:.1f} s")
