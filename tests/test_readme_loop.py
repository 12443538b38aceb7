"""The README's classroom loop, run as written: its commands in order in an empty folder, with
three students handing in the three ways (a paper marked on mark.html, a filled PDF form, saved
from the on-screen page in a real browser), ending in a gradebook."""

from __future__ import annotations

import csv
import glob
import io
import json
import os
import re
import shlex
import shutil
from fractions import Fraction

import pytest

from handcalc import answers, steps
from handcalc.problem import decode_id
from handcalc.solution import solve

from . import grading_vectors as gv
from .conftest import ROOT
from .test_answers import fill
from .test_browser import _fill

CHROMIUM = "/usr/bin/chromium"
ROSTER = "name\nChloé O'Brien\nSøren Kierkegaard\nAda Lovelace\n"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing"),
]


def readme_commands() -> list[list[str]]:
    """The handcalc commands of the first shell block in the README's class-set section."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### Class sets") :]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    lines = [shlex.split(line, comments=True) for line in block.splitlines()]
    return [args for args in lines if args]


def written(step, value, write=gv.frac):
    return gv.as_answer(step, value, write)


def marked_on_page(browser, mark_path, folder):
    """Chloé's paper, marked on mark.html: one colsum entry wrong, A worked from it, so one
    typed box; then n (done) and Export marks."""
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.goto(mark_path.as_uri())
    assert page.input_value("#student") == "Chloé O'Brien"
    shown = page.get_attribute('input[name="colsum_2"]', "placeholder").replace("\u2212", "-")
    page.click('input[name="colsum_2"]')
    page.keyboard.type(str(Fraction(shown) + 2))
    page.keyboard.press("n")
    assert "1 of 3 students marked" in page.text_content("#counts")
    with page.expect_download() as dl:
        page.click("#export")
    saved = folder / dl.value.suggested_filename
    dl.value.save_as(saved)
    context.close()
    return saved


def filled_form(path):
    """Søren's form: every box right, A and Z with decimal commas."""
    sol = solve(decode_id(answers.load(path).sheet_id))
    work = gv.full(sol)
    comma = lambda x: gv.dec(4)(x).replace(".", ",")  # noqa: E731
    for name in ("A", "Z"):
        work[name] = written(sol.exercise[name], sol.values[name], comma)
    path.write_bytes(fill(path.read_bytes(), work))


def saved_from_screen(browser, page_path, folder):
    """Ada's page: Kᵀ·Q worked as Qᵀ·K, everything after worked from it; Save answers."""
    text = page_path.read_text(encoding="utf-8")
    data = json.loads(re.search(r'id="handcalc-data">(.*?)</script>', text).group(1))
    sol = solve(decode_id(data["id"]))
    work = gv.full(sol, values=gv.follow(sol, {"S": steps.transpose(sol.values["S"])}))
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.goto(page_path.as_uri())
    assert page.input_value("#student") == "Ada Lovelace"
    _fill(page, work, sol.exercise)
    with page.expect_download() as dl:
        page.click("#save")
    saved = folder / dl.value.suggested_filename
    dl.value.save_as(saved)
    context.close()
    return saved


def test_the_readme_class_loop_runs_as_written(tmp_path, monkeypatch, cli):
    sync_api = pytest.importorskip("playwright.sync_api")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "class.csv").write_text(ROSTER, encoding="utf-8")
    commands = readme_commands()
    assert [a[:2] for a in commands] == [["handcalc", "generate"], ["handcalc", "key"]] + [
        ["handcalc", "answers"],
        ["handcalc", "generate"],
        ["handcalc", "generate"],
        ["handcalc", "check"],
    ]
    handed_in = tmp_path / "handed-in"
    for args in commands:
        if args[1] == "check":
            handed_in.mkdir()
            form = tmp_path / "forms" / "2-Soren-Kierkegaard.pdf"
            filled_form(form)
            shutil.copy(form, handed_in)
            with sync_api.sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                marks = marked_on_page(browser, tmp_path / "mark.html", handed_in)
                page = tmp_path / "screen" / "3-Ada-Lovelace-screen.html"
                saved = saved_from_screen(browser, page, handed_in)
                browser.close()
            assert json.loads(marks.read_text("utf-8"))[0]["student"] == "Chloé O'Brien"
            assert saved.name.startswith("answers-") and saved.suffix == ".json"
        argv = [x for a in args[1:] for x in (sorted(glob.glob(a)) if "*" in a else [a])]
        result = cli(*argv)
        assert result.exit_code == 0, (args, result.output)
        last = result
    out = last.stdout
    book = list(csv.DictReader(io.StringIO((tmp_path / "gradebook.csv").read_text("utf-8"))))
    assert [r["student"] for r in book] == ["Chloé O'Brien", "Søren Kierkegaard", "Ada Lovelace"]
    chloe, soren, ada = book
    assert soren["percent"] == "100.0"
    assert 90 < float(chloe["percent"]) < 100 and chloe["A"] == "100.0"  # follow-through
    assert float(ada["S"]) < 100 and ada["A"] == ada["Z"] == "100.0"  # carried on from S
    assert "One slip in colsum, entry 2" in out and "S is transposed" in out
    assert out.count("Step by step:") == 3
    table = out[out.index("student  ") :]
    assert re.search(
        r"^Chloé O'Brien +handed-in/marks-\w+-1\.json #1 .* +9\d\.\d %  colsum$", table, re.M
    )
    print(out)
