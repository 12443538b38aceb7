"""The learner's page for everyone, in a real browser (Debian's chromium via Playwright): axe-core
(pinned, installed by scripts/install.sh --test) finds no WCAG 2.1 AA or best-practice
violation on every page kind, on load, after Check, during a hint, after a reveal and in the
walkthrough; a phone (375 px, mobile emulation) and 200 % zoom never scroll the page sideways
and every control is a 24 px target; the keyboard reaches Check and its report in one key."""

from __future__ import annotations

import os

import pytest

from .conftest import CHROMIUM, ROOT, run_cli
from .test_guide_browser import Page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing"),
]

AXE = ROOT / ".venv" / "node" / "node_modules" / "axe-core" / "axe.min.js"

# page kinds as generate options (Page's variants), and a drill
KINDS = ["columns", "causal", "heads", "decode", "drill", "cross", "grouped", "rows", "rope",
         "rope-decode"]


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.is_file():
        pytest.fail(f"axe-core is missing ({AXE.relative_to(ROOT)}): run scripts/install.sh --test")
    return AXE.read_text(encoding="utf-8")


def _violations(page, axe_source) -> list[tuple[str, str, int]]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=axe_source)
    return page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']}))
             .violations.map(v => [v.id, v.impact, v.nodes.length])"""
    )


def _open(browser, tmp_path, kind, **size):
    if kind == "drill":
        p = Page(browser, tmp_path, "columns", **size)
        out = tmp_path / "drill.html"
        assert run_cli("generate", "--seed", "4", "--given", "scores", "--interactive", "-o",
                       str(out)).exit_code == 0
        p.url = out.as_uri()
        p.page.goto(p.url)
        p.requests.clear()
        p.requests.append(p.url)
        return p
    return Page(browser, tmp_path, kind, **size)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("width", [1280, 375])
def test_axe_finds_nothing_in_any_state(browser, tmp_path, axe_source, kind, width):
    p = _open(browser, tmp_path, kind, width=width, height=900 if width > 400 else 740)
    page = p.page
    found = {"load": _violations(page, axe_source)}
    cells = page.locator("input[data-step]")
    cells.nth(0).fill("1")
    cells.nth(1).fill("x?")  # an unreadable cell, named in the report
    page.click("#check")
    found["check"] = _violations(page, axe_source)
    cells.nth(0).focus()
    page.click("#hint")
    found["hint"] = _violations(page, axe_source)
    cells.nth(0).focus()
    page.click("#reveal-step")
    found["reveal"] = _violations(page, axe_source)
    page.click("#walk")
    page.keyboard.press("n")
    found["walkthrough"] = _violations(page, axe_source)
    assert found == {state: [] for state in found}
    p.close()


@pytest.mark.parametrize("kind", ["columns", "heads"])
def test_a_phone_never_scrolls_sideways_and_every_target_is_24_px(browser, tmp_path, kind):
    p = Page(browser, tmp_path, kind, width=375, height=740)
    p.close()
    for size in (
        dict(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True,
             device_scale_factor=2),
        dict(viewport={"width": 640, "height": 450}, device_scale_factor=2),  # 200 % zoom
    ):
        context = browser.new_context(**size)
        page = context.new_page()
        page.goto(p.url)
        assert page.evaluate("innerWidth") == size["viewport"]["width"]  # the viewport tag
        page.locator("input[data-step]").first.fill("1")
        page.click("#check")
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= size["viewport"]["width"]
        small = page.evaluate(
            """[...document.querySelectorAll('button, input:not([type=file])')]
                 .filter(e => e.offsetParent)
                 .map(e => [e.id || e.name, e.getBoundingClientRect()])
                 .filter(([n, r]) => r.width < 24 || r.height < 24).map(([n]) => n)"""
        )
        assert small == []
        # every step's label is on the page, none off its left edge (the sums' label was)
        off = page.evaluate(
            """[...document.querySelectorAll('.item .label')]
                 .filter(e => e.getBoundingClientRect().left < 0).map(e => e.textContent)"""
        )
        assert off == []
        context.close()


def test_ctrl_enter_checks_from_anywhere_and_goes_to_the_report(browser, tmp_path):
    p = Page(browser, tmp_path)
    page = p.page
    page.fill('input[name="Q_r1_c1"]', "999")
    page.focus('input[name="Z_r3_c4"]')  # the last cell, far from the tool bar
    page.keyboard.press("Control+Enter")
    assert p.active() == "report"
    assert "Q, row 1, column 1: wrote 999" in page.inner_text("#report")
    assert page.get_attribute("#check", "aria-keyshortcuts") == "Control+Enter"
    assert page.get_attribute("#score", "role") == "status"  # the score is announced
    p.close()


def test_given_matrices_read_row_by_row_and_steps_are_headings(wide_page):
    page, sol = wide_page.page, wide_page.sol
    rows = page.evaluate(
        """[...document.querySelectorAll('.item[data-name="WQ"] table.sr tr')]
             .map(tr => [...tr.children].map(c => c.textContent))"""
    )
    want = [[f"row {r + 1}", *(str(x).replace("-", "−") for x in row)]
            for r, row in enumerate(sol.problem.given["WQ"])]
    assert rows == want
    assert page.get_attribute('.item[data-name="WQ"] .m', "aria-hidden") == "true"
    heads = page.eval_on_selector_all("h2.label, h3.label", "els => els.map(e => e.textContent)")
    assert any(h.startswith("Kᵀ") for h in heads) and any(h.startswith("S = ") for h in heads)


@pytest.fixture
def wide_page(browser, tmp_path):
    p = Page(browser, tmp_path)
    yield p
    p.close()
