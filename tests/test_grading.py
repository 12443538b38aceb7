import json
import math
import random
import time
from fractions import Fraction

import pytest

from handcalc import answers, numbers, steps
from handcalc.grading import BLANK, CORRECT, FOLLOW, WRONG, grade, matches
from handcalc.report import gradebook, to_json, to_text

from .students import CONFIGS, SLIPPED, T, cellwise, graded_cells, hidden, mm, solution, work


def check(sol, data):
    return grade(sol, answers.from_json(data))


def verdicts(report, name):
    return report.steps[name].flat()


def cell(report, name, r, c=None):
    v = report.steps[name].verdicts
    return v[r] if c is None else v[r][c]


def all_mistakes(report):
    return {n: [m.kind for m in r.mistakes] for n, r in report.steps.items() if r.mistakes}


# --- the tolerance rule -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, key, ok",
    [
        ("9/46", Fraction(9, 46), True),
        ("18/92", Fraction(9, 46), True),
        ("0.196", Fraction(9, 46), True),
        ("0.20", Fraction(9, 46), True),
        ("0.2", Fraction(9, 46), False),
        ("0.19", Fraction(9, 46), False),
        ("0.1957", Fraction(9, 46), True),
        ("0.1955", Fraction(9, 46), False),
        ("−0.196", Fraction(-9, 46), True),
        ("0.196", Fraction(-9, 46), False),
        ("0.5", Fraction(1, 2), True),
        ("0.50", Fraction(1, 2), True),
        ("0.13", Fraction(1, 8), True),
        ("0.12", Fraction(1, 8), True),
        ("0.1", Fraction(1, 8), False),
        ("3", Fraction(3), True),
        ("3.0", Fraction(3), True),
        ("3.04", Fraction(3), False),
        ("2.96", Fraction(3), False),
        ("3", Fraction(7, 2), False),
        ("0.333", Fraction(1, 3), True),
        ("0.33", Fraction(1, 3), True),
        ("0.334", Fraction(1, 3), False),
    ],
)
def test_the_tolerance_rule(text, key, ok):
    assert matches(numbers.parse(text), key) is ok


# --- the key scores 100 % ----------------------------------------------------------------


def test_the_key_scores_100_percent_on_1000_seeds_as_fractions_and_as_decimals():
    for seed in range(1000):
        sol = solution(seed)
        for decimals in (None, 3):
            report = check(sol, work(sol, decimals=decimals))
            assert report.percent == 100.0, (seed, decimals)
            assert report.graded == 128  # Q K V KT 12 each, S scaled exp A 16 each, 4, Z 12
            assert not all_mistakes(report)
            assert report.first_wrong is None


def test_working_on_from_rounded_decimals_is_followed_through():
    carried = 0
    for seed in range(200):
        sol = solution(seed)
        report = check(sol, work(sol, decimals=3, carry=True))
        assert report.percent == 100.0, seed
        assert not all_mistakes(report)
        carried += report.credited > sum(r.count(CORRECT) for r in report.steps.values())
    assert carried > 20  # rounding drift really happened, and was followed


@pytest.mark.parametrize("config", ["rows", "causal", "heads"])
def test_other_exercises_grade_the_key_at_100_percent(config):
    for seed in range(40):
        sol = solution(seed, config)
        for decimals in (None, 3):
            report = check(sol, work(sol, decimals=decimals))
            assert report.percent == 100.0, (config, seed)
            assert not all_mistakes(report)


def test_causal_hidden_cells_are_not_graded():
    sol = solution(3, "causal")
    report = check(sol, work(sol))
    # 4 tokens: 6 of 16 cells hidden in S, scaled, exp and A (the keys after each query)
    assert report.graded == 128 - 4 * 6
    for name in ("S", "scaled", "exp", "A"):
        for r in range(4):
            for c in range(4):
                assert (cell(report, name, r, c) is None) == (r > c)
    assert all(v == CORRECT for v in verdicts(report, "Z"))


def test_rows_convention_uses_rowsum_and_causal_hides_the_upper_triangle():
    sol = solution(5, "rows", causal=True)
    data = work(sol)
    assert "rowsum" in data and "colsum" not in data
    report = check(sol, data)
    assert report.percent == 100.0
    assert cell(report, "S", 0, 1) is None and cell(report, "S", 1, 0) == CORRECT


# --- follow-through, worked by hand --------------------------------------------------------


def test_one_slip_in_q_is_wrong_there_and_follows_through_later():
    report = check(solution(1), SLIPPED)
    assert cell(report, "Q", 0, 1) == WRONG
    assert verdicts(report, "Q").count(CORRECT) == 11
    assert [m.kind for m in report.steps["Q"].mistakes] == ["slip"]
    slip = report.steps["Q"].mistakes[0]
    assert (slip.cell, slip.wrote, slip.expected) == ("Q_r1_c2", "1", "0")
    # S[0][1] is 2 either way; the rest of column 1 differs from the key but follows
    assert [cell(report, "S", r, 1) for r in range(4)] == [CORRECT, FOLLOW, FOLLOW, FOLLOW]
    assert [cell(report, "scaled", r, 1) for r in range(4)] == [CORRECT, FOLLOW, FOLLOW, FOLLOW]
    assert [cell(report, "exp", r, 1) for r in range(4)] == [CORRECT, FOLLOW, FOLLOW, FOLLOW]
    assert cell(report, "colsum", 1) == FOLLOW
    assert [cell(report, "A", r, 1) for r in range(4)] == [FOLLOW] * 4
    assert [cell(report, "Z", r, 1) for r in range(3)] == [FOLLOW, CORRECT, FOLLOW]
    for name in ("S", "scaled", "exp", "A", "Z"):  # the other columns are untouched
        v = report.steps[name].verdicts
        assert all(v[r][c] == CORRECT for r in range(len(v)) for c in (0, 2, 3))
    assert report.score == 100 * (Fraction(37, 4) - Fraction(1, 12)) / Fraction(37, 4)
    assert report.first_wrong.step.name == "Q"
    assert all_mistakes(report) == {"Q": ["slip"]}


def test_a_wrong_cell_that_does_not_follow_is_wrong():
    data = json.loads(json.dumps(SLIPPED))
    data["Z"][0][1] = "-3/17"  # the key's value: correct, even though it does not follow
    data["Z"][2][1] = "1/2"  # neither the key (29/34) nor what follows (83/88)
    report = check(solution(1), data)
    assert cell(report, "Z", 0, 1) == CORRECT
    assert cell(report, "Z", 2, 1) == WRONG
    assert [m.expected for m in report.steps["Z"].mistakes] == ["83/88"]


def test_blank_steps_are_blank_and_later_steps_use_the_key():
    sol = solution(1)
    data = work(sol)
    del data["S"]
    data["scaled"] = [[None, "", 0, 0]] + data["scaled"][1:]
    report = check(sol, data)
    assert set(verdicts(report, "S")) == {BLANK}
    assert cell(report, "scaled", 0, 0) == BLANK and cell(report, "scaled", 0, 1) == BLANK
    assert verdicts(report, "scaled").count(CORRECT) == 14
    assert all(v == CORRECT for v in verdicts(report, "exp"))
    # the default marking: every step weighs 1, KT 1/4 (37/4 in all); S scores 0, scaled 14/16
    assert report.score == 100 * (Fraction(37, 4) - 1 - Fraction(2, 16)) / Fraction(37, 4)
    assert report.first_wrong is None


def test_a_trivial_chain_earns_no_follow_through():
    sol = solution(1)
    data = work(sol)  # right up to K T; then all zeros in S, worked on consistently
    data["S"] = [[0] * 4 for _ in range(4)]
    data["scaled"] = [[0] * 4 for _ in range(4)]
    data["exp"] = [[1] * 4 for _ in range(4)]
    data["colsum"] = [4] * 4
    data["A"] = [["1/4"] * 4 for _ in range(4)]
    data["Z"] = [["-1/2", "-1/2", "-1/2", "-1/2"], [2, 2, 2, 2], ["1/4"] * 4]
    report = check(sol, data)
    for name in ("S", "scaled", "exp", "colsum", "A", "Z"):
        assert FOLLOW not in verdicts(report, name), name
    # the cells that happen to equal the key are still correct: S[0][0], S[0][2]…
    assert cell(report, "S", 0, 0) == CORRECT and cell(report, "S", 0, 1) == WRONG
    assert cell(report, "Z", 1, 3) == CORRECT


def test_an_unreadable_cell_needs_review_and_the_rest_is_graded():
    sol = solution(1)
    data = work(sol)
    data["A"][2][3] = "one half"
    report = check(sol, data)
    assert cell(report, "A", 2, 3) == "needs-review"
    assert verdicts(report, "A").count(CORRECT) == 15
    assert [f for f, _ in report.steps["A"].unreadable] == ["A_r3_c4"]
    assert not report.steps["A"].mistakes  # not a slip: nothing readable was written
    assert all(v == CORRECT for v in verdicts(report, "Z"))  # fed the key's 1/2
    assert report.percent == 100  # left out of the score until the teacher decides
    assert "needs review: A_r3_c4 'one half'" in to_text(report)


def test_huge_numbers_do_not_hang_the_grader():
    sol = solution(1)
    data = work(sol)
    data["scaled"] = [[10**30 + x for x in row] for row in data["S"]]
    start = time.perf_counter()
    report = check(sol, data)
    assert time.perf_counter() - start < 1
    assert set(verdicts(report, "scaled")) == {WRONG}
    assert set(verdicts(report, "exp")) == {CORRECT}  # 3^(10^30) is never worked out


# --- named mistakes ------------------------------------------------------------------------


def head(sol, role):
    return role + ("1" if sol.exercise.heads > 1 else "")


def cols(sol):
    return sol.exercise.convention == "columns"


def _mask(sol, name, m):
    gone = hidden(sol, name)
    return tuple(
        tuple(steps.MASKED if (r, c) in gone else x for c, x in enumerate(row))
        for r, row in enumerate(m)
    )


def _product(sol, v, w):
    x = v["X"]
    return mm(v[w], x) if cols(sol) else mm(x, v[w])


def weights_swapped(sol):
    q, k = head(sol, "Q"), head(sol, "K")
    return (
        "weights-swapped",
        q,
        {
            q: lambda v: _product(sol, v, head(sol, "WK")),
            k: lambda v: _product(sol, v, head(sol, "WQ")),
        },
    )


def scores_transposed(sol):
    s, q, k = head(sol, "S"), head(sol, "Q"), head(sol, "K")

    def wrong(v):
        right = mm(T(v[k]), v[q]) if cols(sol) else mm(v[q], T(v[k]))
        return _mask(sol, s, T(right))

    return "scores-transposed", s, {s: wrong}


def rounding(sol):
    name = head(sol, "scaled")
    half = lambda x: Fraction(math.trunc(Fraction(x) / 2))  # noqa: E731
    return "rounding", name, {name: lambda v: cellwise(v[head(sol, "S")], half)}


def not_scaled(sol):
    name = head(sol, "scaled")
    return "not-scaled", name, {name: lambda v: v[head(sol, "S")]}


def three_to_the_scores(sol):
    name = head(sol, "exp")
    return "not-scaled", name, {name: lambda v: _exp(sol, v[head(sol, "S")], 3)}


def e_not_three(sol):
    name = head(sol, "exp")
    return "e-not-3", name, {name: lambda v: _exp(sol, v[head(sol, "scaled")], math.e)}


def _exp(sol, m, base):
    def f(x):
        if base == 3:
            return Fraction(3) ** int(x)
        return numbers.decimal(Fraction(math.exp(x)), 3)

    return tuple(tuple(0 if x is steps.MASKED else f(x) for x in row) for row in m)


def a_other_axis(sol):
    name, e = head(sol, "A"), head(sol, "exp")

    def wrong(v):
        m = v[e]
        if cols(sol):  # divided by row sums
            return tuple(tuple(x / sum(row) for x in row) for row in m)
        sums = [sum(col) for col in zip(*m)]
        return tuple(tuple(x / sums[c] for c, x in enumerate(row)) for row in m)

    return "softmax-axis", name, {name: wrong}


def sums_other_axis(sol):
    name, e = head(sol, "colsum" if cols(sol) else "rowsum"), head(sol, "exp")
    lines = (lambda m: m) if cols(sol) else (lambda m: tuple(zip(*m)))
    return "softmax-axis", name, {name: lambda v: tuple(sum(x) for x in lines(v[e]))}


def weights_transposed(sol):
    z, a, vv = head(sol, "Z"), head(sol, "A"), head(sol, "V")

    def wrong(v):
        return mm(v[vv], T(v[a])) if cols(sol) else mm(T(v[a]), v[vv])

    return "weights-axis", z, {z: wrong}


def factors_swapped(sol):
    z, a, vv = head(sol, "Z"), head(sol, "A"), head(sol, "V")
    return "weights-axis", z, {z: lambda v: mm(v[a], v[vv]) if cols(sol) else mm(v[vv], v[a])}


INJECTIONS = [
    weights_swapped,
    scores_transposed,
    rounding,
    not_scaled,
    three_to_the_scores,
    e_not_three,
    a_other_axis,
    sums_other_axis,
    weights_transposed,
]


def _trivial(value) -> bool:
    """Every cell one number: the grader then counts the step as the key (no follow-through)."""
    cells = [x for row in value for x in (row if isinstance(row, list) else [row])]
    return len({str(x) for x in cells}) < 2


def _wrong_somewhere(sol, data, name):
    key = sol.values[name]
    for r, c in graded_cells(sol, name):
        w = data[name][r] if c is None else data[name][r][c]
        k = key[r] if c is None else key[r][c]
        if not matches(numbers.parse(w), k):
            return True
    return False


def _inject(sol, injection):
    kind, name, changes = injection(sol)
    return kind, name, work(sol, changes)


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("injection", INJECTIONS, ids=lambda f: f.__name__)
def test_each_mistake_is_named_and_nothing_else(config, injection):
    named = 0
    for seed in range(40):
        sol = solution(seed, config)
        kind, name, data = _inject(sol, injection)
        if not _wrong_somewhere(sol, data, name):
            continue  # the mistake makes no difference on this sheet
        chain = [name, *sol.exercise.downstream([name])]
        if any(_trivial(data[n]) for n in chain if n in data):
            continue  # a trivial step (all one value) earns no follow-through, by design
        report = check(sol, data)
        found = all_mistakes(report)
        expect = {name: [kind]}
        if kind == "weights-swapped":
            expect[head(sol, "K")] = [kind]
        assert found == expect, (seed, found)
        # everything after the mistake follows through exactly
        later = sol.exercise.downstream([name]) - {head(sol, "K")}
        for n in later:
            assert WRONG not in verdicts(report, n), (seed, n)
        named += 1
    assert named >= 10


@pytest.mark.parametrize("config", ["columns", "rows"])
def test_z_worked_as_a_times_v_is_named_when_the_shapes_allow_it(config):
    named = 0
    for seed in range(40):
        sol = solution(seed, config, tokens=3)  # d_v = n = 3, so A·V has Z's shape
        kind, name, data = _inject(sol, factors_swapped)
        if not _wrong_somewhere(sol, data, name):
            continue
        assert all_mistakes(check(sol, data)) == {name: [kind]}, seed
        named += 1
    assert named >= 10


@pytest.mark.parametrize("config", list(CONFIGS))
def test_one_slip_anywhere_is_named_with_its_cell(config):
    for seed in range(40):
        sol = solution(seed, config)
        rng = random.Random(seed)
        step = rng.choice(sol.exercise.worked)
        r, c = rng.choice(graded_cells(sol, step.name))
        right = sol.values[step.name]
        old = right[r] if c is None else right[r][c]

        def slipped(v, r=r, c=c, right=right):
            if c is None:
                return tuple(x + 7 if i == r else x for i, x in enumerate(right))
            return tuple(
                tuple(x + 7 if (i, j) == (r, c) else x for j, x in enumerate(row))
                for i, row in enumerate(right)
            )

        report = check(sol, work(sol, {step.name: slipped}))
        assert all_mistakes(report) == {step.name: ["slip"]}, (seed, step.name)
        slip = report.steps[step.name].mistakes[0]
        assert slip.cell == steps.field_name(step.name, r, c)
        assert slip.wrote == numbers.text(old + 7)
        assert slip.expected == numbers.text(old)
        assert report.first_wrong.step.name == step.name
        assert report.graded - report.credited == 1


def test_a_mistake_on_a_sheet_rounded_toward_zero_is_flooring():
    named = 0
    floor = lambda x: Fraction(math.floor(Fraction(x) / 2))  # noqa: E731
    for seed in range(40):
        sol = solution(seed, "columns", rounding="zero")
        data = work(sol, {"scaled": lambda v: cellwise(v["S"], floor)})
        if not _wrong_somewhere(sol, data, "scaled"):
            continue
        report = check(sol, data)
        assert all_mistakes(report) == {"scaled": ["rounding"]}
        assert "toward zero" in report.steps["scaled"].mistakes[0].text
        named += 1
    assert named >= 5


@pytest.mark.parametrize("rounding", ["floor", "zero"])
def test_the_rounding_message_quotes_the_learners_own_case(rounding):
    """Not a stock floor(-3/2): the first score of the learner's S that the two roundings
    halve apart (an odd negative one), worked here by hand."""
    other = {"floor": math.trunc, "zero": math.floor}[rounding]
    said = set()
    for seed in range(30):
        sol = solution(seed, "columns", rounding=rounding)
        data = work(sol, {"scaled": lambda v: cellwise(v["S"], lambda x: other(Fraction(x) / 2))})
        if not _wrong_somewhere(sol, data, "scaled"):
            continue
        s = sol.values["S"]
        x = next(v for row in s for v in row if v < 0 and v % 2)
        down, zero = math.floor(Fraction(x, 2)), math.trunc(Fraction(x, 2))
        text = check(sol, data).steps["scaled"].mistakes[0].text
        if rounding == "floor":
            assert text.endswith(f"floor({x}/2) is {down}, not {zero}.")
        else:
            assert text.endswith(f"{x}/2 becomes {zero}, not {down}.")
        said.add(x)
    assert len(said) >= 2  # the case differs from sheet to sheet


# --- reports -------------------------------------------------------------------------------


def test_text_report_says_score_first_wrong_step_right_value_and_mistake():
    sol = solution(1)
    _, _, data = _inject(sol, scores_transposed)
    text = to_text(check(sol, data))
    # S's 8 off-diagonal cells of 16 are wrong; every later step follows through
    # S scores 8/16, every other step 1: 100 × (37/4 - 1/2) / (37/4) = 94.6 %
    assert "score 94.6 %  (120 of 128 cells: " in text and "; 8 wrong, 0 blank)" in text
    assert "First went wrong at S (Attention scores, S = Kᵀ·Q):" in text
    assert "S is transposed: it was worked as Qᵀ·K (or K·Qᵀ) instead of Kᵀ·Q." in text
    assert "[ 2  -4  2  0 ]" in text  # the right S's last row
    assert "0.196 and 0.20 are correct, 0.2 is not" in text


def test_json_report_has_the_contract_shape():
    sol = solution(1)
    out = to_json(check(sol, {**SLIPPED, "student": "Ada"}))
    json.dumps(out)
    assert out["percent"] == pytest.approx(100 * (37 / 4 - 1 / 12) / (37 / 4))
    assert out["student"] == "Ada" and out["id"] == sol.problem.id
    assert out["first_wrong"] == "Q"
    assert out["steps"]["Q"]["cells"][0] == [CORRECT, WRONG, CORRECT, CORRECT]
    assert out["steps"]["colsum"]["cells"] == [CORRECT, FOLLOW, CORRECT, CORRECT]
    assert out["steps"]["Q"]["mistakes"][0]["kind"] == "slip"
    assert out["steps"]["S"]["mistakes"] == []
    assert list(out["steps"]) == [s.name for s in sol.exercise.worked]


def test_gradebook_has_a_row_per_file_and_quotes_formulas():
    sol = solution(1)
    good = check(sol, {**SLIPPED, "student": "=HYPERLINK(1)"})
    rows = gradebook([good, ("bad.json", "bad.json is not valid JSON")]).decode().splitlines()
    mistakes = ",".join(
        "mistake: " + k
        for k in "weights-swapped scores-transposed rounding not-scaled e-not-3 softmax-axis "
        "weights-axis rotation-direction rotation-position not-rotated bias-left-out "
        "relu-before-bias residual-forgotten relu-kept-negative slip".split()
    )
    head = f"student,id,file,percent,Q,K,V,KT,S,scaled,exp,colsum,A,Z,{mistakes},review,status,error"
    assert rows[0] == head
    assert rows[1].startswith(f"'=HYPERLINK(1),{sol.problem.id},answers,99.1,91.7,100.0,")
    # one slip in Q: a count of 1 under "mistake: slip" (the last kind), 0 for the others
    assert rows[1].endswith(",100.0," + "0," * 14 + "1,0,graded,")
    assert rows[2] == ",,bad.json" + "," * 27 + ",failed,bad.json is not valid JSON"
