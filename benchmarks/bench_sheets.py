"""How fast sheets render, how fast the CLI starts, and what the one-box matrix layout saves.

Side by side in one run: WeasyPrint's layout alone (`HTML(...).render()`) against the full PDF
(layout, drawing, font subsetting, writing) for a blank sheet and a key; the wall time of
`handcalc generate` and `key`, on HarfBuzz's subsetter and on fontTools' slow path (forced in
scripts/slow_subsetting.py, as tests/test_fonts.py does); the CLI's start-up.

Run from the repository root:  python benchmarks/bench_sheets.py
"""

from __future__ import annotations

import html as htmlmod
import io
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pypdf import PdfReader  # noqa: E402

from handcalc import render, worksheet  # noqa: E402
from handcalc.draw import make_problem  # noqa: E402
from handcalc.solution import solve  # noqa: E402

REPEAT = 9


def median_time(f, repeat: int = REPEAT) -> float:
    return median_times(f, repeat=repeat)[0]


def median_times(*fs, repeat: int = REPEAT, clock=time.perf_counter) -> list[float]:
    """Median times of several functions run in turn, one of each per round: a busy spell on
    the shared machine then slows all of them alike instead of one, and their ratio holds."""
    times = [[] for _ in fs]
    for _ in range(repeat):
        for f, ts in zip(fs, times):
            start = clock()
            f()
            ts.append(clock() - start)
    return [statistics.median(ts) for ts in times]


def wall_and_cpu(*fs, repeat: int = REPEAT) -> tuple[list[float], list[float]]:
    """Median wall times and median CPU times (this process's, which other tenants of the
    machine do not inflate), each of its own rounds."""
    return median_times(*fs, repeat=repeat), median_times(
        *fs, repeat=repeat, clock=time.process_time
    )


def pages(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


# A handcalc process in which WeasyPrint believes HarfBuzz's subsetter is missing.
SLOW = ROOT / "scripts" / "slow_subsetting.py"


def wall(cmd: list[str], repeat: int = 3) -> float:
    """Median wall time of a command, from the repository root."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def startup(args: list[str]) -> tuple[float, bool]:
    """Median wall time of `python -m handcalc ARGS`, and whether it imported WeasyPrint."""
    cmd = [sys.executable, "-X", "importtime", "-m", "handcalc", *args]
    times, imported = [], False
    for _ in range(3):
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        imported |= bool(re.search(r"\|\s+weasyprint\s*$", done.stderr, re.M))
    return statistics.median(times), imported


def as_tables(page: str, view: worksheet.Sheet) -> str:
    """The same sheet with every matrix as a <table>, one cell per number."""
    boxes = [m for s in view.sections for m in s.items]
    if view.working:
        boxes += [m for c in view.working.comparisons for m in (c.hand, c.exact, c.difference)]
    it = iter(boxes)

    def table(_match) -> str:
        m = next(it)
        k = m.cell_chars
        per_row = len(m.lines) // m.rows
        size = re.search(r"font-size:[\d.]+pt", m.box_style).group(0)
        height = float(re.search(r"background-size:[\d.]+ch ([\d.]+)mm", m.box_style).group(1))
        rows = []
        for r in range(m.rows):
            cells = [""] * m.cols
            for line in m.lines[r * per_row : (r + 1) * per_row]:
                text = "".join(seg.text for seg in line)
                for c in range(m.cols):
                    cells[c] += " " + text[c * k : (c + 1) * k].strip()
            tds = "".join(
                f'<td style="width:{k}ch;height:{height}mm">{htmlmod.escape(c)}</td>' for c in cells
            )
            rows.append(f"<tr>{tds}</tr>")
        return f'<table class="tm {m.group}" style="{size}">{"".join(rows)}</table>'

    css = (
        "<style>.tm{border-collapse:collapse;font-family:'DejaVu Sans Mono',monospace}"
        ".tm td{border:0.45pt solid #9a9a9a;text-align:center;padding:0}</style></head>"
    )
    out = re.sub(r'<div class="m [^"]*" style="[^"]*">.*?</div>', table, page, flags=re.S)
    return out.replace("</head>", css, 1)


def main() -> None:
    sol = solve(make_problem(seed=1))
    views = {kind: worksheet.build(sol, kind) for kind in ("blank", "key")}
    render.render_pdf(views["blank"])  # warm up: WeasyPrint import, fonts

    print(f"handcalc sheet benchmark (median of {REPEAT} runs, default sizes, A4)")
    print(f"HarfBuzz's subsetter in this process: {render.fast_subsetting()}")
    print()
    print(
        f"{'':12}{'layout ms':>11}{'PDF ms':>9}{'PDF/layout':>12}{'CPU ratio':>11}"
        f"{'pages':>7}{'ms/page':>9}"
    )
    for kind, view in views.items():
        pdf = render.render_pdf(view)
        n = pages(pdf)
        (t_layout, t_pdf), (c_layout, c_pdf) = wall_and_cpu(
            lambda v=view: render.layout(v), lambda v=view: render.render_pdf(v)
        )
        print(
            f"{kind:12}{t_layout * 1000:>11.0f}{t_pdf * 1000:>9.0f}{t_pdf / t_layout:>11.2f}x"
            f"{c_pdf / c_layout:>10.2f}x{n:>7}{t_pdf * 1000 / n:>9.0f}"
        )
    print(
        "goal: a PDF at most 1.6x its layout (wall times; the CPU ratio is the same from CPU time)"
    )
    print()
    print("tagged PDF (structure tree for screen readers, the default) vs untagged, same sheets")
    print(f"{'':12}{'untagged ms':>12}{'tagged ms':>11}{'cost':>8}{'CPU cost':>10}{'bytes +':>9}")
    for kind, view in views.items():
        plain = lambda v=view: render.render_pdf(v, tagged=False)  # noqa: E731
        tagged = lambda v=view: render.render_pdf(v, tagged=True)  # noqa: E731
        (t_plain, t_tagged), (c_plain, c_tagged) = wall_and_cpu(plain, tagged)
        grown = len(tagged()) - len(plain())
        print(
            f"{kind:12}{t_plain * 1000:>12.0f}{t_tagged * 1000:>11.0f}"
            f"{t_tagged / t_plain - 1:>+8.1%}{c_tagged / c_plain - 1:>+10.1%}{grown:>9}"
        )
    print("rule: tagged is the default while it costs at most 15 % of a sheet's time")
    print()
    for kind, view in views.items():
        t = median_time(lambda v=view: render.render_html(v), repeat=20)
        print(f"{kind + ' HTML':24}{t * 1000:>10.1f} ms")

    print()
    print("wall time of one command (median of 3), HarfBuzz vs fontTools subsetting")
    with tempfile.TemporaryDirectory() as tmp:
        for cmd in ("generate", "key"):
            args = [cmd, "--seed", "100", "-o", str(Path(tmp) / f"{cmd}.pdf")]
            fast = wall([sys.executable, "-m", "handcalc", *args])
            slow = wall([sys.executable, str(SLOW), *args])
            print(
                f"  handcalc {cmd:9} {fast:>6.2f} s   slow path {slow:>6.2f} s"
                f"  ({slow / fast:.1f}x)"
            )

    print()
    print("matrix layout: one box per matrix vs a <table> per matrix (same sheets)")
    print(f"{'':24}{'box ms/page':>12}{'table ms/page':>15}")
    for kind, view in views.items():
        boxes = render.render_html(view)
        tables = as_tables(boxes, view)
        n_box, n_table = pages(render.render_pdf(boxes)), pages(render.render_pdf(tables))
        tb, tt = median_times(
            lambda h=boxes: render.render_pdf(h), lambda h=tables: render.render_pdf(h)
        )
        tb, tt = tb * 1000 / n_box, tt * 1000 / n_table
        print(f"{kind:24}{tb:>12.0f}{tt:>15.0f}")

    print()
    print("start-up of python -m handcalc")
    for args in (["--help"], ["solve", "--seed", "1", "--json"]):
        t, imported = startup(args)
        print(f"  {' '.join(args):28}{t * 1000:>7.0f} ms   imports WeasyPrint: {imported}")


if __name__ == "__main__":
    main()
