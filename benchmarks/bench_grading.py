"""How long grading a class takes: 1,000 answers files (right, slipped, mistaken), each on
its own sheet, graded in-process and by one `handcalc check … --csv` run; and a check that
grading JSON answers never imports WeasyPrint (or pypdf).

Run from the repository root:  python benchmarks/bench_grading.py [--files N]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from handcalc import answers, grading, numbers, steps  # noqa: E402
from handcalc.draw import draw  # noqa: E402
from handcalc.problem import Spec  # noqa: E402

KINDS = ("right", "decimals", "slip", "transposed", "rounding", "rows")


def _write(value):
    cell = lambda x: None if x is steps.MASKED else numbers.to_json(Fraction(x))  # noqa: E731
    if value and isinstance(value[0], tuple):
        return [[cell(x) for x in row] for row in value]
    return [cell(x) for x in value]


def student(sol, kind: str, rng: random.Random) -> dict:
    """One answers file: the key, or one step done wrong and the rest worked on from it."""
    ex = sol.exercise
    track = steps.simplified(sol.problem.spec.rounding)
    values = {s.name: sol.values[s.name] for s in ex.given}
    out = {"id": sol.problem.id, "student": f"{kind} {rng.randrange(10**6)}"}
    slip_step = rng.choice(ex.worked).name
    for s in ex.worked:
        v = steps.compute(s, values, track)
        if kind == "slip" and s.name == slip_step:
            r = rng.randrange(s.rows)
            if s.is_vector:
                v = tuple(x + 7 if i == r else x for i, x in enumerate(v))
            else:
                v = tuple(
                    tuple(x + 7 if i == r and j == 0 else x for j, x in enumerate(row))
                    for i, row in enumerate(v)
                )
        elif kind == "transposed" and s.role == "S":
            v = steps.transpose(v)
        elif kind == "rounding" and s.role == "scaled":
            v = steps.compute(s, values, steps.simplified("zero"))
        elif kind == "rows" and s.role == "A":
            v = steps.normalise(values["exp"], steps.sums(values["exp"], "rows"), "rows")
        values[s.name] = v
        out[s.name] = _decimals(v) if kind == "decimals" else _write(v)
    return out


def _decimals(value):
    cell = lambda x: None if x is steps.MASKED else numbers.decimal(Fraction(x), 3)  # noqa: E731
    if value and isinstance(value[0], tuple):
        return [[cell(x) for x in row] for row in value]
    return [cell(x) for x in value]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=1000)
    n = ap.parse_args().files
    rng = random.Random(0)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        paths = []
        for seed in range(n):
            sol = draw(Spec(), seed)
            kind = KINDS[seed % len(KINDS)]
            path = folder / f"{seed:04d}-{kind}.json"
            path.write_text(json.dumps(student(sol, kind, rng)), encoding="utf-8")
            paths.append(path)
        print(f"made {n} answers files on {n} sheets in {time.perf_counter() - start:.1f} s")

        start = time.perf_counter()
        reports = [grading.check(answers.load(p)) for p in paths]
        took = time.perf_counter() - start
        print(
            f"in-process: graded {n} files in {took:.2f} s = {1000 * took / n:.2f} ms per file "
            "(read, decode ID, solve the sheet, grade)"
        )
        by_kind: dict[str, list[float]] = {}
        for p, r in zip(paths, reports):
            by_kind.setdefault(p.stem.split("-", 1)[1], []).append(r.percent)
        for kind in KINDS:
            scores = by_kind.get(kind, [])
            if scores:
                mean = sum(scores) / len(scores)
                print(f"  {kind:<11} {len(scores):>4} files, mean score {mean:5.1f} %")

        solved = {r.solution.problem.id: r.solution for r in reports}
        start = time.perf_counter()
        for p in paths:
            grading.check(answers.load(p), solved=solved)
        took = time.perf_counter() - start
        print(f"  grading alone (keys already solved): {1000 * took / n:.2f} ms per file")

        grades = folder / "grades.csv"
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "handcalc", "check", *map(str, paths), "--csv", str(grades)],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        took = time.perf_counter() - start
        rows = grades.read_text(encoding="utf-8").count("\n") - 1
        print(
            f"command line: `handcalc check` on {n} files, {rows} gradebook rows, in {took:.2f} s "
            f"= {1000 * took / n:.2f} ms per file (with interpreter start)"
        )

        trace = subprocess.run(
            [
                sys.executable,
                "-X",
                "importtime",
                "-m",
                "handcalc",
                "check",
                str(paths[0]),
                "--json",
            ],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stderr
        imported = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in trace.splitlines()}
        heavy = sorted(imported & {"weasyprint", "pypdf"})
        verdict = "yes: " + ", ".join(heavy) if heavy else "no"
        print(f"`check` on JSON imports WeasyPrint or pypdf: {verdict}")
        if heavy:
            sys.exit(1)


if __name__ == "__main__":
    main()
