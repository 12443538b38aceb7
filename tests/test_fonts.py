"""The sheet's own fonts and deterministic PDFs, on HarfBuzz's fast path and fontTools' slow one.

A sheet prints in the fonts shipped in templates/fonts whatever the machine has installed, and
the same command gives the same bytes in two processes run seconds apart, even when WeasyPrint
has to subset fonts with fontTools (which stamps each font with the time it was made).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont
from pypdf import PdfReader
from pypdf.generic import DictionaryObject, IndirectObject

from handcalc import render

from .conftest import ROOT, run_cli, run_module, run_python

FONTS = ROOT / "templates" / "fonts"
SHIPPED = sorted(FONTS.glob("*.ttf"))

# A handcalc command in a process where WeasyPrint believes HarfBuzz's subsetter is missing.
SLOW = ROOT / "scripts" / "slow_subsetting.py"


def run_slow(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SLOW), *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def embedded_fonts(path) -> dict[str, TTFont]:
    """Every font dictionary reachable from the PDF's catalogue: its base name (subset prefix
    dropped) and the font program embedded for it."""
    reader = PdfReader(path)
    found, seen, todo = {}, set(), [reader.trailer["/Root"]]
    while todo:
        obj = todo.pop()
        if isinstance(obj, IndirectObject):
            if obj.idnum in seen:
                continue
            seen.add(obj.idnum)
            obj = obj.get_object()
        if isinstance(obj, DictionaryObject):
            if obj.get("/Type") == "/Font" and "/DescendantFonts" in obj:
                descendant = obj["/DescendantFonts"][0].get_object()
                program = descendant["/FontDescriptor"]["/FontFile2"].get_object().get_data()
                name = str(obj["/BaseFont"]).split("+", 1)[-1]
                found[name] = TTFont(io.BytesIO(program))
            todo += [v for k, v in obj.items() if k not in ("/Parent", "/P")]
        elif isinstance(obj, list):
            todo += obj
    return found


def family(font: TTFont) -> str:
    return font["name"].getDebugName(1)


def shipped(name: str) -> TTFont:
    return TTFont(FONTS / name)


def test_every_sheet_prints_in_the_shipped_fonts_only(tmp_path):
    """Every variant's blank and key (Latin names with accents included) embeds the shipped
    faces and nothing else, glyph for glyph the shipped outlines."""
    runs = [
        ("generate", "--seed", "3", "--student", "Zoë Ünal-Ørsted, Łukasz Dvořák"),
        ("key", "--seed", "3", "--causal", "--rounding", "zero", "--paper", "letter"),
        ("key", "--seed", "4", "--convention", "rows", "--d-v", "2"),
        ("key", "--seed", "5", "--heads", "2"),
        ("key", "--seed", "6", "--level", "hard", "--no-working"),
        ("generate", "--seed", "7", "--fillable", "--title", "Übung 3 – Aufmerksamkeit"),
    ]
    families = set()
    for i, (cmd, *args) in enumerate(runs):
        out = tmp_path / f"{i}.pdf"
        result = run_cli(cmd, *args, "-o", str(out))
        assert result.exit_code == 0, result.output
        fonts = embedded_fonts(out)
        assert fonts and all(name.startswith("Handcalc-") for name in fonts), (args, list(fonts))
        families |= {family(f) for f in fonts.values()}
    assert families == {"Handcalc Sans", "Handcalc Sans Condensed", "Handcalc Mono"}

    # Glyph for glyph: HarfBuzz keeps glyph ids, so a drawn glyph is the shipped one.
    mono = next(f for n, f in embedded_fonts(tmp_path / "3.pdf").items() if n == "Handcalc-Mono")
    ours = shipped("HandcalcMono.ttf")
    digit = ours.getBestCmap()[ord("7")]
    gid = ours.getGlyphID(digit)
    drawn = mono["glyf"][mono.getGlyphOrder()[gid]]
    assert drawn.numberOfContours > 0
    assert list(drawn.getCoordinates(mono["glyf"])[0]) == list(
        ours["glyf"][digit].getCoordinates(ours["glyf"])[0]
    )


def test_text_outside_the_shipped_glyphs_still_prints(tmp_path):
    name, title = "Пётр Чайковский", "Внимание: урок 3"
    ours = shipped("HandcalcSans.ttf").getBestCmap()
    assert not any(ord(c) in ours for c in name + title if c.isalpha() and not c.isascii())
    out = tmp_path / "ru.pdf"
    result = run_cli("generate", "--seed", "2", "--student", name, "--title", title, "-o", str(out))
    assert result.exit_code == 0, result.output
    text = PdfReader(out).pages[0].extract_text()
    assert name in text and title in text
    fonts = embedded_fonts(out)
    fallback = [n for n in fonts if not n.startswith("Handcalc-")]
    assert fallback, list(fonts)  # the system's font drew the Cyrillic letters
    assert any("Handcalc-Sans" == n for n in fonts)  # and ours the rest


def test_shipped_fonts_are_renamed_and_licensed():
    assert SHIPPED
    css = (FONTS / "fonts.css").read_text(encoding="utf-8")
    for path in SHIPPED:
        names = TTFont(path)["name"]
        for name_id in (1, 3, 4, 6, 16):
            value = names.getDebugName(name_id) or ""
            assert not {"DejaVu", "Bitstream", "Vera"} & set(value.replace("-", " ").split())
        assert "Bitstream" in names.getDebugName(0)  # the copyright notice stays
        assert f"url({path.name})" in css
    licence = (FONTS / "LICENSE.txt").read_text(encoding="utf-8")
    assert "renamed to names not containing" in licence and "Arev" in licence


def test_the_cut_is_reproducible(tmp_path):
    """Rerunning the documented script on the same DejaVu gives the committed fonts."""
    dejavu = Path("/usr/share/fonts/truetype/dejavu")
    if not (dejavu / "DejaVuSansCondensed.ttf").is_file():
        pytest.skip("needs fonts-dejavu-extra")
    subprocess.run(
        [sys.executable, "scripts/cut_fonts.py", "--out", str(tmp_path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    for path in [*SHIPPED, FONTS / "LICENSE.txt"]:
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name


def _two_runs(run, tmp_path, tag):
    """The same key from two processes more than a second apart (fontTools stamps seconds)."""
    paths = [tmp_path / f"{tag}{i}.pdf" for i in (1, 2)]
    results = []
    for i, path in enumerate(paths):
        if i:
            time.sleep(1.1)
        results.append(run("key", "--seed", "5", "-o", str(path)))
        assert results[-1].returncode == 0, results[-1].stderr
    return paths, results


def _head_time(ttfont: TTFont) -> int:
    return ttfont["head"].modified


def test_fast_path_two_processes_give_the_same_bytes(tmp_path):
    if not render.fast_subsetting():
        pytest.skip("HarfBuzz's subsetter is not installed here")
    (a, b), results = _two_runs(run_module, tmp_path, "fast")
    assert a.read_bytes() == b.read_bytes()
    assert all(r.stderr == "" for r in results)
    # HarfBuzz leaves the shipped font's own time in place
    sans = embedded_fonts(a)["Handcalc-Sans"]
    assert _head_time(sans) == _head_time(shipped("HandcalcSans.ttf"))


def test_slow_path_two_processes_give_the_same_bytes_and_one_note(tmp_path):
    (a, b), results = _two_runs(run_slow, tmp_path, "slow")
    assert a.read_bytes() == b.read_bytes()
    for result in results:
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and "libharfbuzz-subset0" in lines[0], result.stderr
    # fontTools stamped every subset font with the pinned time, counted from 1904
    utc = timezone.utc
    since_1904 = datetime(1970, 1, 1, tzinfo=utc) - datetime(1904, 1, 1, tzinfo=utc)
    pinned = int(render.PINNED_FONT_TIME) + int(since_1904.total_seconds())
    fonts = embedded_fonts(a)
    assert fonts and all(_head_time(f) == pinned for f in fonts.values())
    assert pinned != _head_time(shipped("HandcalcSans.ttf"))
    # the same sheet as on the fast path, page for page
    fast = tmp_path / "fast.pdf"
    assert run_module("key", "--seed", "5", "-o", str(fast)).returncode == 0
    texts = [[p.extract_text() for p in PdfReader(x).pages] for x in (a, fast)]
    assert texts[0] == texts[1]


@pytest.mark.parametrize("before", [None, "123"])
def test_the_pinned_time_does_not_leak(monkeypatch, before):
    from handcalc import worksheet
    from handcalc.draw import make_problem
    from handcalc.solution import solve

    if before is None:
        monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    else:
        monkeypatch.setenv("SOURCE_DATE_EPOCH", before)
    pdf = render.render_pdf(worksheet.build(solve(make_problem(seed=1)), "blank"))
    assert pdf.startswith(b"%PDF")
    assert os.environ.get("SOURCE_DATE_EPOCH") == before


@pytest.mark.slow
def test_the_wheel_ships_the_fonts(tmp_path):
    import shutil

    src = tmp_path / "src"
    for part in ("handcalc", "templates"):
        shutil.copytree(ROOT / part, src / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", src)
    (src / "README.md").write_text("handcalc\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(src)],
        check=True,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("handcalc-*.whl"))
    inside = set(zipfile.ZipFile(wheel).namelist())
    for path in [*SHIPPED, FONTS / "fonts.css", FONTS / "LICENSE.txt"]:
        assert f"handcalc/templates/fonts/{path.name}" in inside


def test_the_probe_without_weasyprint_agrees_with_weasyprint():
    """A class set's parent process asks the system's libraries, not WeasyPrint: both answers
    must be the same."""
    code = (
        "import sys\n"
        "from handcalc import render\n"
        "probed = render.fast_subsetting()\n"
        "assert 'weasyprint' not in sys.modules\n"
        "from weasyprint.pdf import fonts\n"
        "told = bool(fonts.harfbuzz_subset) and bool(fonts.harfbuzz.hb_version_atleast(4, 1, 0))\n"
        "print(probed, told)\n"
    )
    done = run_python(code, "-W", "ignore")
    assert done.returncode == 0, done.stderr
    probed, told = done.stdout.split()
    assert probed == told


def test_a_pdf_command_leaves_no_temporary_fonts_behind(tmp_path):
    """WeasyPrint copies the shipped fonts into a temporary folder; it goes when handcalc ends."""
    temp = tmp_path / "temp"
    temp.mkdir()
    out = str(tmp_path / "s.pdf")
    done = subprocess.run(
        [sys.executable, "-m", "handcalc", "generate", "--seed", "1", "-o", out],
        cwd=ROOT,
        env={**os.environ, "TMPDIR": str(temp)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "s.pdf").read_bytes().startswith(b"%PDF")
    assert list(temp.iterdir()) == []
    assert "Exception ignored" not in done.stderr


def base_font_names(path) -> set[str]:
    """The BaseFont of every font a page of the PDF uses, subset tag and all."""
    names = set()
    for page in PdfReader(path).pages:
        fonts = page["/Resources"].get_object().get("/Font") or {}
        names |= {str(ref.get_object()["/BaseFont"]) for ref in fonts.get_object().values()}
    return names


def test_font_tags_are_the_same_under_every_pango(tmp_path):
    """WeasyPrint tags each font in a PDF (/ABCDEF+Name) by an MD5 of its Pango description.
    Pango 1.56 and later (Debian 13) put the feature WeasyPrint asks of every @font-face font
    in it ("Handcalc Sans #kern": tag TLSWMH), older Pango does not ("Handcalc Sans":
    ITTCHY), so the same sheet had other bytes on Debian 13. The shipped fonts are tagged by
    their description without features; the tags are the ones WeasyPrint 70 printed."""
    assert render.font_tag(b"Handcalc Sans") == "ITTCHY"
    assert render.font_tag(b"Handcalc Sans #kern") == "ITTCHY"
    assert render.font_tag(b"Handcalc Mono Bold #kern") == render.font_tag(b"Handcalc Mono Bold")
    # any other font keeps WeasyPrint's own tag, features and all
    assert render.font_tag(b"DejaVu Sans Oblique") == "SQPNLI"
    assert render.font_tag(b"DejaVu Sans #kern") != render.font_tag(b"DejaVu Sans")

    out = tmp_path / "key.pdf"
    assert run_module("key", "--seed", "5", "-o", str(out)).returncode == 0
    names = base_font_names(out)
    for family in ("Handcalc Sans", "Handcalc Mono"):
        tag = render.font_tag(family.encode())
        assert f"/{tag}+{family.replace(' ', '-')}" in names, names
