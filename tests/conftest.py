"""Shared helpers: run the CLI as a user would, in-process (fast) or as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
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


def frac_matrix(rows):
    """Literal matrices in tests: ints and "p/q" strings become Fractions."""
    return tuple(tuple(F(x) for x in row) for row in rows)
