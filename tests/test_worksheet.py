"""The view model: values, blanks, masks and the crossing layout, checked without rendering."""

from __future__ import annotations

import re
from fractions import Fraction

import pytest

from handcalc import steps, worksheet
from handcalc.draw import make_problem
from handcalc.problem import Spec
from handcalc.solution import solve

from .conftest import hand_solution, shown

VARIANTS = {
    "classic": Spec(),
    "heads2": Spec(heads=2),
    "heads3-causal": Spec(heads=3, causal=True),
    "causal": Spec(causal=True),
    "rows": Spec(convention="rows"),
    "rows-causal": Spec(convention="rows", causal=True),
    "dv4": Spec(d_v=4),
    "easy": Spec.for_level("easy"),
    "hard": Spec.for_level("hard"),
}


def cells(m: worksheet.MatrixView) -> list[list[str]]:
    """The first text line of each row, cut into its equal-width cells."""
    k = m.cell_chars
    out = []
    for line in m.lines[:: len(m.lines) // m.rows]:
        text = "".join(seg.text if seg.kind != "input" else " " * k for seg in line)
        out.append([text[i : i + k].strip() for i in range(0, len(text), k)])
    return out


def items(view) -> dict[str, worksheet.MatrixView]:
    out = {}
    for section in view.sections:
        for m in section.items:
            out.setdefault(m.name, m)
    return out


def test_key_cells_equal_an_independent_solution(seed1):
    want = hand_solution(seed1.problem.given)
    got = items(worksheet.build(seed1, "key"))
    for name, value in want.items():
        rows = [value] if name == "colsum" else value
        assert cells(got[name]) == [[shown(x) for x in r] for r in rows], name


def test_key_prints_three_decimals_under_fractions(seed1):
    a = items(worksheet.build(seed1, "key"))["A"]
    second = "".join(seg.text for seg in a.lines[1])
    first_row = hand_solution(seed1.problem.given)["A"][0]
    for x in first_row:
        assert f"{float(x):.3f}" in second


def test_blank_sheet_prints_givens_and_nothing_else(seed1):
    view = worksheet.build(seed1, "blank")
    for m in items(view).values():
        text = "".join(seg.text for line in m.lines for seg in line)
        if m.blank:
            assert text.strip() == "", m.name
        else:
            assert m.group == "given"
    x = cells(items(view)["X"])
    assert x == [[shown(v) for v in r] for r in seed1.problem.given["X"]]


def _box(m):
    left, top = (float(v) for v in re.findall(r"([\d.]+)mm", m.place_style))
    return left, top


@pytest.mark.parametrize("name", list(VARIANTS))
def test_each_product_sits_where_its_factors_cross(name):
    sol = solve(make_problem(seed=2, spec=VARIANTS[name]))
    ex = sol.exercise
    for section in worksheet.build(sol, "blank").sections:
        for m in section.items:
            step = ex[m.name]
            if step.kind != "product":
                continue
            left, above = step.inputs
            px, py = _box(m)
            lefts = [_box(x) for x in section.items if x.name == left]
            aboves = [_box(x) for x in section.items if x.name == above]
            assert any(y == pytest.approx(py) and x < px for x, y in lefts), (name, m.name)
            assert any(x == pytest.approx(px) and y < py for x, y in aboves), (name, m.name)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_step_is_on_the_sheet(name):
    sol = solve(make_problem(seed=2, spec=VARIANTS[name]))
    placed = {m.name for s in worksheet.build(sol, "key").sections for m in s.items}
    assert placed == {s.name for s in sol.exercise}


def test_causal_scores_are_masked_not_blank():
    sol = solve(make_problem(seed=4, spec=Spec(causal=True)))
    view = items(worksheet.build(sol, "blank"))
    n = sol.problem.spec.tokens
    for name, text in (("S", "\u2212∞"), ("scaled", "\u2212∞"), ("exp", "0"), ("A", "0")):
        masks = [seg for line in view[name].lines for seg in line if seg.kind == "mask"]
        assert len(masks) == n * (n - 1) // 2, name
        assert {seg.text.strip() for seg in masks} == {text}, name


def test_rows_convention_labels_and_landscape():
    sol = solve(make_problem(seed=2, spec=Spec(convention="rows")))
    view = worksheet.build(sol, "blank", paper="letter")
    got = items(view)
    assert got["S"].label == "S = Q·Kᵀ"
    assert got["Z"].label == "Z = A·V"
    assert "letter landscape" in view.page_css


def test_dot_product_adds_up(seed1):
    lines = worksheet.build(seed1, "key").working.dot_products
    assert [line.split("[")[0] for line in lines] == ["Q", "K", "V", "S", "Z"]
    want = hand_solution(seed1.problem.given)
    for line in lines:
        name, r, c = re.match(r"(\w+)\[(\d+)\]\[(\d+)\]", line).groups()
        *_, terms, total = line.replace("\u2212", "-").split(" = ")
        products = re.findall(r"\(([-\d/]+)\)\(([-\d/]+)\)", terms)
        assert sum(Fraction(a) * Fraction(b) for a, b in products) == Fraction(total)
        assert Fraction(total) == want[name][int(r) - 1][int(c) - 1]


def test_exact_track_differences(seed1):
    comps = worksheet.build(seed1, "key").working.comparisons
    assert [c.hand.name for c in comps] == ["scaled", "exp", "colsum", "A", "Z"]
    scaled = comps[0]
    s = hand_solution(seed1.problem.given)["S"]
    exact_first = "".join(seg.text for seg in scaled.exact.lines[0]).split()
    assert exact_first == [f"{float(x) / 3**0.5:.3f}".replace("-", "\u2212") for x in s[0]]


def test_title_student_and_id(seed1):
    view = worksheet.build(seed1, "blank", title="Week 3", student="Zoë")
    assert (view.title, view.student, view.sheet_id) == ("Week 3", "Zoë", seed1.problem.id)
    # how the numbers were drawn is for the teacher: on the key, not on the student's sheet
    assert view.seed == "1" and not view.drawing_rules
    assert worksheet.build(seed1, "key").drawing_rules
    assert worksheet.build(seed1).title == worksheet.DEFAULT_TITLE


def test_fillable_fields_cover_every_open_cell():
    sol = solve(make_problem(seed=4, spec=Spec(causal=True, convention="rows")))
    view = worksheet.build(sol, "blank", fillable=True)
    names = {
        seg.name
        for s in view.sections
        for m in s.items
        for line in m.lines
        for seg in line
        if seg.kind == "input"
    }
    from handcalc.steps import field_name

    n = sol.problem.spec.tokens
    want = set()
    for step in sol.exercise.worked:
        if step.is_vector:
            want |= {field_name(step.name, i) for i in range(step.rows)}
            continue
        for r in range(step.rows):
            for c in range(step.cols):
                hidden = step.role in ("S", "scaled", "exp", "A") and c > r
                if not hidden:
                    want.add(field_name(step.name, r, c))
    assert names == want
    assert len([x for x in names if x.startswith("S_")]) == n * (n + 1) // 2


def test_three_places_never_print_minus_zero():
    """Which side of zero a float lands on is rounding noise; a key shows 0.000 or +0.000."""
    assert worksheet._places(-1e-17, "+") == "+0.000"
    assert worksheet._places(-0.0004) == "0.000"
    assert worksheet._places(-0.0006) == "−0.001"
    assert worksheet._places(0.0123, "+") == "+0.012"


def test_exact_track_sums_are_correctly_rounded():
    """The exact track sums with math.fsum, the same on every Python (3.12 changed sum())."""
    assert steps.total([1e16, 1.0, -1e16], 0.0) == 1.0
    assert steps.total([0.1] * 10, 0.0) == 1.0
    assert steps.total([Fraction(1, 3)] * 3, Fraction(0)) == 1  # the hand track stays exact
    assert steps.matmul(((0.1,) * 10,), ((1.0,),) * 10, 0.0) == ((1.0,),)
