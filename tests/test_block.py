"""The transformer block (--block): R1 = X + Zo, F = W1·R1 + b1, H = ReLU(F), Y = W2·H + b2,
R2 = R1 + Y, checked against numpy and a hand-worked example, with its invariants, its IDs,
its problem files and its one-line errors."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest

from handcalc import answers as answers_io
from handcalc import draw, grading, steps
from handcalc.draw import from_id, make_problem
from handcalc.problem import Spec, decode_id, from_matrices
from handcalc.solution import solve

from . import grading_vectors
from .conftest import run_cli

F = Fraction


def _obj(v) -> np.ndarray:
    """Exact fractions in a numpy object array: numpy's matmul then works them exactly."""
    if v and not isinstance(v[0], tuple):
        return np.array([F(x) for x in v], dtype=object)
    return np.array([[F(x) for x in row] for row in v], dtype=object)


def _block_by_numpy(sol):
    """The block worked with numpy from the givens and the attention output alone."""
    v, cols = sol.values, sol.problem.spec.convention == "columns"
    given = sol.problem.given
    x = _obj(given["X"])
    zo = _obj(v["Z" if sol.problem.spec.heads == 1 else "O"])
    w1, b1, w2, b2 = (_obj(given[n]) for n in ("W1", "b1", "W2", "b2"))
    r1 = x + zo
    if cols:
        f = w1.dot(r1) + b1[:, None]
    else:
        f = r1.dot(w1) + b1[None, :]
    h = np.where(f > 0, f, F(0))
    y = w2.dot(h) + b2[:, None] if cols else h.dot(w2) + b2[None, :]
    return {"R1": r1, "F": f, "H": h, "Y": y, "R2": r1 + y}


SHAPES = {
    "classic": {},
    "rows": {"convention": "rows"},
    "heads2": {"heads": 2},
    "multi-query-causal": {"heads": 2, "kv_heads": 1, "causal": True},
    "rope": {"rope": True},
    "d_ff3": {"d_ff": 3},
}


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_the_block_matches_numpy_and_keeps_its_invariants(shape):
    sol = solve(make_problem(seed=11, spec=Spec.for_level("classic", block=True, **shape)))
    want = _block_by_numpy(sol)
    for name, m in want.items():
        assert np.array_equal(_obj(sol.values[name]), m), name
    f, h, y = (_obj(sol.values[n]) for n in ("F", "H", "Y"))
    assert (h >= 0).all() and np.array_equal(h, np.where(f > 0, f, 0))
    assert np.array_equal(_obj(sol.values["R2"]) - _obj(sol.values["R1"]), y)
    # the drawing rules: small denominators, entries within ±20, ReLU zeroes one and keeps one
    cells = [F(c) for n in ("F", "H", "Y", "R2") for row in sol.values[n] for c in row]
    assert all(c.denominator <= 100 and abs(c) <= 20 for c in cells)
    assert (f < 0).any() and (f > 0).any()


def test_a_hand_worked_block():
    # S = 0 everywhere (no query or key weights), so A = 1/2 and Z is the mean of V = X:
    # Z = (1/2, 1/2) for both tokens; R1 = X + Z = [[3/2, 1/2], [1/2, 3/2]].
    # W1·R1 = [[1, -1], [-2, -2]]; + b1 (0, 1): F = [[1, -1], [-1, -1]]; H = [[1, 0], [0, 0]].
    # W2·H = [[2, 0], [1, 0]]; + b2 (0, -1): Y = [[2, 0], [0, -1]]; R2 = [[7/2, 1/2], [1/2, 1/2]].
    data = {
        "X": [[1, 0], [0, 1]],
        "WQ": [[0, 0], [0, 0]],
        "WK": [[0, 0], [0, 0]],
        "WV": [[1, 0], [0, 1]],
        "W1": [[1, -1], [-1, -1]],
        "b1": [0, 1],
        "W2": [[2, 0], [1, 1]],
        "b2": [0, -1],
    }
    sol = solve(from_matrices(data))
    v = sol.values
    assert v["Z"] == ((F(1, 2), F(1, 2)), (F(1, 2), F(1, 2)))
    assert v["R1"] == ((F(3, 2), F(1, 2)), (F(1, 2), F(3, 2)))
    assert v["F"] == ((1, -1), (-1, -1))
    assert v["H"] == ((1, 0), (0, 0))
    assert v["Y"] == ((2, 0), (0, -1))
    assert v["R2"] == ((F(7, 2), F(1, 2)), (F(1, 2), F(1, 2)))
    assert sol.problem.spec.block and sol.problem.spec.d_ff == 2


def test_the_json_contract_names_the_block():
    made = run_cli("solve", "--seed", "3", "--block", "--json")
    assert made.exit_code == 0
    data = json.loads(made.stdout)
    assert list(data["problem"]) == ["X", "WQ", "WK", "WV", "W1", "b1", "W2", "b2"]
    assert all(isinstance(x, int) for x in data["problem"]["b1"] + data["problem"]["b2"])
    assert len(data["problem"]["b1"]) == 2 and len(data["problem"]["b2"]) == 4
    assert list(data["steps"])[-5:] == ["R1", "F", "H", "Y", "R2"]
    assert {"R1", "F", "H", "Y", "R2"} <= set(data["exact"])
    back = json.loads(run_cli("solve", "--id", data["id"], "--json").stdout)
    assert back["steps"] == data["steps"]


@pytest.mark.parametrize(
    "shape",
    [{}, {"rope": True, "causal": True}, {"heads": 3}, {"given_steps": ("relu",)}, {"d_ff": 4}],
    ids=["plain", "rope-causal", "heads3", "drill", "d_ff4"],
)
def test_ids_bring_the_block_back(shape):
    problem = make_problem(seed=8, spec=Spec.for_level("classic", block=True, **shape))
    full = decode_id(problem.id)
    assert full.given == problem.given and full.spec.block
    assert full.spec.d_ff == problem.spec.d_ff
    assert full.exercise.steps == problem.exercise.steps
    assert full.exercise.shown == problem.exercise.shown
    back = from_id(problem.sheet_id)
    assert back.given == problem.given and back.exercise.steps == problem.exercise.steps


def test_a_problem_file_brings_the_block_back(tmp_path):
    path = tmp_path / "p.json"
    assert run_cli("problem", "--seed", "9", "--block", "-o", str(path)).exit_code == 0
    data = json.loads(path.read_text())
    assert isinstance(data["b1"], list) and not isinstance(data["b1"][0], list)
    solved = json.loads(run_cli("solve", "--from", str(path), "--json").stdout)
    drawn = json.loads(run_cli("solve", "--seed", "9", "--block", "--json").stdout)
    assert solved["steps"] == drawn["steps"]
    for bad, words in (
        ({"b1": [[1], [0]]}, "b1 must be a flat list"),
        ({"b1": [1, 0, 1]}, "b1 has 3 entries but must have 2"),
        ({"b1": [1]}, "b1 has 1 entry but must have 2"),
        ({"b2": [1, "x", 0, 0]}, "b2 holds"),
        ({"W1": None}, "W1 must be a non-empty list"),
        ({"WV": data["WV"][:3]}, "one head needs d_v = d_in"),
    ):
        path.write_text(json.dumps({**data, **bad}))
        result = run_cli("solve", "--from", str(path))
        assert result.exit_code == 1 and words in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1


def test_the_block_drills_start_at_r1_or_at_f():
    ex = Spec.for_level("classic", block=True, given_steps=("block",)).exercise()
    assert [s.name for s in ex.asked] == ["F", "H", "Y", "R2"]
    ex = Spec.for_level("classic", block=True, given_steps=("relu",)).exercise()
    assert [s.name for s in ex.asked] == ["H", "Y", "R2"]
    result = run_cli("solve", "--seed", "1", "--given", "relu")
    assert result.exit_code == 1 and "no R1, F (add --block)" in result.output


def test_unsupported_combinations_are_one_line_errors():
    for args, words in (
        (("--decode",), "not --decode"),
        (("--queries", "2"), "not --queries"),
        (("--d-v", "3"), "--d-v equal to --d-in (4)"),
        (("--heads", "2", "--no-output-projection"), "drop --no-output-projection"),
        (("--d-ff", "9"), "--d-ff must be a whole number from 1 to 8"),
    ):
        result = run_cli("solve", "--seed", "1", "--block", *args)
        assert result.exit_code == 1, args
        assert words in result.output and len(result.output.strip().splitlines()) == 1
    result = run_cli("solve", "--seed", "1", "--d-ff", "3")
    assert result.exit_code == 1 and "add --block" in result.output


def test_steps_relu_and_bias_by_hand():
    assert steps.relu(F(-1, 3)) == 0 and steps.relu(F(2, 3)) == F(2, 3) and steps.relu(0) == 0
    assert steps.relu(-0.5) == 0.0
    assert steps.add_bias(((1, 2), (3, 4)), (10, 20), "columns") == ((11, 12), (23, 24))
    assert steps.add_bias(((1, 2), (3, 4)), (10, 20), "rows") == ((11, 22), (13, 24))


def test_other_sheets_neither_print_nor_count_the_block_rules():
    plain = Spec.for_level("classic")
    assert not any("ReLU" in r for r in draw.sheet_rules(plain))
    assert any("ReLU" in r for r in draw.sheet_rules(Spec.for_level("classic", block=True)))
    assert "relu" not in draw.stress(plain, 1, 10).rejected_by


def _work(seed: int, changed: dict | None = None, **spec):
    sol = solve(make_problem(seed=seed, spec=Spec.for_level("classic", block=True, **spec)))
    values = grading_vectors.follow(sol, changed(sol.values) if changed else {})
    return sol, grading_vectors.full(sol, values=values)


def test_check_follows_a_slip_in_f_through_to_r2(tmp_path):
    def slip(v):
        return {"F": tuple(tuple(x + (r == 0 and c == 1) for c, x in enumerate(row))
                           for r, row in enumerate(v["F"]))}

    sol, work = _work(6, slip)
    path = tmp_path / "answers.json"
    path.write_text(json.dumps({**work, "id": sol.problem.id}))
    result = run_cli("check", str(path), "--json")
    assert result.exit_code == 0
    got = json.loads(result.stdout)["steps"]
    assert got["F"]["mistakes"][0]["kind"] == "slip"
    assert got["F"]["cells"][0][1] == "wrong"
    later = {c for name in ("H", "Y", "R2") for row in got[name]["cells"] for c in row}
    assert later <= {"correct", "follow-through"} and "follow-through" in later
    # the text report says the mistake in words
    text = run_cli("check", str(path)).stdout
    assert "One slip in F, row 1, column 2" in text


@pytest.mark.parametrize(
    "kind, changed",
    [
        ("bias-left-out", lambda v: {"F": steps.matmul(v["W1"], v["R1"])}),
        ("relu-kept-negative", lambda v: {"H": v["F"]}),
        ("residual-forgotten", lambda v: {"R2": v["Y"]}),
    ],
)
def test_the_block_mistakes_are_named(tmp_path, kind, changed):
    sol, work = _work(7, changed)
    path = tmp_path / "answers.json"
    path.write_text(json.dumps({**work, "id": sol.problem.id}))
    got = json.loads(run_cli("check", str(path), "--json").stdout)["steps"]
    named = {m["kind"] for s in got.values() for m in s["mistakes"]}
    assert named == {kind}


def test_sheet_and_key_read_back_from_pdf(tmp_path):
    from pypdf import PdfReader

    sheet, key = tmp_path / "sheet.pdf", tmp_path / "key.pdf"
    assert run_cli("generate", "--seed", "4", "--block", "-o", str(sheet)).exit_code == 0
    assert run_cli("key", "--seed", "4", "--block", "-o", str(key)).exit_code == 0
    blank = "\n".join(p.extract_text() for p in PdfReader(sheet).pages)
    assert len(PdfReader(sheet).pages) == 2 and "A transformer block by hand" in blank
    assert "no LayerNorm" in blank and "F = W1·R1 + b1" in blank and "H = ReLU(F)" in blank
    text = "\n".join(p.extract_text() for p in PdfReader(key).pages)
    sol = solve(make_problem(seed=4, spec=Spec.for_level("classic", block=True)))
    r2 = sol.values["R2"]
    from handcalc import numbers

    for row in r2:  # every entry of R2 is printed on the key
        for x in row:
            assert numbers.text(x).replace("-", "−") in text
    assert "No LayerNorm on the sheet: what it would give" in text
    # LayerNorm of token 1 on the exact track, recomputed here
    t = np.array([row[0] for row in sol.exact["R2"]], dtype=float)
    normed = (t - t.mean()) / np.sqrt(t.var() + 1e-5)
    assert f"{normed[0]:.3f}".replace("-", "−") in text
    assert "F[" in text and "+ b1[" in text  # the working writes a bias out


def test_a_filled_block_form_grades_like_its_json(tmp_path):
    from .test_fillable_roundtrip import graded_as_form_and_as_json

    blank = tmp_path / "blank.pdf"
    made = run_cli("generate", "--seed", "6", "--block", "--fillable", "-o", str(blank))
    assert made.exit_code == 0
    sol, work = _work(6, lambda v: {"H": v["F"]})
    assert {"R1", "F", "H", "Y", "R2"} <= set(work)
    from_pdf = graded_as_form_and_as_json(blank, sol, work, tmp_path)
    assert [m["kind"] for m in from_pdf["steps"]["H"]["mistakes"]] == ["relu-kept-negative"]


@pytest.mark.browser
def test_the_interactive_block_page_checks_like_the_cli(browser, tmp_path):
    import os

    from .conftest import CHROMIUM
    from .test_browser import _sheet, checked_like_the_cli

    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing")
    url = _sheet(tmp_path, "--seed", "6", "--block", "--convention", "rows")
    sol, work = _work(
        6, lambda v: {"Y": steps.matmul(v["H"], v["W2"])}, convention="rows"
    )
    shown, report_text, explained = checked_like_the_cli(browser, url, sol, work, tmp_path)
    assert "Y leaves out the bias" in report_text
    assert "follow-through" in set(shown.values())
    assert "max(x, 0)" in explained  # the walkthrough's words for H


def test_a_block_draw_without_negative_numbers_is_refused_saying_why():
    result = run_cli("solve", "--seed", "1", "--block", "--level", "easy")
    assert result.exit_code == 1 and "ReLU has nothing to zero" in result.output
    assert "--w-range 0:1" in result.output and len(result.output.strip().splitlines()) == 1
    ok = run_cli("solve", "--seed", "1", "--block", "--level", "easy", "--w-range", "-1:1")
    assert ok.exit_code == 0, ok.output


def test_a_class_set_of_blocks(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("name\nAda\nBo\n")
    out = tmp_path / "week"
    made = run_cli("class", "--roster", str(roster), "--seed", "5", "--block", "-o", str(out))
    assert made.exit_code == 0, made.output
    for f in sorted(out.glob("*-answers.json")):
        blank = json.loads(f.read_text())
        assert list(blank)[-5:] == ["R1", "F", "H", "Y", "R2"]
        assert decode_id(blank["id"]).spec.block


def test_an_all_zero_h_that_the_students_own_f_gives_is_followed():
    """ReLU of an F that is all ≤ 0 is all zeros: an honest result, not a blank, so Y and R2
    worked from it earn follow-through (the all-one-value rule is for steps not earned)."""
    sol = solve(make_problem(seed=3, spec=Spec.for_level("classic", block=True)))
    neg = tuple(tuple(-abs(x) for x in row) for row in sol.values["F"])
    work = grading_vectors.full(sol, values=grading_vectors.follow(sol, {"F": neg}))
    assert {x for row in work["H"] for x in row} == {0}
    report = grading.grade(sol, answers_io.parse_text(json.dumps(work), "zeros"))
    assert "wrong" in set(report.steps["F"].flat())
    for name in ("H", "Y", "R2"):
        assert set(report.steps[name].flat()) <= {"correct", "follow-through"}, name
    assert "follow-through" in set(report.steps["Y"].flat())


@pytest.mark.parametrize("convention", ["columns", "rows"])
def test_the_rules_line_writes_the_block_as_its_steps_do(convention):
    spec = Spec.for_level("classic", block=True, convention=convention)
    ex = make_problem(seed=3, spec=spec).exercise
    line = next(r for r in spec.rules_text() if r.startswith("the block"))
    assert f"F = {ex['F'].formula}" in line and f"Y = {ex['Y'].formula}" in line
    assert ("R1·W1" in line) == (convention == "rows")
