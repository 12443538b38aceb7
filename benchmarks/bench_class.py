"""A class's sheets and keys: `handcalc class` against Chromium, side by side in one run (the
machine is shared and noisy), over several rounds:
  a  `handcalc class --count N`: sheets booklet, keys booklet, answers files, manifest
     (spawned workers, each importing WeasyPrint itself)
  f  the same command with workers forked from a server that has imported WeasyPrint
     (booklet.START_METHOD = "forkserver"), for the gain
  c  headless Chromium printing the same sheets and keys (one HTML holding all 2N) to PDF,
     in one process
  a2 `handcalc generate --count N` + `handcalc key --count N` (--two): the same booklets
  b  one `generate` and one `key` process per student (--naive, slow)
Each round runs a, f and c one after another, and reports c's ratio within the round; then
the spread (min / median / max) over the rounds. Peak memory is the largest total RSS of the
command's process tree (parent, any fork server, workers), polled from /proc every 20 ms.
a is then measured once at the second size (memory in the class size). Last, a profile:
where one sheet's time goes, rendered one by one in this process.

Run from the repository root:  python benchmarks/bench_class.py [--naive] [--two] [--runs K]
[N [BIG]]   (defaults: 3 rounds, N = 30, no BIG)
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pypdf import PdfReader  # noqa: E402

from handcalc import booklet, classset, render  # noqa: E402
from handcalc.problem import Spec  # noqa: E402

CLASS_SEED = 2024
CHROMIUM = "/usr/bin/chromium"
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def _rss_kib(pid: int) -> tuple[int, list[int]]:
    """A process's resident memory and its children's ids."""
    rss, children = 0, []
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                children += [int(c) for c in fh.read().split()]
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return rss, children


def tree_rss_kib(pid: int) -> int:
    total, todo = 0, [pid]
    while todo:
        rss, children = _rss_kib(todo.pop())
        total += rss
        todo += children
    return total


def measured(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """Wall time (s) and peak RSS of the process tree (MiB) of one command."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    peak = 0
    done = threading.Event()

    def poll():
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss_kib(proc.pid))
            done.wait(0.02)

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    _, err = proc.communicate()
    elapsed = time.perf_counter() - start
    done.set()
    watcher.join()
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd[:4])} ... failed:\n{err.decode(errors='replace')}")
    return elapsed, peak / 1024


def handcalc(*args) -> list[str]:
    return [sys.executable, "-m", "handcalc", *map(str, args)]


# The class command with another start method for its workers, set before it runs.
WITH_START = (
    "import runpy, sys; import handcalc.booklet as b; b.START_METHOD = sys.argv.pop(1); "
    "runpy.run_module('handcalc', run_name='__main__')"
)


def ours(n: int, out: Path, start: str | None = None) -> tuple[float, float]:
    """a (or f): the class command, one run; `start` replaces the workers' start method."""
    args = ["class", "--count", n, "--seed", CLASS_SEED, "-o", "."]
    if start is None:
        return measured(handcalc(*args), out)
    return measured([sys.executable, "-c", WITH_START, start, *map(str, args)], out)


def two_commands(n: int, out: Path) -> tuple[float, float]:
    """a2: both booklets; time summed, peak the larger of the two runs."""
    t1, m1 = measured(
        handcalc("generate", "--count", n, "--seed", CLASS_SEED, "-o", "class.pdf"), out
    )
    t2, m2 = measured(handcalc("key", "--count", n, "--seed", CLASS_SEED, "-o", "keys.pdf"), out)
    return t1 + t2, max(m1, m2)


def naive(students, out: Path) -> tuple[float, float]:
    """b: one process per sheet, one after another."""
    total, peak = 0.0, 0.0
    for s in students:
        for kind in ("generate", "key"):
            cmd = handcalc(
                kind, "--seed", s.seed, "--student", s.name, "-o", f"{s.number}-{kind}.pdf"
            )
            t, m = measured(cmd, out)
            total, peak = total + t, max(peak, m)
    return total, peak


def chromium(students, out: Path) -> tuple[float, float, int]:
    """c: all 2N sheets in one HTML file, printed by one Chromium process."""
    views = [
        booklet.sheet_view(booklet.Job(s.problem, s.name, ()), booklet.Render(kind, "pdf"))
        for s in students
        for kind in ("blank", "key")
    ]
    page = out / "all.html"
    page.write_text(render.render_class_html(views, "class set"), encoding="utf-8")
    with tempfile.TemporaryDirectory() as profile:
        cmd = [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            f"--print-to-pdf={out / 'chromium.pdf'}",
            "--no-pdf-header-footer",
            page.as_uri(),
        ]
        t, m = measured(cmd, out)
    return t, m, len(PdfReader(out / "chromium.pdf").pages)


def pages(path: Path) -> int:
    return len(PdfReader(path).pages)


def profile(students) -> dict[str, float]:
    """Seconds per sheet (a blank and a key each) for each stage, in this one process."""
    import io

    from handcalc import pdfjoin
    from handcalc.solution import solve

    render.layout(booklet.sheet_view(booklet.Job(students[0].problem, "x", ()),
                                     booklet.Render("blank", "pdf")))  # fmt: skip  (warm up)
    took = dict.fromkeys(("solve", "view", "html", "layout", "write PDF", "join"), 0.0)
    books = [pdfjoin.Booklet(), pdfjoin.Booklet()]
    for s in students:
        t = time.perf_counter()
        solution = solve(s.problem)
        took["solve"] += time.perf_counter() - t
        job = booklet.Job(s.problem, s.name, ())
        for book, kind in zip(books, ("blank", "key")):
            t0 = time.perf_counter()
            view = booklet.sheet_view(job, booklet.Render(kind, "pdf"), solution)
            t1 = time.perf_counter()
            render.render_html(view)
            t2 = time.perf_counter()
            document = render.layout(view)
            t3 = time.perf_counter()
            data = render.render_pdf(view)  # layout again, then the PDF: write = this - layout
            t4 = time.perf_counter()
            book.add(data)  # (spooled to a file; the copying is in save, timed below)
            t5 = time.perf_counter()
            del document
            took["view"] += t1 - t0
            took["html"] += t2 - t1
            took["layout"] += (t3 - t2) - (t2 - t1)  # (layout renders the HTML itself)
            took["write PDF"] += (t4 - t3) - (t3 - t2)
            took["join"] += t5 - t4
    t = time.perf_counter()
    for book in books:
        book.save(io.BytesIO(), "profile")
    took["join"] += time.perf_counter() - t
    sheets = 2 * len(students)
    return {k: v / sheets for k, v in took.items()}


def spread(values: list[float], digits: int = 2) -> str:
    low, mid, high = min(values), statistics.median(values), max(values)
    return " / ".join(f"{v:.{digits}f}" for v in (low, mid, high))


def main(argv: list[str]) -> None:
    args = list(argv)
    naive_too = "--naive" in args
    two_too = "--two" in args
    rounds = 3
    if "--runs" in args:
        rounds = int(args[args.index("--runs") + 1])
        del args[args.index("--runs") : args.index("--runs") + 2]
    sizes = [int(a) for a in args if not a.startswith("--")]
    n = sizes[0] if sizes else 30
    big = sizes[1] if len(sizes) > 1 else None
    cores = len(os.sched_getaffinity(0))
    print(
        f"class benchmark: {n} blank sheets + {n} keys, class seed {CLASS_SEED}, {cores} cores,"
        f" {rounds} rounds, load average {os.getloadavg()[0]:.1f}"
    )
    students = classset.draw_class(Spec(), CLASS_SEED, classset.class_names(n, None))
    chromium_there = os.path.exists(CHROMIUM)
    rows, per_round = [], []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for r in range(1, rounds + 1):
            got = {}
            for key, run in (
                ("a", lambda out: ours(n, out)),
                ("f", lambda out: ours(n, out, "forkserver")),
                ("c", lambda out: chromium(students, out)[:2] if chromium_there else None),
            ):
                out = tmp / f"{key}{r}"
                out.mkdir()
                took = run(out)
                if took is None:
                    continue
                got[key] = took
                if key in "af":
                    pa = pages(out / "sheets.pdf") + pages(out / "keys.pdf")
                    label = "a  class" if key == "a" else "f  class, fork server"
                else:
                    pa = len(PdfReader(out / "chromium.pdf").pages)
                    label = "c  Chromium, one process, one HTML"
                rows.append((f"{label}, N = {n}, round {r}", *took, pa))
            per_round.append(got)
            line = f"round {r}: a {got['a'][0]:.1f} s, f {got['f'][0]:.1f} s"
            if "c" in got:
                line += f", c {got['c'][0]:.1f} s, a/c {got['a'][0] / got['c'][0]:.2f}"
            print(line, flush=True)
        if two_too:
            (tmp / "a2").mkdir()
            t2, m2 = two_commands(n, tmp / "a2")
            p2 = pages(tmp / "a2" / "class.pdf") + pages(tmp / "a2" / "keys.pdf")
            rows.append((f"a2 generate + key, 2 commands, N = {n}", t2, m2, p2))
        if naive_too:
            (tmp / "b").mkdir()
            tb, mb = naive(students, tmp / "b")
            pb = sum(pages(p) for p in (tmp / "b").glob("*.pdf"))
            rows.append((f"b  one process per sheet, {2 * n} processes", tb, mb, pb))
            ta = statistics.median(g["a"][0] for g in per_round)
            print(f"b/a = {tb / ta:.1f}  (goal at least 8)")
        if big:
            (tmp / "big").mkdir()
            tg, mg = ours(big, tmp / "big")
            pg = pages(tmp / "big" / "sheets.pdf") + pages(tmp / "big" / "keys.pdf")
            rows.append((f"a  class, N = {big}", tg, mg, pg))

    print()
    print(f"{'':48}{'seconds':>9}{'pages':>7}{'peak MiB':>10}")
    for label, t, m, p in rows:
        print(f"{label:48}{t:>9.1f}{p:>7}{m:>10.0f}")
    print()
    print(f"min / median / max over {rounds} rounds:")
    for key, what in (("a", "a  class"), ("f", "f  class, fork server"), ("c", "c  Chromium")):
        if all(key in g for g in per_round):
            times = [g[key][0] for g in per_round]
            peaks = [g[key][1] for g in per_round]
            print(f"  {what:28} {spread(times)} s   peak {spread(peaks, 0)} MiB")
    if all("c" in g for g in per_round):
        ratios = [g["a"][0] / g["c"][0] for g in per_round]
        print(f"  a/c, each round's own        {spread(ratios)}   (goal at most 1.3)")
    gains = [g["a"][0] / g["f"][0] for g in per_round]
    print(f"  a/f, each round's own        {spread(gains)}   (above 1: the fork server gains)")
    print()
    k = min(n, 10)
    shares = profile(students[:k])
    total = sum(shares.values())
    print(f"one process, {2 * k} sheets: {total * 1000:.0f} ms a sheet")
    for stage, t in shares.items():
        print(f"  {stage:10}{t * 1000:>7.0f} ms {100 * t / total:>5.0f} %")


if __name__ == "__main__":
    main(sys.argv[1:])
