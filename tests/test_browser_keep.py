"""Nothing a learner types is lost, in a real browser (Debian's chromium via Playwright): the
page keeps the work in the browser as it is typed (a reload, a closed tab, a new page on the
same file bring it back), Open answers loads a saved file back, Start afresh asks first, a
reveal keeps the learner's own value under the key, and the report says what `handcalc
check` says."""

from __future__ import annotations

import json
import os
from fractions import Fraction

import pytest

from handcalc import numbers
from handcalc.steps import field_name

from . import grading_vectors
from .conftest import CHROMIUM, run_cli
from .test_guide_browser import Page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing"),
]

TYPED = {"Q_r1_c1": "7", "S_r2_c3": "-1/2", "colsum_2": "0.25"}


@pytest.fixture
def wide(browser, tmp_path):
    p = Page(browser, tmp_path)
    yield p
    p.close()


def _type(page, cells: dict) -> None:
    for name, text in cells.items():
        page.click(f'input[name="{name}"]')
        page.keyboard.type(text)


def _values(page, names) -> dict:
    return {n: page.input_value(f'input[name="{n}"]') for n in names}


def _save(page, path):
    with page.expect_download() as dl:
        page.click("#save")
    dl.value.save_as(path)
    return dl.value.suggested_filename


def test_a_reload_brings_back_every_typed_value(wide):
    page = wide.page
    _type(page, TYPED)
    page.fill("#student", "Ada")
    page.reload()  # F5; the leave warning, if shown, is answered OK by the Page helper
    assert _values(page, TYPED) == TYPED
    assert page.input_value("#student") == "Ada"
    assert "back" in page.inner_text("#score")


def test_closing_the_tab_and_opening_the_file_again_brings_the_work_back(wide):
    page = wide.page
    _type(page, TYPED)
    page.close()
    again = wide.context.new_page()
    again.goto(wide.url)
    assert _values(again, TYPED) == TYPED
    wide.page = again


def test_another_sheet_in_the_same_browser_starts_empty(wide, browser, tmp_path):
    _type(wide.page, TYPED)
    other = Page(browser, tmp_path, seed=5)
    try:
        assert _values(other.page, TYPED) == {n: "" for n in TYPED}
    finally:
        other.close()


def test_leaving_with_unsaved_work_asks_and_saving_stops_the_question(wide, tmp_path):
    page = wide.page
    asked = []
    page.on("dialog", lambda d: asked.append(d.type))  # (answered OK by the Page helper)
    page.goto(wide.url)  # a fresh load with nothing typed: leaving asks nothing
    page.goto("about:blank")
    assert asked == []
    page.goto(wide.url)
    _type(page, {"Q_r1_c1": "7"})
    page.fill("#student", "Ada")
    page.goto("about:blank")
    assert asked == ["beforeunload"]
    page.goto(wide.url)  # still there (kept in the browser), still not in a file
    assert page.input_value('input[name="Q_r1_c1"]') == "7"
    _save(page, tmp_path / "a.json")
    page.goto("about:blank")
    assert asked == ["beforeunload"]  # saved to a file: leaving asks no more
    wide.page.goto(wide.url)


def test_open_answers_round_trip_and_start_afresh(wide, tmp_path):
    page, sol = wide.page, wide.sol
    work = grading_vectors.full(sol)
    wide.fill(work)
    page.fill('input[name="S_r2_c3"]', "99")
    page.fill("#student", "Ada Lovelace")
    name = _save(page, tmp_path / "saved.json")
    assert name == f"answers-Ada-Lovelace-{sol.problem.id}.json"
    before = wide.state()["answers"]

    page.click("#afresh")  # the Page helper answers the confirm OK
    assert "Start afresh?" in wide.dialogs[-1]
    assert all(v == "" for v in page.eval_on_selector_all("input[data-step]", "e=>e.map(x=>x.value)"))
    page.reload()
    assert page.input_value('input[name="S_r2_c3"]') == ""  # the browser's copy went too

    page.set_input_files("#open-file", str(tmp_path / "saved.json"))
    page.wait_for_function("document.getElementById('score').textContent.includes('Opened')")
    assert wide.state()["answers"] == before
    page.click("#check")
    assert "127 of 128" in page.inner_text("#score")

    # a file for another sheet is refused in one sentence and changes nothing
    other = json.loads((tmp_path / "saved.json").read_text())
    other["id"] = "AAAAA-BBBBB"
    (tmp_path / "other.json").write_text(json.dumps(other))
    page.set_input_files("#open-file", str(tmp_path / "other.json"))
    page.wait_for_function("document.getElementById('score').textContent.includes('AAAAA')")
    assert "is for sheet AAAAA-BBBBB, not this sheet" in page.inner_text("#score")
    assert wide.state()["answers"] == before
    (tmp_path / "junk.json").write_text("not json")
    page.set_input_files("#open-file", str(tmp_path / "junk.json"))
    page.wait_for_function("document.getElementById('score').textContent.includes('not JSON')")
    assert wide.state()["answers"] == before


def test_start_afresh_cancelled_keeps_everything(browser, tmp_path):
    p = Page(browser, tmp_path)
    page = p.page
    _type(page, TYPED)
    p.answer = False
    page.click("#afresh")
    assert _values(page, TYPED) == TYPED
    p.close()


def test_saving_without_a_name_asks_for_it(browser, tmp_path):
    p = Page(browser, tmp_path)
    page = p.page
    p.answer = "Grace Hopper"
    _type(page, TYPED)
    name = _save(page, tmp_path / "g.json")
    assert p.dialogs and "name" in p.dialogs[-1]
    assert name == f"answers-Grace-Hopper-{p.sol.problem.id}.json"
    assert json.loads((tmp_path / "g.json").read_text())["student"] == "Grace Hopper"
    assert page.input_value("#student") == "Grace Hopper"
    p.close()


# --- reveal keeps the learner's work ---------------------------------------------------------


def test_reveal_shows_the_key_over_the_learners_value_and_hide_key_brings_it_back(wide, tmp_path):
    page, sol = wide.page, wide.sol
    wide.fill(grading_vectors.full(sol))
    page.fill('input[name="S_r2_c3"]', "99")
    page.focus('input[name="S_r2_c3"]')
    page.click("#reveal-cell")
    key = numbers.text(sol.values["S"][1][2])
    assert page.input_value('input[name="S_r2_c3"]') == key
    assert wide.state()["answers"]["S"][1][2] == "99"  # saved as the learner wrote it
    page.reload()  # the key still showing, the learner's value still underneath
    assert page.input_value('input[name="S_r2_c3"]') == key
    page.click("#hide-key")
    assert page.input_value('input[name="S_r2_c3"]') == "99"
    assert not page.eval_on_selector('input[name="S_r2_c3"]', "e => e.readOnly")
    saved = wide.state()["answers"]
    assert saved["S"][1][2] == "99" and saved["revealed"] == ["S_r2_c3"]  # seen once: revealed
    _save(page, tmp_path / "r.json")
    report = json.loads(run_cli("check", str(tmp_path / "r.json"), "--json").stdout)
    assert report["steps"]["S"]["cells"][1][2] == "revealed"


def test_revealing_more_than_a_cell_asks_first(browser, tmp_path):
    p = Page(browser, tmp_path)
    page = p.page
    p.fill(grading_vectors.full(p.sol))
    before = p.state()["cells"]
    p.answer = False
    page.click("#reveal-all")
    assert p.dialogs and p.dialogs[-1].startswith("Reveal the whole key (128 cells)?")
    assert p.state()["cells"] == before
    assert "Nothing revealed" in page.inner_text("#guide-live")
    p.close()


def test_reveal_all_then_hide_key_gives_back_a_whole_sheet(wide):
    page, sol = wide.page, wide.sol
    wide.fill(grading_vectors.full(sol))
    page.click("#check")
    assert "Score 100.0 %" in page.inner_text("#score")
    mine = wide.state()["answers"]
    page.click("#reveal-all")
    assert wide.state()["answers"]["A"] == mine["A"]
    page.click("#hide-key")
    state = wide.state()
    assert {k: v for k, v in state["answers"].items() if k != "revealed"} == mine
    assert not any(c[2] for c in state["cells"])  # editable again


def test_after_revealing_a_step_later_steps_say_what_they_are_checked_against(wide):
    page, sol = wide.page, wide.sol
    v = sol.values
    # A worked with a wrong column (its own follow-through Z), then A revealed
    own_a = grading_vectors.tweak(v["A"], 0, 0, v["A"][0][0] + 1)
    work = grading_vectors.full(sol, values=grading_vectors.follow(sol, {"A": own_a}))
    wide.fill(work)
    page.click("#check")
    assert "follow-through" in page.inner_text("#report")
    page.focus('input[name="A_r1_c1"]')
    page.click("#reveal-step")
    report = page.inner_text("#report")
    assert "Checked against the key's A where you revealed it" in report


# --- the report explains as `handcalc check` does ----------------------------------------------


def test_a_wrong_cell_is_explained_in_the_words_of_handcalc_check(wide, tmp_path):
    page, sol = wide.page, wide.sol
    wide.fill(grading_vectors.full(sol))
    # two short decimals in A (one a slip would name alone)
    a = sol.values["A"]
    cells = [(r, c) for r in range(4) for c in range(4) if Fraction(a[r][c]).denominator > 1][:2]
    for r, c in cells:
        page.fill(f'input[name="{field_name("A", r, c)}"]', f"{float(a[r][c]):.1f}")
    page.fill("#student", "Ada")
    page.click("#check")
    report = page.inner_text("#report")
    _save(page, tmp_path / "d.json")
    text = run_cli("check", str(tmp_path / "d.json")).stdout
    for r, c in cells:
        said = f"wrote {float(a[r][c]):.1f} (key: {numbers.text(Fraction(a[r][c]))}"
        assert said in text
        assert f"A, row {r + 1}, column {c + 1}: {said}" in report
    assert "write at least 2 decimals" in report


def test_cell_names_in_the_report_are_those_the_page_shows(wide):
    page = wide.page
    page.fill('input[name="KT_r2_c2"]', "x?")
    page.click("#check")
    report = page.inner_text("#report")
    assert "unreadable: Kᵀ, row 2, column 2" in report and "KT_r2_c2" not in report


# --- the walkthrough -------------------------------------------------------------------------


def test_the_walkthrough_shows_no_stale_marks_and_esc_stops_it_from_the_name_field(wide):
    page = wide.page
    page.fill('input[name="Q_r1_c1"]', "4242")
    page.click("#check")
    cell = 'input[name="Q_r1_c1"]'
    assert "is-wrong" in page.eval_on_selector(cell, "e => e.parentNode.className")
    page.click("#walk")
    while page.evaluate("document.body.dataset.walkStep") != "Q":
        page.keyboard.press("n")
    # the key's value over the box carries no ✗ of the learner's value underneath
    mark = page.eval_on_selector(cell, "e => getComputedStyle(e.parentNode.querySelector('.v')).display")
    shadow = page.eval_on_selector(cell, "e => getComputedStyle(e.parentNode).boxShadow")
    assert mark == "none" and shadow == "none"
    page.focus("#student")
    page.keyboard.type("Ada n")  # typing a name is not driving the walkthrough
    assert page.input_value("#student") == "Ada n"
    assert page.evaluate("document.body.dataset.walkStep") == "Q"
    page.keyboard.press("Escape")
    assert page.get_attribute("#walk", "aria-pressed") == "false"
    assert "is-wrong" in page.eval_on_selector(cell, "e => e.parentNode.className")  # back
    assert page.input_value(cell) == "4242"
