"""Rendering a class set: one document per sheet, rendered in parallel, written all or nothing.

PDFs are rendered by a pool of spawned worker processes (WeasyPrint must not be forked, and
this process never imports it), one small WeasyPrint document per sheet so memory stays flat
however large the class; the sheets come back in class order and pypdf merges them into one
booklet, so the output is the same bytes whatever the number of workers. A failure or Ctrl-C
leaves nothing behind: a booklet is written atomically, split files are staged in a hidden
folder and moved into place only once every sheet is done.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass

from . import classset, pdfjoin
from .classset import Student
from .errors import OptionError, OutputError
from .files import atomic_file, check_target, write_atomic
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


@dataclass(frozen=True)
class Written:
    """What a class set wrote: the booklet or the split files, and the manifest."""

    files: list[str]
    pages: list[int | None]
    manifest: str


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
    )


def render_sheet(job: Job) -> bytes:
    """One sheet's PDF (runs in a worker process)."""
    from . import render

    return render.render_pdf(sheet_view(job))


def render_parts(job: Job) -> pdfjoin.Parts:
    """One sheet's PDF split into objects for the booklet (runs in a worker process)."""
    return pdfjoin.split(render_sheet(job))


def _ignore_ctrl_c() -> None:
    # Ctrl-C reaches the whole process group; the parent alone handles it, by stopping the pool.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def default_workers(jobs: int) -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, jobs))


def render_all(jobs: list[Job], workers: int | None, renderer: Callable) -> Iterator:
    """`renderer(job)` for every job, in the jobs' order, run by spawned worker processes."""
    workers = workers or default_workers(len(jobs))
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(workers, initializer=_ignore_ctrl_c) as pool:
        yield from pool.imap(renderer, jobs)


def _ticking(items: Iterable, progress: Callable[[int], None] | None) -> Iterator:
    for item in items:
        yield item
        if progress:
            progress(1)


@contextmanager
def staged_folder(folder: str):
    """A hidden folder to write into; on success its files land in `folder`, on any failure
    it goes away. Files already in `folder` are only ever replaced by a new file of the
    same name, never deleted."""
    folder = os.path.abspath(folder)
    parent = os.path.dirname(folder)
    existed = os.path.isdir(folder)
    if os.path.exists(folder) and not existed:
        raise OutputError(f"cannot write into {folder}: it is a file")
    if not os.path.isdir(parent):
        raise OutputError(f"cannot write into {folder}: its parent folder does not exist")
    try:
        tmp = tempfile.mkdtemp(
            prefix=".handcalc-", suffix=".part", dir=folder if existed else parent
        )
    except OSError as e:
        raise OutputError(f"cannot write into {folder}: {e.strerror}") from None
    try:
        yield tmp
        if existed:
            for name in sorted(os.listdir(tmp)):
                os.replace(os.path.join(tmp, name), os.path.join(folder, name))
            os.rmdir(tmp)
        else:
            os.chmod(tmp, 0o755)
            os.rename(tmp, folder)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError):
            raise OutputError(f"cannot write into {folder}: {e.strerror}") from None
        raise


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
) -> Written:
    """Every student's sheet (blank or key) as one booklet at `output` or one file each in
    `split`, with the manifest beside them. Kind "interactive" (a self-checking page) and
    "answers" (a blank answers file) are one file per student only. `renderer` replaces the
    worker's job function (render_parts for a booklet, render_sheet for split files)."""
    if (output is None) == (split is None):
        raise OptionError("give -o FILE for one booklet or --split DIR for a file per student")
    if fillable and split is None:
        raise OptionError("--fillable class sets need --split DIR (one form file per student)")
    if kind in ("interactive", "answers") and split is None:
        what = "self-checking pages" if kind == "interactive" else "answers files"
        raise OptionError(f"a class's {what} need --split DIR (one file per student)")
    sheet_kind = "key" if kind == "key" else "blank"
    jobs = [
        Job(s.problem, sheet_kind, paper, title, s.name, fillable, working, kind == "interactive")
        for s in students
    ]
    folder = split if split is not None else os.path.dirname(os.path.abspath(output))
    if os.path.isdir(folder):
        classset.check_same_class(folder, students)
    if split is not None:
        return _write_split(
            students, jobs, kind, class_seed, split, fmt, workers, progress, renderer
        )
    check_target(output)
    heading = title or "handcalc class set"
    if fmt == "pdf":
        parts = render_all(jobs, workers, renderer or render_parts)
        with closing(parts), atomic_file(output) as fh:
            starts = pdfjoin.join(_ticking(parts, progress), fh, heading)
    else:
        from . import render

        views = [sheet_view(j) for j in _ticking(jobs, progress)]
        starts = [None] * len(jobs)
        write_atomic(output, render.render_class_html(views, heading).encode())
    name = os.path.basename(output)
    _write_manifest(folder, students, kind, class_seed, [name] * len(jobs), starts)
    manifest = os.path.join(os.path.dirname(output), classset.MANIFEST_JSON)
    return Written([output], starts, manifest)


def _write_split(students, jobs, kind, class_seed, split, fmt, workers, progress, renderer):
    names = classset.split_names(students, kind, fmt)
    if kind == "answers":
        datas = (answers_file(s) for s in students)
    elif fmt == "pdf":
        datas = render_all(jobs, workers, renderer or render_sheet)
    else:
        from . import render

        datas = (render.render_html(sheet_view(j)).encode() for j in jobs)
    previous = classset.previous_manifest(split)
    pages = [1 if fmt == "pdf" and kind in ("blank", "key") else None] * len(jobs)
    with closing(datas), staged_folder(split) as tmp:
        for name, data in zip(names, _ticking(datas, progress)):
            with open(os.path.join(tmp, name), "wb") as fh:
                fh.write(data)
        rows = classset.manifest_rows(students, kind, names, pages, previous)
        _manifest_files(tmp, class_seed, rows, plain=True)
    return Written(
        [os.path.join(split, n) for n in names], pages, os.path.join(split, classset.MANIFEST_JSON)
    )


def answers_file(student: Student) -> bytes:
    """A student's blank answers file: their name and sheet ID filled in, every step blank."""
    from . import answers

    data = answers.blank(student.problem)
    data["student"] = student.name
    return answers.to_text(data).encode("utf-8")


def _write_manifest(folder, students, kind, class_seed, files, pages) -> str:
    rows = classset.manifest_rows(students, kind, files, pages, classset.previous_manifest(folder))
    _manifest_files(folder, class_seed, rows, plain=False)
    return os.path.join(folder, classset.MANIFEST_JSON)


def _manifest_files(folder, class_seed, rows, plain: bool) -> None:
    for name, data in (
        (classset.MANIFEST_JSON, classset.manifest_json(class_seed, rows)),
        (classset.MANIFEST_CSV, classset.manifest_csv(rows)),
    ):
        path = os.path.join(folder, name)
        if plain:
            with open(path, "wb") as fh:
                fh.write(data)
        else:
            write_atomic(path, data)
