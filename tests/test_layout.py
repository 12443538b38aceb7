"""A sheet made for the hand, measured in the real PDFs: cell sizes read back from the fillable
form's field rectangles, the key's font sizes from its characters, page counts per variant,
and a filled form whose longest answers still show whole."""

from __future__ import annotations

import dataclasses
import io
import json
import re
from fractions import Fraction

import pdfplumber
import pytest
from pypdf import PdfReader, PdfWriter

from handcalc import layout, numbers, render, worksheet
from handcalc.draw import make_problem
from handcalc.problem import Spec
from handcalc.solution import solve

MM = 25.4 / 72  # mm per PDF point
FOOTER_MM = layout.MARGIN_BOTTOM

VARIANTS = {
    "classic": Spec(),
    "easy": Spec.for_level("easy"),
    "hard": Spec.for_level("hard"),
    "causal": Spec(causal=True),
    "rows": Spec(convention="rows"),
    "heads2": Spec(heads=2),
    "cross": Spec(queries=3),
    "grouped": Spec(heads=4, kv_heads=2, tokens=3),
}
# Steps whose cells hold fractions on the default sheet (the list), checked by name so
# the layout's own classification is checked too.
FRACTION_STEPS = {"exp", "colsum", "A", "Z"}


def _pdf(spec: Spec, kind: str, paper: str, fillable: bool = False, seed: int = 3) -> bytes:
    sol = solve(make_problem(seed=seed, spec=spec))
    return render.render_pdf(worksheet.build(sol, kind, paper=paper, fillable=fillable))


def _field_sizes(pdf: bytes) -> dict[str, tuple[float, float]]:
    """Every answer field's width and height in mm, from its rectangle on the page."""
    out = {}
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for ref in page.get("/Annots", []):
            a = ref.get_object()
            x0, y0, x1, y1 = (float(v) for v in a["/Rect"])
            out[str(a["/T"])] = (abs(x1 - x0) * MM, abs(y1 - y0) * MM)
    return out


def _box_mm(m) -> tuple[str, str]:
    """A box's height and its rows' pitch, as the view model sets them."""
    height = re.search(r";height:([\d.]+)mm", m.box_style).group(1)
    pitch = re.search(r"background-size:[\d.]+ch ([\d.]+)mm", m.box_style).group(1)
    return height, pitch


def _step_of(field: str) -> str:
    return re.sub(r"(_r\d+_c\d+|_\d+)$", "", field)


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_default_sheet_cells_measure_what_a_hand_needs(paper):
    sizes = _field_sizes(_pdf(Spec(), "blank", paper, fillable=True))
    answer = {k: v for k, v in sizes.items() if k not in ("student", "handcalc_id")}
    assert len(answer) == 4 * 12 + 4 * 16 + 4 + 12  # Q K V KT; S scaled exp A; colsum; Z
    for name, (w, h) in answer.items():
        wide = 16.0 if _step_of(name) in FRACTION_STEPS else 9.0
        assert w >= wide - 0.01 and h >= 8.0 - 0.01, (name, round(w, 2), round(h, 2))


@pytest.mark.parametrize("paper", ["a4", "letter"])
@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_variant_keeps_its_page_budget_and_its_key_matches_box_for_box(name, paper):
    spec = VARIANTS[name]
    blank = PdfReader(io.BytesIO(_pdf(spec, "blank", paper)))
    budget = 1 if spec.heads == 1 else spec.heads + 1
    assert len(blank.pages) <= budget
    sol = solve(make_problem(seed=3, spec=spec))
    b, k = worksheet.build(sol, "blank", paper=paper), worksheet.build(sol, "key", paper=paper)
    for sb, sk in zip(b.sections, k.sections):
        assert [(m.name, m.place_style) for m in sb.items] == [
            (m.name, m.place_style) for m in sk.items
        ]
        for mb, mk in zip(sb.items, sk.items):
            # same shape, same box height, same cell pitch down the box
            assert (mb.rows, mb.cols) == (mk.rows, mk.cols)
            assert _box_mm(mb) == _box_mm(mk), mb.name


@pytest.mark.parametrize("paper", ["a4", "letter"])
@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_number_on_the_key_is_at_least_8pt(name, paper):
    with pdfplumber.open(io.BytesIO(_pdf(VARIANTS[name], "key", paper))) as pdf:
        for n, page in enumerate(pdf.pages):
            foot = page.height - FOOTER_MM / MM
            sizes = [c["size"] for c in page.chars if c["text"].isdigit() and c["top"] < foot]
            assert sizes, (name, n)
            assert min(sizes) >= 8.0 - 0.01, (name, paper, n + 1, min(sizes))


def test_key_cells_line_up_whole_numbers_with_fractions_and_pair_decimals(seed1):
    """In a fraction step every cell's value is on its row's first line, at one size, and a
    fraction's decimal sits on the second line of the same cell (nothing under whole ones)."""
    key = worksheet.build(seed1, "key")
    exp = next(m for s in key.sections for m in s.items if m.name == "exp")
    assert len(exp.lines) == 2 * exp.rows
    k = exp.cell_chars
    values = solve(make_problem(seed=1)).values["exp"]
    for r, row in enumerate(values):
        first = "".join(s.text for s in exp.lines[2 * r])
        second = "".join(s.text for s in exp.lines[2 * r + 1])
        assert all(s.kind == "dec" for s in exp.lines[2 * r + 1])
        for c, x in enumerate(row):
            top, under = first[c * k : (c + 1) * k].strip(), second[c * k : (c + 1) * k].strip()
            assert Fraction(top.replace("\u2212", "-")) == x
            assert under == ("" if x.denominator == 1 else numbers.decimal(x))


def test_a_filled_form_shows_the_longest_answers_whole(tmp_path, cli):
    blank = _pdf(Spec(), "blank", "a4", fillable=True, seed=1)
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(blank)))
    sizes = _field_sizes(blank)
    typed = {k: "\u2212141/58" for k in sizes if _step_of(k) in FRACTION_STEPS}
    typed.update({k: "0.4655" for k in sizes if _step_of(k) == "A"} | {"A_r1_c1": "−141/58"})
    typed["student"] = "Zoë Ångström"
    writer.update_page_form_field_values(writer.pages[0], typed, auto_regenerate=False)
    filled = tmp_path / "filled.pdf"
    writer.write(filled)
    # The name typed into the form is the student `check` reports.
    report = json.loads(cli("check", filled, "--json").output)
    assert report["student"] == "Zoë Ångström"
    # Each field's appearance, as a reader draws it: 8 pt or more, inside its clip.
    for ref in PdfReader(filled).pages[0]["/Annots"]:
        a = ref.get_object()
        name = str(a["/T"])
        if name not in typed:
            continue
        stream = a["/AP"]["/N"].get_object().get_data().decode("latin-1")
        size = float(re.search(r"([\d.]+) Tf", stream).group(1))
        clip_x, _, clip_w = (
            float(v) for v in re.search(r"([\d.]+) ([\d.]+) ([\d.]+) [\d.]+ re", stream).groups()
        )
        text_x = float(re.search(r"([\d.]+) [\d.]+ Td", stream).group(1))
        width = len(typed[name]) * worksheet.CH_EM * size  # a monospaced font
        assert size >= 8.0, name
        assert text_x + width <= clip_x + clip_w, (name, text_x + width, clip_x + clip_w)


def test_form_fields_speak_in_words_and_tab_in_reading_order():
    pdf = _pdf(Spec(), "blank", "a4", fillable=True)
    annots = [r.get_object() for r in PdfReader(io.BytesIO(pdf)).pages[0]["/Annots"]]
    names = [str(a["/T"]) for a in annots]
    tips = {str(a["/T"]): str(a["/TU"]) for a in annots}
    assert names[0] == "student" and tips["student"] == "Student name"
    assert tips["A_r2_c3"] == "A, row 2, column 3"
    assert tips["colsum_4"] == "colsum, entry 4"
    # reading order: top to bottom by box, row by row inside each box
    tops = []
    for a in annots[2:]:
        tops.append(-max(float(v) for v in a["/Rect"][1::2]))
    boxes: list[str] = []
    for n in names[2:]:
        if not boxes or boxes[-1] != _step_of(n):
            boxes.append(_step_of(n))
    assert len(boxes) == len(set(boxes))  # each box's fields are together
    firsts = [tops[[_step_of(n) for n in names[2:]].index(b)] for b in boxes]
    assert firsts == sorted(firsts)


@pytest.mark.parametrize("seed", range(12))
def test_instructions_state_the_rule_with_an_example_that_is_no_answer(seed):
    sol = solve(make_problem(seed=seed))
    text = worksheet.instructions(sol)
    fraction, decimal = re.search(r"such as (\d+/\d+), .* such as (\d\.\d\d) for", text).groups()
    assert numbers.decimal(Fraction(fraction), 2) == decimal
    assert "at least two places" in text
    for step in sol.exercise.worked:
        flat = sol.values[step.name]
        for x in flat if step.is_vector else (x for row in flat for x in row):
            assert numbers.text(x) != fraction
            assert numbers.decimal(x, 2) != decimal


def test_an_example_on_a_sheet_is_skipped_for_one_that_is_not():
    sol = solve(make_problem(seed=1))
    first = worksheet.EXAMPLES[0]
    poisoned = dict(sol.values)
    poisoned["Z"] = ((first,) + sol.values["Z"][0][1:],) + sol.values["Z"][1:]
    text = worksheet.instructions(dataclasses.replace(sol, values=poisoned))
    assert numbers.text(first) not in text


def test_multi_head_labels_name_each_heads_own_weights():
    sol = solve(make_problem(seed=2, spec=Spec(heads=2)))
    labels = {m.name: m.label for s in worksheet.build(sol).sections for m in s.items}
    assert labels["K2"] == "K2 = WK2·X"
    assert labels["Q1"] == "Q1 = WQ1·X"
    assert labels["S2"] == "S2 = K2ᵀ·Q2"
    assert labels["Z2"] == "Z2 = V2·A2"
    assert labels["O"] == "O = WO·Zcat"


def test_the_heads_output_shares_the_last_heads_page_when_it_fits():
    small = Spec(heads=2, tokens=2, d_in=3, d_k=2)
    sol = solve(make_problem(seed=2, spec=small))
    plan = layout.plan(sol.exercise, worksheet._layout(sol.exercise), "a4", 2)
    assert [s.new_page for s in plan.sections] == [True, True, False]
    assert len(PdfReader(io.BytesIO(_pdf(small, "blank", "a4", seed=2))).pages) == 2
    # where it does not fit, its own page is not left empty: the rest is room to work
    sol = solve(make_problem(seed=2, spec=Spec(heads=2)))
    plan = layout.plan(sol.exercise, worksheet._layout(sol.exercise), "a4", 2)
    if plan.sections[-1].new_page:
        assert plan.sections[-1].foot >= layout.WORK_MIN_H


def test_free_space_grows_cells_then_becomes_room_to_work():
    easy = solve(make_problem(seed=2, spec=Spec.for_level("easy")))
    plan = layout.plan(easy.exercise, worksheet._layout(easy.exercise), "a4", 1)
    a = next(b for b in plan.sections[0].boxes if b.step.name == "A")
    assert a.cell_w > 16.0 and a.cell_h > 8.0
    assert plan.sections[0].foot >= layout.WORK_MIN_H or plan.sections[0].aside


def test_cell_size_follows_the_step_not_the_answer():
    """Two problems of the same shape get the same boxes, whatever their answers' lengths."""
    plans = []
    for seed in (1, 2, 3):
        sol = solve(make_problem(seed=seed))
        plan = layout.plan(sol.exercise, worksheet._layout(sol.exercise), "a4", 2)
        plans.append([(b.step.name, b.cell_w, b.cell_h, b.x, b.y) for b in plan.sections[0].boxes])
    assert plans[0] == plans[1] == plans[2]
    ex = solve(make_problem(seed=1, spec=Spec(heads=2))).exercise
    kinds = {s.name: layout.holds(ex, s) for s in ex}
    assert kinds["exp1"] == kinds["colsum2"] == kinds["A1"] == kinds["Z2"] == "fraction"
    assert kinds["S1"] == kinds["scaled2"] == kinds["KT1"] == "whole"
    assert kinds["Zcat"] == kinds["O"] == "long" and kinds["WO"] == "given"


@pytest.mark.parametrize("fillable", [False, True])
def test_the_instructions_fit_the_header_whole(fillable):
    """Both lines of the instructions lie inside the header, a form's Name field or not."""
    sol = solve(make_problem(seed=3))
    pdf = render.render_pdf(worksheet.build(sol, "blank", fillable=fillable))
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        page = doc.pages[0]
        bottom = (layout.MARGIN_TOP + layout.HEADER_H) / MM
        words = page.extract_words()
    text = " ".join(w["text"] for w in words if w["bottom"] <= bottom)
    example = re.search(r"such as (\d\.\d\d) for (\d+/\d+)\.", worksheet.instructions(sol))
    assert example and example.group(0) in text


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_grid_lines_fall_on_the_edges_of_every_answer_box(paper):
    """A box's grid is one drawn cell repeated (a PDF tiling pattern). Its tiles must be the
    size of the cells the form's fields occupy (placed independently, in mm) and start on a
    cell's corner, so every grid line lands on a cell's edge: read from the page's patterns."""
    pdf = _pdf(Spec(), "blank", paper, fillable=True)
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    tilings = []  # (left, top, width, height) of one tile, in PDF points
    for ref in page["/Resources"]["/Pattern"].values():
        p = ref.get_object()
        a, _, _, d, e, f = (float(v) for v in p["/Matrix"])
        tilings.append((e, f, a * float(p["/XStep"]), -d * float(p["/YStep"])))

    def on_grid(x: float, y: float, w: float, h: float) -> bool:
        for e, f, tw, th in tilings:
            if abs(tw - w) < 0.02 and abs(th - h) < 0.02:
                cols, rows = (x - e) / tw, (f - y) / th
                if abs(cols - round(cols)) < 0.002 and abs(rows - round(rows)) < 0.002:
                    return True
        return False

    fields = [r.get_object() for r in page["/Annots"]]
    answers = [a for a in fields if str(a["/T"]) not in ("student", "handcalc_id")]
    for a in answers:
        x0, x1 = sorted(float(a["/Rect"][i]) for i in (0, 2))
        y0, y1 = sorted(float(a["/Rect"][i]) for i in (1, 3))
        assert on_grid(x0, y1, x1 - x0, y1 - y0), str(a["/T"])
    assert len(answers) >= 60


@pytest.mark.parametrize("kind", ["blank", "key"])
def test_every_grid_is_one_small_pattern(kind):
    """A box's grid (and a scratch area's squares) is one repeated image: one pattern each,
    and no shadings, which CSS gradients made by the dozen and which made a class set's
    sheets five times heavier to join."""
    import pikepdf

    sol = solve(make_problem(seed=3, spec=Spec()))
    view = worksheet.build(sol, kind)
    boxes = sum(len(s.items) + bool(s.aside_style) + bool(s.foot_style) for s in view.sections)
    if view.working:
        boxes += 3 * len(view.working.comparisons)
    with pikepdf.open(io.BytesIO(render.render_pdf(view))) as pdf:
        dicts = [o for o in pdf.objects if isinstance(o, (pikepdf.Dictionary, pikepdf.Stream))]
        assert not [o for o in dicts if "/ShadingType" in o]
        assert sum("/PatternType" in o for o in dicts) == boxes


def _first_page_rules(pdf: bytes) -> tuple[str, float]:
    """The rules' paragraph on the first page, and its smallest type, read from the PDF."""
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        lines = doc.pages[0].extract_text_lines(return_chars=True)
    at = next(k for k, line in enumerate(lines) if line["text"].startswith("Rules:"))
    para = [lines[at]] + [
        line for line in lines[at + 1 : at + 6] if line["chars"][0]["size"] == lines[at]["chars"][0]["size"]
    ][:3]
    text = " ".join(line["text"] for line in para)
    return text, min(c["size"] for line in para for c in line["chars"])


@pytest.mark.parametrize("kind", ["blank", "key"])
def test_the_rules_students_get_wrong_are_on_the_first_page_in_body_type(kind):
    text, size = _first_page_rules(_pdf(Spec(), kind, "a4"))
    assert size >= 8.0 - 0.01
    for case in ("floor(−1/2) = −1", "floor(−3/2) = −2", "3^−1 = 1/3"):
        assert case in text, case
    assert "Zcat" not in text and "head" not in text  # one head: nothing about heads


def test_rounding_toward_zero_says_what_it_changes():
    text, _ = _first_page_rules(_pdf(Spec(rounding="zero"), "blank", "a4"))
    assert "toward zero" in text and "−1/2 becomes 0" in text and "−3/2 becomes −1" in text
    assert "floor(−1/2) = −1" not in text


def test_how_numbers_were_drawn_is_on_the_key_only_and_says_only_what_applies():
    one = solve(make_problem(seed=3, spec=Spec()))
    assert worksheet.build(one, "blank").drawing_rules == ()
    drawn = " ".join(worksheet.build(one, "key").drawing_rules)
    assert "denominator" in drawn and "Zcat" not in drawn and "all-zero" in drawn
    heads = solve(make_problem(seed=3, spec=Spec(heads=2)))
    assert "Zcat and O" in " ".join(worksheet.build(heads, "key").drawing_rules)
    with pdfplumber.open(io.BytesIO(_pdf(Spec(), "blank", "a4"))) as doc:
        assert "Numbers drawn" not in doc.pages[0].extract_text()
