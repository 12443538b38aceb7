"""The words beside each step of the interactive sheet: one per step of every exercise table,
written for the sheet's own conventions, and on the interactive page only."""

from __future__ import annotations

import re

import pytest

from handcalc import interactive, render, worksheet
from handcalc.draw import draw, make_problem
from handcalc.problem import Spec
from handcalc.solution import solve

VARIANTS = {
    "classic": Spec(),
    "causal": Spec(causal=True),
    "rows": Spec(convention="rows"),
    "rows causal": Spec(convention="rows", causal=True),
    "heads": Spec(heads=2),
    "zero": Spec(rounding="zero"),
    "cross": Spec(queries=3),
    "grouped": Spec(heads=4, kv_heads=2, tokens=3),
    "decode": Spec(decode=True),
    "rope decode": Spec(decode=True, rope=True, d_k=2),
}


@pytest.fixture(scope="module", params=list(VARIANTS), ids=list(VARIANTS))
def problem(request):
    return draw(VARIANTS[request.param], 4).problem


def test_every_step_has_its_own_words(problem):
    words = interactive.explanations(problem)
    ex = problem.exercise
    assert list(words) == [s.name for s in ex]
    for s in ex:
        own = {s.role, f"{s.role}/{s.kind}"} & set(interactive.EXPLANATIONS)
        assert own, f"{s.role} has no words of its own"
        text = words[s.name]
        assert "{" not in text and "}" not in text and not re.search(r"-\d", text), text
        assert 60 <= len(text) <= 700, (s.name, len(text))


def test_the_words_follow_the_sheet(problem):
    words = interactive.explanations(problem)
    ex = problem.exercise
    token = "column" if ex.convention == "columns" else "row"
    if "X" in words:
        assert f"each {token} is one token" in words["X"]
    else:
        assert words["x"].startswith("The new token (a decode step)")
        assert "the cache grows by one" in words["K"] and "nothing to multiply" in words["V"]
    for s in ex.worked:
        text = words[s.name]
        if s.kind == "product":
            left, right = s.inputs
            shown = {n: ("K" + n[2:] + "ᵀ" if n.startswith("KT") else n) for n in s.inputs}
            assert f"row i of {shown[left]} times column j of {shown[right]}" in text
        masked_roles = {"S", "scaled", "exp", "A"}
        assert ("masked" in text or "mask" in text) == (ex.causal and s.role in masked_roles)
    scaled = next(s for s in ex.worked if s.role == "scaled")
    rule = "floor(−3/2) = −2" if problem.spec.rounding == "floor" else "trunc(−3/2) = −1"
    root = {2: "√2 ≈ 1.41", 3: "√3 ≈ 1.73"}[problem.spec.d_k]
    assert rule in words[scaled.name] and root in words[scaled.name]
    exp = next(s for s in ex.worked if s.role == "exp")
    assert "3ˣ stands in for eˣ" in words[exp.name] and "3^−1 = 1/3" in words[exp.name]
    a = next(s for s in ex.worked if s.role == "A")
    assert f"Each {token} of A is then a probability distribution" in words[a.name]
    shared = sum(s.role == "K" for s in ex) < ex.heads
    for s in ex.worked:
        assert ("Grouped heads" in words[s.name]) == (shared and s.role in ("K", "V", "KT"))
    if ex.heads == 2:
        assert "one under another (Z1, Z2)" in words["Zcat"]
    if ex.heads > 1:
        assert words["O"].startswith("O = WO·Zcat: the output projection")
        assert [n for n in words if "Head 2 starts here" in words[n]] == ["Q2"]


def test_a_role_without_words_falls_back_on_its_kind():
    problem = make_problem(seed=1, spec=Spec())
    s = problem.exercise["S"]
    strange = s.__class__(**{**s.__dict__, "role": "T"})
    text = interactive.explanation(strange, problem.exercise)
    assert text == "S = Kᵀ·Q. Entry (i, j) is row i of Kᵀ times column j of Q: " + (
        "multiply pair by pair, then add."
    )


def _page(interactive_page: bool) -> str:
    sol = solve(make_problem(seed=1, spec=Spec()))
    return render.render_html(worksheet.build(sol, "blank", interactive=interactive_page))


def test_only_the_interactive_page_carries_the_words():
    words = interactive.explanations(make_problem(seed=1, spec=Spec()))
    page = _page(True)
    whys = re.findall(r'<p class="why">(.*?)</p>', page)
    # X is printed twice (above Q and K, and above V)
    assert len(whys) == len(words) + 1
    assert 'class="why"' not in _page(False)
