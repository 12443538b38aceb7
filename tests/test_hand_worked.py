"""A problem worked by hand on paper, written out literally step by step.

Nothing here is derived from the code: every matrix was multiplied out by hand (3 tokens,
d_in 4, d_k 2), including floor of negative halves and the 1/3, 1/9 of negative powers.
"""

from __future__ import annotations

import math

from handcalc.problem import Problem, Spec, from_matrices
from handcalc.solution import solve
from handcalc.steps import MASKED

from .conftest import frac_matrix

GIVEN = {
    "X": [[1, 0, 1], [0, 1, 1], [1, 1, 0], [0, 0, 1]],
    "WQ": [[1, 0, 1, 0], [0, -1, 0, -1]],
    "WK": [[0, 1, 1, 0], [1, 0, 0, 1]],
    "WV": [[1, 1, 0, 0], [0, 0, 1, -1]],
}

BY_HAND = {
    "Q": [[2, 1, 1], [0, -1, -2]],
    "K": [[1, 2, 1], [1, 0, 2]],
    "V": [[1, 1, 2], [1, 1, -1]],
    "KT": [[1, 1], [2, 0], [1, 2]],
    "S": [[2, 0, -1], [4, 2, 2], [2, -1, -3]],
    # floor(-1/2) = -1 and floor(-3/2) = -2: mathematical floor, not truncation
    "scaled": [[1, 0, -1], [2, 1, 1], [1, -1, -2]],
    "exp": [[3, 1, "1/3"], [9, 3, 3], [3, "1/3", "1/9"]],
    "colsum": [15, "13/3", "31/9"],
    "A": [["1/5", "3/13", "3/31"], ["3/5", "9/13", "27/31"], ["1/5", "1/13", "1/31"]],
    "Z": [["6/5", "14/13", "32/31"], ["3/5", "11/13", "29/31"]],
}


def problem(**rules) -> Problem:
    return from_matrices(GIVEN, Spec(**rules))


def test_every_step_matches_the_hand_worked_values():
    sol = solve(problem())
    for name, rows in BY_HAND.items():
        if name == "colsum":
            assert sol.values[name] == tuple(frac_matrix([rows])[0]), name
        else:
            assert sol.values[name] == frac_matrix(rows), name


def test_sizes_are_read_off_the_matrices():
    spec = problem().spec
    assert (spec.tokens, spec.d_in, spec.d_k, spec.d_v) == (3, 4, 2, 2)


def test_rounding_toward_zero_is_an_option_and_changes_only_negative_halves():
    sol = solve(problem(rounding="zero"))
    assert sol.values["scaled"] == frac_matrix([[1, 0, 0], [2, 1, 1], [1, 0, -1]])
    assert sol.values["colsum"] == tuple(frac_matrix([[15, 5, "13/3"]])[0])


def test_contract_json_writes_fractions_as_strings_in_lowest_terms():
    out = solve(problem()).to_json()
    assert out["steps"]["A"][1] == ["3/5", "9/13", "27/31"]
    assert out["steps"]["colsum"] == [15, "13/3", "31/9"]
    assert out["steps"]["S"][2] == [2, -1, -3]
    assert out["problem"] == GIVEN
    assert set(out["exact"]) == {"scaled", "exp", "colsum", "A", "Z"}
    assert set(out["steps"]) == {"Q", "K", "V", "KT", "S", "scaled", "exp", "colsum", "A", "Z"}


def test_exact_track_is_the_real_softmax_by_hand():
    sol = solve(problem())
    # column 3 of S is (-1, 2, -3); scaled by 1/sqrt(2), then e^x and normalised
    col = [-1 / math.sqrt(2), 2 / math.sqrt(2), -3 / math.sqrt(2)]
    weights = [math.exp(x) / sum(math.exp(y) for y in col) for y in [0] for x in col]
    got = [sol.exact["A"][i][2] for i in range(3)]
    assert all(math.isclose(a, b, rel_tol=1e-12) for a, b in zip(got, weights))
    # Z[0][2] = v_1 · a_3 with V row 1 = (1, 1, 2)
    assert math.isclose(sol.exact["Z"][0][2], weights[0] + weights[1] + 2 * weights[2])


CAUSAL_BY_HAND = {
    "S": [[2, 0, -1], [None, 2, 2], [None, None, -3]],
    "scaled": [[1, 0, -1], [None, 1, 1], [None, None, -2]],
    "exp": [[3, 1, "1/3"], [0, 3, 3], [0, 0, "1/9"]],
    "colsum": [3, 4, "31/9"],
    "A": [[1, "1/4", "3/31"], [0, "3/4", "27/31"], [0, 0, "1/31"]],
    "Z": [[1, 1, "32/31"], [1, 1, "29/31"]],
}


def test_causal_mask_by_hand():
    """Query j sees keys 1..j: the cells below the diagonal of S are masked, weight 0."""
    sol = solve(problem(causal=True))
    for name, rows in CAUSAL_BY_HAND.items():
        if name == "colsum":
            assert sol.values[name] == tuple(frac_matrix([rows])[0])
            continue
        want = tuple(
            tuple(MASKED if x is None else v for x, v in zip(row, frow))
            for row, frow in zip(
                rows, frac_matrix([[0 if x is None else x for x in r] for r in rows])
            )
        )
        assert sol.values[name] == want, name


def test_row_convention_by_hand_is_the_transpose():
    """Tokens as rows: X is 3×4, Q = X·WQ, S = Q·Kᵀ, rows of A sum to 1, Z = A·V."""
    t = lambda m: [list(r) for r in zip(*m)]  # noqa: E731
    rows = from_matrices({k: t(v) for k, v in GIVEN.items()}, Spec(convention="rows"))
    sol = solve(rows)
    assert sol.values["Q"] == frac_matrix(t(BY_HAND["Q"]))
    # S = Q·Kᵀ has S[i][j] = q_i·k_j: the transpose of the column convention's k_i·q_j
    assert sol.values["S"] == frac_matrix(t(BY_HAND["S"]))
    assert sol.values["rowsum"] == tuple(frac_matrix([BY_HAND["colsum"]])[0])
    assert sol.values["A"] == frac_matrix(t(BY_HAND["A"]))
    assert sol.values["Z"] == frac_matrix(t(BY_HAND["Z"]))


def test_two_heads_by_hand():
    """Head 2 repeats head 1, so Zcat is Z stacked twice; WO picks and mixes its rows."""
    given = {"X": GIVEN["X"], "WO": [[1, 0, 0, 0], [0, 0, 0, 1], [1, 0, -1, 0], [0, 1, 1, 0]]}
    for h in (1, 2):
        given.update({f"{w}{h}": GIVEN[w] for w in ("WQ", "WK", "WV")})
    sol = solve(from_matrices(given))
    assert sol.problem.spec.heads == 2
    assert sol.values["Z1"] == sol.values["Z2"] == frac_matrix(BY_HAND["Z"])
    assert sol.values["Zcat"] == frac_matrix(BY_HAND["Z"] + BY_HAND["Z"])
    assert sol.values["O"] == frac_matrix(
        [["6/5", "14/13", "32/31"], ["3/5", "11/13", "29/31"], [0, 0, 0], ["9/5", "25/13", "61/31"]]
    )
