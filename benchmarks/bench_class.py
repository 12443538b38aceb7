"""Class sets: our parallel booklet against one process per student and against Chromium.

All three make the same sheets in one run, side by side (the machine is shared and noisy):
  a  `handcalc generate --count N` + `handcalc key --count N`: two booklets, parallel workers
  b  the naive way: one `python -m handcalc generate` and one `key` process per student,
     one after another (the same problems: each student's own --seed and name)
  c  headless Chromium printing the same sheets (one HTML holding all 2N sheets) to PDF,
     in one process
Peak memory is the largest total RSS of the command's process tree (parent and workers),
polled from /proc every 20 ms. a is also measured at N = 200.

Run from the repository root:  python benchmarks/bench_class.py [N ...]
"""

from __future__ import annotations

import os
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


def ours(n: int, out: Path) -> tuple[float, float]:
    """a: both booklets; time summed, peak the larger of the two runs."""
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
        booklet.sheet_view(booklet.Job(s.problem, kind, "a4", None, s.name, False))
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


def main(sizes: list[int]) -> None:
    n, big = sizes if len(sizes) == 2 else (30, 200)
    cores = len(os.sched_getaffinity(0))
    print(
        f"class set benchmark: {n} blank sheets + {n} keys, class seed {CLASS_SEED}, {cores} cores"
    )
    students = classset.draw_class(Spec(), CLASS_SEED, classset.class_names(n, None))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for d in ("a", "b", "c", "big"):
            (tmp / d).mkdir()
        ta, ma = ours(n, tmp / "a")
        pa = pages(tmp / "a" / "class.pdf") + pages(tmp / "a" / "keys.pdf")
        tb, mb = naive(students, tmp / "b")
        pb = sum(pages(p) for p in (tmp / "b").glob("*.pdf"))
        have_chromium = os.path.exists(CHROMIUM)
        if have_chromium:
            tc, mc, pc = chromium(students, tmp / "c")
        tbig, mbig = ours(big, tmp / "big")
        pbig = pages(tmp / "big" / "class.pdf") + pages(tmp / "big" / "keys.pdf")

    print()
    print(f"{'':44}{'seconds':>9}{'pages':>7}{'peak MiB':>10}")
    print(f"{'a  class set, 2 commands, N = ' + str(n):44}{ta:>9.1f}{pa:>7}{ma:>10.0f}")
    print(
        f"{'b  one process per sheet, ' + str(2 * n) + ' processes':44}{tb:>9.1f}{pb:>7}{mb:>10.0f}"
    )
    if have_chromium:
        print(f"{'c  Chromium, one process, one HTML':44}{tc:>9.1f}{pc:>7}{mc:>10.0f}")
    print(f"{'a  class set, 2 commands, N = ' + str(big):44}{tbig:>9.1f}{pbig:>7}{mbig:>10.0f}")
    print()
    print(f"a/b = {ta / tb:.2f}  (a is {tb / ta:.1f}x faster than b; goal at least 6x)")
    if have_chromium:
        print(f"a/c = {ta / tc:.2f}  (a is {tc / ta:.1f}x faster than c; goal at least 4x)")
    print(
        f"per sheet: a {ta / (2 * n) * 1000:.0f} ms, b {tb / (2 * n) * 1000:.0f} ms"
        + (f", c {tc / (2 * n) * 1000:.0f} ms" if have_chromium else "")
        + f"; a at N = {big}: {tbig / (2 * big) * 1000:.0f} ms"
    )
    print(f"peak memory at N = {big}: {mbig:.0f} MiB (goal under 300)")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]])
