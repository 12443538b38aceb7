"""HTML and PDF output through the CLI: content, determinism, safety, errors, forms."""

from __future__ import annotations

import io
import os
import re
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from handcalc import render, worksheet
from handcalc.draw import make_problem
from handcalc.problem import Spec
from handcalc.solution import solve
from handcalc.steps import field_name

from .conftest import ROOT, hand_solution, run_cli, run_module, run_python, shown


def pdf_text(path) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(path).pages)


@pytest.fixture(scope="module")
def sheets(tmp_path_factory):
    out = tmp_path_factory.mktemp("sheets")
    for cmd, name in (("generate", "blank"), ("key", "key")):
        result = run_cli(cmd, "--seed", "1", "-o", str(out / f"{name}.pdf"))
        assert result.exit_code == 0, result.output
    return out


def test_key_pdf_holds_the_key_and_the_blank_does_not(sheets, seed1):
    want = hand_solution(seed1.problem.given)
    fractions = {shown(x) for r in want["A"] + want["Z"] for x in r if x.denominator > 1}
    key, blank = pdf_text(sheets / "key.pdf"), pdf_text(sheets / "blank.pdf")
    assert fractions and all(f in key for f in fractions)
    # the rules on every sheet state floor(−1/2), floor(−3/2), 3^−1 = 1/3 and 3^−2 = 1/9: facts
    # of the rule, not answers
    rule_examples = {"1/2", "−1/2", "3/2", "−3/2", "1/3", "1/9"}
    assert not any(f in blank for f in fractions - rule_examples)
    assert f"{float(want['A'][0][1]):.3f}" in key
    assert seed1.problem.id in key and seed1.problem.id in blank
    assert "page 1 of 1" in blank and "page 2 of 2" in key
    assert "Name" in blank and "Date" in blank


def test_default_sheet_is_one_page_on_a4_and_letter(tmp_path):
    for paper in ("a4", "letter"):
        for cmd, pages in (("generate", 1), ("key", 2)):
            out = tmp_path / f"{cmd}-{paper}.pdf"
            assert run_cli(cmd, "--seed", "7", "--paper", paper, "-o", str(out)).exit_code == 0
            reader = PdfReader(out)
            assert len(reader.pages) == pages
            width = float(reader.pages[0].mediabox.width)
            assert width == pytest.approx(595.3 if paper == "a4" else 612.0, abs=0.5)


def test_same_seed_gives_byte_identical_pdfs(tmp_path):
    a, b = tmp_path / "a.pdf", tmp_path / "b.pdf"
    for path in (a, b):
        assert run_cli("key", "--seed", "11", "--causal", "-o", str(path)).exit_code == 0
    assert a.read_bytes() == b.read_bytes()
    c = tmp_path / "c.pdf"
    assert run_cli("key", "--seed", "12", "--causal", "-o", str(c)).exit_code == 0
    assert c.read_bytes() != a.read_bytes()


def _body(html: str) -> str:
    """The sheet without its footer, which names the seed only when there is one."""
    return html.split("</footer>", 1)[1]


def test_id_round_trips_to_the_same_sheet(tmp_path):
    first = tmp_path / "seed.html"
    result = run_cli("key", "--seed", "21", "--heads", "2", "-o", str(first))
    sheet_id = re.search(r"ID (\S+)\)", result.output).group(1)
    again = tmp_path / "id.html"
    assert run_cli("key", "--id", sheet_id, "-o", str(again)).exit_code == 0
    # two heads make a short ID, which names the seed and drawing: the very same sheet
    assert _body(again.read_text()) == _body(first.read_text())
    assert sheet_id in again.read_text()


HOSTILE = "<script>alert('x')</script> \"Zoë\" & <img src=file:///etc/passwd> Ünïcødé"


def test_hostile_title_and_student_are_printed_literally(tmp_path):
    html, pdf = tmp_path / "s.html", tmp_path / "s.pdf"
    for out in (html, pdf):
        args = ["generate", "--seed", "1", "--title", HOSTILE, "--student", HOSTILE]
        assert run_cli(*args, "-o", str(out)).exit_code == 0
    page = html.read_text()
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    text = pdf_text(pdf)
    assert "<script>alert('x')</script>" in text and "Ünïcødé" in text and '"Zoë"' in text
    assert b"/Subtype /Image" not in pdf.read_bytes()


def test_fetcher_serves_only_the_templates():
    fetch = render._fetcher_class()()
    own = (render.template_dir() / "sheet.css").as_uri()
    assert b".m.given" in fetch(own).read()
    for url in ("file:///etc/passwd", "http://example.com/x.png", own + "/../../x"):
        with pytest.raises(ValueError):
            fetch(url)


def test_crafted_html_fetches_nothing(tmp_path):
    secret = tmp_path / "secret.svg"
    secret.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>')
    html = f'<p>hi</p><img src="{secret.as_uri()}"><img src="http://127.0.0.1:9/x.png">'
    assert b"/Subtype /Image" not in render.render_pdf(html)


BAD = [
    (["--format", "docx", "-o", "{tmp}/s.pdf"], "--format"),
    (["-o", "{tmp}/s.docx"], "cannot tell the format"),
    (["-o", "{tmp}/missing/s.pdf"], "does not exist"),
    (["-o", "{tmp}", "--format", "pdf"], "is a folder"),
    (["-o", "{tmp}/s.html", "--fillable"], "--fillable"),
]


@pytest.mark.parametrize("args,message", BAD)
def test_bad_options_give_one_line_and_no_file(tmp_path, args, message):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = run_module("generate", "--seed", "1", *args)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert "Traceback" not in result.stderr
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_unwritable_folder(tmp_path):  # pragma: no cover - CI runs as root here
    tmp_path.chmod(0o555)
    try:
        result = run_module("generate", "--seed", "1", "-o", str(tmp_path / "s.pdf"))
        assert result.returncode == 1 and "cannot write" in result.stderr
    finally:
        tmp_path.chmod(0o755)


def test_unwritable_place_leaves_no_file():
    result = run_module("key", "--seed", "1", "-o", "/proc/handcalc-key.pdf")
    assert result.returncode == 1 and result.stderr.startswith("Error: cannot write")
    assert not os.path.exists("/proc/handcalc-key.pdf")


VARIANTS = {
    "heads2": Spec(heads=2),
    "causal": Spec(causal=True),
    "rows": Spec(convention="rows"),
    "dv": Spec(d_v=4, tokens=5),
    "easy": Spec.for_level("easy"),
    "classic": Spec.for_level("classic"),
    "hard": Spec.for_level("hard"),
}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_variant_renders(name):
    sol = solve(make_problem(seed=5, spec=VARIANTS[name]))
    for kind in ("blank", "key"):
        view = worksheet.build(sol, kind)
        html = render.render_html(view)
        assert sol.problem.sheet_id in html  # the printed ID (short past 40 symbols)
        pdf = PdfReader(io.BytesIO(render.render_pdf(view)))
        heads = sol.problem.spec.heads
        sheet_pages = 1 if heads == 1 else heads + 1
        assert len(pdf.pages) >= sheet_pages + (kind == "key")
        text = pdf.pages[0].extract_text()
        assert "Self-attention by hand" in text
        if kind == "key":
            z = "Z" if heads == 1 else "Z1"
            last = sol.values[z][0][0]
            assert shown(last) in "".join(p.extract_text() for p in pdf.pages)


def test_fillable_pdf_fields_round_trip(tmp_path, seed1):
    out = tmp_path / "form.pdf"
    assert run_cli("generate", "--seed", "1", "--fillable", "-o", str(out)).exit_code == 0
    fields = PdfReader(out).get_fields()
    ex = seed1.exercise
    want = {"handcalc_id", "student"}
    for step in ex.worked:
        if step.is_vector:
            want |= {field_name(step.name, i) for i in range(step.rows)}
        else:
            want |= {
                field_name(step.name, r, c) for r in range(step.rows) for c in range(step.cols)
            }
    assert set(fields) == want
    assert fields["handcalc_id"]["/V"] == seed1.problem.id
    assert fields["handcalc_id"]["/Ff"] & 1
    writer = PdfWriter(clone_from=PdfReader(out))
    answers = {"S_r2_c3": "1", "A_r1_c2": "27/34", "colsum_2": "34/9"}
    writer.update_page_form_field_values(writer.pages[0], answers, auto_regenerate=False)
    filled = tmp_path / "filled.pdf"
    writer.write(filled)
    back = PdfReader(filled).get_fields()
    assert {k: back[k]["/V"] for k in answers} == answers


def test_samples_are_fresh(tmp_path):
    """Remakes the committed samples with the documented command; fails when they are stale."""
    import subprocess

    env = {**os.environ, "PYTHON": sys.executable}
    subprocess.run(
        ["bash", "samples/make.sh", str(tmp_path)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    for name in ("blank.html", "key.html", "blank.pdf", "key.pdf"):
        assert (tmp_path / name).read_bytes() == (ROOT / "samples" / name).read_bytes(), name


def test_commands_without_pdfs_never_import_weasyprint():
    probe = (
        "import sys\nfrom handcalc.cli import main\n"
        "for args in (['--help'], ['solve', '--seed', '1', '--json']):\n"
        "    try:\n        main(args)\n    except SystemExit:\n        pass\n"
        "import handcalc.render, handcalc.worksheet\n"
        "print('weasyprint' in sys.modules, file=sys.stderr)\n"
    )
    result = run_python(probe, timeout=60)
    assert result.stderr.strip() == "False"


@pytest.mark.slow
def test_installed_wheel_finds_its_templates(tmp_path):
    """Build a wheel from a copy of the source, install it into a fresh venv, and make a PDF
    from a folder outside any checkout: the guard against templates missing from the wheel.
    Offline: the wheel is built with the running environment's setuptools, and the fresh venv
    sees the running environment's dependencies, whether that is a venv or not."""
    import shutil
    import subprocess
    import sysconfig

    src = tmp_path / "src"
    src.mkdir()
    for part in ("handcalc", "templates"):
        shutil.copytree(ROOT / part, src / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", src)
    (src / "README.md").write_text("handcalc\n")
    # The checkout on PYTHONPATH would shadow the installed wheel.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    wheels = tmp_path / "wheels"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
        + ["-w", str(wheels), str(src)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert built.returncode == 0, built.stderr
    wheel = next(wheels.glob("handcalc-*.whl"))
    venv = tmp_path / "venv"
    # A venv made from a venv's interpreter gets the base Python's packages, not the venv's:
    # make it from the base interpreter and list the running environment's packages in a .pth
    # (a folder named there is searched, but its own .pth files, handcalc's editable hook among
    # them, are not run).
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--system-site-packages", str(venv)], check=True, env=env)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout.strip()
    ours = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (Path(site) / "running-env.pth").write_text("".join(p + "\n" for p in ours))
    installed = subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert installed.returncode == 0, installed.stderr
    away = tmp_path / "elsewhere"
    away.mkdir()
    where = subprocess.run(
        [python, "-c", "from handcalc import render; print(render.template_dir())"],
        cwd=away,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout.strip()
    assert where.startswith(str(venv)) and where.endswith(os.path.join("handcalc", "templates"))
    result = subprocess.run(
        [python, "-m", "handcalc", "key", "--seed", "1", "-o", "k.pdf"],
        cwd=away,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Answer key" in pdf_text(away / "k.pdf")


def test_a_long_title_is_set_smaller_on_one_line_and_a_too_long_one_refused(tmp_path):
    title = "Week 3: Self-attention by hand - Ms. O'Brien's class, group B, room 4"
    out = tmp_path / "long.pdf"
    done = run_module("generate", "--seed", "7", "--title", title, "-o", str(out))
    assert done.returncode == 0, done.stderr
    text = PdfReader(str(out)).pages[0].extract_text()
    assert title in text.replace("\n", " ")
    refused = run_module("generate", "--seed", "7", "--title", "W" * 81, "-o", str(out) + "x")
    assert refused.returncode == 1
    assert (
        refused.stderr.strip()
        == "Error: --title is 81 characters long; at most 80 fit on the sheet"
    )


def test_a_key_without_working_is_one_page_with_every_value(tmp_path):
    out = tmp_path / "brief.pdf"
    assert run_module("key", "--seed", "1", "--no-working", "-o", str(out)).returncode == 0
    reader = PdfReader(str(out))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    assert "Working" not in text
    sol = hand_solution(make_problem(seed=1).given)
    for value in (sol["A"][0][1], sol["colsum"][1], sol["Z"][2][1]):
        assert shown(value) in text


UA_SAMPLE = [  # (spec, kind, fillable): every element and pseudo-element a sheet can hold
    (Spec(), "blank", False),
    (Spec(), "key", False),
    (Spec(causal=True, convention="rows"), "blank", True),  # masks, form fields
    (Spec(heads=2), "key", False),  # bands, the working page's lists
    (Spec.for_level("classic", block=True), "key", False),
]


@pytest.mark.parametrize("spec,kind,fillable", UA_SAMPLE)
def test_the_sheets_own_browser_defaults_make_the_same_pdf_as_weasyprints(
    monkeypatch, spec, kind, fillable
):
    """templates/ua.css stands in for WeasyPrint's whole HTML stylesheet (for speed): a sheet
    laid out on either must come out byte for byte the same."""
    import weasyprint

    view = worksheet.build(solve(make_problem(seed=7, spec=spec)), kind, fillable=fillable)
    ours = render.render_pdf(view)
    monkeypatch.setattr(render, "_sheet_html_class", lambda: weasyprint.HTML)
    assert render.render_pdf(view) == ours


def test_a_blank_box_prints_no_lines_of_spaces(seed1):
    """A blank box's size is set by its style, so its lines of spaces are left out of the page
    (they were a tenth of a blank sheet's time); the givens keep every row."""
    view = worksheet.build(seed1, "blank")
    boxes = [m for s in view.sections for m in s.items]
    assert any(m.blank for m in boxes)
    for m in boxes:
        if m.blank:
            assert m.printed == () and len(m.lines) == m.rows
        else:
            assert len(m.printed) == m.rows
            assert all(not seg.text.endswith(" ") for line in m.printed for seg in line)
    html = render.render_html(view)
    assert re.search(r'<div class="m product blank" style="[^"]*"></div>', html)
