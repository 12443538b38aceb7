"""Sheet IDs a person can retype: every variant's printed ID fits one footer line, brings its
exact problem back, refuses a typo and a changed random stream, and old IDs still decode."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pdfplumber
import pytest

from handcalc import render, worksheet
from handcalc.draw import from_id, make_problem
from handcalc.errors import ProblemFileError
from handcalc.problem import _ALPHABET, PRINTED_LIMIT, Problem, Spec, decode_id, from_matrices
from handcalc.solution import solve

from .test_problem_input import assert_one_line_error

# Every option that changes what the ID must hold (form, heads, WO, drills, ranges, rules).
VARIANTS = {
    "classic": Spec(),
    "easy": Spec.for_level("easy"),
    "hard": Spec.for_level("hard"),
    "causal-rows-zero": Spec(causal=True, convention="rows", rounding="zero"),
    "heads 2": Spec(heads=2),
    "heads 3 no WO": Spec(heads=3, output_projection=False),
    "heads 4": Spec(heads=4),
    "grouped 4/2": Spec(heads=4, kv_heads=2),
    "multi-query 4/1": Spec(heads=4, kv_heads=1),
    "cross": Spec(queries=3),
    "cross, 2 heads": Spec(queries=3, heads=2),
    "decode": Spec(decode=True),
    "drill": Spec(given_steps=("Q", "K", "V")),
    "drill, 2 heads": Spec(heads=2, given_steps=("scores",)),
    "ranges": Spec(x_range=(-1, 1), w_range=(-1, 2)),
}
# The longest printed ID: PRINTED_LIMIT symbols in groups of five with a dash between.
LONGEST = PRINTED_LIMIT + PRINTED_LIMIT // 5 - 1


@pytest.fixture(scope="module")
def drawn():
    return {name: [make_problem(seed=s, spec=sp) for s in (3, 41)] for name, sp in VARIANTS.items()}


def test_every_variants_printed_id_is_short_and_brings_its_problem_back(drawn):
    for name, problems in drawn.items():
        for p in problems:
            assert len(p.sheet_id) <= LONGEST, (name, p.sheet_id)
            assert all(len(g) <= 5 for g in p.sheet_id.split("-"))
            # as a person might retype it: lower case, spaces for dashes, O for 0, l for 1
            typed = p.sheet_id.lower().replace("-", " ").replace("0", "o").replace("1", "l")
            back = from_id(typed)
            assert back.id == p.id and back.given == p.given, name
            assert back.spec.exercise().worked == p.spec.exercise().worked


def test_a_sheet_keeps_its_full_id_when_that_fits_and_the_grouped_one_does_not(drawn):
    classic = drawn["classic"][0]
    assert classic.sheet_id == classic.id  # a classic sheet's ID is what it always was
    grouped = drawn["grouped 4/2"][0]
    assert len(grouped.id) > 100 and len(grouped.sheet_id) < 30


def test_the_short_check_catches_every_single_typo_and_every_swap(drawn):
    printed = drawn["heads 4"][0].sheet_id
    clean = printed.replace("-", "")
    wrong = []
    for i, c in enumerate(clean):
        for other in _ALPHABET:
            if other != c:
                wrong.append(clean[:i] + other + clean[i + 1 :])
        for j in range(i + 1, len(clean)):
            if clean[j] != c:
                swapped = list(clean)
                swapped[i], swapped[j] = swapped[j], swapped[i]
                wrong.append("".join(swapped))
    assert len(wrong) > 500
    for text in wrong:
        with pytest.raises(ProblemFileError):
            decode_id(text, redraw=lambda spec, seed: pytest.fail(f"{text} passed its check"))


def test_a_changed_random_stream_is_refused_not_silently_redrawn(cli, drawn):
    """A sheet printed by a numpy whose stream differs: its numbers are not this numpy's draw
    from the seed. Made here by changing one entry of a drawn problem and keeping its seed."""
    p = drawn["heads 2"][0]
    x = [list(r) for r in p.given["X"]]
    x[0][0] = 1 - x[0][0]
    other = Problem(p.spec, {**p.given, "X": x}, p.seed)
    assert other.sheet_id != p.sheet_id and len(other.sheet_id) < 30
    result = cli("key", "--id", other.sheet_id, "-o", "never.html")
    assert_one_line_error(result, "random stream differs", "full ID")


def big_typed() -> Problem:
    tokens, d_in, d_k = 12, 10, 4
    rows = lambda r, c, k: [[(i * 7 + j * 3 + k) % 3 - 1 for j in range(c)] for i in range(r)]
    data = {"X": rows(d_in, tokens, 0), "WQ": rows(d_k, d_in, 1), "WK": rows(d_k, d_in, 2)}
    data["WV"] = rows(d_k, d_in, 0)
    return from_matrices(data)


def test_a_typed_problem_too_big_prints_a_digest_that_names_it(cli, tmp_path):
    p = big_typed()
    assert len(p.id) > 60 and len(p.sheet_id) <= 14
    result = cli("key", "--id", p.sheet_id, "-o", tmp_path / "k.html")
    assert_one_line_error(result, "typed problem", "--from")
    # a student's answers file with the printed ID grades against the problem file
    problem_file = tmp_path / "p.json"
    problem_file.write_text(json.dumps(p.to_json()))
    steps = solve(p).to_json()["steps"]
    answers = tmp_path / "a.json"
    answers.write_text(json.dumps({"id": p.sheet_id.lower(), **steps}))
    done = cli("check", "--from", problem_file, answers, "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.output.splitlines()[-1])["percent"] == 100.0
    # and an ID of another sheet is refused
    answers.write_text(json.dumps({"id": make_problem(seed=1).id, **steps}))
    refused = cli("check", "--from", problem_file, answers)
    assert refused.exit_code != 0 and "Traceback" not in refused.output
    assert "answers are for sheet" in refused.output.splitlines()[-1]


# IDs printed before short IDs existed (a version-1 classic sheet, the README's vectors, and a
# grouped-heads ID of 105 characters): they keep decoding to the same numbers.
SAMPLE_ID = "95E84-VWK0H-H5YSM-TFRVD-KVV21-23R1X-PB785"
OLD = {
    SAMPLE_ID: (0, 1, 1, 1),
    "7HYDW-TZ6A6-ZXXXV-Q0V0Q-619H2-K562N-ARTX3-NR2K0-AY2PW-5APC1-S69NX-6CCGZ-ZMA5J-TWDGS-"
    "4QBJV-MKM9R-9Z3PB-79Z": (0, 1, 0, 0),
}


SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "problem.json"


def test_the_samples_version_1_id_decodes_to_the_samples_problem_file():
    assert from_id(SAMPLE_ID).to_json() == json.loads(SAMPLE.read_text())


@pytest.mark.parametrize("old", OLD)
def test_ids_printed_before_still_decode(cli, old):
    p = from_id(old)
    assert p.id == old and p.given["X"][0] == OLD[old]
    assert json.loads(cli("solve", "--id", old, "--json").output)["id"] == old


def test_the_footer_prints_the_grouped_heads_id_on_one_line(drawn, tmp_path):
    p = drawn["grouped 4/2"][0]
    pdf = tmp_path / "s.pdf"
    pdf.write_bytes(render.render_pdf(worksheet.build(solve(p), "blank")))
    with pdfplumber.open(pdf) as doc:
        lines = doc.pages[0].extract_text().splitlines()
    ids = [ln for ln in lines if "sheet ID" in ln]
    # one footer line: the ID whole, then the page number on the same line
    assert len(ids) == 1 and f"sheet ID {p.sheet_id} · seed {p.seed} page 1 of" in ids[0], ids


def test_a_class_matches_answers_by_the_short_id_their_sheets_print(cli, tmp_path):
    result = cli("generate", "--count", 2, "--seed", 5, "--heads", 2, "-o", tmp_path / "c.html")
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))["students"]
    printed = [from_id(r["id"]) for r in rows]
    printed = [Problem(p.spec, p.given, r["seed"]).sheet_id for p, r in zip(printed, rows)]
    page = (tmp_path / "c.html").read_text(encoding="utf-8")
    assert all(len(s) < 30 and s in page for s in printed)  # each sheet prints its short ID
    answers = tmp_path / "b.json"  # the second student, who typed the ID off the sheet
    steps = solve(from_id(rows[1]["id"])).to_json()["steps"]
    answers.write_text(json.dumps({"id": printed[1].lower(), **steps}))
    done = cli("check", "--manifest", tmp_path / "manifest.json", answers)
    assert done.exit_code == 0, done.output
    with open(tmp_path / "gradebook.csv", encoding="utf-8") as f:
        book = list(csv.DictReader(f))
    got = [(r["student"], r["percent"]) for r in book]
    assert got == [("Student 1", ""), ("Student 2", "100.0")]  # missing: empty, not 0
