"""Rotary positions by quarter turns (--rope): Qr and Kr against numpy's rotation matrices and
hand-worked vectors, the distance check on the key, the sheet and key read back from PDF,
IDs that bring the option back, and grading with follow-through and named mistakes."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest
from pypdf import PdfReader

from handcalc import answers as answers_io
from handcalc import grading, steps
from handcalc.draw import from_id, make_problem
from handcalc.problem import Spec, decode_id
from handcalc.solution import solve

from . import grading_vectors
from .conftest import run_cli

TURN = np.array([[0, -1], [1, 0]])  # (a, b) -> (-b, a): a quarter turn, counterclockwise


def _turned_by_numpy(m: np.ndarray, columns: bool) -> np.ndarray:
    """Token t (a column, or a row) turned t quarter turns pair by pair, with numpy's own
    matrix powers of a block-diagonal rotation: an independent way to the same numbers."""
    tokens = m.T if columns else m
    d = tokens.shape[1]
    out = []
    for t, vec in enumerate(tokens):
        block = np.kron(np.eye(d // 2, dtype=int), np.linalg.matrix_power(TURN, t))
        out.append(block @ vec)
    out = np.array(out)
    return out.T if columns else out


def _arr(v) -> np.ndarray:
    return np.array([[int(x) for x in row] for row in v])


def test_quarter_turns_by_hand():
    # (1, 2) at m = 1, 2, 3, 4: (−2, 1), (−1, −2), (2, −1), back to (1, 2); pairs turn apart
    assert steps.quarter_turns((1, 2), 1) == (-2, 1)
    assert steps.quarter_turns((1, 2), 2) == (-1, -2)
    assert steps.quarter_turns((1, 2), 3) == (2, -1)
    assert steps.quarter_turns((1, 2), 4) == (1, 2)
    assert steps.quarter_turns((1, 2, 3, 0), 1) == (-2, 1, 0, 3)
    # columns: token m is column m; the first column is never turned
    q = ((1, 1, 1), (0, 2, 5))
    assert steps.rotate(q, "columns") == ((1, -2, -1), (0, 1, -5))


@pytest.mark.parametrize(
    "spec",
    [
        dict(rope=True),
        dict(rope=True, d_k=4, convention="rows"),
        dict(rope=True, heads=2, causal=True),
        dict(rope=True, heads=2, kv_heads=1),
    ],
    ids=["classic", "rows-dk4", "heads-causal", "multi-query"],
)
def test_qr_kr_and_scores_match_numpy(spec):
    sol = solve(make_problem(seed=5, spec=Spec.for_level("classic", **spec)))
    cols = sol.problem.spec.convention == "columns"
    v = sol.values
    for s in sol.exercise.worked:
        if s.role in ("Qr", "Kr"):
            want = _turned_by_numpy(_arr(v[s.inputs[0]]), cols)
            assert (_arr(v[s.name]) == want).all(), s.name
        if s.role == "S":
            ex = sol.exercise
            kt = next(ex[i] for i in s.inputs if ex[i].role == "KT")
            k_plain = ex[kt.inputs[0]].inputs[0]  # K under Kr under Kᵀ
            q_plain = ex[next(i for i in s.inputs if ex[i].role == "Qr")].inputs[0]
            kr = _turned_by_numpy(_arr(v[k_plain]), cols)
            qr = _turned_by_numpy(_arr(v[q_plain]), cols)
            plain = kr.T @ qr if cols else qr @ kr.T
            got = np.array([[0 if x is steps.MASKED else int(x) for x in row] for row in v[s.name]])
            mask = np.array([[x is steps.MASKED for x in row] for row in v[s.name]])
            assert (got[~mask] == plain[~mask]).all(), s.name


def test_a_rotary_score_depends_only_on_the_distance():
    rng = np.random.default_rng(0)
    for _ in range(50):
        k, q = (tuple(int(x) for x in rng.integers(-3, 4, 4)) for _ in range(2))
        i, j = (int(x) for x in rng.integers(0, 8, 2))
        dot = lambda a, b: sum(x * y for x, y in zip(a, b))  # noqa: E731
        turned = dot(steps.quarter_turns(k, i), steps.quarter_turns(q, j))
        assert turned == dot(k, steps.quarter_turns(q, j - i))
        assert turned == dot(steps.quarter_turns(k, i + 3), steps.quarter_turns(q, j + 3))


def test_odd_d_k_and_other_shapes_are_one_line_errors():
    for args, words in (
        (("--d-k", "3"), "--d-k must be even"),
        (("--decode", "--d-k", "3"), "--d-k must be even"),
        (("--queries", "2"), "does not apply to --queries: positions in Xq and in X count"),
        (("--decode", "--tokens", "5"), "new token at m = 4, and 4 quarter turns bring"),
    ):
        result = run_cli("solve", "--seed", "1", "--rope", *args)
        assert result.exit_code == 1
        assert words in result.output and len(result.output.strip().splitlines()) == 1


def test_the_default_rope_sheet_takes_an_even_d_k():
    spec = Spec.for_level("classic", rope=True)
    assert spec.d_k == 2 and [s.name for s in spec.exercise().worked][:6] == [
        "Q",
        "K",
        "V",
        "Qr",
        "Kr",
        "KT",
    ]
    assert spec.exercise()["S"].inputs == ("KT", "Qr") and spec.exercise()["KT"].inputs == ("Kr",)


@pytest.mark.parametrize(
    "spec",
    [
        dict(rope=True),
        dict(rope=True, causal=True, convention="rows", d_k=4),
        dict(rope=True, given_steps=("Q", "K", "V")),
        dict(rope=True, heads=3),  # a long ID: the sheet prints a short one
    ],
    ids=["plain", "causal-rows", "drill", "heads3"],
)
def test_ids_bring_the_option_back(spec):
    problem = make_problem(seed=8, spec=Spec.for_level("classic", **spec))
    full = decode_id(problem.id)
    assert full.given == problem.given and full.spec.rope
    assert full.exercise.steps == problem.exercise.steps
    if "heads" in spec:
        assert problem.sheet_id != problem.id  # the short ID: seed, spec and a digest
    back = from_id(problem.sheet_id)
    assert back.given == problem.given and back.spec.rope
    assert back.exercise.steps == problem.exercise.steps
    plain = make_problem(seed=8, spec=Spec.for_level("classic", d_k=problem.spec.d_k))
    assert plain.id != problem.id


def test_key_from_the_id_is_the_same_key(tmp_path):
    first, again = tmp_path / "a.json", tmp_path / "b.json"
    made = run_cli("solve", "--seed", "4", "--rope", "--json")
    assert made.exit_code == 0
    data = json.loads(made.stdout)
    assert {"Qr", "Kr"} <= set(data["steps"])
    first.write_text(made.stdout)
    back = run_cli("solve", "--id", data["id"], "--json")
    again.write_text(back.stdout)
    assert json.loads(back.stdout)["steps"] == data["steps"]


def test_sheet_and_key_read_back_from_pdf(tmp_path):
    sheet, key = tmp_path / "sheet.pdf", tmp_path / "key.pdf"
    assert run_cli("generate", "--seed", "4", "--rope", "-o", str(sheet)).exit_code == 0
    assert run_cli("key", "--seed", "4", "--rope", "-o", str(key)).exit_code == 0
    blank = "".join(p.extract_text() for p in PdfReader(sheet).pages)
    assert "Qr = R·Q" in blank and "Kr = R·K" in blank and "S = Krᵀ·Qr" in blank
    assert "rotary positions" in blank and "(a, b) becomes (−b, a)" in blank
    pages = PdfReader(key).pages
    assert len(pages) == 2 and len(PdfReader(sheet).pages) == 1
    text = "".join(p.extract_text() for p in pages)
    assert "only the distance counts" in text and "10000" in text
    # the key's check line: the score it works out is the score in S
    sol = solve(make_problem(seed=4, spec=Spec.for_level("classic", rope=True)))
    from handcalc.worksheet import rope_notes

    line = rope_notes(sol)[0]
    entry = line.split(" ")[0]  # S[i][j]
    i, j = (int(x) for x in entry[2:-1].split("]["))
    stated = line.split("; one place")[0].rsplit("= ", 1)[1]
    assert Fraction(stated) == sol.values["S"][i - 1][j - 1]
    later = line.split("one place later, ")[1].split(". Real")[0].rsplit("= ", 1)[1]
    assert Fraction(later) == Fraction(stated)


def _answers(sol, values) -> dict:
    data = grading_vectors.full(sol, values=values)
    data["id"] = sol.problem.id
    return data


def test_check_follows_a_wrong_turn_through_to_z(tmp_path):
    sol = solve(make_problem(seed=6, spec=Spec.for_level("classic", rope=True)))
    v = sol.values
    back = steps.rotate(v["Q"], "columns", lambda m: -m)
    assert back != v["Qr"]
    work = _answers(sol, grading_vectors.follow(sol, {"Qr": back}))
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(work))
    result = run_cli("check", str(path), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    qr = report["steps"]["Qr"]
    assert [m["kind"] for m in qr["mistakes"]] == ["rotation-direction"]
    cells = {c for step in ("S", "A", "Z") for row in report["steps"][step]["cells"] for c in row}
    assert "follow-through" in cells and "wrong" not in cells
    assert 90 < report["percent"] < 100


def test_a_turn_counted_from_one_is_named():
    sol = solve(make_problem(seed=6, spec=Spec.for_level("classic", rope=True, d_k=4)))
    late = steps.rotate(sol.values["K"], "columns", lambda m: m + 1)
    work = grading_vectors.full(sol, values=grading_vectors.follow(sol, {"Kr": late}))
    report = grading.grade(sol, answers_io.parse_text(json.dumps(work), "rope"))
    kr = report.steps["Kr"]
    assert [m.kind for m in kr.mistakes] == ["rotation-position"]
    assert "the first token is m = 0" in kr.mistakes[0].text


def test_a_filled_rope_form_grades_like_its_json(tmp_path):
    from .test_fillable_roundtrip import graded_as_form_and_as_json

    blank = tmp_path / "blank.pdf"
    made = run_cli("generate", "--seed", "6", "--rope", "--fillable", "-o", str(blank))
    assert made.exit_code == 0
    sol = solve(make_problem(seed=6, spec=Spec.for_level("classic", rope=True)))
    late = steps.rotate(sol.values["K"], "columns", lambda m: m + 1)
    work = grading_vectors.full(sol, values=grading_vectors.follow(sol, {"Kr": late}))
    work = {k: v for k, v in work.items() if k in ("Q", "K", "Qr", "Kr", "KT", "S")}
    from_pdf = graded_as_form_and_as_json(blank, sol, work, tmp_path)
    assert [m["kind"] for m in from_pdf["steps"]["Kr"]["mistakes"]] == ["rotation-position"]
    s_cells = {c for row in from_pdf["steps"]["S"]["cells"] for c in row}
    assert "follow-through" in s_cells and "wrong" not in s_cells


@pytest.mark.browser
def test_the_interactive_rope_page_checks_like_the_cli(browser, tmp_path):
    import os

    from .conftest import CHROMIUM
    from .test_browser import _sheet, checked_like_the_cli

    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing")
    url = _sheet(tmp_path, "--seed", "6", "--rope", "--convention", "rows")
    sol = solve(make_problem(seed=6, spec=Spec.for_level("classic", rope=True, convention="rows")))
    back = steps.rotate(sol.values["Q"], "rows", lambda m: -m)
    work = grading_vectors.full(sol, values=grading_vectors.follow(sol, {"Qr": back}))
    shown, report_text, explained = checked_like_the_cli(browser, url, sol, work, tmp_path)
    assert "Qr turns the wrong way" in report_text
    assert "follow-through" in set(shown.values())
    assert "quarter turns" in explained  # the walkthrough's words for Qr and Kr


def test_a_problem_file_keeps_the_option(tmp_path):
    path = tmp_path / "p.json"
    assert run_cli("problem", "--seed", "9", "--rope", "-o", str(path)).exit_code == 0
    data = json.loads(path.read_text())
    assert data["rope"] is True
    solved = json.loads(run_cli("solve", "--from", str(path), "--json").stdout)
    assert {"Qr", "Kr"} <= set(solved["steps"])
    drawn = json.loads(run_cli("solve", "--seed", "9", "--rope", "--json").stdout)
    assert solved["steps"] == drawn["steps"]
    for bad, words in (("yes", '"rope" must be true or false'), (True, "d_k must be even")):
        odd = {**data, "rope": bad}
        if bad is True:  # a third row of weights: d_k = 3
            odd = {**odd, **{w: data[w] + [[0] * 6] for w in ("WQ", "WK", "WV")}}
        path.write_text(json.dumps(odd))
        result = run_cli("solve", "--from", str(path))
        assert result.exit_code == 1 and words in result.output
        assert len(result.output.strip().splitlines()) == 1


# --- a decode step: the new token at m = n − 1, the cache turned already -------------------


def _decode(seed: int, **spec):
    return solve(make_problem(seed=seed, spec=Spec.for_level("classic", decode=True, rope=True, **spec)))


@pytest.mark.parametrize("spec", [{}, dict(convention="rows", d_k=4), dict(tokens=6)], ids=str)
def test_a_decode_step_turns_the_new_token_by_its_position_as_numpy_does(spec):
    sol = _decode(3, **spec)
    sp, v = sol.problem.spec, sol.values
    cols = sp.convention == "columns"
    m = sp.tokens - 1
    turn = np.kron(np.eye(sp.d_k // 2, dtype=int), np.linalg.matrix_power(TURN, m))
    q, k = (_arr(v[n]).reshape(-1) for n in ("q", "k"))
    assert (_arr(v["qr"]).reshape(-1) == turn @ q).all()
    assert (_arr(v["kr"]).reshape(-1) == turn @ k).all()
    cache = _arr(sol.problem.given["Kcache"])
    keys = np.hstack([cache, (turn @ k)[:, None]]) if cols else np.vstack([cache, turn @ k])
    assert (_arr(v["K"]) == keys).all()
    scores = (keys.T @ (turn @ q)).reshape(-1) if cols else (keys @ (turn @ q)).reshape(-1)
    assert (_arr(v["S"]).reshape(-1) == scores).all()
    # the cache holds key i turned i times: turned back, it scores like the query turned by
    # the distance m − i alone, and like both turned one place later
    for i in range(m):
        cached = keys[:, i] if cols else keys[i]
        plain = np.linalg.matrix_power(np.kron(np.eye(sp.d_k // 2, dtype=int), TURN.T), i) @ cached
        by = lambda t: np.kron(np.eye(sp.d_k // 2, dtype=int), np.linalg.matrix_power(TURN, t))  # noqa: E731
        assert plain @ (by(m - i) @ q) == scores[i] == (by(i + 1) @ plain) @ (by(m + 1) @ q)


def test_a_rope_decode_id_file_and_sheet_bring_it_back(tmp_path):
    problem = make_problem(seed=8, spec=Spec.for_level("classic", decode=True, rope=True))
    for back in (decode_id(problem.id), from_id(problem.sheet_id)):
        assert back.given == problem.given and back.spec.rope and back.spec.decode
        assert back.exercise.steps == problem.exercise.steps
    plain = make_problem(seed=8, spec=Spec.for_level("classic", decode=True, d_k=2))
    assert plain.id != problem.id
    path = tmp_path / "p.json"
    assert run_cli("problem", "--seed", "8", "--decode", "--rope", "-o", str(path)).exit_code == 0
    data = json.loads(path.read_text())
    assert data["rope"] is True and "Kcache" in data
    solved = json.loads(run_cli("solve", "--from", str(path), "--json").stdout)
    assert {"qr", "kr"} <= set(solved["steps"]) and solved["id"] == problem.id
    odd = {**data, **{w: data[w] + [[0] * 6] for w in ("WQ", "WK")}}
    odd["Kcache"] = data["Kcache"] + [[0] * len(data["Kcache"][0])]
    path.write_text(json.dumps(odd))
    result = run_cli("solve", "--from", str(path))
    assert result.exit_code == 1 and "d_k must be even" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_rope_decode_sheet_and_key_read_back_from_pdf(tmp_path):
    sheet, key = tmp_path / "sheet.pdf", tmp_path / "key.pdf"
    assert run_cli("generate", "--seed", "3", "--decode", "--rope", "-o", str(sheet)).exit_code == 0
    assert run_cli("key", "--seed", "3", "--decode", "--rope", "-o", str(key)).exit_code == 0
    blank = "".join(p.extract_text() for p in PdfReader(sheet).pages)
    assert "qr = R·q" in blank and "kr = R·k" in blank and "K = [Kcache | kr]" in blank
    assert "S = Kᵀ·qr" in blank and "the new token is m = 3" in blank
    assert len(PdfReader(sheet).pages) == 1 and len(PdfReader(key).pages) == 2
    text = "".join(p.extract_text() for p in PdfReader(key).pages)
    assert "only the distance counts" in text
    from handcalc.worksheet import rope_notes

    sol = _decode(3)
    line = rope_notes(sol)[0]
    i = int(line.split("]")[0][2:])
    stated = line.split("; one place")[0].rsplit("= ", 1)[1]
    assert Fraction(stated) == sol.values["S"][i - 1][0]
    later = line.split("one place later, ")[1].split(". Real")[0].rsplit("= ", 1)[1]
    assert Fraction(later) == Fraction(stated)


# The new token at m = 3 (4 tokens) turned back is turned once; at m = 2 (3 tokens) counted
# from one it is turned 3 times (at m = 3, 4 times: no turn, which not-rotated names).
@pytest.mark.parametrize(
    "tokens, changed, step, kind",
    [
        (4, lambda v: {"qr": v["q"]}, "qr", "not-rotated"),
        (4, lambda v: {"K": steps.concat((v["Kcache"], v["k"]), "columns")}, "K", "not-rotated"),
        (3, lambda v: {"kr": steps.rotate(v["k"], "columns", lambda m: 3)}, "kr", "rotation-position"),
        (4, lambda v: {"qr": steps.rotate(v["q"], "columns", lambda m: 1)}, "qr", "rotation-direction"),
    ],
    ids=["qr-unturned", "K-unturned", "kr-from-one", "qr-backwards"],
)
def test_a_wrong_decode_turn_is_named_and_followed_to_z(tokens, changed, step, kind):
    sol = _decode(9, tokens=tokens)  # q and k of two different entries: neither is trivial
    wrong = changed(sol.values)
    assert wrong[step] != sol.values[step]
    work = grading_vectors.full(sol, values=grading_vectors.follow(sol, wrong))
    report = grading.grade(sol, answers_io.parse_text(json.dumps(work), "rope"))
    assert [m.kind for m in report.steps[step].mistakes] == [kind]
    later = {c for n in ("K", "S", "A", "Z") if n != step for c in report.steps[n].flat()}
    assert "follow-through" in later and "wrong" not in later
