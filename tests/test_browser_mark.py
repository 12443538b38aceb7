"""The marking page in a real browser (Debian's chromium via Playwright): a teacher marks a
class's paper sheets typing only where a paper differs from what the page shows, exports one
class answers file, and `handcalc check --manifest` grades it exactly as the same papers typed
in full. The papers are simulated students (tests/students.py): slips, follow-through from
their own numbers, a blank and an unreadable cell."""

from __future__ import annotations

import json
import os
from fractions import Fraction

import pytest

from handcalc.classset import read_manifest, students_from_manifest
from handcalc.solution import solve

from . import students
from .conftest import CHROMIUM, run_caught, run_cli

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing"),
]

NAMES = ["Ana Lopez", "Ben Okafor", "Zoë Brown"]
# Each student's paper: slips (step -> {(row, col): off by}) and cells blank or unreadable.
PAPERS = {
    "Ana Lopez": ({"Q": {(0, 0): 1}}, {}),  # one early slip, everything after follows through
    "Ben Okafor": (
        {"K": {(1, 2): -1}, "colsum": {(1, None): 1}},
        {"Z": {(0, 0): None, (1, 1): "?"}},
    ),
    "Zoë Brown": ({"S": {(2, 2): 2}}, {}),
}


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    folder = tmp_path_factory.mktemp("klass")
    roster = folder / "roster.csv"
    roster.write_text("name\n" + "\n".join(NAMES) + "\n", encoding="utf-8")
    out = folder / "cls"
    result = run_cli(
        "generate", "--roster", str(roster), "--seed", "7", "--split", str(out),
        "--format", "html", "--marking-page",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (out / "mark.html").is_file()
    manifest = out / "manifest.json"
    sols = {
        s.name: solve(s.problem)
        for s in students_from_manifest(read_manifest(str(manifest)), str(manifest))
    }
    papers = {
        name: students.slipped(sols[name], *PAPERS[name], student=name) for name in NAMES
    }
    return out, manifest, papers


@pytest.fixture
def page(browser, klass):
    context = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 900})
    p = context.new_page()
    errors, requests, dialogs = [], [], []
    p.on("pageerror", lambda e: errors.append(str(e)))
    p.on("request", lambda r: requests.append(r.url))
    p.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    url = (klass[0] / "mark.html").as_uri()
    p.goto(url)
    p.dialogs = dialogs
    yield p
    context.close()
    assert errors == []
    assert set(requests) == {url}  # offline: the one file is everything


def _want(paper, name):
    step, rest = name.split("_", 1)
    if step not in paper:  # a step name holding "_" (none in the classic head)
        raise AssertionError(name)
    if rest.startswith("r"):
        r, c = (int(x) - 1 for x in rest[1:].split("_c"))
        return paper[step][r][c]
    return paper[step][int(rest) - 1]


def _same(shown: str, want) -> bool:
    try:
        return Fraction(shown.replace("\u2212", "-")) == Fraction(want)
    except (ValueError, ZeroDivisionError):
        return False


def mark_student(p, paper) -> int:
    """Mark one paper as a teacher would: box by box in reading order, typing (with the
    keyboard) only where the paper differs from what the page shows; then n for the next."""
    names = p.evaluate("handcalcSheet.inputs.map(e => e.name)")
    typed = 0
    for name in names:
        want = _want(paper, name)
        shown = p.evaluate(
            "n => { const e = handcalcSheet.byName[n]; return e.value || e.placeholder; }", name
        )
        if want is None:
            key = "b"
        elif want == "?":
            key = "?"
        elif _same(shown, want):
            continue
        else:
            key = None
        p.click(f'input[name="{name}"]')
        if key:
            p.keyboard.press(key)
        else:
            p.keyboard.type(str(want))
        typed += 1
    p.focus(f'input[name="{names[-1]}"]')
    p.keyboard.press("n")
    return typed


def _grade(manifest, files, csv):
    result = run_cli("check", "--manifest", str(manifest), *map(str, files), "--json",
                     "--csv", str(csv))  # fmt: skip
    assert result.exit_code == 0, result.output
    return {r["student"]: r for r in json.loads(result.stdout)}


def test_marking_a_class_grades_as_the_papers_typed_in_full(page, klass, tmp_path):
    out, manifest, papers = klass
    typed = {}
    for name in NAMES:
        assert page.input_value("#student") == name  # roster order, one after another
        typed[name] = mark_student(page, papers[name])
    # Only the slips, the blank and the unreadable cell were typed: the rest followed through.
    assert typed == {"Ana Lopez": 1, "Ben Okafor": 4, "Zoë Brown": 1}
    counts = page.text_content("#counts")
    assert "6 typed in all" in counts and "3 of 3 students marked" in counts
    with page.expect_download() as dl:
        page.click("#export")
    marks = tmp_path / dl.value.suggested_filename
    dl.value.save_as(marks)
    exported = json.loads(marks.read_text(encoding="utf-8"))
    assert [a["student"] for a in exported] == NAMES  # a list of ordinary answers objects
    by_marks = _grade(manifest, [marks], tmp_path / "g1.csv")

    full = []
    for name in NAMES:
        path = tmp_path / f"{name.split()[0]}.json"
        path.write_text(json.dumps(papers[name]), encoding="utf-8")
        full.append(path)
    by_full = _grade(manifest, full, tmp_path / "g2.csv")
    for name in NAMES:
        a, b = by_marks[name], by_full[name]
        assert a["percent"] == b["percent"]
        assert {k: v["cells"] for k, v in a["steps"].items()} == {
            k: v["cells"] for k, v in b["steps"].items()
        }
        assert [m["text"] for s in a["steps"].values() for m in s["mistakes"]] == [
            m["text"] for s in b["steps"].values() for m in s["mistakes"]
        ]
    ana = [v for s in by_marks["Ana Lopez"]["steps"].values() for row in s["cells"]
           for v in (row if isinstance(row, list) else [row])]  # fmt: skip
    assert ana.count("wrong") == 1 and ana.count("follow-through") > 0
    ben = [v for s in by_marks["Ben Okafor"]["steps"].values() for row in s["cells"]
           for v in (row if isinstance(row, list) else [row])]  # fmt: skip
    assert ben.count("blank") == 1 and ben.count("needs-review") == 1
    assert 0 < by_marks["Ben Okafor"]["percent"] < by_marks["Zoë Brown"]["percent"] < 100


def test_one_early_slip_is_one_typed_cell_and_verdicts_update_live(page, klass):
    _, _, papers = klass
    ana = papers["Ana Lopez"]
    page.click('input[name="Q_r1_c1"]')
    page.keyboard.type(str(ana["Q"][0][0]))
    # The page now shows Ana's own continuation: S and Z are hers, not the key's.
    for name in ("S_r1_c1", "S_r2_c1", "A_r2_c1", "Z_r1_c1", "Z_r3_c1"):
        shown = page.get_attribute(f'input[name="{name}"]', "placeholder")
        assert _same(shown, _want(ana, name)), name
    assert "is-wrong" in page.get_attribute('input[name="Q_r1_c1"] >> xpath=..', "class")
    assert "is-followthrough" in page.get_attribute('input[name="S_r2_c1"] >> xpath=..', "class")
    assert "1 typed for this student" in page.text_content("#counts")
    # Typed cells stay typed when an earlier cell changes.
    page.click('input[name="S_r2_c1"]')
    page.keyboard.type("5")
    page.click('input[name="Q_r1_c1"]')
    page.keyboard.press("Escape")
    assert page.input_value('input[name="S_r2_c1"]') == "5"
    assert page.input_value('input[name="Q_r1_c1"]') == ""


def test_a_closed_tab_reopens_where_it_was_and_search_finds_a_name(page, browser, klass):
    page.fill("#find", "zoe")  # accents folded away
    assert page.input_value("#student") == "Zoë Brown"
    page.click('input[name="K_r1_c1"]')
    page.keyboard.type("9")
    page.keyboard.press("n")
    page.reload()
    assert page.input_value("#student") == "Ana Lopez"  # the next student not yet marked
    page.select_option("#who", "2")
    assert page.input_value('input[name="K_r1_c1"]') == "9"
    assert "1 of 3 students marked" in page.text_content("#counts")


def test_exporting_again_names_a_new_file_and_asks_about_changed_marks(page, tmp_path):
    page.click('input[name="K_r1_c1"]')
    page.keyboard.press("n")
    with page.expect_download() as first:
        page.click("#export")
    page.select_option("#who", "0")
    page.click('input[name="K_r1_c1"]')
    page.keyboard.type("7")
    with page.expect_download() as second:
        page.click("#export")
    assert first.value.suggested_filename != second.value.suggested_filename
    assert len(page.dialogs) == 1 and "Ana Lopez" in page.dialogs[0]


def test_mark_command_writes_the_page_and_refuses_bad_input(klass, tmp_path):
    _, manifest, _ = klass
    out = tmp_path / "m.html"
    result = run_cli("mark", "--manifest", str(manifest), "-o", str(out))
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "Ben Okafor" in html and 'id="export"' in html
    again = tmp_path / "m2.html"
    run_cli("mark", "--manifest", str(manifest), "-o", str(again))
    assert again.read_bytes() == out.read_bytes()  # deterministic
    bad = run_caught("mark", "--manifest", str(tmp_path / "none.json"), "-o", str(out))
    assert bad.exit_code == 1 and len(bad.output.strip().splitlines()) == 1
    one = run_caught("generate", "--seed", "1", "-o", str(tmp_path / "s.html"), "--marking-page")
    assert one.exit_code != 0 and "class sets" in one.output


def test_shift_b_leaves_the_rest_of_a_step_blank(page):
    page.click('input[name="Z_r3_c3"]')
    page.keyboard.type("1")
    page.click('input[name="Z_r3_c1"]')
    page.keyboard.press("Shift+B")
    cells = page.evaluate(
        "Object.keys(handcalcMark.state.blank[handcalcSheet.data.id]).sort()"
    )
    assert cells == ["Z_r3_c1", "Z_r3_c2", "Z_r3_c4"]  # the typed Z_r3_c3 stays typed
    assert "4 typed for this student" in page.text_content("#counts")


@pytest.mark.parametrize("width", [1400, 375])
def test_axe_finds_nothing_and_a_phone_never_scrolls_sideways(browser, klass, width):
    from .test_browser_a11y import AXE, _violations

    if not AXE.is_file():
        pytest.fail("axe-core is missing: run scripts/install.sh --test")
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    page.goto((klass[0] / "mark.html").as_uri())
    page.click('input[name="Q_r1_c1"]')
    page.keyboard.type("9")
    page.click('input[name="Z_r1_c1"]')
    page.keyboard.press("b")
    page.click('input[name="Z_r1_c2"]')
    page.keyboard.press("?")
    # measured before axe runs: its colour checks lay hidden tables out for a moment
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert _violations(page, AXE.read_text(encoding="utf-8")) == []
    context.close()


def test_a_crafted_name_is_text_on_the_marking_page(browser, tmp_path):
    name = "</script><img src=x onerror=alert(1)>"
    (tmp_path / "r.csv").write_text(f'name\n"{name}"\nAda\n', encoding="utf-8")
    result = run_cli(
        "generate", "--roster", str(tmp_path / "r.csv"), "--seed", "3",
        "--split", str(tmp_path / "c"), "--format", "html", "--marking-page",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    context = browser.new_context()
    page = context.new_page()
    dialogs, requests = [], []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("request", lambda r: requests.append(r.url))
    url = (tmp_path / "c" / "mark.html").as_uri()
    page.goto(url)
    assert page.input_value("#student") == name
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    page.fill("#find", "ada")
    assert page.input_value("#student") == "Ada"
    assert dialogs == [] and set(requests) == {url}
    context.close()


def test_a_private_class_is_marked_by_the_code_its_papers_print(browser, tmp_path):
    (tmp_path / "r.csv").write_text("name\nAnn\nBen\n", encoding="utf-8")
    result = run_cli(
        "generate", "--roster", str(tmp_path / "r.csv"), "--seed", "12", "--private",
        "--split", str(tmp_path / "c"), "--format", "html", "--marking-page",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp_path / "c" / "manifest.json").read_text())["students"]
    codes = [r["code"] for r in rows]
    assert all(c.startswith("P-") for c in codes) and len(set(codes)) == 2
    context = browser.new_context()
    page = context.new_page()
    page.goto((tmp_path / "c" / "mark.html").as_uri())
    for name, row in zip(["Ann", "Ben"], rows):
        page.fill("#find", name)
        assert page.input_value("#student") == name
        foot = page.text_content(".foot .ids")
        assert f"code {row['code']}" in foot and row["id"] not in foot, foot
    context.close()
