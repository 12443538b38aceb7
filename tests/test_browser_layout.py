"""The interactive sheet's boxes show what a student types in full, in a real browser, on a
wide window and in the narrow flowing layout."""

from __future__ import annotations

import pytest

from handcalc import layout
from handcalc.draw import make_problem
from handcalc.solution import solve

from .test_browser import _sheet, pytestmark  # noqa: F401  (shared marks)

# The longest answers of each kind, as typed (ASCII minus, as a keyboard gives).
TYPED = {"whole": ["-141"], "fraction": ["-141/58", "0.4655"]}


@pytest.mark.parametrize("width", [1280, 640])
def test_every_box_shows_the_longest_answer_of_its_kind_whole(browser, tmp_path, width):
    url = _sheet(tmp_path, "--seed", "1")
    ex = solve(make_problem(seed=1)).exercise
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(url)
    narrow = page.eval_on_selector(".item", "e => getComputedStyle(e).position") == "static"
    assert narrow == (width <= 820)
    for step in ex.worked:
        kind = layout.holds(ex, step)
        name = f"{step.name}_1" if step.is_vector else f"{step.name}_r1_c1"
        for text in TYPED[kind]:
            box = page.locator(f'input[name="{name}"]')
            box.fill(text)
            fits = box.evaluate("e => e.scrollWidth <= e.clientWidth")
            assert fits, (width, name, text)
    page.close()
