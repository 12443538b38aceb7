import io
import json
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handcalc import answers, numbers, steps
from handcalc.errors import AnswersError, HandcalcError
from handcalc.grading import grade

from .students import SLIPPED, solution, work

# --- numbers and cells ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, value, places",
    [
        (27, Fraction(27), None),
        ("27", Fraction(27), None),
        ("9/46", Fraction(9, 46), None),
        (" 9 / 46 ", Fraction(9, 46), None),
        ("0.196", Fraction(196, 1000), 3),
        ("0.20", Fraction(1, 5), 2),
        (".5", Fraction(1, 2), 1),
        ("-2", Fraction(-2), None),
        ("\u2212" + "2", Fraction(-2), None),
        ("\u22129/46", Fraction(-9, 46), None),
        ("0,5625", Fraction(9, 16), 4),
        ("-1,5", Fraction(-3, 2), 1),
        ("0,500", Fraction(1, 2), 3),
        ("12,25", Fraction(49, 4), 2),
    ],
)
def test_cells_read_as_people_write_them(raw, value, places):
    c = answers.read_cell(raw)
    if value is None:
        assert c.unreadable
    else:
        assert (c.written.value, c.written.places) == (value, places)


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_blank_cells(raw):
    assert answers.read_cell(raw).blank


@pytest.mark.parametrize(
    "raw", ["abc", "1/0", "1e5", True, [1], {"a": 1}, "9//46", "1,2,5", ",5", "1,5/2"]
)
def test_unreadable_cells_say_so(raw):
    c = answers.read_cell(raw)
    assert c.unreadable and not c.blank and c.written is None
    assert "cannot read" in c.error


@pytest.mark.parametrize("raw", ["1,234", "-2,500", "10,000"])
def test_a_comma_that_may_separate_thousands_is_refused_with_both_readings(raw):
    c = answers.read_cell(raw)
    assert c.unreadable
    plain = raw.replace(",", "")
    assert f"write {raw.replace(',', '.')} or {plain}" in c.error


def test_json_decimals_keep_the_places_written():
    a = answers.parse_text('{"colsum": [0.20, 0.196, 3, 2.0]}')
    cells = a.grid(solution(1).exercise)["colsum"]
    assert [(c.written.value, c.written.places) for c in cells] == [
        (Fraction(1, 5), 2),
        (Fraction(49, 250), 3),
        (Fraction(3), None),
        (Fraction(2), 1),
    ]


# --- answers files -------------------------------------------------------------------------


def test_a_missing_step_is_blank_and_student_and_id_are_kept():
    sol = solution(1)
    a = answers.from_json({"student": "Ada", "id": sol.problem.id, "Q": None})
    grid = a.grid(sol.exercise)
    assert (a.student, a.sheet_id) == ("Ada", sol.problem.id)
    assert set(grid) == {s.name for s in sol.exercise.worked}
    assert all(c.blank for row in grid["S"] for c in row) and all(c.blank for c in grid["colsum"])


def test_the_blank_answers_file_has_every_worked_step_as_nulls():
    sol = solution(1, "heads")
    data = answers.blank(sol.problem)
    assert data["id"] == sol.problem.id and data["student"] is None
    worked = [s.name for s in sol.exercise.worked]
    assert list(data)[2:] == worked and "Q2" in worked and "WQ1" not in data
    assert data["colsum1"] == [None] * 4
    assert data["S2"] == [[None] * 4] * 4 and data["O"] == [[None] * 4] * 6
    report = grade(sol, answers.from_json(data))
    assert report.percent == 0 and report.first_wrong is None


def test_an_answers_file_as_text_puts_one_matrix_row_on_each_line():
    sol = solution(1, "heads")
    data = answers.blank(sol.problem)
    data["S1"][1][2] = "9/46"
    text = answers.to_text(data)
    assert json.loads(text) == data
    lines = text.splitlines()
    s1 = lines.index(' "S1": [')
    assert lines[s1 + 1 : s1 + 6] == [
        "  [null, null, null, null],",
        '  [null, null, "9/46", null],',
        "  [null, null, null, null],",
        "  [null, null, null, null]",
        " ],",
    ]
    assert ' "colsum2": [null, null, null, null],' in lines
    assert lines[1] == f' "id": "{sol.problem.id}",' and lines[-1] == "}"
    # as many lines as keys and matrix rows, plus the braces and each matrix's closing line
    matrices = [v for v in data.values() if isinstance(v, list) and isinstance(v[0], list)]
    assert len(lines) == 2 + len(data) + sum(len(m) + 1 for m in matrices)


@pytest.mark.parametrize(
    "data, message",
    [
        ({"S": [[1, 2, 3, 4]] * 3}, "answers: S must be 4×4, got 3×4"),
        ({"S": [[1, 2, 3]] * 4}, "answers: S must be 4×4, got 4×3"),
        ({"S": [[1, 2, 3, 4], [1, 2, 3]] + [[1, 2, 3, 4]] * 2}, "rows of different lengths"),
        ({"S": [1, 2, 3, 4]}, "answers: S must be a list of rows (4×4)"),
        ({"S": "27"}, "answers: S must be a list of rows (4×4)"),
        ({"colsum": [1, 2, 3]}, "answers: colsum must have 4 entries, got 3"),
        ({"colsum": [[1, 2, 3, 4]]}, "answers: colsum must be a flat list of 4 numbers"),
        ({"Scaled": [[0] * 4] * 4}, "answers: unknown step 'Scaled' (this sheet's steps are Q"),
        ({"rowsum": [1, 2, 3, 4]}, "unknown step 'rowsum'"),
    ],
)
def test_wrong_shapes_and_names_are_one_clear_line(data, message):
    with pytest.raises(AnswersError) as e:
        answers.from_json(data).grid(solution(1).exercise)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_givens_in_an_answers_file_are_ignored():
    sol = solution(1)
    data = {**work(sol), "X": [[9]]}
    assert grade(sol, answers.from_json(data)).percent == 100


@pytest.mark.parametrize(
    "text, message",
    [
        ("{", "answers is not valid JSON (line 1: "),
        ("[1, 2]", "an answers file must be a JSON object of step matrices"),
        ('{"student": 3}', '"student" must be a name'),
        ('{"id": 3}', '"id" must be the sheet ID as text'),
        ("[" * 100_000, "answers is not an answers file (numbers or nesting too big)"),
        ('{"Q": ' + "9" * 5000 + "}", "answers is not an answers file"),
    ],
)
def test_bad_answers_text_is_one_clear_line(text, message):
    with pytest.raises(AnswersError) as e:
        answers.parse_text(text)
    assert message in str(e.value)


def test_files_that_are_not_answers(tmp_path):
    with pytest.raises(AnswersError, match="cannot read .*nothing.json: No such file"):
        answers.load(tmp_path / "nothing.json")
    (tmp_path / "bin").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(AnswersError, match="neither a PDF nor an answers file"):
        answers.load(tmp_path / "bin")
    (tmp_path / "bad.pdf").write_bytes(b"%PDF-1.7\nnot really a pdf")
    with pytest.raises(AnswersError, match="bad.pdf is not a readable PDF"):
        answers.load(tmp_path / "bad.pdf")
    with pytest.raises(AnswersError, match="cannot read"):
        answers.load(tmp_path)


# --- filled PDF forms ----------------------------------------------------------------------


def _form_html(sol, sheet_id=True):
    """A tiny stand-in for the real fillable sheet: one named input per answer cell."""
    boxes = [f'<input name="{answers.ID_FIELD}" value="{sol.problem.id}">'] if sheet_id else []
    boxes.append('<input name="student">')
    for s in sol.exercise.worked:
        cols = [None] if s.is_vector else range(s.cols)
        for r in range(s.rows):
            for c in cols:
                boxes.append(f'<input name="{steps.field_name(s.name, r, c)}">')
    return "<html><body>" + "".join(boxes) + "</body></html>"


@pytest.fixture(scope="module")
def blank_form():
    weasyprint = pytest.importorskip("weasyprint")
    sol = solution(1)
    return weasyprint.HTML(string=_form_html(sol)).write_pdf(pdf_forms=True)


def fill(pdf: bytes, data: dict) -> bytes:
    """Fill a form with pypdf as a PDF viewer would: one text per named field."""
    import pypdf

    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(pdf)))
    values = {}
    for name, value in data.items():
        if name == "id":
            continue
        if name == "student":
            values["student"] = value
            continue
        if value and isinstance(value[0], list):
            for r, row in enumerate(value):
                for c, x in enumerate(row):
                    values[steps.field_name(name, r, c)] = "" if x is None else str(x)
        else:
            for r, x in enumerate(value):
                values[steps.field_name(name, r)] = "" if x is None else str(x)
    # pypdf's update_page_form_field_values takes seconds for 130 fields; set /V directly
    for page in writer.pages:
        for annot in page.get("/Annots", []):
            field = annot.get_object()
            name = field.get("/T")
            if name in values:
                field[pypdf.generic.NameObject("/V")] = pypdf.generic.TextStringObject(values[name])
    writer.set_need_appearances_writer(True)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_filled_pdf_form_grades_like_the_same_answers_in_json(blank_form, tmp_path):
    sol = solution(1)
    data = json.loads(json.dumps(SLIPPED))
    data["student"] = "Ada"
    data["A"][0][0] = "0.10"
    data["A"][2][3] = "half"
    del data["exp"]
    path = tmp_path / "filled.pdf"
    path.write_bytes(fill(blank_form, data))
    from_pdf = answers.load(path)
    assert (from_pdf.student, from_pdf.sheet_id) == ("Ada", sol.problem.id)
    pdf_report = grade(sol, from_pdf)
    json_report = grade(sol, answers.from_json(data))
    for name, res in json_report.steps.items():
        assert pdf_report.steps[name].verdicts == res.verdicts, name
        assert pdf_report.steps[name].mistakes == res.mistakes, name
    assert pdf_report.steps["Q"].verdicts[0][1] == "wrong"
    assert pdf_report.steps["A"].verdicts[0][0] == "correct"
    assert set(pdf_report.steps["exp"].flat()) == {"blank"}


def test_a_pdf_that_is_not_a_handcalc_sheet_is_one_clear_line(tmp_path):
    weasyprint = pytest.importorskip("weasyprint")
    plain = tmp_path / "plain.pdf"
    plain.write_bytes(weasyprint.HTML(string="<p>Hello</p>").write_pdf())
    with pytest.raises(AnswersError) as e:
        answers.load(plain)
    assert str(e.value) == f"{plain} is not a handcalc sheet (it has no handcalc_id field)"


# --- fuzz: nothing but our own errors ------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**50), max_value=10**50),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=50),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=30,
)
number_texts = st.one_of(
    st.text(max_size=60),
    st.from_regex(r"\s*[−+-]?\d{0,45}([./]\d{0,45})?\s*", fullmatch=True),
    st.integers().map(str),
    st.fractions().map(str),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(number_texts, json_scalars, json_values))
def test_parse_reads_a_number_or_says_it_cannot(raw):
    try:
        w = numbers.parse(raw)
    except AnswersError as e:
        assert str(e) and "\n" not in str(e)
        return
    assert w is None or isinstance(w.value, Fraction)


@settings(max_examples=200, deadline=None)
@given(
    st.fractions(min_value=-(10**6), max_value=10**6, max_denominator=10**6),
    st.integers(min_value=0, max_value=8),
)
def test_parse_reads_back_fractions_and_decimals_as_printed(x, places):
    assert numbers.parse(numbers.text(x)).value == x
    w = numbers.parse(numbers.decimal(x, places))
    assert abs(w.value - x) <= Fraction(1, 2 * 10**places)
    assert w.places == (places or None)


def _cells(n):
    return st.lists(
        st.one_of(json_scalars, st.sampled_from(["1/3", "0.25", "−1", "3", "x"])),
        min_size=n,
        max_size=n,
    )


def _answer_objects():
    ex = solution(1).exercise
    shaped = {
        s.name: (
            _cells(s.rows)
            if s.is_vector
            else st.lists(_cells(s.cols), min_size=s.rows, max_size=s.rows)
        )
        for s in ex.worked
    }
    loose = st.dictionaries(
        st.sampled_from([s.name for s in ex.worked] + ["id", "student"]), json_values
    )
    return st.one_of(st.fixed_dictionaries({}, optional=shaped), loose, json_values)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_answer_objects())
def test_any_json_grades_or_fails_with_one_line(data):
    sol = solution(1)
    text = json.dumps(data)
    try:
        report = grade(sol, answers.parse_text(text))
    except HandcalcError as e:
        assert str(e) and "\n" not in str(e)
        return
    assert 0 <= report.percent <= 100


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.binary(max_size=200), st.binary(max_size=200).map(lambda b: b"%PDF-1.4\n" + b)))
def test_any_bytes_read_as_answers_or_fail_with_one_line(data):
    try:
        answers.from_bytes(data).grid(solution(1).exercise)
    except HandcalcError as e:
        assert str(e) and "\n" not in str(e)


def test_check_needs_nothing_but_the_filled_pdf(blank_form, tmp_path):
    from click.testing import CliRunner

    from handcalc.cli import main

    path = tmp_path / "filled.pdf"
    path.write_bytes(fill(blank_form, {**SLIPPED, "student": "Ada"}))
    result = CliRunner().invoke(main, ["check", str(path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["student"] == "Ada" and report["id"] == solution(1).problem.id
    assert report["percent"] == pytest.approx(100 * 110 / 111)
    result = CliRunner().invoke(main, ["check", "--seed", "2", str(path)])
    assert result.exit_code == 1 and "answers are for sheet" in result.output
    assert len(result.output.strip().splitlines()) == 1
