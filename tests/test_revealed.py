"""Answers files that list cells the interactive sheet revealed: `handcalc check` reads them,
grades those cells as "revealed" (never credited) and works later steps from the key there."""

from __future__ import annotations

import json

import pytest

from handcalc.steps import field_name

from .conftest import dump_json as dump
from .conftest import run_caught as run
from .students import solution, work


def _all_cells(sol) -> list[str]:
    return [
        field_name(s.name, r, c)
        for s in sol.exercise.worked
        for r in range(s.rows)
        for c in ([None] if s.is_vector else range(s.cols))
    ]


def test_revealed_cells_are_graded_but_never_credited(tmp_path):
    sol = solution(1)
    shown = ["S_r1_c1", "colsum_2", "A_r2_c3"]
    data = {**work(sol), "id": sol.problem.id, "revealed": shown}
    path = dump(tmp_path / "a.json", data)
    report = json.loads(run("check", path, "--json").output)
    # 128 graded cells on the classic sheet (3×4 ×3 + 4×3 + 4×4 ×4 + 4 + 3×4); all right
    assert report["graded"] == 128 and report["credited"] == 125
    # S 15/16, colsum 3/4, A 15/16, every other step 1; steps weigh 1, KT 1/4 (37/4 in all)
    assert report["percent"] == pytest.approx(100 * (37 / 4 - 3 / 8) / (37 / 4))
    assert report["counts"] == {
        "correct": 125,
        "follow-through": 0,
        "wrong": 0,
        "blank": 0,
        "revealed": 3,
        "needs-review": 0,
    }
    assert report["steps"]["S"]["cells"][0][0] == "revealed"
    assert report["steps"]["colsum"]["cells"][1] == "revealed"
    assert report["steps"]["A"]["cells"][1][2] == "revealed"
    assert report["steps"]["A"]["cells"][1][1] == "correct"
    text = run("check", path).output
    assert "125 of 128 cells" in text and "3 revealed" in text


def test_a_revealed_cell_counts_as_the_key_whatever_it_holds(tmp_path):
    sol = solution(1)
    data = {**work(sol), "id": sol.problem.id}
    data["S"][1][1] = "999"  # not what the page writes, but a revealed cell is the key
    data["revealed"] = ["S_r2_c2"]
    report = json.loads(run("check", dump(tmp_path / "a.json", data), "--json").output)
    assert report["steps"]["S"]["cells"][1][1] == "revealed"
    # later steps were written from the key, so they are correct, not follow-through of 999
    assert report["counts"]["wrong"] == 0 and report["counts"]["follow-through"] == 0
    assert report["first_wrong"] is None and report["steps"]["S"]["mistakes"] == []


def test_revealing_everything_scores_nothing(tmp_path):
    sol = solution(4, "causal")
    data = {**work(sol), "id": sol.problem.id, "revealed": _all_cells(sol)}
    report = json.loads(run("check", dump(tmp_path / "a.json", data), "--json").output)
    # masked cells are in the list too, and stay ungraded (None)
    assert report["percent"] == 0 and report["credited"] == 0
    assert report["counts"]["revealed"] == report["graded"]
    assert report["steps"]["S"]["cells"][1][0] is None


@pytest.mark.parametrize(
    "revealed, message",
    [
        ("S_r1_c1", '"revealed" must be a list of cell names'),
        ([1, 2], '"revealed" must be a list of cell names'),
        (["S_r9_c1"], "\"revealed\" names 'S_r9_c1', which is no cell of this sheet"),
        (["X_r1_c1"], "\"revealed\" names 'X_r1_c1', which is no cell of this sheet"),
    ],
)
def test_a_bad_revealed_list_is_one_line(tmp_path, revealed, message):
    sol = solution(1)
    data = {**work(sol), "id": sol.problem.id, "revealed": revealed}
    result = run("check", dump(tmp_path / "a.json", data))
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.output
