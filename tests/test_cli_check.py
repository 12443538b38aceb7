import csv
import json
from pathlib import Path

import pytest

from handcalc.cli import main

from .conftest import dump_json as dump
from .conftest import run_caught as run
from .conftest import run_python
from .students import SLIPPED, solution, work

ROOT = Path(__file__).resolve().parents[1]


def one_line_error(result):
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


def test_answers_writes_a_blank_file_that_check_grades_as_blank(tmp_path):
    out = tmp_path / "blank.json"
    result = run("answers", "--seed", 1, "-o", out)
    assert result.exit_code == 0 and f"wrote {out}" in result.output
    data = json.loads(out.read_text())
    assert data["id"] == solution(1).problem.id
    assert data["S"] == [[None] * 4] * 4 and data["colsum"] == [None] * 4
    report = json.loads(run("check", out, "--json").output)
    assert report["percent"] == 0 and report["counts"]["blank"] == 128


def test_check_takes_the_sheet_from_the_answers_id(tmp_path):
    path = dump(tmp_path / "ada.json", {**SLIPPED, "student": "Ada"})
    result = run("check", path, "--json")
    assert result.exit_code == 0
    report = json.loads(result.output)
    assert report["percent"] == pytest.approx(100 * 110 / 111)
    assert report["student"] == "Ada" and report["first_wrong"] == "Q"
    assert report["steps"]["Z"]["cells"][0] == ["correct", "follow-through", "correct", "correct"]
    text = run("check", path).output
    assert "score 99.1 %  (127 of 128 cells: 111 correct, 16 follow-through; 1 wrong" in text
    assert "One slip in Q, row 1, column 2: wrote 1; key: 0." in text


def test_check_with_problem_options_and_the_solve_json_as_answers(tmp_path):
    solved = json.loads(run("solve", "--seed", 7, "--convention", "rows", "--json").output)
    path = dump(tmp_path / "key.json", solved["steps"])  # no "id": the options name the sheet
    report = json.loads(run("check", "--seed", 7, "--convention", "rows", path, "--json").output)
    assert report["percent"] == 100 and report["id"] == solved["id"]
    assert "rowsum" in report["steps"]


def test_answers_for_another_sheet_are_refused(tmp_path):
    path = dump(tmp_path / "a.json", work(solution(1)))
    line = one_line_error(run("check", "--seed", 2, path))
    other = solution(2).problem.id
    assert line == f"Error: {path}: answers are for sheet {solution(1).problem.id}, not {other}"


@pytest.mark.parametrize(
    "content, message",
    [
        ("{", "is not valid JSON (line 1"),
        ('{"S": [[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4]]}', "S must be 4×4, got 3×4"),
        ('{"id": "sheet 12!"}', "'sheet 12!' is not a handcalc sheet ID"),
        ("{}", 'has no "id"; name its sheet with --seed, --from or --id'),
    ],
)
def test_bad_answers_files_are_one_line(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    extra = ["--seed", 1] if "S must" in message else []
    assert message in one_line_error(run("check", *extra, path))


def test_missing_file_and_lone_size_options_are_one_line(tmp_path):
    assert "No such file" in one_line_error(run("check", tmp_path / "none.json"))
    line = one_line_error(run("check", "--tokens", 3, tmp_path / "none.json"))
    assert "check needs --seed, --from or --id" in line


def test_a_class_gradebook_keeps_going_past_a_bad_file(tmp_path):
    files = []
    for seed in (1, 2, 3):
        files.append(dump(tmp_path / f"s{seed}.json", work(solution(seed), student=f"S{seed}")))
    files.insert(1, dump(tmp_path / "broken.json", {"id": 3}))
    grades = tmp_path / "grades.csv"
    result = run("check", *files, "--csv", grades)
    assert result.exit_code == 1
    assert 'broken.json: "id" must be the sheet ID as text' in result.output
    rows = list(csv.DictReader(grades.read_text(encoding="utf-8").splitlines()))
    assert [r["student"] for r in rows] == ["S1", "", "S2", "S3"]
    assert [r["percent"] for r in rows] == ["100.0", "", "100.0", "100.0"]
    assert rows[2]["id"] == solution(2).problem.id and rows[0]["S"] == "100.0"
    assert rows[1]["error"].endswith('"id" must be the sheet ID as text')


def test_many_files_as_json_is_a_list(tmp_path):
    files = [dump(tmp_path / f"{s}.json", work(solution(s))) for s in (4, 5)]
    out = json.loads(run("check", *files, "--json").stdout)
    assert [r["percent"] for r in out] == [100, 100]
    assert [r["id"] for r in out] == [solution(4).problem.id, solution(5).problem.id]


def test_several_files_give_every_report_and_a_summary_table(tmp_path):
    ada = dump(tmp_path / "ada.json", {**SLIPPED, "student": "Ada"})
    bo = dump(tmp_path / "bo.json", work(solution(2), student="Bo"))
    bad = dump(tmp_path / "bad.json", {"id": 3})
    files = (ada, bo, bad)
    text = run("check", *files)
    assert text.exit_code == 1
    out = text.stdout
    assert out.count("Step by step:") == 2  # each graded file's full report
    assert "One slip in Q, row 1, column 2: wrote 1; key: 0." in out
    table = out[out.index("student  ") :].splitlines()
    width = len(str(bad))
    assert table == [
        f"student  {'file':<{width}}    score  first wrong",
        f"Ada      {str(ada):<{width}}   99.1 %  Q",
        f"Bo       {str(bo):<{width}}  100.0 %  -",
        f'-        {str(bad):<{width}}    error  {bad}: "id" must be the sheet ID as text',
        "2 graded, 1 failed; mean 99.5 % over the 2 graded",
    ]
    summary = run("check", "--summary", *files)
    assert summary.exit_code == 1 and summary.stdout.splitlines() == table
    as_json = run("check", "--json", ada, bo)
    assert [r["percent"] for r in json.loads(as_json.stdout)] == [100 * 110 / 111, 100]
    assert as_json.stderr.splitlines() == table[:3] + ["2 graded, 0 failed; mean 99.5 % over the 2 graded"]
    rows = json.loads(run("check", "--summary", "--json", ada, bo).stdout)
    assert [(r["student"], r["percent"], r["first_wrong"]) for r in rows] == [
        ("Ada", 100 * 110 / 111, "Q"),
        ("Bo", 100, None),
    ]


def test_check_on_json_imports_neither_weasyprint_nor_pypdf(tmp_path):
    path = dump(tmp_path / "a.json", work(solution(1)))
    code = (
        "import sys\n"
        "from handcalc.cli import main\n"
        f"main(['check', {str(path)!r}, '--json'], standalone_mode=False)\n"
        "heavy = [m for m in ('weasyprint', 'pypdf') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    done = run_python(code)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert json.loads(out.splitlines()[0])["percent"] == 100
    assert out.splitlines()[-1] == "HEAVY []"


def test_every_new_command_has_help():
    for name in ("answers", "check"):
        assert main.commands[name].help


def test_a_wrong_cell_says_the_key_and_what_the_students_own_steps_give(tmp_path):
    # Seed 1: exp column 2 is (3, 1/3, 1/3, 1/9), colsum 34/9, so A column 2 is
    # (27, 3, 3, 1)/34. The student sums it to 52/9 and works A from that: (27, 3, 3, 1)/52,
    # but writes 3/16 and 1/2 in its first two cells.
    sol = solution(1)
    ans = work(sol, {"colsum": [10, "52/9", 8, 6]})
    ans["A"][0][1], ans["A"][1][1] = "3/16", "1/2"
    assert ans["A"][2][1] == "3/52"  # the rest of the column follows the student's colsum
    text = run("check", dump(tmp_path / "a.json", ans)).output
    assert "wrote 3/16, expected" not in text
    assert "wrong: row 1 col 2 wrote 3/16 (from your colsum: 27/52; key: 27/34)" in text
    assert "       row 2 col 2 wrote 1/2 (from your colsum: 3/52; key: 3/34)" in text
    assert "One slip in colsum, entry 2: wrote 52/9; key: 34/9." in text


def test_a_too_short_decimal_says_how_many_places_are_needed(tmp_path):
    sol = solution(1)
    ans = work(sol)
    ans["A"][0][1] = "0.8"  # 27/34 = 0.794…: right to one place, but two are needed
    ans["A"][2][3] = "0,50"  # 1/2 with a decimal comma: correct
    one = run("check", dump(tmp_path / "one.json", ans)).output
    assert (
        "One slip in A, row 1, column 2: wrote 0.8; key: 27/34; write at least 2 decimals." in one
    )
    short = work(sol, decimals=1)
    many = run("check", dump(tmp_path / "many.json", short)).output
    assert "wrong: row 2 col 2 wrote 0.3 (key: 1/3; write at least 2 decimals)" in many
    assert "       row 1 col 3 wrote 0.1 (key: 1/8; write at least 2 decimals)" in many
