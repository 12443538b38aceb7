"""The interactive sheet in a real browser (Debian's chromium, driven by Playwright): checking
agrees with `handcalc check`, saved answers grade the same, keys move focus, user text stays
text, nothing is fetched, and it prints as the blank sheet."""

from __future__ import annotations

import io
import json
import os
import re
import shutil

import pytest
from pypdf import PdfReader

from handcalc.steps import field_name

from . import grading_vectors
from .conftest import CHROMIUM, run_cli

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing (scripts/install.sh --test)"
    ),
]


def _sheet(folder, *args) -> str:
    out = folder / "sheet.html"
    result = run_cli("generate", *args, "--interactive", "-o", str(out))
    assert result.exit_code == 0, result.output
    return out.as_uri()


@pytest.fixture(scope="module")
def sheet_url(tmp_path_factory):
    return _sheet(tmp_path_factory.mktemp("page"), "--seed", "1")


class Opened:
    """A page opened from disk, with every request and page error it made."""

    def __init__(self, browser, url, **context):
        self.context = browser.new_context(accept_downloads=True, **context)
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

        def accept(d):  # confirm() and prompt() are answered OK (a prompt with its default)
            self.dialogs.append(d.message)
            d.accept()

        self.page.on("dialog", accept)
        self.page.goto(url)

    def close(self):
        self.context.close()


@pytest.fixture
def opened(browser, sheet_url):
    o = Opened(browser, sheet_url, viewport={"width": 1280, "height": 900})
    yield o
    o.close()
    assert o.errors == []


def _verdicts(page) -> dict[str, str | None]:
    """Each input's verdict, read off the class of its cell."""
    pairs = page.eval_on_selector_all(
        "input[data-step]", "els => els.map(e => [e.name, e.parentNode.className])"
    )
    out = {}
    for name, cls in pairs:
        m = re.search(r"is-(\w+)", cls)
        out[name] = {"followthrough": "follow-through"}.get(m.group(1), m.group(1)) if m else None
    return out


def _cli_verdicts(report: dict) -> dict[str, str]:
    out = {}
    for step, res in report["steps"].items():
        for r, row in enumerate(res["cells"]):
            for c, v in enumerate(row if isinstance(row, list) else [row]):
                name = field_name(step, r, c) if isinstance(row, list) else field_name(step, r)
                if v is not None:
                    out[name] = v
    return out


def _work(seed1) -> dict:
    """A learner's work: a slip in S carried forward, decimals in colsum, A and Z blank."""
    sol = seed1
    v = sol.values
    slipped = grading_vectors.tweak(v["S"], 1, 1, v["S"][1][1] + 3)
    work = grading_vectors.full(sol, values=grading_vectors.follow(sol, {"S": slipped}))
    work["colsum"] = grading_vectors.as_answer(
        sol.exercise["colsum"],
        grading_vectors.follow(sol, {"S": slipped})["colsum"],
        grading_vectors.dec(2),
    )
    work["A"] = None
    work["Z"] = [[None] * 4 for _ in range(3)]
    work["Z"][0][0] = "0.5"
    return work


def _fill(page, work: dict, exercise) -> None:
    for s in exercise.worked:
        value = work.get(s.name)
        if value is None:
            continue
        for r, row in enumerate(value):
            for c, x in enumerate(row if isinstance(row, list) else [row]):
                if x is not None:
                    name = (
                        field_name(s.name, r, c) if isinstance(row, list) else field_name(s.name, r)
                    )
                    page.fill(f'input[name="{name}"]', str(x))


def checked_like_the_cli(browser, url: str, sol, work: dict, folder) -> tuple[dict, str, str]:
    """Fill a sheet with `work` in chromium and press Check; assert the page's verdicts are
    what `handcalc check --json` gives the same answers file, and return them with the
    report's text and the page's HTML (the walkthrough's words)."""
    opened = Opened(browser, url, viewport={"width": 1280, "height": 900})
    try:
        page = opened.page
        _fill(page, work, sol.exercise)
        page.click("#check")
        shown = _verdicts(page)
        report_text = page.inner_text("#report")
        html = page.content()
    finally:
        opened.close()
    assert opened.errors == []
    path = folder / "answers.json"
    path.write_text(json.dumps({**work, "id": sol.problem.id}))
    cli = json.loads(run_cli("check", str(path), "--json").stdout)
    assert {k: v for k, v in shown.items() if v} == _cli_verdicts(cli)
    return shown, report_text, html


def test_check_and_save_agree_with_the_cli(opened, seed1, tmp_path):
    page = opened.page
    work = _work(seed1)
    _fill(page, work, seed1.exercise)
    page.fill("#student", "Ada Lovelace")
    page.click("#check")
    shown = _verdicts(page)
    score = page.inner_text("#score")
    report_text = page.inner_text("#report")

    with page.expect_download() as dl:
        page.click("#save")
    saved = tmp_path / "answers.json"
    dl.value.save_as(saved)
    data = json.loads(saved.read_text())
    assert data["id"] == seed1.problem.id and data["student"] == "Ada Lovelace"
    assert data["colsum"] == work["colsum"] and data["A"] == [[None] * 4 for _ in range(4)]

    result = run_cli("check", str(saved), "--json")
    assert result.exit_code == 0, result.output
    cli = json.loads(result.stdout)
    assert {k: v for k, v in shown.items() if v} == _cli_verdicts(cli)
    assert f"{cli['percent']:.1f} %" in score
    assert {"correct", "follow-through", "wrong", "blank"} <= set(shown.values())
    for step in cli["steps"].values():
        for m in step["mistakes"]:
            assert m["text"] in report_text
    assert "One slip in S, row 2, column 2" in report_text

    assert opened.requests == [page.url]


def test_every_input_is_labelled_and_keys_move_in_reading_order(opened):
    page = opened.page
    labels = page.eval_on_selector_all(
        "input[data-step]", "els => els.map(e => [e.name, e.getAttribute('aria-label')])"
    )
    assert len({lab for _, lab in labels}) == len(labels) == 128
    assert page.get_by_label("S, row 2, column 3").get_attribute("name") == "S_r2_c3"
    assert page.get_by_label("colsum, entry 3").get_attribute("name") == "colsum_3"
    assert page.get_by_label("Name").get_attribute("id") == "student"

    order = [name for name, _ in labels]
    page.focus('input[name="K_r1_c1"]')
    tabbed = ["K_r1_c1"]
    for _ in range(len(order) - 1):
        page.keyboard.press("Tab")
        tabbed.append(page.evaluate("document.activeElement.name"))
    assert tabbed == order
    steps_in_order = list(dict.fromkeys(n.split("_")[0] for n in order))
    assert steps_in_order == ["K", "Q", "KT", "S", "scaled", "exp", "colsum", "A", "V", "Z"]

    def at():
        return page.evaluate("document.activeElement.name")

    page.focus('input[name="S_r2_c2"]')
    for key, want in (
        ("ArrowRight", "S_r2_c3"),
        ("ArrowDown", "S_r3_c3"),
        ("ArrowLeft", "S_r3_c2"),
        ("ArrowUp", "S_r2_c2"),
        ("ArrowUp", "S_r1_c2"),
        ("ArrowUp", "S_r1_c2"),
    ):
        page.keyboard.press(key)
        assert at() == want, key
    page.keyboard.type("12")
    page.keyboard.press("ArrowLeft")
    assert at() == "S_r1_c2"  # the caret moves inside the cell first
    page.keyboard.press("Home")
    page.keyboard.press("ArrowLeft")
    assert at() == "S_r1_c1"
    page.focus('input[name="colsum_1"]')
    page.keyboard.press("ArrowRight")
    assert at() == "colsum_2"


def test_arrows_skip_masked_cells(browser, tmp_path):
    o = Opened(browser, _sheet(tmp_path, "--seed", "4", "--causal"))
    page = o.page
    assert page.locator('input[name="S_r2_c1"]').count() == 0
    page.focus('input[name="S_r1_c3"]')
    for key, want in (("ArrowDown", "S_r2_c3"), ("ArrowDown", "S_r3_c3"), ("ArrowDown", "S_r3_c3")):
        page.keyboard.press(key)
        assert page.evaluate("document.activeElement.name") == want
    page.focus('input[name="S_r2_c2"]')
    page.keyboard.press("ArrowLeft")
    assert page.evaluate("document.activeElement.name") == "S_r2_c2"
    o.close()
    assert o.errors == []


HOSTILE_TITLE = "<script>alert(1)</script>"
HOSTILE_NAME = "<img src=x onerror=alert(2)>"


def test_hostile_title_and_name_stay_text(browser, tmp_path):
    url = _sheet(tmp_path, "--seed", "1", "--title", HOSTILE_TITLE, "--student", HOSTILE_NAME)
    o = Opened(browser, url)
    page = o.page
    page.click("#check")
    page.wait_for_timeout(200)
    assert o.dialogs == [] and o.errors == []
    assert page.locator("img").count() == 0
    assert page.locator("script").count() == 2
    assert page.inner_text("h1") == HOSTILE_TITLE
    assert page.input_value("#student") == HOSTILE_NAME
    with page.expect_download() as dl:
        page.click("#save")
    saved = tmp_path / "a.json"
    dl.value.save_as(saved)
    assert json.loads(saved.read_text())["student"] == HOSTILE_NAME
    assert o.requests == [url]
    o.close()


def _shot(page, tmp_path, name):
    path = tmp_path / name
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path), full_page=True)
    keep = os.environ.get("HANDCALC_SHOTS")
    if keep:
        shutil.copy(path, os.path.join(keep, name))
    return path


def test_screenshots_at_100_and_200_percent(browser, sheet_url, seed1, tmp_path):
    o = Opened(browser, sheet_url, viewport={"width": 1280, "height": 900})
    _fill(o.page, _work(seed1), seed1.exercise)
    o.page.click("#check")
    assert _shot(o.page, tmp_path, "sheet-100.png").stat().st_size > 20_000
    assert o.page.eval_on_selector(".item", "e => getComputedStyle(e).position") == "absolute"
    o.close()
    # 200 % zoom on a 1280 × 900 window lays out like a 640 × 450 window at twice the pixels
    z = Opened(browser, sheet_url, viewport={"width": 640, "height": 450}, device_scale_factor=2)
    _fill(z.page, _work(seed1), seed1.exercise)
    z.page.click("#check")
    assert _shot(z.page, tmp_path, "sheet-200.png").stat().st_size > 20_000
    assert z.page.eval_on_selector(".item", "e => getComputedStyle(e).position") == "static"
    assert z.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    boxes = z.page.eval_on_selector_all(
        "input[data-step]", "els => els.map(e => e.getBoundingClientRect().width)"
    )
    assert min(boxes) >= 24  # a comfortable target at this zoom
    z.close()
    assert o.errors == z.errors == []


def test_printing_gives_the_blank_sheet(opened, seed1):
    page = opened.page
    page.fill('input[name="Q_r1_c1"]', "4242")
    page.click("#check")
    pdf = PdfReader(io.BytesIO(page.pdf(prefer_css_page_size=True)))
    text = "\n".join(p.extract_text() for p in pdf.pages)
    assert len(pdf.pages) == 1
    assert seed1.problem.id in text and "Rules:" in text and "Name" in text
    for hidden in ("Check", "Save answers", "Score", "Step by step", "4242", "✓"):
        assert hidden not in text, hidden


def test_numbers_as_written_and_needs_review_agree_with_the_cli(opened, seed1, tmp_path):
    """Issue 23: mixed numbers, powers, vulgar fractions and a comma the range settles are
    read on the page as by the CLI; a cell nobody can read is marked "needs review" there too,
    and the score leaves it out."""
    page = opened.page
    sol = seed1
    work = grading_vectors.full(sol)
    exp = sol.exercise["exp"]
    work["exp"] = grading_vectors.as_answer(exp, sol.values["exp"], grading_vectors.power)
    work["exp"][1][1] = "⅓"
    work["colsum"] = grading_vectors.as_answer(
        sol.exercise["colsum"], sol.values["colsum"], grading_vectors.mixed
    )
    work["colsum"][0] = "10,000"  # 10.000: the thousands reading is no column sum here
    work["A"][0][0] = "seven"
    _fill(page, work, sol.exercise)
    page.click("#check")
    shown = {k: {"needsreview": "needs-review"}.get(v, v) for k, v in _verdicts(page).items() if v}
    score = page.inner_text("#score")
    with page.expect_download() as dl:
        page.click("#save")
    saved = tmp_path / "answers.json"
    dl.value.save_as(saved)
    cli = json.loads(run_cli("check", str(saved), "--json").stdout)
    assert shown == _cli_verdicts(cli)
    assert shown["A_r1_c1"] == "needs-review" and shown["colsum_2"] == "correct"
    assert cli["percent"] == 100 and "100.0 %" in score


def test_print_my_work_prints_the_answers_with_their_marks(opened, seed1):
    """Beside the blank print (Ctrl+P): the learner's own answers, each with its mark, and
    the report after the sheet."""
    page = opened.page
    page.fill("#student", "Ada")
    page.fill('input[name="Q_r1_c1"]', "4242")
    page.fill('input[name="Q_r1_c2"]', str(seed1.values["Q"][0][1]))
    page.click("#check")
    page.evaluate("window.print = () => {}")  # the print dialog itself is the browser's
    page.click("#print-work")
    pdf = PdfReader(io.BytesIO(page.pdf(prefer_css_page_size=True)))
    text = "\n".join(p.extract_text() for p in pdf.pages)
    assert "4242" in text and "✗" in text and "✓" in text
    # 1 of 128 cells under the default marking: `handcalc check` says 0.9 % for the same file
    assert "Step by step" in text and "Score 0.9 %" in text
    assert "Check" not in text.split("Step by step")[0]  # no tool bar
    page.evaluate("window.dispatchEvent(new Event('afterprint'))")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(page.pdf())).pages)
    assert "4242" not in text  # and Ctrl+P is blank again
