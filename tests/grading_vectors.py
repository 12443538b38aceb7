"""Shared grading test vectors: problems, answers, and what handcalc's Python grader says.

The interactive sheet grades in JavaScript (templates/grading.js); these vectors hold both
graders to one answer. Remake the committed file after a deliberate change to the grader:

    python -m tests.grading_vectors        (writes tests/vectors/grading.json)
"""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

from handcalc import answers as answers_io
from handcalc import grading, numbers, report, steps
from handcalc.draw import make_problem
from handcalc.interactive import page_data
from handcalc.problem import Spec, decode_id
from handcalc.steps import field_name
from handcalc.solution import solve
from handcalc.steps import field_name

PATH = Path(__file__).resolve().parent / "vectors" / "grading.json"
VERSION = 2


# --- writing answers the ways students do --------------------------------------------------


def frac(x) -> str | int | None:
    """A key value as a student writes it exactly: 3, "-9/46"; a masked cell stays blank."""
    if x is steps.MASKED:
        return None
    x = Fraction(x)
    return x.numerator if x.denominator == 1 else numbers.text(x)


def dec(places: int):
    def write(x):
        if x is steps.MASKED:
            return None
        return numbers.decimal(Fraction(x), places)

    return write


def as_answer(step: steps.Step, value, write=frac):
    if step.is_vector:
        return [write(x) for x in value]
    return [[write(x) for x in row] for row in value]


def full(sol, write=frac, values=None) -> dict:
    """Every worked step written out from `values` (default: the key)."""
    values = values or sol.values
    return {s.name: as_answer(s, values[s.name], write) for s in sol.exercise.worked}


def follow(sol, changed: dict) -> dict:
    """The key with some steps replaced, and every later step worked from the replacements,
    as a student who carries a mistake forward correctly would."""
    ex = sol.exercise
    track = grading.hand_track(sol.problem.spec.rounding)
    values = dict(sol.values)
    for s in ex.worked:
        if s.name in changed:
            values[s.name] = changed[s.name]
        elif any(i in changed or values[i] is not sol.values[i] for i in s.inputs):
            values[s.name] = steps.compute(s, values, track)
    return values


def tweak(value, r, c, new):
    rows = [list(row) for row in value]
    rows[r][c] = new
    return tuple(tuple(row) for row in rows)


def blank_steps(ans: dict, *names) -> dict:
    return {k: (None if k in names else v) for k, v in ans.items()}


# --- the cases -------------------------------------------------------------------------


def _sol(seed: int, **spec):
    return solve(make_problem(seed=seed, spec=Spec(**spec)))


def cases() -> list[tuple[str, object, dict]]:
    """(name, solution, answers) for every behaviour both graders must agree on."""
    out = []
    sol = _sol(1)
    v = sol.values
    out.append(("right work", sol, full(sol)))
    out.append(("all blank", sol, {}))
    out.append(("blank steps and cells", sol, blank_steps(full(sol), "A", "Z")))
    some = full(sol)
    some["S"] = [list(r) for r in some["S"]]
    some["S"][1][2] = None
    out.append(("one blank cell", sol, some))

    decimals = full(sol)
    decimals["A"] = as_answer(sol.exercise["A"], v["A"], dec(3))
    decimals["Z"] = as_answer(sol.exercise["Z"], v["Z"], dec(2))
    out.append(("decimals to 3 and 2 places", sol, decimals))
    short = full(sol)
    short["A"] = as_answer(sol.exercise["A"], v["A"], dec(1))
    out.append(("decimals to 1 place are too short", sol, short))
    carried = full(sol)
    carried["colsum"] = as_answer(sol.exercise["colsum"], v["colsum"], dec(2))
    rough = tuple(Fraction(numbers.decimal(x, 2)) for x in v["colsum"])
    rounded_a = steps.normalise(v["exp"], rough, "columns")
    carried["A"] = as_answer(sol.exercise["A"], rounded_a, dec(4))
    out.append(("rounded decimals carried forward", sol, carried))

    commas = full(sol)
    commas["A"] = as_answer(sol.exercise["A"], v["A"], lambda x: dec(4)(x).replace(".", ","))
    commas["colsum"] = [dec(2)(x).replace(".", ",") for x in v["colsum"]]
    commas["Z"] = as_answer(sol.exercise["Z"], v["Z"], lambda x: dec(2)(x).replace(".", ","))
    commas["Z"][0][0] = "1,234"  # a comma before three digits may separate thousands: refused
    commas["Z"][0][1] = "1,2,5"
    out.append(("decimal commas, and commas that could separate thousands", sol, commas))

    bad_sum = list(v["colsum"])
    bad_sum[1] = bad_sum[1] + 2
    carried_sum = follow(sol, {"colsum": tuple(bad_sum)})
    a_slip = tweak(carried_sum["A"], 0, 1, carried_sum["A"][0][1] + 1)
    carried_sum = follow(sol, {"colsum": tuple(bad_sum), "A": a_slip})
    out.append(
        ("wrong colsum carried into A, then a slip in A", sol, full(sol, values=carried_sum))
    )
    one_short = full(sol)
    one_short["A"] = as_answer(sol.exercise["A"], v["A"], dec(3))
    one_short["A"][0][1] = numbers.decimal(v["A"][0][1], 1)
    out.append(("one decimal too short", sol, one_short))

    notation = full(sol)
    notation["Q"] = [[str(x).replace("-", "\u2212") + " " for x in row] for row in notation["Q"]]
    notation["K"] = [[f"+{x}" if x >= 0 else f"{2 * x}/2" for x in row] for row in notation["K"]]
    notation["A"] = [[f" {x} ".replace("/", " / ") for x in row] for row in notation["A"]]
    out.append(("true minus signs, spaces, unreduced fractions", sol, notation))

    slipped = tweak(v["S"], 1, 1, v["S"][1][1] + 3)
    out.append(
        ("slip in S, follow-through after", sol, full(sol, values=follow(sol, {"S": slipped})))
    )
    slip_only = full(sol)
    slip_only["S"] = as_answer(sol.exercise["S"], slipped)
    out.append(("slip in S, key after", sol, slip_only))
    two = tweak(slipped, 2, 3, v["S"][2][3] - 1)
    out.append(("two wrong cells are no slip", sol, full(sol, values=follow(sol, {"S": two}))))
    weird = full(sol)
    weird["K"] = [list(r) for r in weird["K"]]
    weird["K"][0][0] = "seven"
    weird["K"][0][1] = "1/0"
    weird["K"][0][2] = "\uff13"  # a full-width 3: ASCII digits only, in both languages
    weird["K"][0][3] = "\u0663/4"  # an Arabic-Indic 3 over 4
    out.append(("unreadable cells", sol, weird))
    zeros = full(sol, values=follow(sol, {"Q": tuple(tuple(0 for _ in r) for r in v["Q"])}))
    out.append(("trivial step earns no follow-through", sol, zeros))

    ex = sol.exercise
    out.append(
        (
            "weights swapped",
            sol,
            full(sol, values=follow(sol, {"Q": v["K"], "K": v["Q"]})),
        )
    )
    out.append(
        (
            "scores transposed",
            sol,
            full(sol, values=follow(sol, {"S": steps.transpose(v["S"])})),
        )
    )
    odd = next(
        s
        for s in (_sol(seed) for seed in range(1, 50))
        if any(x < 0 and x % 2 for r in s["S"] for x in r)
    )
    trunc_half = steps.elementwise(odd["S"], lambda x: Fraction(math.trunc(Fraction(x) / 2)))
    out.append(("rounding toward zero", odd, full(odd, values=follow(odd, {"scaled": trunc_half}))))
    out.append(("not scaled", sol, full(sol, values=follow(sol, {"scaled": v["S"]}))))
    exp_unscaled = steps.compute(ex["exp"], {**v, "scaled": v["S"]}, grading.hand_track("floor"))
    out.append(
        ("exp of unscaled scores", sol, full(sol, values=follow(sol, {"exp": exp_unscaled})))
    )
    e_x = full(sol)
    e_x["exp"] = [[f"{math.exp(x):.3f}" for x in row] for row in v["scaled"]]
    out.append(("e^x instead of 3^x", sol, e_x))
    rowsums = steps.sums(v["exp"], "rows", Fraction(0))
    out.append(("row sums", sol, full(sol, values=follow(sol, {"colsum": rowsums}))))
    by_rows = steps.normalise(v["exp"], rowsums, "rows")
    out.append(("rows normalised", sol, full(sol, values=follow(sol, {"A": by_rows}))))
    z_at = steps.matmul(v["V"], steps.transpose(v["A"]), Fraction(0))
    out.append(("Z = V·Aᵀ", sol, full(sol, values=follow(sol, {"Z": z_at}))))
    square = _sol(2, tokens=3, d_k=3)
    sv = square.values
    z_av = steps.matmul(sv["A"], sv["V"], Fraction(0))
    out.append(("Z = A·V", square, full(square, values=follow(square, {"Z": z_av}))))

    zero = _sol(3, rounding="zero")
    floored = steps.elementwise(zero.values["S"], lambda x: Fraction(math.floor(Fraction(x) / 2)))
    out.append(
        (
            "floor on a round-toward-zero sheet",
            zero,
            full(zero, values=follow(zero, {"scaled": floored})),
        )
    )

    causal = _sol(4, causal=True)
    cv = causal.values
    out.append(("causal, right work", causal, full(causal)))
    cslip = tweak(cv["S"], 2, 3, cv["S"][2][3] + 2)
    out.append(("causal, slip", causal, full(causal, values=follow(causal, {"S": cslip}))))
    s_step = causal.exercise["S"]
    plain = steps.matmul(*(cv[i] for i in s_step.inputs), Fraction(0))
    flipped = steps.apply_mask(steps.transpose(plain), s_step.mask)
    out.append(("causal, transposed", causal, full(causal, values=follow(causal, {"S": flipped}))))

    rows = _sol(5, convention="rows")
    rv = rows.values
    rx = rows.exercise
    out.append(("rows, right work", rows, full(rows)))
    rslip = tweak(rv["S"], 0, 1, rv["S"][0][1] - 2)
    out.append(("rows, slip", rows, full(rows, values=follow(rows, {"S": rslip}))))
    colsums = steps.sums(rv["exp"], "columns", Fraction(0))
    out.append(("rows, column sums", rows, full(rows, values=follow(rows, {"rowsum": colsums}))))
    rz = steps.matmul(steps.transpose(rv["A"]), rv["V"], Fraction(0))
    out.append(("rows, Z = Aᵀ·V", rows, full(rows, values=follow(rows, {rx["Z"].name: rz}))))

    heads = _sol(6, heads=2)
    hv = heads.values
    out.append(("2 heads, right work", heads, full(heads)))
    hslip = tweak(hv["S2"], 1, 0, hv["S2"][1][0] + 1)
    out.append(("2 heads, slip in head 2", heads, full(heads, values=follow(heads, {"S2": hslip}))))
    out.append(
        (
            "2 heads, weights swapped in head 1",
            heads,
            full(heads, values=follow(heads, {"Q1": hv["K1"], "K1": hv["Q1"]})),
        )
    )
    hb = blank_steps(full(heads), "Zcat")
    out.append(("2 heads, Zcat blank", heads, hb))
    out += revealed_cases(sol, rows, heads)
    out += shaped_cases()
    out += rope_cases()
    out += block_cases()
    out += drill_cases()
    out += written_cases(sol)
    out += marking_cases(sol)
    return out


def mixed(x) -> str | int | None:
    """A key value as a mixed number where it has a whole part: 34/9 -> "3 7/9"."""
    if x is steps.MASKED:
        return None
    x = Fraction(x)
    if x.denominator == 1 or abs(x) < 1:
        return frac(x)
    whole = int(abs(x))
    rest = abs(x) - whole
    return f"{'-' if x < 0 else ''}{whole} {rest.numerator}/{rest.denominator}"


def power(x) -> str | int | None:
    """An exp value as a power of 3 in one of the ways students write it."""
    if x is steps.MASKED or Fraction(x).denominator == 1:
        return frac(x)
    k = round(math.log(Fraction(x).denominator, 3))
    return {1: "3^-1", 2: "3^(-2)", 3: "3⁻³"}.get(k, f"3^(-{k})")


def comma(places: int):
    """A decimal written with a decimal comma, always `places` digits after it."""

    def write(x):
        return None if x is steps.MASKED else numbers.decimal(Fraction(x), places).replace(".", ",")

    return write


def written_cases(sol) -> list[tuple[str, object, dict]]:
    """Numbers as students write them (issue 23): mixed numbers, vulgar fractions, powers,
    decimal commas before three digits, cells only a teacher can read, rounded decimals."""
    out = []
    v, ex = sol.values, sol.exercise
    forms = full(sol)
    forms["exp"] = as_answer(ex["exp"], v["exp"], power)
    forms["exp"][1][1] = "⅓"
    forms["colsum"] = as_answer(ex["colsum"], v["colsum"], mixed)
    forms["Z"] = as_answer(ex["Z"], v["Z"], mixed)
    forms["S"][0][0] = f"-{abs(v['S'][0][0])} 0/2" if v["S"][0][0] < 0 else f"{v['S'][0][0]} 0/2"
    out.append(("mixed numbers, vulgar fractions, powers", sol, forms))
    slips = full(sol)
    slips["colsum"] = as_answer(ex["colsum"], v["colsum"], mixed)
    whole = int(v["colsum"][1])
    rest = v["colsum"][1] - whole
    slips["colsum"][1] = f"{whole}{rest.numerator}/{rest.denominator}"  # 37/9, no space: wrong
    out.append(("a mixed number without its space is a fraction", sol, slips))

    commas = full(sol)
    for name in ("exp", "colsum", "A", "Z"):
        commas[name] = as_answer(ex[name], v[name], comma(3))
    out.append(("decimal commas before three digits, every value right", sol, commas))
    unsure = full(sol)
    unsure["A"][0][0] = "12,345"  # neither 12.345 nor 12345 is a weight: needs review
    unsure["S"][0][0] = "1,234"  # 1.234 fits the scores, 1234 does not: read, and wrong
    unsure["K"][0][0] = "7 4/3"  # not a mixed number: likely 25/3
    unsure["Q"][0][0] = "\uff12"  # a full-width 2
    out.append(("cells that need review, and one the range settles", sol, unsure))
    unsure_v = full(sol)
    unsure_v["exp"][0][0] = "３"
    unsure_v["revealed"] = ["exp_r1_c2"]
    out.append(("needs review beside a revealed cell", sol, unsure_v))

    e_x = full(sol)
    true_e = [[math.exp(x) for x in row] for row in v["scaled"]]
    sums_e = [sum(true_e[r][c] for r in range(len(true_e))) for c in range(len(true_e[0]))]
    e_x["exp"] = [[f"{x:.3f}" for x in row] for row in true_e]
    e_x["colsum"] = [f"{x:.3f}" for x in sums_e]
    a_e = [[x / sums_e[c] for c, x in enumerate(row)] for row in true_e]
    e_x["A"] = [[f"{x:.3f}" for x in row] for row in a_e]
    z_e = [
        [sum(float(v["V"][i][k]) * a_e[k][j] for k in range(len(a_e))) for j in range(len(a_e[0]))]
        for i in range(len(v["V"]))
    ]
    e_x["Z"] = [[f"{x:.2f}" for x in row] for row in z_e]
    out.append(("e^x carried on from unrounded values, within the rounding written", sol, e_x))
    three = full(sol)
    three["exp"] = as_answer(ex["exp"], v["exp"], dec(2))
    sums_2 = [sum(Fraction(numbers.decimal(x, 2)) for x in col) for col in zip(*v["exp"])]
    off = [s + Fraction(1, 100) for s in sums_2]  # one hundredth over: inside 4 half-units
    three["colsum"] = [numbers.decimal(x, 2) for x in off]
    three["colsum"][2] = numbers.decimal(sums_2[2] + Fraction(3, 100), 2)  # outside: wrong
    out.append(("colsum from own 2-place exp, inside and outside the rounding", sol, three))
    return out


def marking_cases(sol) -> list[tuple[str, object, dict, dict]]:
    """The same work under other markings: places, presets and step factors."""
    out = []
    v, ex = sol.values, sol.exercise
    one = full(
        sol,
        write=lambda x: (
            None
            if x is steps.MASKED
            else (frac(x) if Fraction(x).denominator == 1 else numbers.decimal(Fraction(x), 1))
        ),
    )
    out.append(("one decimal everywhere", sol, one))
    out.append(("one decimal everywhere, 1 place", sol, one, {"places": 1}))
    out.append(
        (
            "one decimal everywhere, per cell, 2 places at any size (before issue 23)",
            sol,
            one,
            {"weights": "cells", "relative": False},
        )
    )
    three = full(sol)
    three["A"] = as_answer(ex["A"], v["A"], dec(2))
    out.append(("two decimals when 3 are asked", sol, three, {"places": 3}))
    rowsums = steps.sums(v["exp"], "rows", Fraction(0))
    by_rows_a = steps.normalise(v["exp"], rowsums, "rows")
    by_rows = full(sol, values=follow(sol, {"colsum": rowsums, "A": by_rows_a}))
    out.append(("softmax along rows, per cell", sol, by_rows, {"weights": "cells"}))
    out.append(("softmax along rows, per step", sol, by_rows, {"weights": "steps"}))
    out.append(("softmax along rows, by default", sol, by_rows))
    out.append(
        (
            "softmax along rows, A weighs 3, KT nothing",
            sol,
            by_rows,
            {"weights": "steps", "factors": {"A": "3", "KT": "0"}},
        )
    )
    return out


def revealed_cases(sol, rows, heads) -> list[tuple[str, object, dict]]:
    """Cells the interactive sheet revealed: graded, never credited, kept out of mistakes."""
    out = []
    v = sol.values
    shown = full(sol)
    shown["revealed"] = ["S_r1_c1", "colsum_2", "A_r2_c3"]
    out.append(("revealed cells in right work", sol, shown))
    swapped = full(sol, values=follow(sol, {"Q": v["K"], "K": v["Q"]}))
    swapped["Q"][0][0] = frac(v["Q"][0][0])
    swapped["revealed"] = ["Q_r1_c1"]
    out.append(("revealed cell kept out of a named mistake", sol, swapped))
    slipped = tweak(v["S"], 1, 1, v["S"][1][1] + 3)
    carried = full(sol, values=follow(sol, {"S": slipped}))
    carried["exp"] = as_answer(sol.exercise["exp"], v["exp"])
    carried["revealed"] = [field_name("exp", r, c) for r in range(4) for c in range(4)]
    carried["A"] = None
    out.append(("a whole step revealed after a slip", sol, carried))
    rshown = full(rows)
    rshown["revealed"] = ["rowsum_3", "Z_r2_c1"]
    out.append(("rows, revealed cells", rows, rshown))
    hshown = blank_steps(full(heads), "O")
    hshown["revealed"] = ["Zcat_r1_c1", "S2_r1_c2"]
    out.append(("2 heads, revealed cells", heads, hshown))
    return out


def rope_cases() -> list[tuple[str, object, dict]]:
    """Rotary positions: Qr and Kr turned by position, their two named mistakes, follow-through
    from a wrong turn into the scores, and the shapes rope works with."""
    out = []
    rope = _sol(13, rope=True, d_k=2)
    rv = rope.values
    out.append(("rope, right work", rope, full(rope)))
    back = steps.rotate(rv["Q"], "columns", lambda m: -m)
    turned = {"Qr": back}
    out.append(("rope, Qr turned the wrong way", rope, full(rope, values=follow(rope, turned))))
    late = steps.rotate(rv["K"], "columns", lambda m: m + 1)
    out.append(("rope, Kr turned from m = 1", rope, full(rope, values=follow(rope, {"Kr": late}))))
    kslip = tweak(rv["Kr"], 0, 2, rv["Kr"][0][2] + 1)
    slipped = full(rope, values=follow(rope, {"Kr": kslip}))
    out.append(("rope, slip in Kr carried on", rope, slipped))
    unturned = full(rope, values=follow(rope, {"Qr": rv["Q"], "Kr": rv["K"]}))
    out.append(("rope, nothing turned", rope, unturned))
    out.append(("rope, Qr copied from Q", rope, full(rope, values=follow(rope, {"Qr": rv["Q"]}))))
    plain_kt = steps.transpose(rv["K"])
    out.append(("rope, KT from unturned K", rope, full(rope, values=follow(rope, {"KT": plain_kt}))))
    plain_s = steps.matmul(plain_kt, rv["Q"], Fraction(0))
    out.append(("rope, S from unturned K and Q", rope, full(rope, values=follow(rope, {"S": plain_s}))))
    rrows = _sol(14, rope=True, d_k=4, convention="rows", causal=True)
    rr = rrows.values
    out.append(("rope rows causal, right work", rrows, full(rrows)))
    rback = steps.rotate(rr["K"], "rows", lambda m: -m)
    rwork = full(rrows, values=follow(rrows, {"Kr": rback}))
    out.append(("rope rows causal, Kr the wrong way", rrows, rwork))
    rplain = steps.apply_mask(
        steps.matmul(rr["Q"], steps.transpose(rr["K"]), Fraction(0)), rrows.exercise["S"].mask
    )
    rs = full(rrows, values=follow(rrows, {"S": rplain}))
    out.append(("rope rows causal, S = Q·Kᵀ unturned", rrows, rs))
    rheads = _sol(15, rope=True, d_k=2, heads=2, kv_heads=1)
    out.append(("rope multi-query, right work", rheads, full(rheads)))
    out.append(("rope multi-query, Qr2 blank", rheads, blank_steps(full(rheads), "Qr2")))
    drill = _sol(16, rope=True, d_k=2, given_steps=("Q", "K", "V"))
    out.append(("rope, given Q,K,V, right work", drill, asked(drill, full(drill))))
    out += rope_decode_cases()
    return out


def rope_decode_cases() -> list[tuple[str, object, dict]]:
    """A decode step with rotary positions: the new token turned as m = n − 1 (`start`)."""
    out = []
    dec = _sol(9, rope=True, decode=True, d_k=2)  # 4 tokens: the new one is m = 3
    dv = dec.values
    out.append(("rope decode, right work", dec, full(dec)))
    out.append(("rope decode, qr not turned", dec, full(dec, values=follow(dec, {"qr": dv["q"]}))))
    plain_k = steps.concat((dv["Kcache"], dv["k"]), "columns")
    out.append(("rope decode, K from unturned k", dec, full(dec, values=follow(dec, {"K": plain_k}))))
    once = steps.rotate(dv["q"], "columns", lambda m: 1)
    out.append(("rope decode, qr turned back", dec, full(dec, values=follow(dec, {"qr": once}))))
    short = _sol(9, rope=True, decode=True, d_k=2, tokens=3)  # the new one is m = 2
    thrice = steps.rotate(short.values["k"], "columns", lambda m: 3)
    out.append(("rope decode, kr from one", short, full(short, values=follow(short, {"kr": thrice}))))
    rdec = _sol(15, rope=True, decode=True, d_k=4, convention="rows")
    rq = rdec.values["q"]
    out.append(("rope decode rows, right work", rdec, full(rdec)))
    out.append(("rope decode rows, qr not turned", rdec, full(rdec, values=follow(rdec, {"qr": rq}))))
    return out


def block_cases() -> list[tuple[str, object, dict]]:
    """The block after attention: its four named mistakes, follow-through from a slip in F
    all the way to R2, and the shapes the block works with."""
    out = []
    block = _sol(17, block=True, d_v=6)
    bv = block.values
    out.append(("block, right work", block, full(block)))
    no_b1 = steps.matmul(bv["W1"], bv["R1"])
    out.append(("block, F without b1", block, full(block, values=follow(block, {"F": no_b1}))))
    late = steps.add_bias(steps.elementwise(no_b1, steps.relu), bv["b1"], "columns")
    relu_first = full(block, values=follow(block, {"H": late}))
    out.append(("block, ReLU before the bias", block, relu_first))
    kept = follow(block, {"H": bv["F"]})
    out.append(("block, ReLU kept the negatives", block, full(block, values=kept)))
    out.append(("block, R2 without R1", block, full(block, values=follow(block, {"R2": bv["Y"]}))))
    out.append(("block, R1 without X", block, full(block, values=follow(block, {"R1": bv["Z"]}))))
    fslip = tweak(bv["F"], 1, 2, bv["F"][1][2] + 1)
    carried = full(block, values=follow(block, {"F": fslip}))
    out.append(("block, slip in F carried to R2", block, carried))
    out.append(("block, H and Y blank", block, blank_steps(full(block), "H", "Y")))
    # F worked all ≤ 0: ReLU honestly zeroes every entry, so H is all zeros, and Y (b2 on
    # every token) and R2 follow from it: an all-zero step the student's own work gives
    neg = tuple(tuple(-abs(x) for x in row) for row in bv["F"])
    out.append(("block, F all negative, H all zeros followed", block,
                full(block, values=follow(block, {"F": neg}))))  # fmt: skip
    brows = _sol(18, block=True, d_v=6, convention="rows", causal=True)
    rv = brows.values
    out.append(("block rows causal, right work", brows, full(brows)))
    y_bare = steps.matmul(rv["H"], rv["W2"])
    no_b2 = full(brows, values=follow(brows, {"Y": y_bare}))
    out.append(("block rows causal, Y without b2", brows, no_b2))
    bheads = _sol(19, block=True, heads=2)
    out.append(("block 2 heads, right work", bheads, full(bheads)))
    brope = _sol(20, block=True, rope=True, d_k=2, d_v=6)
    out.append(("block rope, right work", brope, full(brope)))
    drill = _sol(21, block=True, d_v=6, given_steps=("relu",))
    out.append(("block, given R1 and F, right work", drill, asked(drill, full(drill))))
    return out


def drill_cases() -> list[tuple[str, object, dict]]:
    """Drills: given steps are printed filled in, never graded; follow-through starts there."""
    out = []
    drill = _sol(1, given_steps=("Q", "K", "V"))
    out.append(("given Q,K,V, right work", drill, asked(drill, full(drill))))
    dv = drill.values
    dslip = tweak(dv["S"], 0, 2, dv["S"][0][2] + 1)
    out.append(
        (
            "given Q,K,V, slip in S carried on",
            drill,
            asked(drill, full(drill, values=follow(drill, {"S": dslip}))),
        )
    )
    soft = _sol(2, given_steps=("softmax",))
    sv2 = soft.values
    out.append(
        (
            "softmax drill, rows normalised",
            soft,
            asked(
                soft,
                full(
                    soft,
                    values=follow(
                        soft,
                        {
                            "A": steps.normalise(
                                sv2["exp"], steps.sums(sv2["exp"], "rows", Fraction(0)), "rows"
                            )
                        },
                    ),
                ),
            ),
        )
    )
    out.append(("softmax drill, given steps written wrong are ignored", soft, wrong_given(soft)))
    concat = _sol(7, heads=2, output_projection=False, given_steps=("S",))
    out.append(("2 heads without WO, given S, right work", concat, asked(concat, full(concat))))
    return out


def asked(sol, answers: dict) -> dict:
    """Only the steps a drill asks for, as a student fills in its sheet."""
    names = {s.name for s in sol.exercise.asked}
    return {k: v for k, v in answers.items() if k in names}


def wrong_given(sol) -> dict:
    """Every step written, the given ones with nonsense: they are not graded."""
    answers = full(sol)
    for name in sol.exercise.shown:
        answers[name] = as_answer(sol.exercise[name], sol.values[name], lambda x: 12345)
    return answers


def _recompute(sol, step_name: str, inputs: dict):
    """A step worked from other inputs (a mistaken factor) on the sheet's hand track."""
    track = grading.hand_track(sol.problem.spec.rounding)
    return steps.compute(sol.exercise[step_name], {**sol.values, **inputs}, track)


def shaped_cases() -> list[tuple[str, object, dict]]:
    """Cross-attention and grouped heads: their own tables through the same grader."""
    out = []
    cross = _sol(7, queries=3)
    cv = cross.values
    out.append(("cross, right work", cross, full(cross)))
    swapped_q = _recompute(cross, "Q", {"WQ": cv["WK"]})
    out.append(("cross, Q = WK·Xq", cross, full(cross, values=follow(cross, {"Q": swapped_q}))))
    cslip = tweak(cv["S"], 3, 2, cv["S"][3][2] - 2)
    out.append(("cross, slip in S", cross, full(cross, values=follow(cross, {"S": cslip}))))
    rowsums = steps.sums(cv["exp"], "rows", Fraction(0))
    by_rows = steps.normalise(cv["exp"], rowsums, "rows")
    out.append(("cross, rows normalised", cross, full(cross, values=follow(cross, {"A": by_rows}))))
    crows = _sol(8, queries=2, convention="rows")
    out.append(("cross rows, right work", crows, full(crows)))
    out.append(("cross rows, Z blank", crows, blank_steps(full(crows), "Z")))

    mqa = _sol(9, heads=2, kv_heads=1)
    mv = mqa.values
    out.append(("multi-query, right work", mqa, full(mqa)))
    kslip = tweak(mv["K"], 0, 1, mv["K"][0][1] + 1)
    out.append(("multi-query, slip in shared K", mqa, full(mqa, values=follow(mqa, {"K": kslip}))))
    q2 = _recompute(mqa, "Q2", {"WQ2": mv["WK"]})
    out.append(("multi-query, Q2 = WK·X", mqa, full(mqa, values=follow(mqa, {"Q2": q2}))))
    gqa = _sol(10, heads=4, kv_heads=2, convention="rows")
    out.append(("grouped rows, right work", gqa, full(gqa)))
    out.append(("grouped rows, Vb blank", gqa, blank_steps(full(gqa), "Vb")))

    dec = _sol(11, decode=True)
    dv = dec.values
    out.append(("decode, right work", dec, full(dec)))
    kslip = tweak(dv["k"], 1, 0, dv["k"][1][0] + 2)
    out.append(("decode, slip in k", dec, full(dec, values=follow(dec, {"k": kslip}))))
    q_swapped = _recompute(dec, "q", {"WQ": dv["WK"]})
    out.append(("decode, q = WK·x", dec, full(dec, values=follow(dec, {"q": q_swapped}))))
    drows = _sol(12, decode=True, convention="rows")
    out.append(("decode rows, right work", drows, full(drows)))
    out.append(("decode rows, V blank", drows, blank_steps(full(drows), "V")))
    return out


# --- expectations --------------------------------------------------------------------------


def marking(rules: dict | None) -> grading.Marking:
    """A vector's marking rules ({"places", "weights", "factors"}) as the grader's Marking."""
    rules = rules or {}
    factors = tuple((n, Fraction(f)) for n, f in rules.get("factors", {}).items())
    return grading.Marking(
        rules.get("places", 2),
        rules.get("weights", "light-copy"),
        factors,
        rules.get("relative", True),
    )


def expect(sol, answers: dict, rules: dict | None = None) -> dict:
    """What the Python grader says: `handcalc check --json` without the file and the rule."""
    got = grading.grade(sol, answers_io.parse_text(json.dumps(answers), "vector"), marking(rules))
    out = report.to_json(got)
    for k in ("file", "rule", "marking", "review"):
        out.pop(k, None)
    return out


def said(sol, answers: dict, rules: dict | None = None) -> dict:
    """What the text report says of each readable wrong cell, by step: [field, wrote, words]
    (the page's report says the same, from grading.js)."""
    got = grading.grade(sol, answers_io.parse_text(json.dumps(answers), "vector"), marking(rules))
    out = {}
    for name, res in got.steps.items():
        cells = [
            [field_name(name, *p), cell.text, res.say_expected(p)]
            for p, cell in res.wrong_cells()
            if not cell.unreadable
        ]
        if cells:
            out[name] = cells
    return out


def vector(name: str, sol, answers: dict, rules: dict | None = None) -> dict:
    answers = {"id": sol.problem.id, "student": "Vector", **answers}
    out = {
        "name": name,
        "sheet": page_data(sol.problem),
        "answers": answers,
        "expected": expect(sol, answers, rules),
        "said": said(sol, answers, rules),
    }
    if rules:
        out["rules"] = rules
    return out


def build() -> dict:
    return {"version": VERSION, "vectors": [vector(*c) for c in cases()]}


def regrade(v: dict) -> dict:
    """The Python grader's verdict on a committed vector, from its sheet ID and answers."""
    return expect(solve(decode_id(v["sheet"]["id"])), v["answers"], v.get("rules"))


def main() -> None:
    data = build()
    PATH.parent.mkdir(exist_ok=True)
    PATH.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(data['vectors'])} vectors to {PATH.name}")


if __name__ == "__main__":
    main()
