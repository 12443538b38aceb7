"""Issue 23, deliverables 4 and 5: numbers as students write them, cells that need review,
follow-through within the rounding a student wrote, and marks whose rule is stated."""

import csv
import json
import math
from fractions import Fraction

import pytest

from handcalc import answers, numbers
from handcalc.grading import (
    CORRECT,
    FOLLOW,
    REVIEW,
    WRONG,
    Marking,
    grade,
)
from handcalc.report import to_json, to_text

from .conftest import dump_json as dump
from .conftest import run_caught as run
from .students import solution, work

# --- reading numbers --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, value",
    [
        ("7 1/3", Fraction(22, 3)),
        ("-2 1/2", Fraction(-5, 2)),
        ("\u22122 1/2", Fraction(-5, 2)),
        ("3  2 / 9", Fraction(29, 9)),
        ("71/3", Fraction(71, 3)),  # no space: a fraction, as before
        ("⅓", Fraction(1, 3)),
        ("2½", Fraction(5, 2)),
        ("-⅔", Fraction(-2, 3)),
        ("1⁄3", Fraction(1, 3)),  # the fraction slash
        ("3^-1", Fraction(1, 3)),
        ("3^(-2)", Fraction(1, 9)),
        ("3⁻¹", Fraction(1, 3)),
        ("3²", Fraction(9)),
        ("3^0", Fraction(1)),
    ],
)
def test_written_forms_read_as_one_number(text, value):
    w = numbers.parse(text)
    assert w.value == value and w.places is None


@pytest.mark.parametrize(
    "text, readings, by_range",
    [
        ("4,222", [(Fraction(4222, 1000), 3), (Fraction(4222), None)], True),
        ("1,000", [(Fraction(1), 3), (Fraction(1000), None)], True),
        ("7 4/3", [(Fraction(25, 3), None)], False),
        ("\uff13", [(Fraction(3), None)], False),
    ],
)
def test_unclear_cells_carry_their_readings(text, readings, by_range):
    with pytest.raises(numbers.Unclear) as e:
        numbers.parse(text)
    assert [(w.value, w.places) for w in e.value.readings] == readings
    assert e.value.by_range is by_range


def _as_comma(answers_file: dict) -> dict:
    """Every decimal written with a decimal comma instead of a point."""

    def one(x):
        if isinstance(x, list):
            return [one(y) for y in x]
        return x.replace(".", ",") if isinstance(x, str) else x

    return {k: (one(v) if isinstance(v, list) else v) for k, v in answers_file.items()}


def test_every_value_right_with_decimal_commas_scores_100(tmp_path):
    """The issue's 83.6 %: '3,000' for exp = 3 and '10,000' for a column sum were refused."""
    sol = solution(1)
    data = _as_comma(work(sol, decimals=3))
    assert "3,000" in data["exp"][0] and "10,000" in data["colsum"]
    report = json.loads(run("check", dump(tmp_path / "c.json", data), "--json").output)
    assert report["percent"] == 100 and report["counts"]["needs-review"] == 0


def test_the_range_settles_a_comma_or_leaves_it_for_review():
    sol = solution(1)
    data = work(sol)
    data["S"][0][0] = "1,234"  # 1.234 is a size a score has; 1234 is not
    data["A"][0][0] = "12,345"  # neither 12.345 nor 12345 is a weight (at most 1)
    report = grade(sol, answers.from_json(data))
    assert report.steps["S"].verdicts[0][0] == WRONG
    assert report.steps["A"].verdicts[0][0] == REVIEW
    (only,) = report.review
    assert (only.cell, only.text, only.likely) == ("A_r1_c1", "12,345", "12.345")


def test_a_mixed_number_is_right_where_71_over_3_was_a_slip():
    sol = solution(1)
    colsum = sol.values["colsum"][1]  # 34/9
    assert colsum == Fraction(34, 9)
    data = work(sol)
    data["colsum"][1] = "3 7/9"
    powers = {"1/3": "3^-1", "1/9": "3^(-2)"}
    data["exp"] = [[powers.get(x, x) for x in row] for row in data["exp"]]
    assert "3^-1" in sum(data["exp"], []) and "3^(-2)" in sum(data["exp"], [])
    report = grade(sol, answers.from_json(data))
    assert report.percent == 100
    data["colsum"][1] = "37/9"
    assert grade(sol, answers.from_json(data)).steps["colsum"].verdicts[1] == WRONG


# --- needs review: listed, left out, decided --------------------------------------------


def test_needs_review_is_left_out_of_the_score_and_listed(tmp_path):
    sol = solution(1)
    data = work(sol, student="Ada")
    data["A"][0][0] = "seven"
    data["exp"][0][0] = "\uff11"  # a full-width 1; the key is 1
    path = dump(tmp_path / "ada.json", data)
    out = json.loads(run("check", path, "--json").output)
    assert out["percent"] == 100 and out["counts"]["needs-review"] == 2
    assert [(r["cell"], r["text"], r["likely"]) for r in out["review"]] == [
        ("exp_r1_c1", "\uff11", "1"),
        ("A_r1_c1", "seven", None),
    ]
    assert out["review"][0]["accept"] == f"--accept {path}:exp_r1_c1=1"
    text = run("check", path).output
    assert "2 need review, not counted yet" in text
    assert f"exp_r1_c1 wrote '\uff11' (likely 1): --accept {path}:exp_r1_c1=1" in text


def test_accept_and_a_review_file_decide_cells(tmp_path):
    sol = solution(1)
    data = work(sol)
    data["A"][0][0] = "seven"
    data["exp"][0][0] = "\uff11"
    path = dump(tmp_path / "ada.json", data)
    a11 = numbers.text(sol.values["A"][0][0])
    out = json.loads(
        run(
            "check",
            path,
            "--json",
            "--accept",
            f"ada.json:A_r1_c1={a11}",
            "--accept",
            f"{path}:exp_r1_c1=1",
        ).output
    )
    assert out["counts"]["needs-review"] == 0 and out["percent"] == 100
    review = dump(tmp_path / "review.json", {"ada.json": {"A_r1_c1": "5", "exp_r1_c1": "1"}})
    out = json.loads(run("check", path, "--json", "--review", review).output)
    assert out["steps"]["A"]["cells"][0][0] == WRONG and out["percent"] < 100
    bad = run("check", path, "--accept", "bob.json:A_r1_c1=1")
    assert bad.exit_code == 1 and "not a file being graded" in bad.output
    bad = run("check", path, "--accept", "ada.json:A_r9_c1=1")
    assert bad.exit_code == 1 and "no cell to grade" in bad.output
    bad = run("check", path, "--accept", "ada.json:A_r1_c1")
    assert bad.exit_code == 1 and "FILE:CELL=VALUE" in bad.output


def test_the_gradebook_counts_cells_needing_review(tmp_path):
    sol = solution(1)
    data = work(sol, student="Ada")
    data["A"][0][0] = "seven"
    path = dump(tmp_path / "ada.json", data)
    book = tmp_path / "g.csv"
    run("check", path, "--csv", book)
    (row,) = csv.DictReader(book.read_text().splitlines())
    assert (row["review"], row["status"], row["percent"]) == ("1", "needs review", "100.0")
    run("check", path, "--csv", book, "--accept", "ada.json:A_r1_c1=0")
    (row,) = csv.DictReader(book.read_text().splitlines())
    assert (row["review"], row["status"]) == ("0", "graded") and float(row["percent"]) < 100


# --- follow-through within the rounding written -----------------------------------------


def test_a_colsum_from_own_rounded_values_follows_through():
    """The issue's case: exp written to 3 places (here e^x, the usual slip), colsum summed
    from the unrounded values, so it is 0.001 off the sum of what was written."""
    sol = solution(1)
    true_e = [[math.exp(x) for x in row] for row in sol.values["scaled"]]
    exp = tuple(tuple(f"{x:.3f}" for x in row) for row in true_e)
    sums = [sum(col) for col in zip(*true_e)]
    written_sums = [sum(Fraction(x) for x in col) for col in zip(*exp)]
    colsum = [f"{x:.3f}" for x in sums]
    off = [i for i in range(4) if Fraction(colsum[i]) != written_sums[i]]
    assert off, "some column's written values sum to another 3-place number"
    data = work(sol, {"exp": exp, "colsum": colsum})
    report = grade(sol, answers.from_json(data))
    assert report.steps["colsum"].verdicts == (FOLLOW,) * 4
    too_far = list(colsum)
    too_far[off[0]] = numbers.decimal(written_sums[off[0]] + Fraction(5, 1000), 3)  # > 4 half-units
    data = work(sol, {"exp": exp, "colsum": too_far})
    assert grade(sol, answers.from_json(data)).steps["colsum"].verdicts[off[0]] == WRONG


def test_a_weight_from_own_rounded_sum_follows_through():
    """A = exp / colsum with the student's 1-place colsum: the quotient's interval."""
    sol = solution(1)
    colsum = ["10.0", "3.8", "8.0", "6.0"]  # 34/9 = 3.78 rounded to 3.8
    exact_a = [[x / Fraction(c) for x, c in zip(row, colsum)] for row in sol.values["exp"]]
    a = [[numbers.decimal(x, 3) for x in row] for row in exact_a]
    a[0][1] = "0.792"  # 3/3.8 = 0.7895; 3/3.75 = 0.8: inside 3/[3.75, 3.85]
    data = work(sol, {"colsum": colsum, "A": tuple(tuple(row) for row in a)})
    v = grade(sol, answers.from_json(data)).steps["A"].verdicts
    assert v[0][1] == FOLLOW and v[0][0] == CORRECT


# --- fair marks, stated ------------------------------------------------------------------


def _rows_softmax(sol):
    def colsum(values):
        return tuple(sum(row) for row in values["exp"])

    def a(values):
        return tuple(tuple(x / t for x in row) for row, t in zip(values["exp"], values["colsum"]))

    return work(sol, {"colsum": colsum, "A": a})


def _percent(sol, data, marking):
    return round(grade(sol, answers.from_json(data), marking).percent, 1)


OLD = Marking(preset="cells", relative=False)  # the rule before issue 23


def test_the_issues_figures_and_the_new_default():
    """The issue's figures, remade under the old rule, then under the new default (the
    README quotes both)."""
    six, fourteen = solution(6), solution(14)
    one_decimal = work(six, decimals=1)
    no_scaling = work(fourteen, {"scaled": lambda v: v["S"]})
    assert _percent(six, one_decimal, OLD) == 82.8
    assert _percent(six, _rows_softmax(six), OLD) == 89.1
    assert _percent(fourteen, no_scaling, OLD) == 89.8
    new = Marking()
    assert _percent(six, one_decimal, new) == 87.6
    assert _percent(six, _rows_softmax(six), new) == 84.5
    assert _percent(fourteen, no_scaling, new) == 91.2
    # the understanding slip now costs more than the presentation one
    assert _percent(six, _rows_softmax(six), new) < _percent(six, one_decimal, new)


def test_the_copy_and_projection_shares():
    ex = solution(1).exercise
    cells = {s.name: s.rows * (s.cols or 1) for s in ex.asked}
    for marking, share, kt in (
        (OLD, Fraction(48, 128), Fraction(12, 128)),
        (Marking(), Fraction(13, 37), Fraction(1, 37)),
    ):
        w = {n: marking.weight(ex[n], c) for n, c in cells.items()}
        total = sum(w.values())
        assert sum(w[n] for n in ("Q", "K", "V", "KT")) / total == share
        assert w["KT"] / total == kt


def test_weights_presets_are_what_they_say():
    sol = solution(6)
    report = grade(sol, answers.from_json(_rows_softmax(sol)), Marking(preset="steps"))
    marks = [r.mark for r in report.steps.values()]
    assert report.score == 100 * sum(marks) / len(marks)
    report = grade(sol, answers.from_json(_rows_softmax(sol)), Marking(preset="cells"))
    assert report.score == Fraction(100 * report.credited, report.graded)
    doubled = Marking(preset="steps", factors=(("A", Fraction(2)),))
    report = grade(sol, answers.from_json(_rows_softmax(sol)), doubled)
    by = {n: r.mark for n, r in report.steps.items()}
    assert report.score == 100 * (sum(by.values()) + by["A"]) / (len(by) + 1)


def test_places_and_weights_options_and_the_rule_in_every_report(tmp_path):
    sol = solution(1)
    data = work(sol, decimals=2, student="Ada")
    path = dump(tmp_path / "ada.json", data)
    assert json.loads(run("check", path, "--json").output)["percent"] == 100
    three = json.loads(run("check", path, "--json", "--places", "3").output)
    assert three["percent"] < 100
    assert three["marking"] == {
        "places": 3,
        "relative": True,
        "weights": "light-copy",
        "factors": {},
        "text": Marking(places=3).describe(),
    }
    text = run("check", path, "--weights", "steps,KT=1/2").output
    assert "Marks: every worked step weighs alike, whatever its number of cells; KT ×1/2." in text
    one = work(sol, decimals=1)
    path1 = dump(tmp_path / "one.json", one)
    relative = json.loads(run("check", path1, "--json").output)
    fixed = json.loads(run("check", path1, "--json", "--fixed-places").output)
    assert fixed["percent"] < relative["percent"]
    z = [c for row in relative["steps"]["Z"]["cells"] for c in row]
    assert CORRECT in z  # Z entries of size 1 or more are right to one decimal
    for bad, says in (("--weights", "heavy"), ("--weights", "S=-1"), ("--weights", "Zq=2")):
        result = run("check", path, bad, says)
        assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1


def test_json_and_text_reports_state_the_marking():
    sol = solution(1)
    report = grade(sol, answers.from_json(work(sol)))
    assert to_json(report)["marking"]["weights"] == "light-copy"
    assert Marking().describe() in to_text(report)
