"""HTML sheets printed by a real browser (Debian's chromium) come out as their PDFs do: a
blank sheet on one page, a key on two, a class set sheet by sheet, and every page carries its
own sheet's footer, though Chromium has no running elements to put it there."""

from __future__ import annotations

import io
import json

from pypdf import PdfReader

from .conftest import run_cli
from .test_browser import pytestmark  # noqa: F401  (shared marks)


def _make(*args: str) -> None:
    result = run_cli(*args)
    assert result.exit_code == 0, result.output


def _printed(browser, path) -> list[str]:
    """The text of each page Chromium prints of an HTML file."""
    page = browser.new_page()
    page.goto(path.as_uri())
    pdf = PdfReader(io.BytesIO(page.pdf(prefer_css_page_size=True)))
    page.close()
    return [p.extract_text() for p in pdf.pages]


def _pdf_pages(path) -> int:
    return len(PdfReader(path).pages)


def test_one_sheet_prints_on_the_pages_of_its_pdf(browser, tmp_path):
    for command, badge in (("generate", "Worksheet"), ("key", "Answer key")):
        html, pdf = tmp_path / f"{command}.html", tmp_path / f"{command}.pdf"
        _make(command, "--seed", "5", "-o", str(html))
        _make(command, "--seed", "5", "-o", str(pdf))
        pages = _printed(browser, html)
        assert len(pages) == _pdf_pages(pdf) == (2 if command == "key" else 1)
        sheet_id = PdfReader(pdf).pages[0].extract_text().split("sheet ID ")[1].split()[0]
        for text in pages:  # the footer on every page
            assert f"{badge} · sheet ID {sheet_id} · seed 5" in text
        # the rules once, on the first page, where the student starts
        assert "Self-attention by hand" in pages[0] and "Rules:" in pages[0]


def test_a_class_set_prints_each_sheet_with_its_own_footer(browser, tmp_path):
    out = tmp_path / "keys.html"
    _make("key", "--count", "3", "--seed", "77", "--format", "html", "-o", str(out))
    students = json.loads((tmp_path / "manifest.json").read_text())["students"]
    pages = _printed(browser, out)
    assert len(pages) == 2 * len(students)  # a key is two pages, as in the PDF booklet
    for i, text in enumerate(pages):
        student = students[i // 2]
        assert f"sheet ID {student['id']} · seed {student['seed']}" in text
        others = [s["id"] for s in students if s is not student]
        assert not any(other in text for other in others)
