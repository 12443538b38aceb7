"""Run every benchmark in this folder, one after another, and print their figures.

Usage: python benchmarks/run.py [NAME ...]   (NAME: sheets, grading, class, ...)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(names: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if names:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in names]
    failed = 0
    for script in scripts:
        print(f"== {script.stem.removeprefix('bench_')} ==", flush=True)
        failed |= subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
        print(flush=True)
    return failed


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
