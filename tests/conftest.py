"""Shared helpers: run the CLI as a user would, in-process (fast) or as a real process."""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from fractions import Fraction
from fractions import Fraction as F
from pathlib import Path

import pytest
from click.testing import CliRunner

from handcalc.cli import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cli():
    """Invoke `handcalc ARGS...` in-process; returns click's Result."""
    runner = CliRunner()

    def run(*args, **kw):
        return runner.invoke(main, [str(a) for a in args], catch_exceptions=False, **kw)

    return run


def run_process(*args, cwd=None, env=None):
    """`python -m handcalc ARGS...` in a real process (for start-up and import checks)."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "handcalc", *map(str, args)],
        cwd=cwd or ROOT,
        env=full_env,
        capture_output=True,
        text=True,
    )


# Debian's chromium, driven by Playwright (never a browser download); one per test module.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def frac_matrix(rows):
    """Literal matrices in tests: ints and "p/q" strings become Fractions."""
    return tuple(tuple(F(x) for x in row) for row in rows)


def run_cli(*args: str):
    """The CLI in-process; stdout and stderr apart."""
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def run_caught(*args):
    """The CLI in-process as a user meets it, exceptions caught: it must never show a
    traceback."""
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


def dump_json(path, data):
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def default_ctrl_c() -> None:
    """For a child process: Ctrl-C back to its default. A shell starts a background job with
    SIGINT ignored, the job's children inherit that, and Python then never raises
    KeyboardInterrupt: a Ctrl-C test run from such a job would see the command finish."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_python(code: str, *flags: str, timeout: float = 120):
    """`python [FLAGS] -c CODE` from the checkout, in a fresh process: for checks of what a
    process imports, which the test process itself has long since imported."""
    return subprocess.run(
        [sys.executable, *flags, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def class_set_rendering(folder: Path) -> subprocess.Popen:
    """`handcalc key --count 60` started in its own session (as from a terminal) and left
    running once its booklet is staged and a worker process has been started: the workers
    are rendering, ready for a signal test. Ctrl-C is back to its default in it (see
    default_ctrl_c)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "handcalc", "key", "--count", "60", "--seed", "1", "-o", "k.pdf"],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=default_ctrl_c,
    )
    deadline = time.monotonic() + 300
    while not (list(folder.glob("*.part")) and has_worker(proc.pid)):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no worker started within 300 s"
        time.sleep(0.02)
    assert proc.poll() is None
    return proc


def has_worker(pid: int) -> bool:
    """Whether a process has all its workers started by multiprocessing (spawned, or forked
    by its fork server, one after another) and set up: Ctrl-C ignored (SIGINT in SigIgn), as
    booklet._start_worker leaves them. A signal before that reaches a worker still
    starting, which then prints a traceback. (The pool of a 60-sheet run: one a core.)"""
    from handcalc import booklet

    def children(of) -> list[str]:
        return [
            c
            for task in os.listdir(f"/proc/{of}/task")
            for c in Path(f"/proc/{of}/task/{task}/children").read_text().split()
        ]

    try:
        workers = []
        for c in children(pid):
            cmdline = Path(f"/proc/{c}/cmdline").read_bytes()
            if b"spawn_main" in cmdline:
                workers.append(c)
            elif b"forkserver" in cmdline:
                workers += children(c)
        ignored = []
        for c in workers:
            status = Path(f"/proc/{c}/status").read_text()
            mask = int(re.search(r"^SigIgn:\s*([0-9a-f]+)", status, re.M).group(1), 16)
            ignored.append(bool(mask & (1 << (signal.SIGINT - 1))))
        return len(workers) >= booklet.default_workers(60) and all(ignored)
    except (OSError, AttributeError):
        return False


def run_module(*args: str, cwd=ROOT, python=sys.executable):
    return subprocess.run(
        [python, "-m", "handcalc", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def mat(a, b):
    return [
        [sum(Fraction(a[i][k]) * b[k][j] for k in range(len(b))) for j in range(len(b[0]))]
        for i in range(len(a))
    ]


def hand_solution(given):
    """The classic single-head column-convention exercise, worked without handcalc's code."""
    x, wq, wk, wv = (given[k] for k in ("X", "WQ", "WK", "WV"))
    q, k, v = mat(wq, x), mat(wk, x), mat(wv, x)
    kt = [list(r) for r in zip(*k)]
    s = mat(kt, q)
    scaled = [[Fraction(math.floor(z / 2)) for z in r] for r in s]
    e = [[Fraction(3) ** int(z) for z in r] for r in scaled]
    colsum = [sum(c) for c in zip(*e)]
    a = [[z / colsum[j] for j, z in enumerate(r)] for r in e]
    z = mat(v, a)
    return {
        "Q": q,
        "K": k,
        "V": v,
        "KT": kt,
        "S": s,
        "scaled": scaled,
        "exp": e,
        "colsum": colsum,
        "A": a,
        "Z": z,
    }


def shown(x) -> str:
    """A fraction as the sheet prints it (with a true minus sign)."""
    x = Fraction(x)
    t = str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"
    return t.replace("-", "\u2212")


@pytest.fixture(scope="session")
def seed1():
    from handcalc.draw import make_problem
    from handcalc.solution import solve

    return solve(make_problem(seed=1))


@contextlib.contextmanager
def time_limit(seconds: float, where: str):
    """Fail, instead of hanging the suite, when the body (waiting on a pipe, say) outlasts
    `seconds`."""

    def alarm(signum, frame):
        raise AssertionError(f"{where} still running after {seconds} s (waiting on a pipe?)")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
