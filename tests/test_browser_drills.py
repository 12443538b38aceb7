"""A drill's interactive sheet in a real browser: the given steps carry their values and no
inputs, the page grades only the rest, and what it saves grades the same on the CLI."""

from __future__ import annotations

import json
import os

import pytest

from handcalc.draw import make_problem
from handcalc.problem import Spec
from handcalc.solution import solve
from handcalc.steps import field_name

from . import grading_vectors
from .conftest import CHROMIUM, run_cli
from .test_browser import Opened, _verdicts

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing"),
]


def test_a_drill_page_grades_only_what_it_asks(browser, tmp_path):
    out = tmp_path / "drill.html"
    result = run_cli(
        "generate", "--seed", "5", "--given", "scores", "--interactive", "-o", str(out)
    )
    assert result.exit_code == 0, result.output
    sol = solve(make_problem(seed=5, spec=Spec(given_steps=("scores",))))
    ex = sol.exercise
    o = Opened(browser, out.as_uri(), viewport={"width": 1280, "height": 900})
    try:
        page = o.page
        names = set(page.eval_on_selector_all("input[data-step]", "els => els.map(e => e.name)"))
        assert not any(n.split("_")[0] in ("Q", "K", "V") for n in names)
        # the key for every asked step, with one slip in S carried forward
        slipped = grading_vectors.tweak(sol.values["S"], 0, 0, sol.values["S"][0][0] + 1)
        work = grading_vectors.full(sol, values=grading_vectors.follow(sol, {"S": slipped}))
        for s in ex.asked:
            for r, row in enumerate(work[s.name]):
                for c, x in enumerate(row if isinstance(row, list) else [row]):
                    name = field_name(s.name, r, c if isinstance(row, list) else None)
                    page.fill(f'input[name="{name}"]', str(x))
        page.click("#check")
        shown = _verdicts(page)
        with page.expect_download() as dl:
            page.click("#save")
        saved = tmp_path / "answers.json"
        dl.value.save_as(saved)
    finally:
        o.close()
    assert o.errors == []
    data = json.loads(saved.read_text())
    assert not {"Q", "K", "V"} & set(data)
    cli = json.loads(run_cli("check", str(saved), "--json").stdout)
    assert sorted(cli["steps"]) == sorted(s.name for s in ex.asked)
    assert set(shown.values()) <= {"correct", "follow-through", "wrong"}
    assert sum(v in ("correct", "follow-through") for v in shown.values()) == cli["credited"]
    assert len(shown) == cli["graded"]
