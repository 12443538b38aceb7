"""A page lint: reads a rendered PDF back (pdfplumber: every glyph with its box, every drawn
edge) and reports what a reader would see as wrong on paper: text printed over text, text
crossed by a line or a box's edge, glyphs off the printable page, too many pages, a last page
holding a sliver, answers or rules in small type.

Only what is drawn counts. A filled rectangle is a background unless it is thin (a rule, an
underline, a bar) or one of a nested pair of the same colour (a box's border, which WeasyPrint
fills as a ring); stroked paths are edges; a repeated tile of a matrix's grid is read back from
its pattern (origin and step) as the grid lines it draws, hidden where an opaque fill drawn
later covers them (the scratch area's white label).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import pdfplumber
from pdfminer.pdftypes import resolve1

MM = 72 / 25.4  # PDF points per mm
# Printers leave the outer few mm of a sheet blank: no glyph may reach into them.
PRINTABLE_MM = 5.0
# Glyph boxes are the font's (ascent to descent, advance wide), a little larger than the ink:
# two glyphs overlap, or a line crosses one, only past these tolerances.
OVERLAP = 0.3  # a share of the smaller glyph's width and height
EDGE_TOL = 0.3  # pt a line may reach into a glyph's box (its side bearing, its descent)
THIN = 6.0  # pt: a filled rectangle at most this thin (and long) is a line, not a background
RING = 4.0  # pt: a border ring's two rectangles lie at most this far apart
GRID_MIN = 10.0  # pt: a repeated tile at least this big is a grid (hatching is smaller)
GRID_LINE = 0.5  # pt: a grid tile's line (worksheet.GRID_LINE_PT, and a little spare)
MIN_PT = 8.0
SLIVER = 0.2  # of the page's body height


@dataclass(frozen=True)
class Finding:
    """One thing wrong on one page (page 0: the document as a whole)."""

    rule: str
    page: int
    what: str

    def __str__(self) -> str:
        return f"p{self.page} {self.rule}: {self.what}"


@dataclass(frozen=True)
class Edge:
    """A drawn line as the rectangle of ink it covers, in pdfplumber's top-down points."""

    x0: float
    top: float
    x1: float
    bottom: float
    what: str


def _ink(c) -> tuple[float, float, float, float]:
    return c["x0"], c["top"], c["x1"], c["bottom"]


def _visible(chars):
    return [c for c in chars if c["text"].strip() and c["width"] > 0.5 and c["size"] > 0]


def _same_word(a, b) -> bool:
    return abs(a["bottom"] - b["bottom"]) < 0.5 and -0.5 < b["x0"] - a["x1"] < 0.2 * a["size"]


def _context(chars, i: int) -> str:
    """The word glyph i belongs to (its neighbours in the text layer on its baseline)."""
    lo, hi = i, i + 1
    while lo > 0 and _same_word(chars[lo - 1], chars[lo]):
        lo -= 1
    while hi < len(chars) and _same_word(chars[hi - 1], chars[hi]):
        hi += 1
    return "".join(c["text"] for c in chars[lo:hi])


BUCKET = 20.0  # pt: glyphs and edges are compared within squares of this size


def _bucket_keys(box):
    x0, t, x1, b = box
    return [
        (gx, gy)
        for gx in range(int(x0 // BUCKET), int(x1 // BUCKET) + 1)
        for gy in range(int(t // BUCKET), int(b // BUCKET) + 1)
    ]


def _buckets(boxes):
    grid: dict[tuple[int, int], list[int]] = {}
    for i, box in enumerate(boxes):
        for key in _bucket_keys(box):
            grid.setdefault(key, []).append(i)
    return grid


def text_over_text(chars) -> list[str]:
    """Pairs of glyphs whose boxes overlap by a good share of the smaller one."""
    boxes = [_ink(c) for c in chars]
    seen = set()
    out = []
    for cell in _buckets(boxes).values():
        for a in range(len(cell)):
            for b in range(a + 1, len(cell)):
                i, j = cell[a], cell[b]
                if (i, j) in seen:
                    continue
                seen.add((i, j))
                if abs(i - j) == 1 and abs(chars[i]["bottom"] - chars[j]["bottom"]) < 0.5:
                    continue  # a kerned pair ("y." tucks the stop under the y): one word
                (ax0, at, ax1, ab), (bx0, bt, bx1, bb) = boxes[i], boxes[j]
                w = min(ax1, bx1) - max(ax0, bx0)
                h = min(ab, bb) - max(at, bt)
                if w > OVERLAP * min(ax1 - ax0, bx1 - bx0) and h > OVERLAP * min(ab - at, bb - bt):
                    out.append(f"{_context(chars, i)!r} over {_context(chars, j)!r}")
    return out


def _same(a, b) -> bool:
    return a["non_stroking_color"] == b["non_stroking_color"]


def _inside(inner, outer, gap: float) -> bool:
    d = (
        inner["x0"] - outer["x0"],
        inner["top"] - outer["top"],
        outer["x1"] - inner["x1"],
        outer["bottom"] - inner["bottom"],
    )
    return all(-0.01 <= x <= gap for x in d) and max(d) > 0.05


def _ring_edges(outer, inner) -> list[Edge]:
    """The four sides of a border filled as a ring between two rectangles."""
    x0, t, x1, b = outer["x0"], outer["top"], outer["x1"], outer["bottom"]
    ix0, it, ix1, ib = inner["x0"], inner["top"], inner["x1"], inner["bottom"]
    return [
        Edge(x0, t, x1, it, "a box's top border"),
        Edge(x0, ib, x1, b, "a box's bottom border"),
        Edge(x0, t, ix0, b, "a box's left border"),
        Edge(ix1, t, x1, b, "a box's right border"),
    ]


def _patterns(page) -> dict[str, tuple[float, float, float, float]]:
    """Grid-like tiling patterns of the page: name -> (origin x, origin top, step x, step y)."""
    res = resolve1(page.page_obj.resources) or {}
    out = {}
    for name, ref in (resolve1(res.get("Pattern")) or {}).items():
        pat = resolve1(ref)
        attrs = getattr(pat, "attrs", None) or {}
        if attrs.get("PatternType") != 1 or "Matrix" not in attrs:
            continue
        a, _, _, d, e, f = (float(v) for v in attrs["Matrix"])
        sx, sy = abs(a * float(attrs["XStep"])), abs(d * float(attrs["YStep"]))
        if sx >= GRID_MIN and sy >= GRID_MIN:
            out[name] = (e, page.height - f, sx, sy)
    return out


def edges(page) -> tuple[list[Edge], list[tuple[dict, tuple[float, float, float, float], int]]]:
    """Every drawn edge of a page (lines, stroked paths, thin fills, border rings), and the
    grid-patterned rectangles with their pattern and drawing order."""
    out: list[Edge] = []
    for obj in list(page.lines) + list(page.curves) + list(page.rects):
        if obj.get("stroke"):
            half = (obj.get("linewidth") or 0.5) / 2
            pts = obj.get("pts") or []
            if obj["object_type"] == "rect":
                x0, t, x1, b = obj["x0"], obj["top"], obj["x1"], obj["bottom"]
                pts = [(x0, t), (x1, t), (x1, b), (x0, b), (x0, t)]
            for (ax, ay), (bx, by) in zip(pts, pts[1:]):
                out.append(
                    Edge(
                        min(ax, bx) - half,
                        min(ay, by) - half,
                        max(ax, bx) + half,
                        max(ay, by) + half,
                        "a stroked line",
                    )
                )
    fills = [r for r in page.rects if r.get("fill") and not isinstance(r["non_stroking_color"], str)]
    ringed = set()
    for i, outer in enumerate(fills):
        for j, inner in enumerate(fills):
            if i != j and _same(outer, inner) and _inside(inner, outer, RING):
                out.extend(_ring_edges(outer, inner))
                ringed |= {i, j}
    for i, r in enumerate(fills):
        w, h = r["x1"] - r["x0"], r["bottom"] - r["top"]
        if i not in ringed and min(w, h) <= THIN and max(w, h) >= 3 * min(w, h):
            out.append(Edge(r["x0"], r["top"], r["x1"], r["bottom"], "a drawn rule"))
    pats = _patterns(page)
    grids = [
        (r, pats[r["non_stroking_color"]], k)
        for k, r in enumerate(page.rects)
        if isinstance(r["non_stroking_color"], str) and r["non_stroking_color"] in pats
    ]
    return out, grids


def _crosses(box, e: Edge) -> bool:
    x0, t, x1, b = box
    if e.what == "a drawn rule" and e.x0 <= x0 and x1 <= e.x1 and e.top <= t and b <= e.bottom:
        return False  # text wholly inside a thin fill: a one-line box's own background
    return (
        e.x0 < x1 - EDGE_TOL and e.x1 > x0 + EDGE_TOL and e.top < b - EDGE_TOL and e.bottom > t + EDGE_TOL
    )


def _grid_hit(box, rect, pattern, order: int, rects) -> str:
    """Where a glyph inside a grid-patterned box touches one of its grid lines (a line
    coinciding with the glyph's edge counts: the number touches its cell wall)."""
    x0, t, x1, b = box
    if not (rect["x0"] <= x0 and x1 <= rect["x1"] and rect["top"] <= t and b <= rect["bottom"]):
        return ""
    ox, ot, sx, sy = pattern
    ink = (x0 + EDGE_TOL, t + EDGE_TOL, x1 - EDGE_TOL, b - EDGE_TOL)
    why = ""
    k = int((ink[0] - ox) // sx)
    for line in (ox + k * sx, ox + (k + 1) * sx):
        if line - 0.05 < ink[2] and line + GRID_LINE + 0.05 > ink[0] and line > rect["x0"] + 0.5:
            why = "a cell's side"
    k = int((ink[1] - ot) // sy)
    for line in (ot + k * sy, ot + (k + 1) * sy):
        if line - 0.05 < ink[3] and line + GRID_LINE + 0.05 > ink[1] and line > rect["top"] + 0.5:
            why = why or "a cell's top"
    cx, cy = (x0 + x1) / 2, (t + b) / 2
    for later in rects[order + 1 :] if why else ():  # an opaque fill over the grid hides it
        if (
            not isinstance(later["non_stroking_color"], str)
            and later.get("fill")
            and later["x0"] <= cx <= later["x1"]
            and later["top"] <= cy <= later["bottom"]
        ):
            return ""
    return why


def crossed(page, chars) -> list[str]:
    """Glyphs crossed by a drawn edge, or touching a grid line of the box they sit in."""
    drawn, grids = edges(page)
    boxes = [_ink(c) for c in chars]
    near = _buckets([(e.x0, e.top, e.x1, e.bottom) for e in drawn])
    out = []
    hit_words: set[tuple[str, str]] = set()
    for i, box in enumerate(boxes):
        cand = sorted(
            {k for key in _bucket_keys(box) for k in near.get(key, ())}
        )
        why = next((drawn[k].what for k in cand if _crosses(box, drawn[k])), "")
        if not why:
            why = next(
                (h for r, p, k in grids if (h := _grid_hit(box, r, p, k, page.rects))), ""
            )
        if why:
            text = _context(chars, i)
            if (text, why) not in hit_words:
                hit_words.add((text, why))
                out.append(f"{text!r} on {why}")
    return out


def off_page(page, chars) -> list[str]:
    """Words outside the page or in the unprintable strip at its edges."""
    cut = PRINTABLE_MM * MM
    out: dict[str, str] = {}
    for i, c in enumerate(chars):
        x0, t, x1, b = _ink(c)
        if x0 < cut or t < cut or x1 > page.width - cut or b > page.height - cut:
            word = _context(chars, i)
            out.setdefault(word, f"{word!r} at ({x0:.0f}, {t:.0f})-({x1:.0f}, {b:.0f}) pt")
    return list(out.values())


def small_type(page, chars, grids) -> list[str]:
    """Answers (monospaced text inside matrix grids) and the rules' paragraph under MIN_PT."""
    out = set()
    for i, c in enumerate(chars):
        x0, t, x1, b = _ink(c)
        in_grid = "Mono" in c["fontname"] and any(
            r["x0"] <= x0 and x1 <= r["x1"] and r["top"] <= t and b <= r["bottom"]
            for r, _, _ in grids
        )
        if in_grid and c["size"] < MIN_PT - 0.01:
            out.add(f"{_context(chars, i)!r} at {c['size']:.1f} pt in a box")
    for line in page.extract_text_lines(return_chars=True):
        if line["text"].lstrip().startswith("Rules") and min(
            c["size"] for c in line["chars"]
        ) < MIN_PT - 0.01:
            size = min(c["size"] for c in line["chars"])
            out.add(f"{line['text'][:40]!r} at {size:.1f} pt")
    return sorted(out)


def _body_extent(page, chars, foot: float) -> tuple[float, float] | None:
    """The top and bottom of what a page holds above its footer (text and drawn things)."""
    tops, bottoms = [], []
    for r in list(chars) + list(page.rects) + list(page.lines) + list(page.curves):
        if r["top"] < foot:
            tops.append(r["top"])
            bottoms.append(min(r["bottom"], foot))
    return (min(tops), max(bottoms)) if tops else None


def lint(
    pdf: bytes,
    budget: int | None = None,
    margin_top_mm: float = 10.0,
    margin_bottom_mm: float = 21.0,
) -> list[Finding]:
    """Everything wrong on the PDF's pages; `budget` caps the number of pages."""
    found: list[Finding] = []
    extents = []
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        n = len(doc.pages)
        if budget is not None and n > budget:
            found.append(Finding("pages", 0, f"{n} pages, budget {budget}"))
        for no, page in enumerate(doc.pages, 1):
            chars = _visible(page.chars)
            _, grids = edges(page)
            for rule, items in (
                ("overlap", text_over_text(chars)),
                ("crossed", crossed(page, chars)),
                ("off-page", off_page(page, chars)),
                ("small-type", small_type(page, chars, grids)),
            ):
                found.extend(Finding(rule, no, w) for w in items)
            foot = page.height - margin_bottom_mm * MM
            extents.append((page.height, _body_extent(page, chars, foot)))
    if len(extents) >= 2:
        (h, last), (_, before) = extents[-1], extents[-2]
        body = h - (margin_top_mm + margin_bottom_mm) * MM
        if last and before:
            held = last[1] - last[0]
            room = h - margin_bottom_mm * MM - before[1]
            if held < SLIVER * body and held <= room:
                found.append(
                    Finding(
                        "sliver",
                        len(extents),
                        f"last page holds {held / MM:.0f} mm; the page before had {room / MM:.0f} mm free",
                    )
                )
    return found
