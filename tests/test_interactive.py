"""The interactive sheet without a browser: options, what the page holds and what it hides."""

from __future__ import annotations

import json
import re
from fractions import Fraction

import pytest

from handcalc import render, worksheet
from handcalc.draw import make_problem
from handcalc.grading import hidden_cells
from handcalc.problem import Spec
from handcalc.solution import solve
from handcalc.steps import field_name

from .conftest import run_cli, run_module


def _page(spec=None, seed=1) -> tuple[object, str]:
    sol = solve(make_problem(seed=seed, spec=spec or Spec()))
    return sol, render.render_html(worksheet.build(sol, "blank", interactive=True))


@pytest.mark.parametrize(
    "args,message",
    [
        (["--interactive", "-o", "{tmp}/s.pdf"], "--interactive"),
        (["--interactive", "--fillable", "-o", "{tmp}/s.html"], "pick one"),
    ],
)
def test_interactive_is_html_only(tmp_path, args, message):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = run_module("generate", "--seed", "1", *args)
    assert result.returncode == 1 and message in result.stderr
    assert result.stderr.count("\n") == 1 and not list(tmp_path.iterdir())


def test_generate_interactive_writes_one_self_contained_page(tmp_path):
    out = tmp_path / "sheet.html"
    assert run_cli("generate", "--seed", "1", "--interactive", "-o", str(out)).exit_code == 0
    page = out.read_text()
    assert page.count("<script") == 2 and "<script src" not in page
    # the grids' cells are images inside the page (data: URLs); nothing else is referred to
    tile = r"url\((&#34;|\")data:image/svg\+xml,[^\"&]*(?:&#39;[^\"&]*)*\1\)"
    assert re.search(tile, page)
    assert not re.search(r"<link|@import|url\(|src=|https?://", re.sub(tile, "", page))
    assert 'id="check"' in page and 'id="save"' in page


@pytest.mark.parametrize(
    "spec", [Spec(), Spec(causal=True), Spec(heads=2), Spec(convention="rows")]
)
def test_an_input_for_every_graded_cell_and_none_for_masked(spec):
    sol, page = _page(spec)
    hidden = hidden_cells(sol.exercise, sol.values)
    want = []
    for s in sol.exercise.worked:
        cells = (
            [(r, None) for r in range(s.rows)]
            if s.is_vector
            else [(r, c) for r in range(s.rows) for c in range(s.cols)]
        )
        want += [field_name(s.name, *p) for p in cells if p not in hidden[s.name]]
    names = re.findall(r'<input name="([^"]+)" aria-label="([^"]+)"', page)
    assert sorted(n for n, _ in names) == sorted(want)
    for name, label in names:
        step = name.split("_")[0]
        assert re.fullmatch(rf"{step}, (row \d+, column \d+|entry \d+)", label)


def test_the_page_holds_the_problem_not_the_key():
    sol, page = _page()
    data = json.loads(re.search(r'id="handcalc-data">(.*?)</script>', page, re.S).group(1))
    assert data["id"] == sol.problem.id and data["given"] == sol.problem.to_json()
    key_fractions = {
        str(x)
        for name in ("A", "colsum", "Z")
        for row in sol.values[name]
        for x in (row if isinstance(row, tuple) else (row,))
        if Fraction(x).denominator > 1
    }
    # the words beside each step are written by hand, with examples such as 3^-1 = 1/3
    # and the rules state 3^-1 = 1/3 and 3^-2 = 1/9, facts of the rule rather than answers
    numbers_only = re.sub(r'<p class="(why|rules)">.*?</p>', "", page, flags=re.S)
    assert key_fractions and not any(f in numbers_only for f in key_fractions)


def test_ordinary_sheets_carry_no_script():
    sol = solve(make_problem(seed=1))
    for kind in ("blank", "key"):
        page = render.render_html(worksheet.build(sol, kind))
        assert "<script" not in page and "<input" not in page


def test_only_a_blank_sheet_is_interactive():
    with pytest.raises(ValueError):
        worksheet.build(solve(make_problem(seed=1)), "key", interactive=True)


def test_print_footer_is_a_css_string_nothing_escapes():
    s = worksheet._css_string('a"b\\c</style>\n')
    assert '"' not in s[1:-1] and "<" not in s and "\\" in s
