"""The interactive sheet's guide in a real browser (Debian's chromium, driven by Playwright):
each step's words beside it, hints that change nothing, reveals that are recorded and never
counted, and a walkthrough that visits every step in table order."""

from __future__ import annotations

import io
import json
import math
import os
import re
import shutil
from fractions import Fraction

import pytest
from pypdf import PdfReader

from handcalc import numbers
from handcalc.draw import draw
from handcalc.interactive import explanations
from handcalc.problem import Spec
from handcalc.steps import MASKED, field_name

from . import grading_vectors
from .conftest import CHROMIUM, run_cli

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing"),
]

# each variant as options, and as the Spec those options make
VARIANTS = {
    "columns": ([], {}),
    "heads": (["--heads", "2"], {"heads": 2}),
    "causal": (["--causal"], {"causal": True}),
    "rows": (["--convention", "rows"], {"convention": "rows"}),
    "cross": (["--queries", "3"], {"queries": 3}),
    "grouped": (["--heads", "2", "--kv-heads", "1"], {"heads": 2, "kv_heads": 1}),
    "decode": (["--decode"], {"decode": True}),
    "rope": (
        ["--rope", "--d-k", "4", "--convention", "rows"],
        {"rope": True, "d_k": 4, "convention": "rows"},
    ),
    "block": (["--block"], {"block": True, "d_in": 4, "d_v": 4}),
    "rope-decode": (["--rope", "--decode", "--d-k", "4"], {"rope": True, "decode": True, "d_k": 4}),
}


class Page:
    """One sheet opened from disk in its own browser context; records requests and errors."""

    def __init__(
        self, browser, folder, config="columns", seed=4, width=1280, height=900, clock=False
    ):
        self.sol = draw(Spec(**VARIANTS[config][1]), seed)
        out = folder / f"sheet-{config}-{width}.html"
        options = ["--seed", str(seed), *VARIANTS[config][0], "--interactive", "-o", str(out)]
        result = run_cli("generate", *options)
        assert result.exit_code == 0, result.output
        self.url = out.as_uri()
        self.context = browser.new_context(
            accept_downloads=True, viewport={"width": width, "height": height}
        )
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        # confirm() and prompt() are answered OK; False answers Cancel, a string is typed in
        self.answer: bool | str = True
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", self._dialog)
        if clock:
            self.page.clock.install()
        self.page.goto(self.url)

    def _dialog(self, d):
        self.dialogs.append(d.message)
        if self.answer is False:
            d.dismiss()
        elif self.answer is True:
            d.accept()
        else:
            d.accept(self.answer)

    def close(self):
        self.context.close()
        assert self.errors == []
        assert set(self.requests) == {self.url}  # nothing fetched: the one file is everything

    def state(self) -> dict:
        """The learner's work as the page holds it: values, read-only flags, verdict marks,
        the answers it would save, the score and the report."""
        return self.page.evaluate(
            """() => ({
              cells: handcalcSheet.inputs.map(e => [e.name, e.value, e.readOnly,
                e.parentNode.className.replace(/ ?hint-target/, ''),
                e.parentNode.querySelector('.v').textContent]),
              answers: handcalcSheet.answers(),
              score: document.getElementById('score').textContent,
              report: document.getElementById('report').textContent})"""
        )

    def fill(self, answers: dict) -> None:
        for s in self.sol.exercise.worked:
            value = answers.get(s.name)
            for r, row in enumerate(value or []):
                for c, x in enumerate(row if isinstance(row, list) else [row]):
                    name = field_name(s.name, r, c if isinstance(row, list) else None)
                    if x is not None:
                        self.page.fill(f'input[name="{name}"]', str(x))

    def active(self) -> str:
        return self.page.evaluate("document.activeElement.name || document.activeElement.id")


@pytest.fixture
def wide(browser, tmp_path):
    p = Page(browser, tmp_path)
    yield p
    p.close()


def _key_text(x) -> str:
    return "−∞" if x is MASKED else numbers.text(Fraction(x)).replace("-", "−")


def _cells(step):
    if step.is_vector:
        return [(r, None) for r in range(step.rows)]
    return [(r, c) for r in range(step.rows) for c in range(step.cols)]


def _at(value, p):
    return value[p[0]] if p[1] is None else value[p[0]][p[1]]


# --- 1. the words beside each step ---------------------------------------------------------


def test_the_words_stand_beside_their_step_on_a_wide_screen(wide):
    page, ex = wide.page, wide.sol.exercise
    words = explanations(wide.sol.problem)
    assert page.locator("#guide").is_hidden()
    for s in ex.worked:
        first = page.locator(f'input[data-step="{s.name}"]').first
        first.focus()
        guide = page.locator("#guide")
        assert guide.is_visible()
        assert words[s.name] in guide.inner_text()
        g = guide.bounding_box()
        item = first.locator("xpath=ancestor::div[contains(@class,'item')]").bounding_box()
        body = page.locator("body").bounding_box()
        assert g["x"] >= body["x"] + body["width"]  # beside the page, not over it
        assert abs(g["y"] - item["y"]) <= 1  # level with its step
    # screen readers find the same words in reading order, next to each box
    assert page.locator(".item[data-name='S'] .why").inner_text() == words["S"]


def test_the_words_are_inline_when_narrow_and_never_printed(browser, tmp_path):
    p = Page(browser, tmp_path, width=640, height=450)
    words = explanations(p.sol.problem)
    boxes = p.page.eval_on_selector_all(
        ".item",
        """els => els.map(e => { const b = r => e.querySelector(r).getBoundingClientRect();
          return [e.dataset.name, b('.label').bottom, b('.why').top, b('.why').bottom,
                  b('.why').height, b('.m').top, e.querySelector('.why').textContent]; })""",
    )
    assert {b[0] for b in boxes} == {s.name for s in p.sol.exercise}
    for name, label_bottom, top, bottom, height, m_top, text in boxes:
        assert text == words[name] and height > 20
        assert label_bottom <= top + 0.5 and bottom <= m_top + 0.5  # between label and box
    assert p.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    p.page.focus('input[name="A_r2_c3"]')
    p.page.keyboard.press("?")
    # the guide comes right after the step's box, in the flow
    assert (
        p.page.evaluate("document.getElementById('guide').previousElementSibling.dataset.name")
        == "A"
    )
    pdf = PdfReader(io.BytesIO(p.page.pdf(prefer_css_page_size=True)))
    text = " ".join(pg.extract_text() for pg in pdf.pages)
    assert len(pdf.pages) == 1
    for hidden in ("every query against every key", "probability distribution", "divided by"):
        assert hidden not in text
    p.close()


# --- 2. hints --------------------------------------------------------------------------------


def _value(text: str) -> Fraction:
    t = text.strip().strip("()").replace("−", "-")
    return Fraction(t)


def _worked_out(kind: str, hint: str, rounding: str) -> Fraction:
    """What a hint's written-out arithmetic comes to, worked here from its own numbers."""
    if kind in ("product", "affine"):  # affine: the products, then the bias last
        terms = re.search(r" = ([^=]*)\. Multiply", hint).group(1).split(" + ")
        bias = _value(terms.pop()) if kind == "affine" else 0
        products = (math.prod(_value(f) for f in t.split(" × ")) for t in terms)
        return bias + sum(products, Fraction(0))
    if kind == "add":
        a, b = re.search(r" = ([^=]*): add entry", hint).group(1).split(" + ")
        return _value(a) + _value(b)
    if kind == "relu":
        return max(_value(re.search(r"ReLU\(([^)]*)\)", hint).group(1)), Fraction(0))
    if kind == "sum":
        terms = re.search(r" = ([^=]*)\. Add them up", hint).group(1).split(" + ")
        return sum((_value(t) for t in terms), Fraction(0))
    if kind == "normalise":
        a, b = re.search(r" = ([^=]*)\. Keep it", hint).group(1).split(" / ")
        return _value(a) / _value(b)
    if kind == "scale":
        v = _value(re.search(r"(?:floor|trunc)\(([^()]*)/2\)", hint).group(1))
        return Fraction(math.floor(v / 2) if rounding == "floor" else math.trunc(v / 2))
    if kind == "exp":
        return Fraction(3) ** int(_value(re.search(r": 3\^(\(?[^.]*?\)?)\. ", hint).group(1)))
    if kind == "rotate":  # turn (a, b) -> (-b, a) as often as the hint says, here
        a, b = (_value(x) for x in re.search(r"\(a, b\) = \(([^)]*)\)", hint).group(1).split(", "))
        for _ in range(int(re.search(r"turn (\d+) quarter", hint).group(1))):
            a, b = -b, a
        return a if "pair's first" in hint else b
    return _value(re.search(r" \(([^)]*)\): ", hint).group(1))  # transpose, concat: a copy


@pytest.mark.parametrize("config", list(VARIANTS))
def test_every_hint_works_out_to_the_key_from_right_numbers(browser, tmp_path, config):
    """With every factor right, each cell's hint, done as it says, gives the key there: it
    names the right row and column (or number to divide by) for every step kind."""
    p = Page(browser, tmp_path, config)
    p.page.click("#reveal-all")
    hints = p.page.evaluate(
        "handcalcSheet.inputs.map(e => [e.name, handcalcSheet.guide.hint(e).text])"
    )
    by_name = dict(hints)
    ex, key = p.sol.exercise, p.sol.values
    kinds = set()
    for s in ex.worked:
        for pos in _cells(s):
            name = field_name(s.name, *pos)
            if name not in by_name:
                assert _at(key[s.name], pos) in (MASKED, 0)  # only masked cells have no box
                continue
            kinds.add(s.kind)
            got = _worked_out(s.kind, by_name[name], p.sol.problem.spec.rounding)
            assert got == _at(key[s.name], pos), (name, by_name[name])
    assert kinds >= {"product", "transpose", "scale", "exp", "sum", "normalise"}
    assert ("concat" in kinds) == (config in ("heads", "grouped", "decode", "rope-decode"))
    p.close()


def test_a_hint_uses_the_learners_numbers_highlights_the_factors_and_changes_nothing(wide):
    page, sol = wide.page, wide.sol
    work = grading_vectors.full(sol)
    work["Q"][0][2] = "7"  # a wrong number the hint must show as written
    work["S"] = [[None] * 4 for _ in range(4)]
    for later in ("scaled", "exp", "colsum", "A", "Z"):
        work[later] = None
    wide.fill(work)
    page.click("#check")
    before = wide.state()

    page.focus('input[name="S_r2_c3"]')
    page.keyboard.press("?")
    hint = page.inner_text("#hint-text")
    kt, q = sol.values["KT"], sol.values["Q"]
    column = ["7"] + [numbers.text(q[k][2]) for k in (1, 2)]
    terms = [f"{_paren(numbers.text(kt[1][k]))} × {_paren(column[k])}" for k in range(3)]
    assert hint == (
        "S, row 2, column 3 = row 2 of Kᵀ times column 3 of Q = "
        + " + ".join(terms)
        + ". Multiply each pair, then add."
    )
    assert wide.active() == "S_r2_c3" and page.input_value('input[name="S_r2_c3"]') == ""
    # the bands lie over row 2 of Kᵀ and column 3 of Q, where the factors cross at S
    bands = page.eval_on_selector_all(
        ".hl", "els => els.map(e => e.getBoundingClientRect().toJSON())"
    )
    assert len(bands) == 2

    def inside(name):
        box = page.locator(f'input[name="{name}"]').bounding_box()
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        return any(b["left"] < cx < b["right"] and b["top"] < cy < b["bottom"] for b in bands)

    assert all(inside(f"KT_r2_c{k}") for k in (1, 2, 3))
    assert all(inside(f"Q_r{k}_c3") for k in (1, 2, 3))
    assert not any(inside(n) for n in ("KT_r1_c1", "KT_r3_c2", "Q_r1_c2", "Q_r2_c4", "S_r1_c3"))
    assert "hint-target" in page.evaluate(
        "document.querySelector('input[name=\"S_r2_c3\"]').parentNode.className"
    )

    # a hint for every kind of step, by key and by button: the work stays exactly as it was
    for name in ("K_r1_c1", "KT_r3_c2", "scaled_r1_c1", "exp_r2_c2", "colsum_3", "A_r4_c1"):
        page.focus(f'input[name="{name}"]')
        page.keyboard.press("?")
        assert page.inner_text("#hint-text")
        page.click("#hint")
        assert wide.active() == name
    assert wide.state() == before
    page.keyboard.press("Escape")
    assert page.locator(".hl").count() == 0


def _paren(t: str) -> str:
    t = t.replace("-", "−")
    return f"({t})" if t.startswith("−") or "/" in t else t


# --- 3. reveal ------------------------------------------------------------------------------


def test_revealed_cells_are_marked_saved_and_never_counted(wide, tmp_path):
    page, sol = wide.page, wide.sol
    wide.fill(grading_vectors.full(sol))
    page.fill('input[name="S_r2_c3"]', "99")  # a wrong cell the learner then reveals
    page.click("#check")
    assert "127 of 128" in page.inner_text("#score")
    before = {c[0]: c for c in wide.state()["cells"]}

    page.focus('input[name="S_r2_c3"]')
    assert page.get_attribute("#reveal-cell", "aria-label") == "Reveal S, row 2, column 3"
    page.click("#reveal-cell")
    after = {c[0]: c for c in wide.state()["cells"]}
    changed = {n for n in after if after[n] != before[n]}
    assert changed == {"S_r2_c3"}
    name, value, readonly, cls, mark = after["S_r2_c3"]
    assert value == numbers.text(sol.values["S"][1][2]) and readonly
    assert "is-revealed" in cls and mark.startswith("◉") and "revealed" in mark
    colour = page.evaluate(
        "getComputedStyle(document.querySelector('.is-revealed .v > span')).backgroundColor"
    )
    others = page.evaluate(
        """[...new Set([...document.querySelectorAll(
             '.cell:not(.is-revealed) .v > span[aria-hidden]')]
           .map(e => getComputedStyle(e).backgroundColor))]"""
    )
    assert colour not in others and len(others) >= 1

    page.focus('input[name="colsum_1"]')
    page.click("#reveal-step")
    after2 = {c[0]: c for c in wide.state()["cells"]}
    changed = {n for n in after2 if after2[n] != after[n]}
    assert changed == {f"colsum_{k}" for k in range(1, 5)}  # right already, now revealed
    score = page.inner_text("#score")
    # the default marking: steps weigh 1, KT 1/4 (148/16 in all); S 15/16, colsum 0/4
    assert f"Score {100 * 131 / 148:.1f} %: 123 of 128" in score and "5 revealed" in score

    with page.expect_download() as dl:
        page.click("#save")
    saved = tmp_path / "answers.json"
    dl.value.save_as(saved)
    data = json.loads(saved.read_text())
    assert data["revealed"] == ["S_r2_c3"] + [f"colsum_{k}" for k in range(1, 5)]
    report = json.loads(run_cli("check", str(saved), "--json").stdout)
    assert report["percent"] == pytest.approx(100 * 131 / 148)
    assert report["counts"]["revealed"] == 5 and report["counts"]["wrong"] == 0
    assert report["steps"]["colsum"]["cells"] == ["revealed"] * 4


def test_stuck_at_the_softmax(wide):
    """The issue's learner: stuck at the softmax, reads why, gets a hint for one cell,
    reveals one cell, finishes the rest, and is scored on their own work only."""
    page, sol = wide.page, wide.sol
    work = grading_vectors.full(sol)
    wide.fill({k: v for k, v in work.items() if k not in ("A", "Z")})
    page.focus('input[name="A_r1_c1"]')
    assert "probability distribution" in page.inner_text("#guide")
    page.keyboard.press("?")
    assert "divided by colsum, entry 1" in page.inner_text("#hint-text")
    page.click("#reveal-cell")
    rest = {"A": [row[:] for row in work["A"]], "Z": work["Z"]}
    rest["A"][0][0] = None
    wide.fill(rest)
    page.click("#check")
    # A 15/16 (one cell revealed); steps weigh 1, KT 1/4: 148/16 in all
    assert f"Score {100 * 147 / 148:.1f} %: 127 of 128 cells (127 correct" in page.inner_text(
        "#score"
    )


def test_reveal_all_shows_the_whole_key(wide):
    page, sol = wide.page, wide.sol
    page.click("#reveal-all")
    page.click("#check")
    cells = wide.state()["cells"]
    assert len(cells) == 128 and all("is-revealed" in c[3] and c[2] for c in cells)
    for name, value, *_ in cells:
        step = name.split("_")[0]
        pos = next(p for p in _cells(sol.exercise[step]) if field_name(step, *p) == name)
        assert Fraction(value) == _at(sol.values[step], pos)
    assert "Score 0.0 %: 0 of 128" in page.inner_text("#score")


# --- 4. walkthrough --------------------------------------------------------------------------


@pytest.mark.parametrize("config", list(VARIANTS))
def test_the_walkthrough_visits_every_step_in_table_order(browser, tmp_path, config):
    p = Page(browser, tmp_path, config)
    page, ex = p.page, p.sol.exercise
    words = explanations(p.sol.problem)
    first = ex.worked[0]
    own = field_name(first.name, 0, None if first.is_vector else 0)
    page.fill(f'input[name="{own}"]', "5")
    before = p.state()
    page.click("#walk")
    assert page.get_attribute("#walk", "aria-pressed") == "true"

    def now():
        return page.evaluate("document.body.dataset.walkStep")

    seen = [now()]
    copies = 0
    for s in ex.worked:
        assert now() == s.name
        factors = page.eval_on_selector_all(
            ".item.hl-factor", "els => [...new Set(els.map(e => e.dataset.name))]"
        )
        assert sorted(factors) == sorted(s.inputs)
        assert words[s.name] in page.inner_text("#guide")
        shown = page.eval_on_selector_all(
            f'.item[data-name="{s.name}"] .cell .wk', "els => els.map(e => e.textContent)"
        )
        want = [
            _key_text(_at(p.sol.values[s.name], pos))
            for pos in _cells(s)
            if page.locator(f'input[name="{field_name(s.name, *pos)}"]').count()
        ]
        assert shown == want
        # a step printed again for another head (grouped heads) shows the key there too
        for copy in page.eval_on_selector_all(
            f'.item[data-name="{s.name}"]:not(:has(input)) .m',
            "els => els.map(m => [...m.querySelectorAll('.wk')].map(e => e.textContent))",
        ):
            assert copy == [_key_text(_at(p.sol.values[s.name], pos)) for pos in _cells(s)]
            copies += 1
        page.keyboard.press("ArrowRight")
        seen.append(now())
    assert seen == [s.name for s in ex.worked] + [ex.worked[-1].name]  # stops at the end
    assert (copies > 0) == (config == "grouped")
    later = page.locator(".wk").count()
    page.keyboard.press("p")
    assert now() == ex.worked[-2].name and page.locator(".wk").count() < later
    page.keyboard.press("Home")
    assert now() == ex.worked[0].name
    page.keyboard.press("End")
    assert now() == ex.worked[-1].name
    page.keyboard.press("Home")
    page.keyboard.press(" ")
    assert "space: pause" in page.inner_text("#guide")  # playing
    page.keyboard.press(" ")
    assert "space: play" in page.inner_text("#guide")  # paused where it was
    assert now() == ex.worked[0].name
    page.keyboard.press("Escape")
    assert page.evaluate("document.body.dataset.walkStep") is None
    assert page.locator(".wk").count() == 0 and page.locator(".hl-factor").count() == 0
    after = p.state()
    assert after == before  # the learner's work is untouched
    assert p.active() == "walk"
    p.close()


def test_walkthrough_announces_each_step(wide):
    page = wide.page
    page.focus("#walk")
    page.keyboard.press("Enter")
    assert page.get_attribute("#walk", "aria-pressed") == "true"
    live = page.locator("#guide-live")
    assert live.inner_text().startswith("Step 1 of 10: Q = WQ·X. Q = WQ·X: the queries")
    page.keyboard.press("n")
    assert live.inner_text().startswith("Step 2 of 10: K = WK·X.")
    page.keyboard.press("Enter")  # the focus is on the guide; Enter does nothing there
    page.keyboard.press("Escape")
    assert page.get_attribute("#walk", "aria-pressed") == "false"


# --- 5. keyboard and screen readers ---------------------------------------------------------


def test_the_tools_are_buttons_with_names_reached_by_tab(wide):
    page = wide.page
    page.focus("#save")
    order = []
    for _ in range(5):
        page.keyboard.press("Tab")
        order.append(wide.active())
    for _ in range(4):
        page.keyboard.press("Tab")
        order.append(wide.active())
    assert order == ["open", "afresh", "print-work", "hint", "reveal-cell", "reveal-step",
                     "reveal-all", "hide-key", "walk"]
    assert page.get_attribute("#hint", "aria-disabled") == "true"  # no box chosen yet
    page.focus("#reveal-cell")
    page.keyboard.press("Enter")
    assert wide.active() == "reveal-cell" and page.locator(".is-revealed").count() == 0
    assert "Pick a box first" in page.locator("#guide-live").inner_text()
    page.focus('input[name="colsum_2"]')
    words = explanations(wide.sol.problem)
    assert page.locator("#guide-live").inner_text() == "colsum = column sums: " + words["colsum"]
    assert page.get_attribute("#hint", "aria-label") == "Hint for colsum, entry 2"
    assert page.get_attribute("#reveal-step", "aria-label") == "Reveal every cell of colsum"
    page.keyboard.press("?")
    assert page.locator("#guide-live").inner_text() == page.inner_text("#hint-text")
    assert page.input_value('input[name="colsum_2"]') == ""  # "?" is not typed into the cell


def _shot(page, tmp_path, name):
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    keep = os.environ.get("HANDCALC_SHOTS")
    if keep:
        shutil.copy(path, os.path.join(keep, name))
    return path


def test_screenshots_of_the_guide_wide_and_narrow(browser, tmp_path):
    for width, height in ((1280, 900), (640, 450)):
        p = Page(browser, tmp_path, width=width, height=height)
        p.fill({k: v for k, v in grading_vectors.full(p.sol).items() if k in ("K", "Q", "KT")})
        p.page.focus('input[name="S_r2_c3"]')
        p.page.keyboard.press("?")
        p.page.focus('input[name="KT_r1_c1"]')
        p.page.click("#reveal-cell")
        p.page.focus('input[name="S_r2_c3"]')
        p.page.keyboard.press("?")
        assert _shot(p.page, tmp_path, f"guide-hint-{width}.png").stat().st_size > 20_000
        p.page.click("#walk")
        for _ in range(4):
            p.page.keyboard.press("ArrowRight")
        assert _shot(p.page, tmp_path, f"guide-walk-{width}.png").stat().st_size > 20_000
        p.close()


def test_without_room_beside_the_guide_docks_below_and_keeps_its_box_clear(browser, tmp_path):
    p = Page(browser, tmp_path, width=900, height=700)
    page = p.page
    for name in ("exp_r3_c2", "Z_r3_c4", "K_r1_c1"):
        page.focus(f'input[name="{name}"]')
        page.keyboard.press("?")
        assert page.get_attribute("#guide", "class") == "guide docked"
        cell = page.locator(f'input[name="{name}"]').bounding_box()
        guide = page.locator("#guide").bounding_box()
        assert cell["y"] + cell["height"] <= guide["y"]  # the asked box stays in sight
        assert guide["y"] + guide["height"] <= 700.5 and guide["width"] >= 890
    p.close()


def test_the_walkthrough_plays_and_pauses_anywhere(browser, tmp_path):
    p = Page(browser, tmp_path, clock=True)
    page, order = p.page, [s.name for s in p.sol.exercise.worked]

    def now():
        return page.evaluate("document.body.dataset.walkStep")

    page.click("#walk")
    page.keyboard.press(" ")  # play: a step every 5 seconds
    page.clock.run_for(5_000)
    assert now() == order[1]
    page.clock.run_for(5_000)
    assert now() == order[2]
    page.keyboard.press(" ")  # pause
    page.clock.run_for(30_000)
    assert now() == order[2]
    page.keyboard.press("n")
    assert now() == order[3]
    page.keyboard.press(" ")
    page.clock.run_for(5_000 * len(order))
    assert now() == order[-1]  # it stops at the last step
    assert "space: play" in page.inner_text("#guide")
    page.keyboard.press("Escape")
    p.close()
