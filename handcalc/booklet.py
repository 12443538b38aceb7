"""Rendering a class set: one document per sheet, rendered in parallel, written all or nothing.

PDFs are rendered by a pool of spawned worker processes started once per command (this
process never imports WeasyPrint; a fork server that imports it once is measured in
benchmarks/bench_class.py, see START_METHOD). One small WeasyPrint document per sheet keeps
the workers' memory flat however large the class; the sheets come back in class order and
pdfjoin (qpdf) joins them into one booklet, so the output is the same bytes whatever the
number of workers. Every file of a run
(booklet or split files, and the manifest) is staged and moved in together by files.Staging,
under a lock on the folder: a failure, Ctrl-C or a second run at once leaves nothing behind.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, closing
from dataclasses import dataclass, field

from . import classset, pdfjoin
from .classset import Student
from .errors import OptionError
from .files import Staging, check_target, locked, read_bytes
from .problem import Problem


@dataclass(frozen=True)
class Render:
    """One thing a worker makes of a student's problem: a sheet (blank, key or interactive)
    as PDF or HTML bytes, or as its view ("view": for an HTML booklet, made of all views)."""

    kind: str
    fmt: str
    fillable: bool = False


@dataclass(frozen=True)
class Job:
    """One student's sheets to render: everything a worker process needs, and small to send.
    The problem is solved once per job, for all of its renders."""

    problem: Problem
    student: str
    renders: tuple[Render, ...]
    paper: str = "a4"
    title: str | None = None
    working: bool = True
    code: str | None = None  # a private class's code, printed on a blank sheet for the ID
    exam: bool = False


@dataclass(frozen=True)
class Written:
    """What a class set wrote of one kind: the booklet or the split files, and the manifest."""

    files: list[str]
    pages: list[int | None]
    manifest: str
    kept: list[str] = field(default_factory=list)  # files holding a student's work, kept


def sheet_view(job: Job, want: Render, solution=None):
    """The view of one of a job's sheets (`solution`: the problem's, when already solved)."""
    from . import worksheet
    from .solution import solve

    kind = "key" if want.kind == "key" else "blank"
    return worksheet.build(
        solution or solve(job.problem),
        kind,
        paper=job.paper,
        title=job.title,
        student=job.student,
        fillable=want.fillable,
        working=job.working,
        interactive=want.kind == "interactive",
        code=job.code if kind == "blank" else None,
        exam=job.exam,
    )


def render_student(job: Job) -> list:
    """Every render of one student's job, in order (runs in a worker process)."""
    from . import render
    from .solution import solve

    solution = solve(job.problem)
    made = []
    for want in job.renders:
        view = sheet_view(job, want, solution)
        if want.fmt == "pdf":
            made.append(render.render_pdf(view))
        elif want.fmt == "html":
            made.append(render.render_html(view).encode())
        else:
            made.append(view)
    return made


def _ignore_ctrl_c() -> None:
    # Ctrl-C and a hang-up reach the whole process group; the parent alone handles them, by
    # stopping the pool (with SIGTERM, which workers therefore keep: it ends them quietly).
    for sig in (signal.SIGINT, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            signal.signal(sig, signal.SIG_IGN)


def _start_worker(command: int) -> None:
    """A worker's set-up: Ctrl-C to the command alone, and an end with it."""
    _ignore_ctrl_c()
    _end_with(command)


def _end_with(command: int) -> None:
    """End this worker quietly (by SIGTERM) as soon as its parent dies, even by SIGKILL:
    an orphan would otherwise wait for work for ever or die on a broken pipe, with a
    traceback. Linux says so at once (PR_SET_PDEATHSIG); elsewhere a thread watches. The
    parent is the command's process, or the fork server, which ends when the command does."""
    parent = os.getppid()
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        watched = libc.prctl(1, int(signal.SIGTERM), 0, 0, 0) == 0  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError, ImportError):
        watched = False
    if os.getppid() != parent or not _alive(command):  # gone before the watch began
        os._exit(0)
    if not watched:
        import threading
        import time

        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(0.5)
            os._exit(0)

        threading.Thread(target=watch, daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


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


# What a fork server imports before it forks a worker; none of them lays anything out on
# import (forking after a layout is unsafe: Pango may have started a thread).
PRELOAD = ["handcalc.booklet", "handcalc.render", "handcalc.worksheet", "weasyprint"]
# "spawn": each worker imports WeasyPrint itself. "forkserver" (Linux only) started a
# command's first sheets about 1.9 s sooner on 2 loaded cores, but a SIGTERM to the process
# group kills the server too, and the pool's restart of its workers then made the signal
# tests wait past 60 s in two runs of three: kept for the benchmark until that is solved.
START_METHOD = "spawn"


def _context():
    """The workers' start method (START_METHOD); spawn wherever a fork server is not
    available (not on macOS: it forbids much after a fork)."""
    method = START_METHOD if sys.platform.startswith("linux") else "spawn"
    ctx = multiprocessing.get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload(PRELOAD)
    return ctx


def render_all(jobs: list[Job], workers: int | None, renderer: Callable) -> Iterator:
    """`renderer(job)` for every job, in the jobs' order, run by worker processes."""
    workers = worker_count(workers, len(jobs))
    _start_tracker()
    ctx = _context()
    with ctx.Pool(workers, initializer=_start_worker, initargs=(os.getpid(),)) as pool:
        yield from pool.imap(renderer, jobs)


def _ticking(items: Iterable, progress: Callable[[int], None] | None) -> Iterator:
    for item in items:
        yield item
        if progress:
            progress(1)


@dataclass(frozen=True)
class Output:
    """One kind of file a class run writes: a booklet at `path`, or (split) one file per
    student in the folder `path`. `listed`: the manifest says where each student's is."""

    kind: str  # "blank", "key", "interactive" or "answers"
    fmt: str  # "pdf", "html" or "json"
    path: str
    split: bool
    fillable: bool = False
    listed: bool = True


def write_class_set(
    students: list[Student],
    kind: str,
    class_seed: int,
    *,
    output: str | None = None,
    split: str | None = None,
    fmt: str = "pdf",
    fillable: bool = False,
    **run,
) -> Written:
    """Every student's sheet (blank or key) as one booklet at `output` or one file each in
    `split`, with the manifest beside them, all written together or not at all (one kind of
    file of `write_class`). Kind "interactive" (a self-checking page) and "answers" (a blank
    answers file) are one file per student only. `run` holds write_class's own keywords
    (paper, title, working, workers, progress, renderer, force, exam), passed on as given so
    the two lists cannot drift apart."""
    if (output is None) == (split is None):
        raise OptionError("give -o FILE for one booklet or --split DIR for a file per student")
    if fillable and split is None:
        raise OptionError("--fillable class sets need --split DIR (one form file per student)")
    if kind in ("interactive", "answers") and split is None:
        what = "self-checking pages" if kind == "interactive" else "answers files"
        raise OptionError(f"a class's {what} need --split DIR (one file per student)")
    folder = split if split is not None else os.path.dirname(os.path.abspath(output))
    path = split if split is not None else output
    one = Output(kind, fmt, path, split is not None, fillable)
    (written,) = write_class(students, class_seed, folder, [one], **run)
    return written


def write_class(
    students: list[Student],
    class_seed: int,
    folder: str,
    outputs: list[Output],
    *,
    paper: str = "a4",
    title: str | None = None,
    working: bool = True,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
    renderer: Callable | None = None,
    force: bool = False,
    exam: bool = False,
    marking_page: str | None = None,
) -> list[Written]:
    """Every file of a class run, for every student: each of `outputs`, the manifest in
    `folder` and, when asked, the marking page at `marking_page`; under one lock on the
    folder and one staging, so all are written together or none is. Each student's problem
    is solved once, in a worker, for all of their sheets. `renderer` replaces the worker's
    job function (render_student). A split file a student writes in (an answers file, a
    fillable PDF) that differs from the blank one this run would write holds their work and
    is kept (listed in Written.kept); `force` replaces those, and a manifest that is not this
    class's. Students with private codes (classset.with_codes), or a class whose manifest is
    private, get sheets and answers files with the code for the sheet ID; `exam` makes the
    interactive pages collect answers only."""
    with locked(folder), Staging() as out, ExitStack() as files:
        previous = classset.previous_class(folder, students, force)
        if previous and previous.get("private") and not all(s.code for s in students):
            students = classset.with_codes(class_seed, students)
        if any(o.kind == "interactive" for o in outputs) and students[0].code and not exam:
            raise OptionError("a private class's pages must not check answers: add --exam")
        renders = tuple(
            Render(o.kind, o.fmt if o.split or o.fmt == "pdf" else "view", o.fillable)
            for o in outputs
            if o.kind != "answers"
        )
        jobs = [
            Job(s.problem, s.name, renders, paper, title, working, s.code, exam)
            for s in students
        ]
        out.folder(folder)
        sinks = [_Sink(o, students, folder, previous, out, force, files) for o in outputs]
        made = _made(jobs, renders, workers, renderer)
        with closing(made):
            for k, (student, results) in enumerate(zip(students, _ticking(made, progress))):
                results = iter(results)
                for sink in sinks:
                    is_answers = sink.output.kind == "answers"
                    sink.add(k, answers_file(student) if is_answers else next(results))
        heading = title or "handcalc class set"
        rows = previous
        for sink in sinks:
            sink.finish(heading)
            if sink.output.listed:
                names = sink.manifest_names()
                rows = {
                    "students": classset.manifest_rows(
                        students, sink.output.kind, names, sink.pages, rows
                    )
                }
        manifest = os.path.join(folder, classset.MANIFEST_JSON)
        for name, data in classset.manifest_files(class_seed, rows["students"]):
            out.write(os.path.join(folder, name), data, follow=False)
        if marking_page is not None:
            from . import marking

            out.write(marking_page, marking.page_of(students, paper, title).encode())
    return [Written(s.files, s.pages, manifest, s.kept) for s in sinks]


def _made(jobs: list[Job], renders, workers, renderer) -> Iterator[list]:
    """Each job's renders, in class order: PDFs by worker processes, HTML here (no PDF: not
    worth starting workers)."""
    if not renders:
        yield from ([] for _ in jobs)
    elif any(r.fmt == "pdf" for r in renders):
        yield from render_all(jobs, workers, renderer or render_student)
    else:
        yield from map(renderer or render_student, jobs)


class _Sink:
    """Where one output's files go as the students' renders come in: a booklet being
    joined, or one staged file per student (kept when it holds a student's work)."""

    def __init__(self, output: Output, students, folder, previous, out, force, files) -> None:
        self.output, self.out, self.force, self.folder = output, out, force, folder
        self.kept: list[str] = []
        self.views: list = []
        self._book = None
        n = len(students)
        if output.split:
            out.folder(output.path)
            listed = previous if output.listed else None  # (its column names another file)
            names = classset.split_names(students, output.kind, output.fmt, listed)
            self.files = [os.path.join(output.path, name) for name in names]
            sheets = output.fmt == "pdf" and output.kind in ("blank", "key")
            self.pages: list[int | None] = [1 if sheets else None] * n
        else:
            if os.path.isdir(os.path.dirname(os.path.abspath(output.path))):
                check_target(output.path)  # (in a folder still to be made, nothing is there)
            self.files = [output.path]
            self.pages = []
            if output.fmt == "pdf":
                self._book = files.enter_context(pdfjoin.Booklet())
                self._fh = files.enter_context(out.open(output.path))  # staged from the start

    def add(self, k: int, data) -> None:
        o = self.output
        if o.split:
            path = self.files[k]
            worked_in = o.kind == "answers" or o.fillable
            if worked_in and not self.force and _holds_work(path, data):
                self.kept.append(path)
            else:
                self.out.write(path, data, follow=False)  # see files.check_target
        elif self._book is not None:
            self._book.add(data)
        else:
            self.views.append(data)
            self.pages.append(None)

    def finish(self, heading: str) -> None:
        if self.output.split:
            return
        if self._book is not None:
            self.pages = self._book.save(self._fh, heading)
            self._book = None
        else:
            from . import render

            html = render.render_class_html(self.views, heading)
            self.out.write(self.output.path, html.encode())

    def manifest_names(self) -> list[str]:
        """Where each student's file is, as the manifest gives it: from its folder."""
        if self.output.split:
            return [os.path.relpath(f, self.folder) for f in self.files]
        return [os.path.relpath(self.output.path, self.folder)] * len(self.pages)


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


def answers_file(student: Student) -> bytes:
    """A student's blank answers file: their name and sheet ID filled in, every step blank."""
    from . import answers

    data = answers.blank(student.problem)
    data["student"] = student.name
    if student.code:
        data["id"] = student.code
    return answers.to_text(data).encode("utf-8")
