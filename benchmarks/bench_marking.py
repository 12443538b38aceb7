"""Cells typed per student on the marking page, for a realistic class: 30 paper sheets, each
student with 0 to 3 random slips in the early steps (Q, K, V, S, scaled, exp, colsum) who works
every later step on from their own numbers. The teacher's part is simulated in Debian's
chromium: box by box in the page's reading order, type a cell only where the paper differs
from what the page shows at that moment (the value set as if typed, one input event), then
Done. Also: the time one typed cell takes the page to re-work and repaint the sheet, and a
check that the exported class answers file grades as the papers typed in full.

Run from the repository root:  python benchmarks/bench_marking.py [--students N] [--seed S]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from click.testing import CliRunner  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from handcalc.classset import read_manifest, students_from_manifest  # noqa: E402
from handcalc.cli import main  # noqa: E402
from handcalc.solution import solve  # noqa: E402
from tests import students  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
EARLY = ("Q", "K", "V", "S", "scaled", "exp", "colsum")

# One student marked: every box in reading order, typed where the paper differs from the
# page; returns how many were typed and how long each re-working took.
MARK = """
(paper) => {
  const S = handcalcSheet, typed = [], took = [];
  for (const el of S.inputs) {
    const p = S.position(el), row = paper[el.dataset.step][p[0]];
    const want = p[1] === null ? row : row[p[1]];
    const shown = (el.value || el.placeholder).replace(/\\u2212/g, "-");
    if (want !== null && shown === String(want)) continue;
    el.focus();
    const t0 = performance.now();
    if (want === null) el.dispatchEvent(new KeyboardEvent("keydown", {key: "b", bubbles: true}));
    else { el.value = String(want); el.dispatchEvent(new Event("input", {bubbles: true})); }
    took.push(performance.now() - t0);
    typed.push(el.name);
  }
  handcalcMark.doneNext();
  return {typed: typed, took: took};
}
"""


def random_paper(sol, name: str, rng: random.Random) -> tuple[dict, int]:
    """A paper with 0-3 slips (each a cell of an early step off by 1 or 2), worked on from
    the student's own numbers; redrawn when the slips make it unworkable (3^x too big)."""
    ex = sol.exercise
    while True:
        slips: dict = {}
        for _ in range(rng.randint(0, 3)):
            s = ex[rng.choice(EARLY)]
            cell = (rng.randrange(s.rows), None if s.is_vector else rng.randrange(s.cols))
            slips.setdefault(s.name, {})[cell] = rng.choice((-2, -1, 1, 2))
        try:
            paper = students.slipped(sol, slips, student=name)
        except (ValueError, ZeroDivisionError):  # 3^x beyond the limit, a zero column sum
            continue
        return paper, sum(len(c) for c in slips.values())


def main_(count: int, seed: int) -> None:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cls"
        run = CliRunner().invoke(
            main, ["generate", "--count", str(count), "--seed", str(seed), "--split", str(out),
                   "--format", "html", "--marking-page"],  # fmt: skip
        )
        assert run.exit_code == 0, run.output
        manifest = out / "manifest.json"
        roster = students_from_manifest(read_manifest(str(manifest)), str(manifest))
        papers, slips = [], []
        for s in roster:
            paper, n = random_paper(solve(s.problem), s.name, rng)
            papers.append(paper)
            slips.append(n)
        typed, took = [], []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            ctx = browser.new_context(accept_downloads=True)
            page = ctx.new_page()
            page.goto((out / "mark.html").as_uri())
            t0 = time.perf_counter()
            for paper in papers:
                got = page.evaluate(MARK, paper)
                typed.append(len(got["typed"]))
                took += got["took"]
            wall = time.perf_counter() - t0
            with page.expect_download() as dl:
                page.click("#export")
            marks = Path(tmp) / "marks.json"
            dl.value.save_as(marks)
            browser.close()
        full = []
        for k, paper in enumerate(papers):
            path = Path(tmp) / f"full-{k}.json"
            path.write_text(json.dumps(paper), encoding="utf-8")
            full.append(str(path))

        def grades(files, csv):
            r = CliRunner().invoke(
                main, ["check", "--manifest", str(manifest), *files, "--json", "--csv", csv]
            )
            return {x["student"]: (x["percent"], x["steps"]) for x in json.loads(r.stdout)}

        same = grades([str(marks)], f"{tmp}/g1.csv") == grades(full, f"{tmp}/g2.csv")
    cells = 128
    print(f"class of {count} (class seed {seed}), {cells} cells a sheet")
    print(f"slips per student:        mean {statistics.mean(slips):.2f}  (0-3 each)")
    print(f"cells typed per student:  mean {statistics.mean(typed):.2f}  "
          f"max {max(typed)}  total {sum(typed)} of {cells * count}")  # fmt: skip
    extra = [t - s for t, s in zip(typed, slips)]
    print(f"typed beyond the slips:   {sum(x > 0 for x in extra)} students, "
          f"{sum(x for x in extra if x > 0)} cells")  # fmt: skip
    if took:
        print(f"one typed cell re-worked and repainted: median {statistics.median(took):.1f} ms, "
              f"max {max(took):.1f} ms")  # fmt: skip
    print(f"marking the class in the page (simulated teacher): {wall:.1f} s")
    print(f"exported file grades as the papers in full: {'yes' if same else 'NO'}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--students", type=int, default=30)
    ap.add_argument("--seed", type=int, default=26)
    args = ap.parse_args()
    main_(args.students, args.seed)
