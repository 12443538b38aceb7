"""The page lint for HTML, in Debian's chromium: on the interactive page and the HTML sheet and
key, at 375, 768 and 1400 px windows and at 200 % zoom, no text is clipped, off-screen or over
other text (tests/html_lint.js reads the DOM boxes of every piece of text).

200 % zoom is emulated as the browser does it: a 1400 px window at 200 % lays the page out in
700 CSS px, drawn at two device pixels per CSS px (device_scale_factor=2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from handcalc import layout

from .conftest import run_cli
from .test_browser import pytestmark  # noqa: F401  (shared marks)

LINT = (Path(__file__).parent / "html_lint.js").read_text(encoding="utf-8")
VIEWS = {"375px": (375, 1), "768px": (768, 1), "1400px": (1400, 1), "200% zoom": (700, 2)}
PAGES = {
    "interactive": ("generate", "--seed", "1", "--interactive"),
    "interactive, 2 heads": ("generate", "--seed", "1", "--heads", "2", "--interactive"),
    "interactive, grouped heads": (
        "generate", "--seed", "3", "--heads", "4", "--kv-heads", "2", "--interactive",
    ),
    "interactive, rows": ("generate", "--seed", "3", "--convention", "rows", "--interactive"),
    "sheet": ("generate", "--seed", "1"),
    "key": ("key", "--seed", "1"),
    "key, 2 heads": ("key", "--seed", "1", "--heads", "2"),
}
# A printed sheet is as wide as its paper less the side margins (A4: 188 mm, 711 px): a
# narrower window scrolls sideways over the page, as a PDF viewer would. Flagged, not failed.
PAPER_PX = (210 - 2 * layout.MARGIN_SIDE) / 25.4 * 96 + 2

@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lint")
    out = {}
    for name, args in PAGES.items():
        path = folder / (name.replace(", ", "-").replace(" ", "-") + ".html")
        result = run_cli(*args, "-o", str(path))
        assert result.exit_code == 0, result.output
        out[name] = path.as_uri()
    return out


def lint(browser, url: str, width: int, scale: int) -> list[dict]:
    page = browser.new_page(viewport={"width": width, "height": 900}, device_scale_factor=scale)
    try:
        page.goto(url)
        page.wait_for_load_state("load")
        return page.evaluate(LINT)
    finally:
        page.close()


def defects(findings: list[dict], printed: bool) -> list[dict]:
    """Findings that fail: not a scroller, and a sideways scroll only beyond the paper."""
    out = []
    for f in findings:
        if f["kind"] == "scroller":
            continue
        if f["kind"] == "sideways-scroll" and printed and f["width"] <= PAPER_PX:
            continue
        out.append(f)
    return out


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("name", PAGES)
def test_no_text_is_clipped_off_screen_or_overlapping(browser, pages, name, view):
    width, scale = VIEWS[view]
    found = defects(lint(browser, pages[name], width, scale), printed="interactive" not in name)
    assert not found, found


BROKEN = """<!doctype html><html lang="en"><head><meta charset="utf-8"><style>
body { margin: 0; font: 14px sans-serif; }
.a, .b { position: absolute; top: 100px; left: 20px; }
.b { left: 40px; }
.cut { width: 40px; overflow: hidden; white-space: nowrap; }
.left { position: absolute; left: -80px; top: 200px; }
.wide { width: 3000px; margin-top: 300px; }
.scroll { width: 100px; overflow-x: auto; white-space: nowrap; }
</style></head><body>
<span class="a">first words</span><span class="b">second words</span>
<div class="cut">a sentence far too long for its box</div>
<div class="left">off to the left</div>
<div class="scroll">a long line in a box meant to scroll sideways</div>
<div class="wide">wide</div>
</body></html>"""


def test_the_lint_finds_each_kind_of_defect_on_a_broken_page(browser, tmp_path):
    path = tmp_path / "broken.html"
    path.write_text(BROKEN, encoding="utf-8")
    found = lint(browser, path.as_uri(), 768, 1)
    kinds = {(f["kind"], f["what"]) for f in found}
    assert ("overlap", "span.a / span.b") in kinds or ("overlap", "span.b / span.a") in kinds
    assert ("clipped", "div.cut") in kinds
    assert ("off-screen", "div.left") in kinds
    assert ("scroller", "div.scroll") in kinds and ("clipped", "div.scroll") not in kinds
    assert any(f["kind"] == "sideways-scroll" and f["width"] >= 3000 for f in found)


def test_the_lint_fails_a_real_sheet_whose_header_is_squeezed(browser, tmp_path):
    path = tmp_path / "sheet.html"
    assert run_cli("generate", "--seed", "1", "-o", str(path)).exit_code == 0
    html = path.read_text(encoding="utf-8")
    path.write_text(html.replace("</head>", "<style>.head { height: 9mm }</style></head>", 1))
    found = defects(lint(browser, path.as_uri(), 1400, 1), printed=True)
    assert any(f["kind"] == "clipped" and "p.instructions" in f["what"] for f in found), found
