"""Where each box goes on the page and how big its cells are, in mm: the sheet's geometry,
apart from what the cells say (worksheet.py) and how it is drawn (the templates).

A cell is sized by what its step can hold, never by the answer itself, so a box's size gives
nothing away: fractions (exp, the sums, A, and every product made from them) get wide cells,
whole numbers narrower ones, printed givens the least. The crossing rules tie sizes together:
a right factor above its product shares its cell width, a left factor beside its product
shares its cell height. Cells then grow into the page's free space up to a limit, and what is
left at the foot of the last page becomes a working area.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

from . import steps

# Paper in mm (portrait) and the page's fixed furniture, also in mm.
PAPERS = {
    "a4": ("A4", 210.0, 297.0),
    "letter": ("letter", 215.9, 279.4),
    "a3": ("A3", 297.0, 420.0),
}
# The bottom margin holds the footer: the sheet ID and the page number on one line (two for
# a long ID), clear of the strip a printer leaves blank.
MARGIN_SIDE, MARGIN_TOP, MARGIN_BOTTOM = 11.0, 10.0, 14.0
HEADER_H = 20.0  # title, name and date lines, instructions
RULES_LINE_H = 3.4  # a line of the rules under the header (8 pt type)
RULES_GAP = 1.0
BAND_H = 8.0  # a head's coloured band, with its margin
BAND_INDENT = 4.0  # the band's bar left of the grid
GRID_TOP = 1.0
SECTION_GAP = 4.0  # between two sections sharing a page
LABEL_H = 7.0  # a box's name and caption (6.1 mm), clear of its frame drawn above the box
COL_GAP, ROW_GAP = 3.0, 1.5
# A decode step's boxes are one token wide: its grid columns keep room for their labels
# ("scaled = floor(S/2)" at the label's size).
LABEL_W = 28.0
OUTLINE = 1.0  # the thickest box outline, drawn outside the box

# Cell sizes at scale 1 (w, h): what a hand needs to write such an answer. The targets of
# the default sheet: fractions 16 × 8 mm, whole numbers 9 × 8 mm.
CELL = {"long": (20.0, 8.0), "fraction": (16.0, 8.0), "whole": (9.0, 8.0)}
LONG_EXTRA = 4.0
GIVEN_W_MIN, GIVEN_H, GIVEN_H_MIN = 6.0, 5.0, 4.0
GIVEN_CHAR_MM = 1.95  # one character of a printed given (about 9 pt monospaced) and padding
# Cells shrink to fit a crowded page down to MIN_SCALE, and grow on an empty one up to GROW.
MIN_SCALE = 0.55
# A typed problem too big for the paper even at MIN_SCALE still gets a sheet that stays on the
# page: its cells shrink further, down to SQUEEZE_SCALE, and the sheet says so (PagePlan.scale).
SQUEEZE_SCALE = 0.05
# Below this, a cell cannot hold a handwritten answer (a 16 × 16 typed problem on A4: 5 %):
# the sheet is refused with what to change, rather than printed as slivers.
PRINT_MIN_SCALE = 0.3
GROW_W, GROW_H = 1.3, 1.15
WORK_MIN_H = 25.0  # a working area only when at least this much height is left
WORK_MIN_W = 40.0  # and, beside the boxes, this much width
WORK_CLEAR = 4.0  # between a working area and the boxes (labels run a little wide)


class Placed(Protocol):
    """A step at a grid position of the crossing plan."""

    step: steps.Step
    row: int
    col: int


@dataclass(frozen=True)
class Box:
    """One matrix: its top-left corner in its section's grid, its cells, its label's side."""

    step: steps.Step
    role: str
    x: float
    y: float
    rows: int
    cols: int
    cell_w: float
    cell_h: float
    label_side: bool
    placed: Placed  # the plan's entry this box draws (for what the view needs of it)

    @property
    def width(self) -> float:
        return self.cols * self.cell_w

    @property
    def height(self) -> float:
        return self.rows * self.cell_h


@dataclass(frozen=True)
class SectionPlan:
    """One crossing grid: a head of attention, or the heads' joint output."""

    heading: str
    band: str
    boxes: tuple[Box, ...]
    width: float
    height: float
    new_page: bool
    aside: tuple[float, float, float, float] | None = None  # a working area: x, y, w, h
    foot: float = 0.0  # the height of a working area under it, at the foot of its page


@dataclass(frozen=True)
class PagePlan:
    """The whole sheet's geometry."""

    page: str  # the CSS page size, "A4 portrait"
    avail_w: float
    sections: tuple[SectionPlan, ...]
    banded: bool
    scale: float = 1.0  # the cells' scale against their writable size (below MIN_SCALE: cramped)
    header: float = HEADER_H  # the first page's header, the rules included

    def offset(self, section: SectionPlan) -> float:
        """Where a section starts across the page: centred, clear of the outlines."""
        return OUTLINE + max(0.0, (self.avail_w - section.width) / 2)


def _denominators(ex: steps.Exercise, step: steps.Step) -> int:
    """How many independent denominators can meet in one cell: one from 3^x and the sums
    (each column of A shares its column's sum), more where heads are stacked and mixed."""
    if step.given or step.kind == "scale":
        return 0
    if step.kind in ("exp", "sum", "normalise"):
        return 1
    inner = [_denominators(ex, ex[i]) for i in step.inputs]
    return sum(inner) if step.kind in ("product", "concat", "affine") else max(inner, default=0)


def holds(ex: steps.Exercise, step: steps.Step) -> str:
    """What a step's cells can hold, from the step table alone: "given", "whole" numbers,
    "fraction"s, or "long" fractions where denominators from several heads meet (O)."""
    if step.given:
        return "given"
    mixed = _denominators(ex, step)
    return "whole" if mixed == 0 else "fraction" if mixed == 1 else "long"


def display_shape(step: steps.Step, convention: str) -> tuple[int, int]:
    """Rows and columns as drawn: a vector lies along the tokens (a bias along the features)."""
    if step.is_vector:
        upright = step.along_features == (convention == "columns")
        return (step.rows, 1) if upright else (1, step.rows)
    return step.rows, step.cols


def role_in_grid(p: Placed, placed: list[Placed]) -> str:
    """How a box aligns in its grid cell: left factors hug the product to their right,
    right factors sit on the product below them, the rest hang from the top left."""
    for q in placed:
        if q.step.kind not in ("product", "affine") or p.step.name not in q.step.inputs:
            continue
        if q.row == p.row and q.col == p.col + 1:
            return "left"
        if q.col == p.col and q.row == p.row + 1:
            return "above"
    return "product"


class _Groups:
    """Union-find over box indices: boxes that must share a cell dimension."""

    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, i: int, j: int) -> None:
        self.parent[self.find(i)] = self.find(j)


def _ties(placed: list[Placed]) -> tuple[_Groups, _Groups]:
    """Which boxes share a cell width (a step above the step made from it) and which share a
    cell height (a step beside the step made from it): so rows and columns line up where
    the hand carries numbers across."""
    at = {(p.row, p.col): i for i, p in enumerate(placed)}
    across, down = _Groups(len(placed)), _Groups(len(placed))
    for i, p in enumerate(placed):
        # a bias beside (below) the step it is added to lines up with its rows (columns)
        right = at.get((p.row, p.col + 1))
        if right is not None and _tied(p.step, placed[right].step):
            across.join(i, right)
        below = at.get((p.row + 1, p.col))
        if below is not None and _tied(p.step, placed[below].step):
            down.join(i, below)
    return across, down


def _tied(a: steps.Step, b: steps.Step) -> bool:
    return a.name in b.inputs or (b.along_features and b.name in a.inputs)


def _cells(ex, placed, sw: float, sh: float, given_w: float) -> list[tuple[float, float]]:
    """Every box's cell size at these scales, after the crossing ties."""
    need = []
    for p in placed:
        kind = holds(ex, p.step)
        if kind == "given":  # printed at 8 pt or more: never narrower, and barely shorter
            need.append((given_w, max(GIVEN_H_MIN, GIVEN_H * min(1.0, sh))))
        else:
            w, h = CELL[kind]
            if kind == "long":  # each further head's denominator adds digits
                w += LONG_EXTRA * (_denominators(ex, p.step) - 2)
            need.append((w * sw, h * sh))
    across, down = _ties(placed)
    widest: dict[int, float] = {}
    tallest: dict[int, float] = {}
    for i, (w, h) in enumerate(need):
        widest[down.find(i)] = max(widest.get(down.find(i), 0.0), w)
        tallest[across.find(i)] = max(tallest.get(across.find(i), 0.0), h)
    return [(widest[down.find(i)], tallest[across.find(i)]) for i in range(len(placed))]


def _section(ex, placed, sw, sh, given_w, heading="", band="", new_page=True) -> SectionPlan:
    """Boxes placed in mm. A grid column is as wide as its widest box that has a neighbour to
    its right; the last box of a row may run on into the columns it leaves empty."""
    conv = ex.convention
    cells = _cells(ex, placed, sw, sh, given_w)
    shapes = [display_shape(p.step, conv) for p in placed]
    at = {(p.row, p.col) for p in placed}
    n_rows = max(p.row for p in placed) + 1
    n_cols = max(p.col for p in placed) + 1
    last_in_row = {r: max(p.col for p in placed if p.row == r) for r in {p.row for p in placed}}
    # A one-line box with nothing to its left takes its label on that side (colsum under exp).
    side = [
        shapes[i][0] == 1 and p.col > 0 and (p.row, p.col - 1) not in at
        for i, p in enumerate(placed)
    ]
    col_w = [0.0] * n_cols
    row_h = [0.0] * n_rows
    for i, p in enumerate(placed):
        (rows, cols), (w, h) = shapes[i], cells[i]
        if p.col < last_in_row[p.row]:
            col_w[p.col] = max(col_w[p.col], cols * w)
        row_h[p.row] = max(row_h[p.row], rows * h + (0.0 if side[i] else LABEL_H))
    # A column keeps room for its boxes' labels ("scaled = floor(S/2)"), however narrow the
    # boxes: a decode step's are one token wide, a crowded typed sheet's cells a few mm.
    col_w = [max(w, LABEL_W) if w else w for w in col_w]
    xs = [sum(col_w[:c]) + COL_GAP * c for c in range(n_cols)]
    ys = [sum(row_h[:r]) + ROW_GAP * r for r in range(n_rows)]
    roles = [role_in_grid(p, placed) for p in placed]
    hug = {(p.row, p.col) for p, role in zip(placed, roles) if role == "left"}
    boxes = []
    for i, p in enumerate(placed):
        (rows, cols), (w, h) = shapes[i], cells[i]
        role = roles[i]
        x, y = xs[p.col], ys[p.row]
        # A left factor hugs its product; a right factor above it moves with it, so the
        # product still sits under its factor when the column is wider than both (rows: Q).
        if role == "left" or (role == "above" and (p.row + 1, p.col) in hug):
            x += col_w[p.col] - cols * w
        if role == "above":
            y += row_h[p.row] - rows * h - (0.0 if side[i] else LABEL_H)
        boxes.append(Box(p.step, role, x, y, rows, cols, w, h, side[i], p))
    width = max(b.x + b.width for b in boxes)
    height = sum(row_h) + ROW_GAP * (n_rows - 1)
    return SectionPlan(heading, band, tuple(boxes), width, height, new_page)


def _aside(section: SectionPlan, right_edge: float) -> tuple[float, float, float, float] | None:
    """The largest empty band at the right of a section's grid, up to `right_edge` (section
    coordinates), when it is big enough to work in: between any two rows of boxes, so an
    empty corner low on the page (the row convention's) is found as well as one at the top."""
    spans = [  # a box's label may run wider than a narrow box ("rowsum = row sums")
        (b.y, b.y + b.height + (0.0 if b.label_side else LABEL_H), b.x + max(b.width, LABEL_W))
        for b in section.boxes
    ]
    tops = {0.0} | {bottom + ROW_GAP for _, bottom, _ in spans}
    bottoms = {top - ROW_GAP for top, _, _ in spans if top > 0} | {section.height}
    best = None
    for top in sorted(tops):
        for bottom in sorted(bottoms):
            h = bottom - top
            if h < WORK_MIN_H:
                continue
            left = max((r for t, b, r in spans if t < bottom and b > top), default=0.0)
            left = left + WORK_CLEAR if left else 0.0
            w = right_edge - left
            if w >= WORK_MIN_W and (best is None or w * h > best[2] * best[3]):
                best = (round(left, 3), round(top, 3), round(w, 3), round(h, 3))
    return best


def _pages(sections: list[SectionPlan]) -> list[list[SectionPlan]]:
    pages: list[list[SectionPlan]] = []
    for s in sections:
        if s.new_page or not pages:
            pages.append([])
        pages[-1].append(s)
    return pages


def header_height(rules_lines: int) -> float:
    """The first page's header: title, name lines, instructions, and the rules under them."""
    return HEADER_H + (RULES_GAP + RULES_LINE_H * rules_lines if rules_lines else 0.0)


def _page_heights(
    sections: list[SectionPlan], banded: bool, header: float = HEADER_H
) -> list[float]:
    """The height each page's content takes, the header on the first."""
    out = []
    for n, page in enumerate(_pages(sections)):
        used = header if n == 0 else 0.0
        for k, s in enumerate(page):
            used += (SECTION_GAP if k else 0.0) + BAND_H * banded + GRID_TOP + s.height + OUTLINE
        out.append(used)
    return out


def _largest(fits, lo: float, hi: float) -> float:
    """The largest scale in [lo, hi] for which `fits` holds (lo when none does)."""
    if fits(hi):
        return hi
    if not fits(lo):
        return lo
    for _ in range(24):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo


def plan(
    ex: steps.Exercise,
    layout: list[tuple[str, str, list[Placed]]],
    paper: str,
    given_chars: int,
    header: float = HEADER_H,
) -> PagePlan:
    """The sheet's geometry on this paper: portrait unless landscape keeps the cells bigger.
    A section after the first heads' page starts its own page unless it fits on the one
    before (the heads' joint output under the last head)."""
    name, pw, ph = PAPERS[paper]
    banded = len(layout) > 1
    given_w = max(GIVEN_W_MIN, GIVEN_CHAR_MM * (given_chars + 1.5))
    # The sections after the heads' pages: the heads' joint output, the block after attention.
    trailing = [k for k in range(len(layout)) if layout[k][1] in ("band-out", "band-block")]
    out_k = next((k for k in trailing if layout[k][1] == "band-out"), None)
    joinable = banded and out_k is not None
    best = None
    n = len(layout)
    # The heads share one cell size; the heads' output (a tall Zcat, a wide WO) gets its own
    # page's, so it never shrinks every head's cells (eight typed heads: Zcat is 24 rows);
    # so does the block.
    heads = [k for k in range(n) if k not in trailing]
    groups = [list(range(n))]
    if banded and heads and trailing:
        groups = [heads] + [[k] for k in trailing]
    for orient, (w, h) in (("portrait", (pw, ph)), ("landscape", (ph, pw))):
        avail_w = w - 2 * MARGIN_SIDE - BAND_INDENT * banded - 2 * OUTLINE
        avail_h = h - MARGIN_TOP - MARGIN_BOTTOM

        def make(ks, sw, sh, join=False):
            return [
                _section(
                    ex, layout[k][2], sw, sh, given_w, layout[k][0], layout[k][1],
                    not (join and k == out_k),
                )
                for k in ks
            ]

        def fit(ks, join=False, avail_w=avail_w, avail_h=avail_h):
            """The largest cell scales (w, h) at which sections `ks` fit their pages."""
            top = header if ks[0] == 0 else 0.0

            def wide_enough(sw):
                return all(s.width <= avail_w for s in make(ks, sw, 1.0, join))

            def tall_enough(sh):
                return all(u <= avail_h for u in _page_heights(make(ks, 1.0, sh, join), banded, top))

            sw = _largest(wide_enough, MIN_SCALE, GROW_W)
            if not wide_enough(sw):
                sw = _largest(wide_enough, SQUEEZE_SCALE, MIN_SCALE)
            sh = _largest(tall_enough, MIN_SCALE, GROW_H)
            if not tall_enough(sh):
                sh = _largest(tall_enough, SQUEEZE_SCALE, MIN_SCALE)
            return sw, sh

        scales = [fit(ks) for ks in groups]
        join = False
        if joinable and len(heads) > 0:
            sw_j, sh_j = fit([*heads, out_k], join=True)
            join = sh_j >= min(1.0, scales[0][1]) - 1e-9 and sw_j >= min(1.0, scales[0][0]) - 1e-9
            if join:  # the output under the last head: one page, one cell size
                scales[0] = scales[1] = (sw_j, sh_j)
        score = min(min(sw, sh) for sw, sh in scales)
        sections = [
            s
            for ks, (sw, sh) in zip(groups, scales)
            for s in make(ks, sw, sh, join)
        ]
        if best is None or score > best[0] + 1e-9:
            best = (score, f"{name} {orient}", avail_w, avail_h, sections)
    score, page, avail_w, avail_h, sections = best
    sections = [
        replace(s, aside=_aside(s, avail_w - max(0.0, (avail_w - s.width) / 2))) for s in sections
    ]
    # What each page leaves at its foot becomes a working area under its last section.
    lasts = [id(p[-1]) for p in _pages(sections)]
    for used, last in zip(_page_heights(sections, banded, header), lasts):
        left = avail_h - used - SECTION_GAP - 1.0
        if left >= WORK_MIN_H:
            k = next(i for i, s in enumerate(sections) if id(s) == last)
            sections[k] = replace(sections[k], foot=round(left, 3))
    return PagePlan(
        page=page,
        avail_w=avail_w,
        sections=tuple(sections),
        banded=banded,
        scale=score,
        header=header,
    )


# The key's working page: each comparison (hand, exact, difference) is a row of boxes under
# their labels, wrapped onto a further row when the page is too narrow. Placed in mm, so a
# comparison is one block of known height that moves whole to the next page.
COMPARE_LABEL_H = 8.4  # two lines of words, 1 mm clear of the frame drawn above the box
COMPARE_SLOT_MIN = 30.0  # a label's room ("difference", "colsum2 exact") over a narrow box
COMPARE_GAP = 2.0  # a hard key's three boxes of five tokens fit across A4 with 0.5 mm to spare


def working_width(paper: str) -> float:
    """The width the key's working pages offer: upright paper, whatever the sheet's turn."""
    return PAPERS[paper][1] - 2 * MARGIN_SIDE - 2 * OUTLINE


def side_by_side(
    sizes: list[tuple[float, float]], avail_w: float
) -> tuple[list[tuple[float, float]], float]:
    """Where boxes of these sizes (w, h) go in a row, wrapping when the row is full: their
    top-left corners and the height they take, labels and outlines included."""
    at, x, y, row_h = [], 0.0, 0.0, 0.0
    for w, h in sizes:
        slot = max(w + OUTLINE, COMPARE_SLOT_MIN)
        if x > 0 and x + slot > avail_w:
            x, y, row_h = 0.0, y + row_h + ROW_GAP, 0.0
        at.append((round(x, 3), round(y, 3)))
        x += slot + COMPARE_GAP
        row_h = max(row_h, COMPARE_LABEL_H + h + 2 * OUTLINE)
    return at, round(y + row_h, 3)


# Two neighbouring comparisons share a line of the working page when each one's boxes fit in
# half of it (a decode step's one-query columns): the last box needs room only for its own
# words ("difference", "exact − hand"), the others a full label slot.
HALF_SHARE = 0.49  # of the width: what a half may take, a space left between the two
LAST_LABEL_W = 20.0


def halves(sizes_of: list[list[tuple[float, float]]], avail_w: float) -> list[bool]:
    """Which comparisons go two to a line, pairing neighbours in order."""

    def narrow(sizes):
        at, _ = side_by_side(sizes, avail_w)
        (x, y), (w, _) = at[-1], sizes[-1]
        return all(y == 0 for _, y in at) and x + max(w + OUTLINE, LAST_LABEL_W) <= (
            HALF_SHARE * avail_w - 1.0
        )

    fits = [narrow(s) for s in sizes_of]
    out = [False] * len(fits)
    k = 0
    while k < len(fits) - 1:
        if fits[k] and fits[k + 1]:
            out[k] = out[k + 1] = True
            k += 1
        k += 1
    return out
