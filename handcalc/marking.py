"""The marking page: one offline web page to mark a whole class's paper sheets.

It is the learner's interactive sheet (same template, grader and page script) in marking
mode: each box shows what the chosen student should have written, the teacher types only
where the paper differs, and the page exports one class answers file for `check --manifest`.
"""

from __future__ import annotations

import os

from .classset import read_manifest, students_from_manifest
from .files import check_target, write_atomic
from .solution import solve

MARKING_PAGE = "mark.html"


def page(manifest_path: str, paper: str = "a4", title: str | None = None) -> str:
    """The marking page's HTML for the class a manifest lists."""
    students = students_from_manifest(read_manifest(manifest_path), manifest_path)
    return page_of(students, paper, title)


def page_of(students, paper: str = "a4", title: str | None = None) -> str:
    """The marking page's HTML for a class's students (classset.Student)."""
    from . import render
    from .worksheet import marking_sheet

    roster = [(s.name, solve(s.problem)) for s in students]
    codes = [s.code for s in students]
    return render.render_html(marking_sheet(roster, paper, title or "Marking", codes))


def write(
    manifest_path: str, output: str | None = None, paper: str = "a4", title: str | None = None
) -> str:
    """Write the marking page (by default mark.html beside the manifest); where it went.
    The teacher's marking lives in the browser, keyed by class, so rewriting the page loses
    nothing."""
    if output is None:
        output = os.path.join(os.path.dirname(manifest_path), MARKING_PAGE)
    check_target(output)
    write_atomic(output, page(manifest_path, paper, title).encode())
    return output
