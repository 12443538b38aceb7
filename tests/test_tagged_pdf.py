"""Tagged PDFs: what a screen reader gets, read back from real WeasyPrint output (the structure
tree with pdfplumber, the catalogue and form fields with pypdf, `Tagged:` from pdfinfo)."""

from __future__ import annotations

import io
import shutil
import subprocess

import pdfplumber
import pytest
from pypdf import PdfReader

from handcalc import render, worksheet
from handcalc.draw import make_problem
from handcalc.problem import Spec
from handcalc.solution import solve


@pytest.fixture(scope="module")
def sheets():
    one, two = solve(make_problem(seed=7)), solve(make_problem(seed=7, spec=Spec(heads=2)))
    views = {
        "key": worksheet.build(one, "key"),
        "form": worksheet.build(one, "blank", fillable=True),
        "heads": worksheet.build(two, "blank"),
    }
    return {name: (view, render.render_pdf(view)) for name, view in views.items()}


def elements(pdf: bytes) -> list[tuple[str, str, int]]:
    """Every structure element of every page as (type, its text, depth), in reading order."""
    out = []
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        for page in doc.pages:
            chars: dict[int, str] = {}
            for c in page.chars:
                if c.get("mcid") is not None:
                    chars[c["mcid"]] = chars.get(c["mcid"], "") + c["text"]

            def text(e) -> str:
                own = "".join(chars.get(m, "") for m in e.get("mcids") or ())
                return own + " ".join(text(k) for k in e.get("children", ()))

            def walk(e, depth):
                out.append((e["type"], " ".join(text(e).split()), depth))
                for k in e.get("children", ()):
                    walk(k, depth + 1)

            for e in page.structure_tree:
                walk(e, 0)
    return out


def test_language_title_and_marked_content(sheets):
    for name, (view, pdf) in sheets.items():
        reader = PdfReader(io.BytesIO(pdf))
        root = reader.trailer["/Root"]
        assert root["/Lang"] == "en" and root["/MarkInfo"]["/Marked"], name
        assert reader.metadata.title == f"{view.title} ({view.badge})"
        assert root["/ViewerPreferences"]["/DisplayDocTitle"]
        assert "/StructTreeRoot" in root


@pytest.mark.skipif(not shutil.which("pdfinfo"), reason="needs poppler's pdfinfo")
def test_pdfinfo_says_tagged(sheets, tmp_path):
    path = tmp_path / "key.pdf"
    path.write_bytes(sheets["key"][1])
    info = subprocess.run(["pdfinfo", path], capture_output=True, text=True, check=True).stdout
    assert "Tagged:          yes" in info


def test_the_title_and_every_step_are_headings(sheets):
    view, pdf = sheets["key"]
    tree = elements(pdf)
    assert [s for t, s, _ in tree if t == "H1"] == [view.title]
    steps = [s for t, s, _ in tree if t == "H2"]
    want = [f"{m.label} {m.title}".strip() for sec in view.sections for m in sec.items]
    assert len(want) >= 10 and steps[: len(want)] == want  # X … Z on a one-head key
    assert "Working" in steps  # the key's working page is a section of its own


def test_a_multi_head_sheet_nests_steps_under_each_heads_heading(sheets):
    view, pdf = sheets["heads"]
    headings = [(t, s) for t, s, _ in elements(pdf) if t in ("H2", "H3")]
    want = []
    for sec in view.sections:
        tag = "H3" if sec.heading else "H2"
        want += [("H2", sec.heading)] if sec.heading else []
        want += [(tag, f"{m.label} {m.title}".strip()) for m in sec.items]
    assert headings == want and sum(t == "H2" for t, _ in want) >= 3


def test_every_form_field_is_tagged_with_its_name_and_words(sheets):
    view, pdf = sheets["form"]
    reader = PdfReader(io.BytesIO(pdf))
    forms = []

    def walk(e):
        e = e.get_object()
        if not isinstance(e, dict):
            return
        if e.get("/S") == "/Form":
            forms.append(e["/K"][0].get_object()["/Obj"].get_object())
        kids = e.get("/K", [])
        for k in kids if isinstance(kids, list) else [kids]:
            walk(k)

    walk(reader.trailer["/Root"]["/StructTreeRoot"])
    names = [f["/T"] for f in forms]
    fields = reader.get_fields()
    assert sorted(names) == sorted(fields) and len(names) == len(set(names)) > 30
    assert {"student", "handcalc_id"} <= set(names)
    assert all(f.get("/TU") for f in forms)  # what a screen reader says: "A, row 2, column 3"
    assert any(f["/TU"] == "A, row 2, column 3" for f in forms)


def test_tagging_keeps_the_page_the_same_and_the_bytes_run_to_run(sheets):
    view, pdf = sheets["key"]
    assert render.render_pdf(view) == pdf
    plain = render.render_pdf(view, tagged=False)
    assert "/StructTreeRoot" not in PdfReader(io.BytesIO(plain)).trailer["/Root"]
    with pdfplumber.open(io.BytesIO(plain)) as a, pdfplumber.open(io.BytesIO(pdf)) as b:
        assert [p.extract_text() for p in a.pages] == [p.extract_text() for p in b.pages]
