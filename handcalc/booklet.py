"""Rendering a class set: one document per sheet, rendered in parallel, written all or nothing.

PDFs are rendered by a pool of spawned worker processes (WeasyPrint must not be forked, and
this process never imports it), one small WeasyPrint document per sheet so memory stays flat
however large the class; the sheets come back in class order and pdfjoin (qpdf) joins them
into one booklet, so the output is the same bytes whatever the number of workers. Every file of a run
(booklet or split files, and the manifest) is staged and moved in together by files.Staging,
under a lock on the folder: a failure, Ctrl-C or a second run at once leaves nothing behind.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field

from . import classset, pdfjoin
from .classset import Student
from .errors import OptionError
from .files import Staging, check_target, locked, read_bytes
from .problem import Problem


@dataclass(frozen=True)
class Job:
    """One sheet to render: everything a worker process needs, and small to send."""

    problem: Problem
    kind: str
    paper: str
    title: str | None
    student: str
    fillable: bool
    working: bool = True
    interactive: bool = False
    code: str | None = None  # a private class's code, printed on a blank sheet for the ID
    exam: bool = False


@dataclass(frozen=True)
class Written:
    """What a class set wrote: the booklet or the split files, and the manifest."""

    files: list[str]
    pages: list[int | None]
    manifest: str
    kept: list[str] = field(default_factory=list)  # files holding a student's work, kept


def sheet_view(job: Job):
    from . import worksheet
    from .solution import solve

    return worksheet.build(
        solve(job.problem),
        job.kind,
        paper=job.paper,
        title=job.title,
        student=job.student,
        fillable=job.fillable,
        working=job.working,
        interactive=job.interactive,
        code=job.code if job.kind == "blank" else None,
        exam=job.exam,
    )


def render_sheet(job: Job) -> bytes:
    """One sheet's PDF (runs in a worker process)."""
    from . import render

    return render.render_pdf(sheet_view(job))


def _ignore_ctrl_c() -> None:
    # Ctrl-C and a hang-up reach the whole process group; the parent alone handles them, by
    # stopping the pool (with SIGTERM, which workers therefore keep: it ends them quietly).
    for sig in (signal.SIGINT, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            signal.signal(sig, signal.SIG_IGN)


def _start_worker(parent: int) -> None:
    """A worker's set-up: Ctrl-C to the parent alone, and an end with the parent."""
    _ignore_ctrl_c()
    _end_with(parent)


def _end_with(parent: int) -> None:
    """End this worker quietly (by SIGTERM) as soon as its parent dies, even by SIGKILL:
    an orphan would otherwise wait for work for ever or die on a broken pipe, with a
    traceback. Linux says so at once (PR_SET_PDEATHSIG); elsewhere a thread watches."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        watched = libc.prctl(1, int(signal.SIGTERM), 0, 0, 0) == 0  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError, ImportError):
        watched = False
    if os.getppid() != parent:  # it died before the watch began
        os._exit(0)
    if not watched:
        import threading
        import time

        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(0.5)
            os._exit(0)

        threading.Thread(target=watch, daemon=True).start()


def default_workers(jobs: int) -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, jobs))


_QUIET_TRACKER = "ignore::UserWarning:multiprocessing.resource_tracker"


def _start_tracker() -> None:
    """Start multiprocessing's resource tracker with SIGHUP ignored (kept across its exec):
    it ignores Ctrl-C and SIGTERM itself, and must outlive a hang-up as well, or it dies
    first and prints its warnings while the parent cleans up."""
    from multiprocessing import resource_tracker

    hup = getattr(signal, "SIGHUP", None)
    try:
        old = signal.signal(hup, signal.SIG_IGN) if hup else None
    except ValueError:  # not the main thread
        hup = None
    # A parent killed outright (SIGKILL) cannot release its pool's semaphores; the tracker
    # does, and need not warn about it on the user's terminal (it reads its -W options from
    # ours when it starts).
    added = _QUIET_TRACKER not in sys.warnoptions
    if added:
        sys.warnoptions.append(_QUIET_TRACKER)
    try:
        resource_tracker.ensure_running()
    finally:
        if added:
            sys.warnoptions.remove(_QUIET_TRACKER)
        if hup:
            signal.signal(hup, old)


def worker_count(asked: int | None, jobs: int) -> int:
    """The processes to start: as asked, but never more than the cores or the sheets."""
    return min(asked or jobs, default_workers(jobs))


def render_all(jobs: list[Job], workers: int | None, renderer: Callable) -> Iterator:
    """`renderer(job)` for every job, in the jobs' order, run by spawned worker processes."""
    workers = worker_count(workers, len(jobs))
    _start_tracker()
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(workers, initializer=_start_worker, initargs=(os.getpid(),)) as pool:
        yield from pool.imap(renderer, jobs)


def _ticking(items: Iterable, progress: Callable[[int], None] | None) -> Iterator:
    for item in items:
        yield item
        if progress:
            progress(1)


def write_class_set(
    students: list[Student],
    kind: str,
    class_seed: int,
    *,
    output: str | None = None,
    split: str | None = None,
    fmt: str = "pdf",
    paper: str = "a4",
    title: str | None = None,
    fillable: bool = False,
    working: bool = True,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
    renderer: Callable | None = None,
    force: bool = False,
    exam: bool = False,
) -> Written:
    """Every student's sheet (blank or key) as one booklet at `output` or one file each in
    `split`, with the manifest beside them, all written together or not at all. Kind
    "interactive" (a self-checking page) and "answers" (a blank answers file) are one file per
    student only. `renderer` replaces the worker's job function (render_sheet). A split file a student writes in (an answers file, a
    fillable PDF) that differs from the blank one this run would write holds their work and
    is kept (listed in Written.kept). `force` replaces those, and a manifest that is not this
    class's. Students with private codes (classset.with_codes), or a class whose manifest is
    private, get sheets and answers files with the code for the sheet ID; `exam` makes the
    interactive pages collect answers only."""
    if (output is None) == (split is None):
        raise OptionError("give -o FILE for one booklet or --split DIR for a file per student")
    if fillable and split is None:
        raise OptionError("--fillable class sets need --split DIR (one form file per student)")
    if kind in ("interactive", "answers") and split is None:
        what = "self-checking pages" if kind == "interactive" else "answers files"
        raise OptionError(f"a class's {what} need --split DIR (one file per student)")
    sheet_kind = "key" if kind == "key" else "blank"
    folder = split if split is not None else os.path.dirname(os.path.abspath(output))
    with locked(folder), Staging() as out:
        previous = classset.previous_class(folder, students, force)
        if previous and previous.get("private") and not all(s.code for s in students):
            students = classset.with_codes(class_seed, students)
        if kind == "interactive" and students[0].code and not exam:
            raise OptionError("a private class's pages must not check answers: add --exam")
        jobs = [
            Job(s.problem, sheet_kind, paper, title, s.name, fillable, working,
                kind == "interactive", s.code, exam)
            for s in students
        ]  # fmt: skip
        kept: list[str] = []
        if split is not None:
            out.folder(split)
            names = classset.split_names(students, kind, fmt, previous)
            files = [os.path.join(split, n) for n in names]
            sheets = fmt == "pdf" and kind in ("blank", "key")
            pages: list[int | None] = [1 if sheets else None] * len(jobs)
            worked_in = kind == "answers" or fillable
            datas = _render_files(students, jobs, kind, fmt, workers, renderer)
            with closing(datas):
                for path, data in zip(files, _ticking(datas, progress)):
                    if worked_in and not force and _holds_work(path, data):
                        kept.append(path)
                    else:
                        out.write(path, data, follow=False)  # see files.check_target
        else:
            check_target(output)
            files, names = [output], [os.path.basename(output)] * len(jobs)
            pages = _write_booklet(out, output, jobs, fmt, title, workers, progress, renderer)
        rows = classset.manifest_rows(students, kind, names, pages, previous)
        for name, data in classset.manifest_files(class_seed, rows):
            out.write(os.path.join(folder, name), data, follow=False)
    return Written(files, pages, os.path.join(folder, classset.MANIFEST_JSON), kept)


def _holds_work(path: str, blank: bytes) -> bool:
    """Whether the file at `path` is anything but the blank this run would write there:
    then a student may have written in it, and it is kept. A symlink is no student's work
    (split files never follow one: it is replaced); the read is bounded (files.read_bytes)."""
    if os.path.islink(path) or not os.path.lexists(path):
        return False
    try:
        return read_bytes(path, "split file", OSError, limit=len(blank)) != blank
    except OSError:  # bigger than the blank, not a regular file, or unreadable: keep it
        return True


def _write_booklet(out, output, jobs, fmt, title, workers, progress, renderer) -> list:
    """Stage one booklet of every sheet; the page each sheet starts on (None for HTML)."""
    heading = title or "handcalc class set"
    if fmt == "pdf":
        parts = render_all(jobs, workers, renderer or render_sheet)
        with closing(parts), out.open(output) as fh:
            return pdfjoin.join(_ticking(parts, progress), fh, heading)
    from . import render

    views = [sheet_view(j) for j in _ticking(jobs, progress)]
    out.write(output, render.render_class_html(views, heading).encode())
    return [None] * len(jobs)


def _render_files(students, jobs, kind, fmt, workers, renderer) -> Iterator[bytes]:
    """Each student's file of its own, in class order."""
    if kind == "answers":
        return (answers_file(s) for s in students)
    if fmt == "pdf":
        return render_all(jobs, workers, renderer or render_sheet)
    from . import render

    return (render.render_html(sheet_view(j)).encode() for j in jobs)


def answers_file(student: Student) -> bytes:
    """A student's blank answers file: their name and sheet ID filled in, every step blank."""
    from . import answers

    data = answers.blank(student.problem)
    data["student"] = student.name
    if student.code:
        data["id"] = student.code
    return answers.to_text(data).encode("utf-8")
