"""Cross-attention and grouped heads, each its own step table, checked against a reference
written here with numpy and plain loops (none of handcalc's arithmetic), against small
examples worked by hand, and through every surface: grader, IDs, files, PDFs, class sets."""

from __future__ import annotations

import json
import math
import os
from fractions import Fraction as F

import numpy as np
import pdfplumber
import pypdf
import pytest

from handcalc import grading
from handcalc.answers import parse_text
from handcalc.classset import draw_class
from handcalc.draw import draw, failed_rules, make_problem
from handcalc.problem import Spec, decode_id, from_matrices
from handcalc.solution import solve
from handcalc.steps import MASKED

from . import grading_vectors as gv
from .conftest import run_cli

# --- an independent reference -------------------------------------------------------------


def _mul(a, b):
    """Matrix product by loops over numpy object arrays (Fractions stay exact)."""
    a, b = np.array(a, dtype=object), np.array(b, dtype=object)
    out = np.empty((a.shape[0], b.shape[1]), dtype=object)
    for i in range(a.shape[0]):
        for j in range(b.shape[1]):
            out[i, j] = sum((a[i, k] * b[k, j] for k in range(a.shape[1])), F(0))
    return out


def _head(xk, xq, wq, wk, wv, causal=False):
    """One head in the column convention: scores keys × queries, softmax down each column."""
    q, k, v = _mul(wq, xq), _mul(wk, xk), _mul(wv, xk)
    s = _mul(k.T, q)
    n, m = s.shape
    hidden = np.zeros((n, m), dtype=bool)
    if causal:
        for i in range(n):
            for j in range(m):
                hidden[i, j] = i > j  # key i comes after query j
    e = np.empty((n, m), dtype=object)
    scaled = np.empty((n, m), dtype=object)
    for i in range(n):
        for j in range(m):
            if hidden[i, j]:
                scaled[i, j], e[i, j] = None, F(0)
            else:
                scaled[i, j] = F(math.floor(F(s[i, j]) / 2))
                e[i, j] = F(3) ** int(scaled[i, j])
    colsum = [sum(e[:, j], F(0)) for j in range(m)]
    s = np.where(hidden, None, s)
    a = np.empty((n, m), dtype=object)
    for i in range(n):
        for j in range(m):
            a[i, j] = e[i, j] / colsum[j]
    z = _mul(v, a)
    return {"Q": q, "K": k, "V": v, "S": s, "exp": e, "colsum": colsum, "A": a, "Z": z}


def _rows(value):
    return [list(r) for r in np.array(value, dtype=object).tolist()]


def _as_columns(given: dict, convention: str) -> dict:
    if convention == "columns":
        return {k: np.array(v, dtype=object) for k, v in given.items()}
    return {k: np.array(v, dtype=object).T for k, v in given.items()}


def _back(value, convention: str):
    """A column-convention reference value as the sheet's convention prints it."""
    arr = np.array(value, dtype=object)
    if arr.ndim == 1 or convention == "columns":
        return arr.tolist()
    return arr.T.tolist()


def _plain(value):
    """A package value as lists, its masked cells as None (the reference's mark)."""

    def cell(x):
        return None if x is MASKED else x

    return [[cell(x) for x in r] if isinstance(r, tuple) else cell(r) for r in value]


def reference_cross(given: dict, convention: str) -> dict:
    g = _as_columns(given, convention)
    ref = _head(g["X"], g["Xq"], g["WQ"], g["WK"], g["WV"])
    return {k: _back(v, convention) for k, v in ref.items()}


def reference_grouped(given: dict, heads: int, kv_heads: int, convention: str, causal: bool):
    g = _as_columns(given, convention)
    per = heads // kv_heads
    out, zs = {}, []
    for h in range(1, heads + 1):
        grp = (h - 1) // per
        kv = "" if kv_heads == 1 else "abcd"[grp]
        ref = _head(g["X"], g["X"], g["WQ" + str(h)], g["WK" + kv], g["WV" + kv], causal)
        for role in ("Q", "S", "exp", "colsum", "A", "Z"):
            out[role + str(h)] = _back(ref[role], convention)
        out["K" + kv], out["V" + kv] = _back(ref["K"], convention), _back(ref["V"], convention)
        zs.append(np.array(ref["Z"], dtype=object))
    zcat = np.vstack(zs)
    out["Zcat"] = _back(zcat, convention)
    out["O"] = _back(_mul(g["WO"], zcat), convention)
    return out


def reference_decode(given: dict, convention: str) -> dict:
    """The new token against the cache: q, k, v of x, the cache grown by k and v, one query."""
    g = _as_columns(given, convention)
    x = g["x"]
    q, k, v = _mul(g["WQ"], x), _mul(g["WK"], x), _mul(g["WV"], x)
    keys = np.hstack([g["Kcache"], k])
    values = np.hstack([g["Vcache"], v])
    s = _mul(keys.T, q)
    e = np.array([[F(3) ** math.floor(F(s[i, 0]) / 2)] for i in range(s.shape[0])], dtype=object)
    total = sum(e[:, 0], F(0))
    a = e / total
    ref = {"q": q, "k": k, "v": v, "K": keys, "V": values, "S": s, "exp": e, "A": a}
    ref["Z"] = _mul(values, a)
    out = {name: _back(value, convention) for name, value in ref.items()}
    out["colsum"] = [total]
    return out


def _agrees(sol, ref: dict) -> None:
    for name, want in ref.items():
        if sol.exercise.convention == "rows":
            name = name.replace("colsum", "rowsum")
        assert _plain(sol.values[name]) == want, name


@pytest.mark.parametrize("convention", ["columns", "rows"])
@pytest.mark.parametrize("queries", [1, 3, 5])
def test_cross_attention_matches_the_reference(convention, queries):
    for seed in range(8):
        sol = draw(Spec(queries=queries, convention=convention), seed)
        _agrees(sol, reference_cross(sol.problem.given, convention))
        a = sol.values["A"]
        lines = zip(*a) if convention == "columns" else a
        assert all(sum(line) == 1 for line in lines)
        assert len(sol.values["colsum" if convention == "columns" else "rowsum"]) == queries


@pytest.mark.parametrize(
    "heads,kv_heads,convention,causal",
    [
        (2, 1, "columns", False),
        (4, 2, "rows", False),
        (4, 1, "columns", True),
        (2, 1, "rows", True),
    ],
)
def test_grouped_heads_match_the_reference(heads, kv_heads, convention, causal):
    spec = Spec(heads=heads, kv_heads=kv_heads, convention=convention, causal=causal, tokens=3)
    for seed in range(3):
        sol = draw(spec, seed)
        ref = reference_grouped(sol.problem.given, heads, kv_heads, convention, causal)
        _agrees(sol, ref)


@pytest.mark.parametrize("convention", ["columns", "rows"])
@pytest.mark.parametrize("tokens", [2, 4, 6])
def test_decode_step_matches_the_reference(convention, tokens):
    for seed in range(8):
        sol = draw(Spec(decode=True, tokens=tokens, convention=convention), seed)
        _agrees(sol, reference_decode(sol.problem.given, convention))
        assert sum(x for row in sol.values["A"] for x in row) == 1


# --- worked by hand -----------------------------------------------------------------------


def test_cross_attention_worked_by_hand():
    # Two tokens in X, one query from Xq.  Q = [2 2]·[1;1] = 4;  K = [1 -1]·I = [1 -1];
    # S = Kᵀ·Q = [4; -4];  floor(S/2) = [2; -2];  3^x = [9; 1/9];  column sum 82/9;
    # A = [81/82; 1/82];  V = [3 0];  Z = 3·81/82 = 243/82.
    data = {
        "X": [[1, 0], [0, 1]],
        "Xq": [[1], [1]],
        "WQ": [[2, 2]],
        "WK": [[1, -1]],
        "WV": [[3, 0]],
    }
    sol = solve(from_matrices(data))
    v = sol.values
    assert sol.exercise.form == "cross"
    assert v["Q"] == ((4,),) and v["K"] == ((1, -1),)
    assert v["S"] == ((4,), (-4,))
    assert v["exp"] == ((9,), (F(1, 9),))
    assert v["colsum"] == (F(82, 9),)
    assert v["A"] == ((F(81, 82),), (F(1, 82),))
    assert v["Z"] == ((F(243, 82),),)


def test_multi_query_worked_by_hand():
    # Two query heads share one K = [1 -1] and one V = [1 2] (X is the identity).
    # Head 1: Q1 = [2 0], S1 = [[2,0],[-2,0]], 3^floor(S1/2) = [[3,1],[1/3,1]],
    #   sums [10/3, 2], A1 = [[9/10,1/2],[1/10,1/2]], Z1 = [11/10, 3/2].
    # Head 2: Q2 = [0 2], S2 = [[0,2],[0,-2]], A2 = [[1/2,9/10],[1/2,1/10]], Z2 = [3/2, 11/10].
    data = {
        "X": [[1, 0], [0, 1]],
        "WQ1": [[2, 0]],
        "WQ2": [[0, 2]],
        "WK": [[1, -1]],
        "WV": [[1, 2]],
        "WO": [[1, 0], [0, 1]],
    }
    sol = solve(from_matrices(data))
    v = sol.values
    assert (sol.exercise.form, sol.exercise.kv_heads) == ("grouped", 1)
    assert sol.exercise["S1"].inputs == ("KT", "Q1") and sol.exercise["S2"].inputs == ("KT", "Q2")
    assert sum(1 for s in sol.exercise if s.role == "K") == 1
    assert v["A1"] == ((F(9, 10), F(1, 2)), (F(1, 10), F(1, 2)))
    assert v["Z1"] == ((F(11, 10), F(3, 2)),)
    assert v["Z2"] == ((F(3, 2), F(11, 10)),)
    assert v["O"] == ((F(11, 10), F(3, 2)), (F(3, 2), F(11, 10)))


def test_decode_step_worked_by_hand():
    # Cache: two earlier keys [1 0] and [0 1] (columns), values [2 0]; new token x = [1; 1].
    # q = WQ·x = [2 2]·x = 4;  k = WK·x = [1 -1]·x = 0;  v = WV·x = [1 1]·x = 2.
    # K = [1 0 0], V = [2 0 2];  S = Kᵀ·q = [4; 0; 0];  floor(S/2) = [2; 0; 0];
    # 3^x = [9; 1; 1], sum 11;  A = [9/11; 1/11; 1/11];  Z = 2·9/11 + 0 + 2·1/11 = 20/11.
    data = {
        "x": [[1], [1]],
        "WQ": [[2, 2]],
        "WK": [[1, -1]],
        "WV": [[1, 1]],
        "Kcache": [[1, 0]],
        "Vcache": [[2, 0]],
    }
    sol = solve(from_matrices(data))
    v = sol.values
    assert sol.exercise.form == "decode" and sol.problem.spec.tokens == 3
    assert (v["q"], v["k"], v["v"]) == (((4,),), ((0,),), ((2,),))
    assert v["K"] == ((1, 0, 0),) and v["V"] == ((2, 0, 2),)
    assert v["S"] == ((4,), (0,), (0,))
    assert v["colsum"] == (11,)
    assert v["A"] == ((F(9, 11),), (F(1, 11),), (F(1, 11),))
    assert v["Z"] == ((F(20, 11),),)


def test_decode_caches_are_projections_of_earlier_tokens():
    """A drawn cache is WK and WV applied to earlier tokens drawn like x (0 or 1 each)."""
    import itertools

    for seed in range(10):
        sol = draw(Spec(decode=True), seed)
        g = {k: np.array(v) for k, v in sol.problem.given.items()}
        options = [np.array(c) for c in itertools.product((0, 1), repeat=6)]
        for col in range(g["Kcache"].shape[1]):
            assert any(
                (g["WK"] @ t == g["Kcache"][:, col]).all()
                and (g["WV"] @ t == g["Vcache"][:, col]).all()
                for t in options
            )


# --- drawing, IDs, files ----------------------------------------------------------------

SPECS = {
    "cross": dict(queries=3),
    "cross-rows": dict(queries=2, convention="rows", tokens=5),
    "multi-query": dict(heads=2, kv_heads=1),
    "grouped": dict(heads=4, kv_heads=2, tokens=3),
    "decode": dict(decode=True),
    "decode-rows": dict(decode=True, convention="rows", tokens=6),
}


@pytest.mark.parametrize("name", SPECS)
def test_draws_are_hand_friendly_and_ids_round_trip(name):
    for seed in range(25):
        sol = draw(Spec(**SPECS[name]), seed)
        assert failed_rules(sol) == []
        for given, m in sol.problem.given.items():  # Xq is input, drawn like X (0:1)
            lo, hi = {"X": (0, 1), "Xq": (0, 1), "x": (0, 1)}.get(given, (-1, 1))
            if given.endswith("cache"):  # projections, held to the products rule
                lo, hi = -6, 6
            assert all(lo <= x <= hi for row in m for x in row), given
        back = decode_id(sol.problem.id)
        assert back.given == sol.problem.given
        assert back.spec.exercise() == sol.problem.spec.exercise()
        # a problem file holds only matrices: the convention comes from the options
        as_read = Spec(convention=sol.problem.spec.convention)
        again = from_matrices(json.loads(json.dumps(sol.problem.to_json())), as_read)
        assert again.id == sol.problem.id


def test_plain_sheet_ids_are_unchanged_by_the_new_shapes():
    p = make_problem(seed=1)
    assert decode_id(p.id).spec.form == "self"
    assert p.id.replace("-", "")[-1] and make_problem(seed=1, spec=Spec(queries=4)).id != p.id


def test_class_set_of_cross_sheets_are_all_different():
    students = draw_class(Spec(queries=2), 11, ["A", "B", "C"])
    ids = {s.problem.id for s in students}
    assert len(ids) == 3
    assert all(decode_id(i).spec.queries == 2 for i in ids)


# --- grading --------------------------------------------------------------------------


def _grade(sol, answers):
    return grading.grade(sol, parse_text(json.dumps({"id": sol.problem.id, **answers}), "t"))


@pytest.mark.parametrize("name", SPECS)
def test_the_key_grades_full_marks(name):
    sol = draw(Spec(**SPECS[name]), 2)
    assert _grade(sol, gv.full(sol)).percent == 100.0


def test_a_slip_in_a_shared_key_follows_through_into_every_head_of_its_group():
    sol = draw(Spec(heads=4, kv_heads=2), 3)
    k = sol.values["Ka"]
    slipped = gv.tweak(k, 0, 0, k[0][0] + 1)
    rep = _grade(sol, gv.full(sol, values=gv.follow(sol, {"Ka": slipped})))
    assert rep.steps["Ka"].count("wrong") == 1
    assert [m.kind for m in rep.steps["Ka"].mistakes] == ["slip"]
    for name in ("S1", "S2"):  # both query heads of group a score against the slipped K
        assert rep.steps[name].count("follow-through") > 0, name
    for name in ("S3", "S4"):  # group b never saw it
        assert rep.steps[name].count("follow-through") == 0, name


def test_a_slip_in_the_new_key_follows_through_the_grown_cache():
    sol = draw(Spec(decode=True), 3)
    k = sol.values["k"]
    slipped = gv.tweak(k, 0, 0, k[0][0] + 1)
    rep = _grade(sol, gv.full(sol, values=gv.follow(sol, {"k": slipped})))
    assert rep.steps["k"].count("wrong") == 1
    # only the last column of K (the new token's) differs from the key; it follows through
    assert rep.steps["K"].count("follow-through") == 1 and rep.steps["K"].count("wrong") == 0
    assert rep.steps["S"].verdicts[-1] == ("follow-through",)
    assert rep.steps["colsum"].count("wrong") == 0
    assert rep.steps["Z"].count("wrong") == 0


def test_cross_named_mistakes():
    sol = draw(Spec(queries=3), 4)
    v = sol.values
    q_swapped = gv._recompute(sol, "Q", {"WQ": v["WK"]})
    rep = _grade(sol, gv.full(sol, values=gv.follow(sol, {"Q": q_swapped})))
    assert [m.kind for m in rep.steps["Q"].mistakes] == ["weights-swapped"]
    assert "WK instead of WQ" in rep.steps["Q"].mistakes[0].text
    assert rep.steps["S"].count("follow-through") > 0
    # a transposed 4 × 3 score matrix cannot even be written in the 4 × 3 boxes: no crash
    rep = _grade(sol, {**gv.full(sol), "S": [[0] * 3 for _ in range(4)]})
    assert rep.steps["S"].count("wrong") > 0


# --- the command line and the sheets -------------------------------------------------------


@pytest.mark.parametrize(
    "args,message",
    [
        (["--queries", "2", "--causal"], "--causal does not apply to cross-attention"),
        (["--heads", "4", "--kv-heads", "3"], "--kv-heads 3 must divide --heads 4"),
        (["--queries", "2", "--heads", "2", "--kv-heads", "1"], "pick one"),
        (["--queries", "11"], "--queries must be a whole number from 1 to 10"),
        (["--decode", "--causal"], "--causal does not apply to a decode step"),
        (["--decode", "--heads", "2"], "--decode works one head"),
        (["--decode", "--tokens", "1"], "--decode needs --tokens of at least 2"),
        (["--decode", "--queries", "2"], "pick one"),
    ],
)
def test_impossible_shapes_are_one_line(cli, args, message):
    result = cli("solve", "--seed", 1, *args)
    assert result.exit_code == 1
    assert message in result.output and len(result.output.strip().splitlines()) == 1


def test_solve_json_and_text_name_the_steps(cli):
    out = json.loads(cli("solve", "--seed", 2, "--queries", "3", "--json").output)
    assert set(out["problem"]) == {"X", "Xq", "WQ", "WK", "WV"}
    assert len(out["steps"]["S"]) == 4 and len(out["steps"]["S"][0]) == 3
    assert len(out["steps"]["colsum"]) == 3
    text = cli("solve", "--seed", 2, "--heads", "2", "--kv-heads", "1").output
    assert text.startswith("handcalc grouped-query attention")
    assert "K = WK·X" in text and "S2 = Kᵀ·Q" in text


def test_decode_solve_names_its_steps(cli):
    out = json.loads(cli("solve", "--seed", 2, "--decode", "--json").output)
    assert set(out["problem"]) == {"x", "WQ", "WK", "WV", "Kcache", "Vcache"}
    assert list(out["steps"]) == [
        "q", "k", "v", "K", "V", "KT", "S", "scaled", "exp", "colsum", "A", "Z"
    ]  # fmt: skip
    assert len(out["steps"]["K"][0]) == 4 and len(out["problem"]["Kcache"][0]) == 3


def _pdf_text(path) -> list[str]:
    with pdfplumber.open(path) as pdf:
        return [p.extract_text() or "" for p in pdf.pages]


def test_cross_sheets_render_one_page_and_the_key_two(cli, tmp_path):
    blank, key = tmp_path / "b.pdf", tmp_path / "k.pdf"
    assert cli("generate", "--seed", 5, "--queries", 3, "-o", blank).exit_code == 0
    assert cli("key", "--seed", 5, "--queries", 3, "-o", key).exit_code == 0
    pages = _pdf_text(blank)
    assert len(pages) == 1 and "Cross-attention by hand" in pages[0]
    assert "Q = WQ·Xq" in pages[0] and "every query sees every key" in pages[0]
    assert len(_pdf_text(key)) == 2


def test_grouped_sheets_show_the_sharing_and_the_key_counts_it(cli, tmp_path):
    blank, key = tmp_path / "b.pdf", tmp_path / "k.pdf"
    args = ("--seed", 5, "--heads", 2, "--kv-heads", 1)
    assert cli("generate", *args, "-o", blank).exit_code == 0
    assert cli("key", *args, "-o", key).exit_code == 0
    pages = _pdf_text(blank)
    assert len(pages) == 3
    assert "works K and V, shared by query heads 1–2" in pages[0]
    assert "reuses Kᵀ and V from head 1" in pages[1]
    assert "from head 1" in pages[1]  # the shared boxes say where they were worked
    text = " ".join(" ".join(_pdf_text(key)).split())
    # (d_k + d_v) × n × d_in = (3 + 3) × 4 × 6 = 144 multiplications per K and V, one saved
    assert "= 144 multiplications" in text and "saving 144" in text


def test_decode_sheets_grow_the_cache_and_the_key_counts_the_saving(cli, tmp_path):
    blank, key = tmp_path / "b.pdf", tmp_path / "k.pdf"
    assert cli("generate", "--seed", 5, "--decode", "-o", blank).exit_code == 0
    assert cli("key", "--seed", 5, "--decode", "-o", key).exit_code == 0
    pages = _pdf_text(blank)
    assert len(pages) == 1 and "A decode step with a KV cache" in pages[0]
    assert "K = [Kcache | k]" in pages[0] and "V = [Vcache | v]" in pages[0]
    text = " ".join(" ".join(_pdf_text(key)).split())
    assert len(_pdf_text(key)) == 2
    # 3 cached tokens: (d_k + d_v) × 3 × d_in = (3 + 3) × 3 × 6 = 108 multiplications saved;
    # the new token's q, k, v take (3 + 3 + 3) × 6 = 54
    assert "= 108 multiplications" in text and "= 54 multiplications" in text


@pytest.mark.parametrize(
    "args", [("--queries", "3"), ("--heads", "2", "--kv-heads", "1"), ("--decode",)]
)
def test_fillable_form_typed_with_the_key_scores_full_marks(cli, tmp_path, args):
    blank = tmp_path / "blank.pdf"
    assert cli("generate", "--seed", 6, *args, "--fillable", "-o", blank).exit_code == 0
    sol = solve(make_problem(seed=6, spec=Spec(**_spec_args(args))))
    fields = pypdf.PdfReader(blank).get_fields()
    cells = sum(math.prod(s.shape) for s in sol.exercise.worked)
    # every worked cell once (no field in a shared copy), the ID and the student's name
    assert len(fields) == cells + 2
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(blank))
    values = {}
    for name, rows in gv.full(sol).items():
        s = sol.exercise[name]
        for r, row in enumerate([rows] if s.is_vector else rows):
            for c, x in enumerate(row):
                if x is not None:
                    field = f"{name}_{c + 1}" if s.is_vector else f"{name}_r{r + 1}_c{c + 1}"
                    values[field] = str(x)
    for page in writer.pages:
        writer.update_page_form_field_values(page, values, auto_regenerate=False)
    filled = tmp_path / "filled.pdf"
    with open(filled, "wb") as fh:
        writer.write(fh)
    report = json.loads(cli("check", filled, "--json").output)
    assert report["percent"] == 100.0


def _spec_args(args) -> dict:
    """CLI shape options as Spec keywords (flags alone, the others with a number)."""
    out, rest = {}, list(args)
    while rest:
        key = rest.pop(0).lstrip("-").replace("-", "_")
        out[key] = True if key == "decode" else int(rest.pop(0))
    return out


def test_stress_reports_the_rules_for_each_shape(cli):
    for args in (("--queries", 2), ("--heads", 2, "--kv-heads", 1), ("--decode",)):
        out = cli("stress", "--draws", 200, *args).output
        assert "200 draws" in out and "not-flat" in out and "scores" in out


# --- the interactive sheet in a real browser ---------------------------------------------


@pytest.mark.browser
@pytest.mark.parametrize(
    "args,slipped",
    [
        (("--queries", "3"), "K"),
        (("--heads", "4", "--kv-heads", "2", "--tokens", "3"), "Kb"),
        (("--decode",), "K"),  # a cached key miscopied
    ],
)
def test_the_page_grades_new_shapes_like_the_cli(tmp_path, args, slipped):
    from .conftest import CHROMIUM
    from .test_browser import Opened, _cli_verdicts, _fill, _verdicts

    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing")
    sync_api = pytest.importorskip("playwright.sync_api")
    page_file = tmp_path / "sheet.html"
    assert (
        run_cli("generate", "--seed", "7", *args, "--interactive", "-o", str(page_file)).exit_code
        == 0
    )
    sol = solve(make_problem(seed=7, spec=Spec(**_spec_args(args))))
    k = sol.values[slipped]
    work = gv.full(sol, values=gv.follow(sol, {slipped: gv.tweak(k, 1, 1, k[1][1] - 1)}))
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        o = Opened(b, page_file.as_uri(), viewport={"width": 1280, "height": 900})
        _fill(o.page, work, sol.exercise)
        o.page.click("#check")
        shown = _verdicts(o.page)
        score = o.page.inner_text("#score")
        report_text = o.page.inner_text("#report")
        o.close()
        b.close()
    assert o.errors == []
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"id": sol.problem.id, **work}))
    cli_report = json.loads(run_cli("check", str(answers), "--json").stdout)
    assert {k: v for k, v in shown.items() if v} == _cli_verdicts(cli_report)
    assert f"{cli_report['percent']:.1f} %" in score
    assert "follow-through" in set(shown.values())
    assert f"One slip in {slipped}, row 2, column 2" in report_text
