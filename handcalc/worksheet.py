"""Problem + solution -> the view model of a blank worksheet or an answer key.

Every string and every size the templates print is decided here, so the templates only place
things. The crossing layout is a plan of step roles on a grid, written once for the column
convention; the row convention is the same plan transposed, and each head is the same plan
again, so every variant of the step table lands somewhere without special cases.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import NamedTuple
from urllib.parse import quote

from . import layout, numbers, steps
from .draw import sheet_rules
from .errors import OptionError, SheetTooBigError
from .interactive import exam_data, explanations, marking_data, page_data
from .solution import Solution

DEFAULT_TITLE = "Self-attention by hand"
# The header has room for one line of title: a long title is set smaller, down to 9 pt, which
# holds about TITLE_LIMIT characters; a longer one is refused by the CLI.
TITLE_LIMIT = 80
TITLE_ONE_LINE_AT_16PT = 40


def check_title(title: str | None) -> None:
    """A title too long for the header is refused before any work is done."""
    if title is not None and len(title) > TITLE_LIMIT:
        raise OptionError(
            f"--title is {len(title)} characters long; at most {TITLE_LIMIT} fit on the sheet"
        )


# A name longer than this does not fit the name line (and only slows the layout down).
NAME_LIMIT = 80


def check_name(name: str | None, what: str = "--student") -> None:
    """A student's name too long for the name line is refused before any work is done."""
    if name is not None and len(name) > NAME_LIMIT:
        raise OptionError(
            f"{what} is {len(name)} characters long; at most {NAME_LIMIT} fit on the name line"
        )


def title_style(title: str) -> str:
    """A font size that keeps this title on one line (16 pt for a short one)."""
    if len(title) <= TITLE_ONE_LINE_AT_16PT:
        return ""
    size = max(9.0, 16.0 * TITLE_ONE_LINE_AT_16PT / len(title))
    return f"font-size:{size:.1f}pt"


MAX_FONT_PT = 10.0
TWO_LINE_MIN_MM = 2.5  # a key cell's decimal line under its fraction only when each line has this
MIN_FONT_PT = 8.0  # every number the key prints
# The longest answer a cell of each kind must show whole when typed: −141, −141/58, −1869/638.
ANSWER_CHARS = {"whole": 4, "fraction": 7, "long": 9}
FIELD_PAD_PT = 7.0  # what a reader keeps clear around a field's text (pypdf: 2 + 4), and 1 spare
MM_PER_PT = 25.4 / 72
CH_EM = 1233 / 2048  # advance of DejaVu Sans Mono, the sheet's cell font, in em
GRID_LINE_PT = 0.45  # a matrix's grid lines
GRID_COLOUR = "#9a9a9a"
SCRATCH_MM = 5.0  # the squares of a scratch area

MINUS = "\u2212"
# The key's working page: cells of the exact track, wide enough for "−0.123" at 8 pt or more.
COMPARE_CELL = (12.5, 5.0)
COMPARE_PT = 8.0  # the working page's numbers: three boxes of four tokens fit across A4

# The crossing plan for one head, in the column convention: (role, grid row, grid column).
# A product's left factor sits in the grid column to its left, its right factor higher up in
# its own grid column. "X" appears twice: a given may be printed as often as the layout wants.
HEAD_PLAN = (
    ("X", 0, 1),
    ("WK", 1, 0),
    ("K", 1, 1),
    ("WQ", 2, 0),
    ("Q", 2, 1),
    ("KT", 3, 0),
    ("S", 3, 1),
    ("scaled", 3, 2),
    ("exp", 3, 3),
    ("colsum", 4, 3),
    ("rowsum", 4, 3),
    ("X", 5, 1),
    ("A", 5, 2),
    ("WV", 6, 0),
    ("V", 6, 1),
    ("Z", 6, 2),
)
OUTPUT_PLAN = (("Zcat", 0, 1), ("WO", 1, 0), ("O", 1, 1))
# Cross-attention: the keys' input X above K, the queries' own input Xq above Q, so every
# product's right factor sits directly above it.
CROSS_PLAN = (
    ("X", 0, 1),
    ("WK", 1, 0),
    ("K", 1, 1),
    ("Xq", 2, 1),
    ("WQ", 3, 0),
    ("Q", 3, 1),
    ("KT", 4, 0),
    ("S", 4, 1),
    ("scaled", 4, 2),
    ("exp", 4, 3),
    ("colsum", 5, 3),
    ("rowsum", 5, 3),
    ("X", 6, 1),
    ("A", 6, 2),
    ("WV", 7, 0),
    ("V", 7, 1),
    ("Z", 7, 2),
)
# A query head that reads a key/value head worked under an earlier head: its Kᵀ and V are
# printed again where they cross its Q and A, as references, not answer boxes.
SHARED_ROLES = ("KT", "V")
SHARED_PLAN = tuple(p for p in HEAD_PLAN if p[0] not in ("WK", "K", "WV") and p != ("X", 5, 1))

# A decode step: the cache beside the keys it grows into (one more column, the new k), the
# new token's q above the scores, and the grown V left of the output.
DECODE_PLAN = (
    ("x", 0, 1),
    ("WK", 1, 0),
    ("k", 1, 1),
    ("Kcache", 1, 2),
    ("K", 1, 3),
    ("WQ", 2, 0),
    ("q", 2, 1),
    ("KT", 3, 0),
    ("S", 3, 1),
    ("scaled", 3, 2),
    ("exp", 3, 3),
    ("colsum", 4, 3),
    ("rowsum", 4, 3),
    ("x", 5, 1),
    ("A", 5, 4),
    ("WV", 6, 0),
    ("v", 6, 1),
    ("Vcache", 6, 2),
    ("V", 6, 3),
    ("Z", 6, 4),
)
PLANS = {"self": HEAD_PLAN, "cross": CROSS_PLAN, "decode": DECODE_PLAN}
# A decode step with rotary positions: the new key turned beside k (kr joins the cache), the
# new query turned under q, straight above the scores it is the right factor of.
ROPE_DECODE_PLAN = (
    ("x", 0, 1),
    ("WK", 1, 0),
    ("k", 1, 1),
    ("kr", 1, 2),
    ("Kcache", 1, 3),
    ("K", 1, 4),
    ("WQ", 2, 0),
    ("q", 2, 1),
    ("qr", 3, 1),
    ("KT", 4, 0),
    ("S", 4, 1),
    ("scaled", 4, 2),
    ("exp", 4, 3),
    ("colsum", 5, 3),
    ("rowsum", 5, 3),
    ("x", 6, 1),
    ("A", 6, 4),
    ("WV", 7, 0),
    ("v", 7, 1),
    ("Vcache", 7, 2),
    ("V", 7, 3),
    ("Z", 7, 4),
)

# Rotary positions: each token's key is turned beside K (Kr keeps K's rows), its query under
# Q (Qr keeps Q's columns) and so straight above the scores it is the right factor of.
ROPE_PLAN = (
    ("X", 0, 1),
    ("WK", 1, 0),
    ("K", 1, 1),
    ("Kr", 1, 2),
    ("WQ", 2, 0),
    ("Q", 2, 1),
    ("Qr", 3, 1),
    ("KT", 4, 0),
    ("S", 4, 1),
    ("scaled", 4, 2),
    ("exp", 4, 3),
    ("colsum", 5, 3),
    ("rowsum", 5, 3),
    ("X", 6, 1),
    ("A", 6, 2),
    ("WV", 7, 0),
    ("V", 7, 1),
    ("Z", 7, 2),
)
# The block after attention, on its own grid: W1 left of F with R1 above it and b1 beside
# it, H under F, then W2 left of Y with H above it and b2 beside it, and R2 = R1 + Y under Y.
BLOCK_PLAN = (
    ("R1", 0, 1),
    ("W1", 1, 0),
    ("F", 1, 1),
    ("b1", 1, 2),
    ("H", 2, 1),
    ("W2", 3, 0),
    ("Y", 3, 1),
    ("b2", 3, 2),
    ("R2", 4, 1),
)
# Tokens as rows, R1 and Y are as wide as X: the plan above, turned, would set them side by
# side. Here they stack: F right of R1 under W1 and above b1, then W2 above Y, H left of Y,
# b2 under Y and R2 under that. Written turned (grid column first), as _plan turns it back.
BLOCK_ROWS_PLAN = (
    ("W1", 1, 0),
    ("R1", 0, 1),
    ("F", 1, 1),
    ("b1", 1, 2),
    ("W2", 1, 3),
    ("H", 0, 4),
    ("Y", 1, 4),
    ("b2", 1, 5),
    ("R2", 1, 6),
)
ROPE_SHARED_PLAN = tuple(
    p for p in ROPE_PLAN if p[0] not in ("WK", "K", "Kr", "WV") and p != ("X", 6, 1)
)
# The row convention lays ROPE_PLAN's rows side by side: eight grid columns squeezed letter's
# key cells under 8 pt. Here the keys are worked in a row of their own under the queries'
# (X, K, Kr below X, Q, Qr; WK between them), so Qr's grid column holds Kr too: seven columns.
# Written in the column convention's coordinates, as every plan is (transposed when drawn).
ROPE_ROWS_PLAN = (
    ("X", 0, 1),
    ("WQ", 1, 0),
    ("Q", 1, 1),
    ("Qr", 2, 1),
    ("X", 0, 3),
    ("WK", 1, 2),
    ("K", 1, 3),
    ("Kr", 2, 3),
    ("KT", 3, 0),
    ("S", 3, 1),
    ("scaled", 3, 2),
    ("exp", 3, 3),
    ("colsum", 4, 3),
    ("rowsum", 4, 3),
    ("X", 5, 1),
    ("A", 5, 2),
    ("WV", 6, 0),
    ("V", 6, 1),
    ("Z", 6, 2),
)
ROPE_ROWS_SHARED_PLAN = tuple(
    p for p in ROPE_ROWS_PLAN
    if p[0] not in ("WK", "K", "Kr", "WV") and p not in (("X", 0, 3), ("X", 5, 1))
)


# Its row convention: qr under q and the scores under Kᵀ, so that qr needs no grid column
# of its own (transposed, ROPE_DECODE_PLAN's eight columns did not fit letter's width).
ROPE_DECODE_ROWS_PLAN = (
    ("x", 0, 1),
    ("WK", 1, 0),
    ("k", 1, 1),
    ("kr", 1, 2),
    ("Kcache", 1, 3),
    ("K", 1, 4),
    ("WQ", 2, 0),
    ("q", 2, 1),
    ("qr", 2, 2),
    ("KT", 3, 1),
    ("S", 3, 2),
    ("scaled", 3, 3),
    ("exp", 3, 4),
    ("colsum", 4, 4),
    ("rowsum", 4, 4),
    ("x", 5, 1),
    ("A", 5, 4),
    ("WV", 6, 0),
    ("v", 6, 1),
    ("Vcache", 6, 2),
    ("V", 6, 3),
    ("Z", 6, 4),
)


def _head_plan(ex: steps.Exercise, shared: bool = False):
    if ex.rope and ex.form == "decode":
        return ROPE_DECODE_PLAN if ex.convention == "columns" else ROPE_DECODE_ROWS_PLAN
    if ex.rope and ex.convention == "rows":
        return ROPE_ROWS_SHARED_PLAN if shared else ROPE_ROWS_PLAN
    if ex.rope:
        return ROPE_SHARED_PLAN if shared else ROPE_PLAN
    if shared:
        return SHARED_PLAN
    return CROSS_PLAN if ex.form == "cross" else PLANS.get(ex.form, HEAD_PLAN)


DEFAULT_TITLES = {
    "self": "Self-attention by hand",
    "cross": "Cross-attention by hand",
    "grouped": "Grouped-query attention by hand",
    "decode": "A decode step with a KV cache",
}
BLOCK_TITLE = "A transformer block by hand"


def _default_title(ex: steps.Exercise) -> str:
    return BLOCK_TITLE if ex.block else DEFAULT_TITLES[ex.form]

INSTRUCTIONS = (
    "Fill every empty box. Each product sits where its factors cross: the left factor is "
    "printed to its left, the right factor above it. Write each answer exactly, as a whole "
    "number or a fraction such as {fraction}, or as a decimal to at least two places, such "
    "as {decimal} for {fraction}."
)
# Examples for the instructions; a sheet uses the first that is none of its own answers.
EXAMPLES = tuple(
    Fraction(p, q) for p, q in ((5, 12), (7, 15), (11, 20), (4, 15), (13, 30), (17, 40), (3, 7))
)
GRADING_RULE = (
    "A cell is correct when it equals the key: a fraction equal to it, or a decimal that "
    "rounds to it at the places written (a non-integer needs at least two decimals below 1, "
    "one from 1 up)."
)


class Segment(NamedTuple):
    """A run of one text line inside a matrix: plain text, a masked cell, or a form field."""

    kind: str
    text: str = ""
    name: str = ""
    style: str = ""
    label: str = ""
    row: int = 0
    col: int = 0


@dataclass(frozen=True)
class MatrixView:
    """One matrix drawn as one box: monospaced lines over a grid (one cell, repeated)."""

    name: str
    label: str
    title: str
    group: str
    lines: tuple[tuple[Segment, ...], ...]
    box_style: str
    place_style: str
    place: str
    blank: bool
    rows: int
    cols: int
    cell_chars: int

    @property
    def printed(self) -> tuple[tuple[Segment, ...], ...]:
        """The lines up to the last that prints something: a blank box's lines of spaces
        were a tenth of a blank sheet's PDF time (each is laid out and drawn, glyph by
        glyph), and its size is set without them."""
        last = max((k for k, line in enumerate(self.lines) if line), default=-1)
        return self.lines[: last + 1]


@dataclass(frozen=True)
class Section:
    """One page's crossing grid: a head of attention, or the heads' joint output."""

    heading: str
    band: str
    items: tuple[MatrixView, ...]
    grid_style: str
    aside_style: str = ""  # a working area in the grid's empty corner
    foot_style: str = ""  # a working area under the grid, to the foot of the page


@dataclass(frozen=True)
class Comparison:
    """A track-dependent step on both tracks: hand value, exact value, their difference."""

    heading: str
    hand: MatrixView
    exact: MatrixView
    difference: MatrixView
    note: str
    grid_style: str = ""  # the height its boxes take (layout.side_by_side)
    half: bool = False  # narrow: it shares its line with a neighbour (layout.halves)


@dataclass(frozen=True)
class Working:
    """The key's second page: one dot product per product, and the exact track."""

    dot_products: tuple[str, ...]
    comparisons: tuple[Comparison, ...]
    grading_rule: str
    savings: tuple[str, ...] = ()
    savings_heading: str = ""
    notes: tuple[str, ...] = ()
    notes_heading: str = ""
    norm_notes: tuple[str, ...] = ()
    norm_heading: str = ""


@dataclass(frozen=True)
class Sheet:
    """Everything the sheet template prints."""

    kind: str
    badge: str
    title: str
    student: str
    page_css: str
    sheet_id: str  # the ID printed: the full one, or a short one when that is too long
    full_id: str  # the whole problem, for the form's ID field
    seed: str
    rules: tuple[str, ...]
    drawing_rules: tuple[str, ...]
    instructions: str
    sections: tuple[Section, ...]
    working: Working | None
    fillable: bool
    id_field: str
    title_style: str = ""
    interactive: bool = False
    marking: bool = False  # the teacher's marking page: one interactive sheet, a class's data
    data: dict | None = None
    screen_style: str = ""
    print_foot: str = ""  # the footer as a CSS string, for browsers (no running elements)
    long_numbers: tuple[str, ...] = ()
    explain: dict = field(default_factory=dict)
    fit_note: str = ""  # said on stderr when the cells had to shrink below a writable size
    header_style: str = ""  # the first page's header, rules included (layout.header_height)
    working_page_css: str = ""  # the key's working pages, upright on a landscape sheet
    id_label: str = "sheet ID"  # "code" on a private class's sheet: no ID, no seed
    exam: bool = False  # an interactive page that only collects answers: no grader, no guide
    feedback: Feedback | None = None  # a graded student's sheet: the words under the grid


@dataclass(frozen=True)
class Feedback:
    """What a feedback sheet says under its grid, as lines of text: the score, the named
    mistakes with where they happened, the cells waiting for review, and the rules once."""

    score: str
    legend: tuple[str, ...]
    mistakes: tuple[str, ...]
    review: tuple[str, ...]
    rules: tuple[str, ...]


# --- cells --------------------------------------------------------------------------------


def show(text: str) -> str:
    """Print minus signs as minus signs (a hyphen inside a word, all-zero, stays one), and
    powers of x as superscripts."""
    return re.sub(r"(?<![A-Za-z])-", MINUS, text).replace("^x", "ˣ")


def _places(x: float, sign: str = "") -> str:
    """x to three places (sign="+" to sign it); one that rounds to zero prints as 0.000, never
    −0.000: the side of zero a float lands on is rounding noise."""
    text = f"{x:{sign}.3f}"
    return show(f"{0.0:{sign}.3f}" if float(text) == 0 else text)


def _cell_text(x) -> str:
    if x is steps.MASKED:
        return MINUS + "∞"
    if isinstance(x, float):
        return _places(x)
    return show(numbers.text(x))


def _as_rows(value, step: steps.Step, convention: str) -> list[list]:
    """A value as display rows; a vector lies along the tokens (a row, or a column for rows)."""
    if not step.is_vector:
        return [list(r) for r in value]
    upright = step.along_features == (convention == "columns")
    return [[x] for x in value] if upright else [list(value)]


def display_rows_cols(step: steps.Step, convention: str) -> tuple[int, int]:
    """A step's rows and columns as printed (a vector lies along the tokens)."""
    return layout.display_shape(step, convention)


def masked_cells(ex: steps.Exercise, step: steps.Step) -> set[tuple[int, int]]:
    """Cells hidden by the causal mask in this step: the scores' mask carried through the
    elementwise steps that follow them (scaled, exp, A)."""
    if step.mask is not None:
        n = step.rows
        hidden = (lambda r, c: r > c) if step.mask == "below" else (lambda r, c: c > r)
        return {(r, c) for r in range(n) for c in range(n) if hidden(r, c)}
    if step.kind in ("scale", "exp", "normalise"):
        return masked_cells(ex, ex[step.inputs[0]])
    return set()


def _center(text: str, width: int) -> str:
    """Centred, any odd space going to the left so that numbers lean right."""
    left = (width - len(text) + 1) // 2
    return (" " * left + text).ljust(width)


def _cell_label(name: str, row: int, col: int | None) -> str:
    """What a screen reader says for an answer box: "S, row 2, column 3", "colsum, entry 3"."""
    if col is None:
        return f"{name}, entry {row + 1}"
    return f"{name}, row {row + 1}, column {col + 1}"


def _masked_text(step: steps.Step) -> str:
    """What a masked cell holds: −∞ until 3^x turns it into 0."""
    return MINUS + "∞" if step.kind in ("product", "scale") else "0"


def grid_tile(
    width_pt: float, height_pt: float, colour: str = GRID_COLOUR, line_pt: float = GRID_LINE_PT
) -> str:
    """One cell of a grid (its top and left lines) as a CSS image, repeated over a box. In a
    PDF each repeated image is one pattern; the two CSS gradients it replaces made about
    twenty objects a box (shadings, functions, soft masks), most of a sheet's weight and of
    the time a class set spends joining sheets."""
    w, h, t = f"{width_pt:.3f}", f"{height_pt:.3f}", line_pt
    svg = (
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {w} {h}' "
        f"preserveAspectRatio='none'><path fill='{colour}' d='M0 0H{w}V{t}H{t}V{h}H0Z'/></svg>"
    )
    return 'url("data:image/svg+xml,' + quote(svg, safe=" '=/:.") + '")'


SCRATCH_GRID = (
    f"background-image:{grid_tile(SCRATCH_MM / MM_PER_PT, SCRATCH_MM / MM_PER_PT, '#d4d4d4', 0.4)};"
    f"background-size:{SCRATCH_MM}mm {SCRATCH_MM}mm"
)


def _font_and_chars(width_mm: float, longest: int) -> tuple[float, int]:
    """Chars per cell and a font size for which that many chars span exactly one cell."""
    width_pt = width_mm / MM_PER_PT
    chars = max(longest + 1, math.ceil(width_pt / (CH_EM * MAX_FONT_PT)))
    if width_pt / (CH_EM * chars) < MIN_FONT_PT and longest > 1:
        chars = max(longest + 1, chars - 1)  # a long key value drops spare padding, not its size
    return round(width_pt / (CH_EM * chars), 3), chars


def matrix_view(
    ex: steps.Exercise,
    step: steps.Step,
    texts: list[list[str]] | None,
    decimals: list[list[str]] | None,
    cell: tuple[float, float],
    place: str = "",
    place_style: str = "",
    fillable: bool = False,
    label: str | None = None,
    title: str | None = None,
    answer_chars: int = 0,
    chars: int = 0,
    convention: str = "",
) -> MatrixView:
    """A matrix box. `texts` None means a blank for the student; `decimals` adds a second,
    grey line to each row (the key's 3-decimal values); `convention` overrides the sheet's
    for where a vector lies."""
    conv = convention or ex.convention
    shape = _as_rows(range(step.rows), step, conv) if step.is_vector else None
    rows = len(shape) if shape else step.rows
    cols = len(shape[0]) if shape else step.cols
    masked = {(r, c) for r, c in masked_cells(ex, step)}
    if step.is_vector and conv == "rows":
        masked = set()
    blank = texts is None
    if blank:
        texts = [
            [_masked_text(step) if (r, c) in masked else "" for c in range(cols)]
            for r in range(rows)
        ]
    w, h = cell
    if decimals is not None and h / 2 < TWO_LINE_MIN_MM:
        decimals = None  # a crowded sheet's key: the fraction alone, at a size that reads
    longest = max((len(t) for row in texts + (decimals or []) for t in row), default=1)
    if chars:  # a set number of characters a cell (the working page: one type size for all)
        font = round(w / MM_PER_PT / (CH_EM * chars), 3)
    else:
        font, chars = _font_and_chars(w, longest)
    two = decimals is not None
    line_mm = h / 2 if two else h
    # a tenth of the line spare, and never less than 1 pt: the grid lines (0.45 pt) stay
    # clear of a two-line key cell's text when a crowded sheet makes its cells tiny
    font = min(font, round(line_mm / MM_PER_PT * 0.9, 3), round(line_mm / MM_PER_PT - 1.0, 3))
    seg_style = f"width:{chars}ch;height:{line_mm:.3f}mm"
    # a field sized in mm: its own font (below) must not change its width
    field_style = f"width:{w:.3f}mm;height:{line_mm:.3f}mm"
    if answer_chars:
        # A form field holds the longest answer of its kind whole, clear of the reader's
        # padding; its font size goes into the PDF field itself.
        fit = (w / MM_PER_PT - FIELD_PAD_PT) / (CH_EM * answer_chars)
        field_pt = round(min(font, max(MIN_FONT_PT, fit)), 3)
        field_style += f";font-size:{field_pt}pt"
    lines = []
    for r in range(rows):
        passes = [texts[r]] + ([decimals[r]] if two else [])
        for which, row_texts in enumerate(passes):
            segs: list[Segment] = []
            run = ""
            for c, t in enumerate(row_texts):
                if (r, c) in masked:
                    if run:
                        segs.append(Segment("text", run))
                        run = ""
                    segs.append(Segment("mask", _center(t, chars), style=seg_style))
                elif blank and fillable and which == 0:
                    if run:
                        segs.append(Segment("text", run))
                        run = ""
                    r0, c0 = (c, None) if step.is_vector and conv == "columns" else (r, c)
                    if step.is_vector and conv == "rows":
                        r0, c0 = r, None
                    name = steps.field_name(step.name, r0, c0)
                    spoken = _cell_label(step.name, r0, c0)
                    segs.append(Segment("input", "", name, field_style, spoken, r, c))
                else:
                    run += _center(t, chars)
            run = run.rstrip(" ")  # the spaces that end a line place nothing
            if run:
                segs.append(Segment("dec" if which else "text", run))
            lines.append(tuple(segs))
    tile = grid_tile(chars * CH_EM * font, h / MM_PER_PT)
    box_style = (
        f"font-size:{font}pt;line-height:{line_mm:.3f}mm;width:{cols * chars}ch;"
        f"height:{rows * h:.3f}mm;background-image:{tile};background-size:{chars}ch {h:.3f}mm"
    )
    return MatrixView(
        name=step.name,
        label=label if label is not None else _label(ex, step),
        title=title if title is not None else step.title,
        group=step.group,
        lines=tuple(lines),
        box_style=box_style,
        place_style=place_style,
        place=place,
        blank=blank,
        rows=rows,
        cols=cols,
        cell_chars=chars,
    )


def _pretty(name: str, step: steps.Step) -> str:
    """A step's printed name: K2ᵀ rather than KT2 (a shared key head: Kaᵀ)."""
    if step.role == "KT":
        turned = "r" if step.formula.startswith("Kr") else ""
        return f"K{turned}{step.suffix}ᵀ"
    return step.role + step.suffix


def _label(ex: steps.Exercise, step: steps.Step) -> str:
    """A box's name and formula; a product names its own factors (K2 = WK2·X)."""
    name = _pretty(step.name, step)
    if step.given or step.kind == "transpose":
        return name
    if step.kind == "product":
        return f"{name} = " + "·".join(_pretty(i, ex[i]) for i in step.inputs)
    return f"{name} = {show(step.formula)}"


# --- layout -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Placed:
    step: steps.Step
    row: int
    col: int
    shared_from: int | None = None  # a reference to a step worked under this earlier head


def _plan(ex: steps.Exercise, head: int | None, plan, shared=None) -> list[_Placed]:
    """The plan's roles resolved to this head's steps, transposed for the row convention.
    `shared` maps roles to steps worked under another head, placed as references."""
    by_role = {}
    for s in ex:
        if s.head == head or (s.head is None and s.given and s.role in ("X", "Xq", "WO")):
            by_role.setdefault(s.role, s)
    placed = []
    for role, r, c in plan:
        r, c = (r, c) if ex.convention == "columns" else (c, r)
        if role in by_role:
            placed.append(_Placed(by_role[role], r, c))
        elif shared and role in shared:
            placed.append(_Placed(shared[role], r, c, shared[role].head))
    return placed


def _section(
    ex: steps.Exercise,
    section: layout.SectionPlan,
    geometry: layout.PagePlan,
    cell_texts,
    fillable: bool,
) -> Section:
    """A section's boxes at the places the layout plan gives them, centred across the page."""
    x0 = geometry.offset(section)
    items = []
    # Reading order in the document is the tab order: top to bottom, then left to right.
    for box in sorted(section.boxes, key=lambda b: (round(b.y, 3), b.x)):
        texts, decimals = cell_texts(box.step)
        shared_from = box.placed.shared_from
        shown = box.step.name in ex.shown
        shared = {}
        if shared_from is not None:
            shared = dict(
                label=_pretty(box.step.name, box.step),
                title=f"from head {shared_from}",
            )
        elif shown:
            shared = dict(title=f"{box.step.title} (given)")
        view = matrix_view(
            ex,
            box.step,
            texts,
            decimals,
            (box.cell_w, box.cell_h),
            place=box.role
            + (" side" if box.label_side else "")
            + (" shared" if shared_from is not None else ""),
            place_style=f"left:{x0 + box.x:.3f}mm;top:{box.y:.3f}mm",
            fillable=fillable and not box.step.given and shared_from is None and not shown,
            answer_chars=ANSWER_CHARS.get(layout.holds(ex, box.step), 0),
            **shared,
        )
        if shared_from is not None:
            view = replace(view, group=view.group + " shared")
        items.append(view)
    aside = ""
    if section.aside:
        x, y, w, h = section.aside
        aside = f"left:{x0 + x:.3f}mm;top:{y:.3f}mm;width:{w:.3f}mm;height:{h:.3f}mm;"
        aside += SCRATCH_GRID
    return Section(
        section.heading,
        section.band + ("" if section.new_page else " joined"),
        tuple(items),
        f"height:{section.height:.3f}mm",
        aside,
        f"height:{section.foot:.3f}mm;{SCRATCH_GRID}" if section.foot else "",
    )


def _grouped_head(ex: steps.Exercise, h: int) -> tuple[str, list[_Placed]]:
    """A query head of grouped heads: the first of its group works the shared K and V; the
    others find them printed again, as references, where they cross their own Q and A."""
    per = ex.heads // ex.kv_heads
    g = ex.group_of(h)
    first, last = (g - 1) * per + 1, g * per
    kv = steps.kv_suffix(g, ex.kv_heads)
    heads_text = f"heads {first}–{last}" if last > first else f"head {first}"
    if h == first:
        return (
            f"Head {h} of {ex.heads} · works K{kv} and V{kv}, shared by query {heads_text}",
            _plan(ex, h, _head_plan(ex)),
        )
    shared = {ex[role + kv].role: ex[role + kv] for role in SHARED_ROLES}
    kt = _pretty("KT" + kv, ex["KT" + kv])
    return (
        f"Head {h} of {ex.heads} · reuses {kt} and V{kv} from head {first}: no K or V to work",
        _plan(ex, h, _head_plan(ex, shared=True), shared),
    )


def _block_section(ex: steps.Exercise) -> list[tuple[str, str, list[_Placed]]]:
    if not ex.block:
        return []
    zo = "Z" if ex.heads == 1 else "O"
    heading = f"The block: residual X + {zo}, feed-forward with ReLU, residual again (no LayerNorm)"
    plan = BLOCK_PLAN if ex.convention == "columns" else BLOCK_ROWS_PLAN
    return [(heading, "band-block", _plan(ex, None, plan))]


@functools.lru_cache(maxsize=32)
def _geometry(ex: steps.Exercise, paper: str, given_chars: int, header: float) -> layout.PagePlan:
    """The sheet's plan, found once for each shape: a class's sheets share a few shapes, and
    the search for the largest cells that fit took 30 ms of each sheet (7 % of a PDF's time)."""
    return layout.plan(ex, _layout(ex), paper, given_chars, header)


def _layout(ex: steps.Exercise) -> list[tuple[str, str, list[_Placed]]]:
    if ex.heads == 1:
        if ex.block:  # two grids: attention, then the block, each under its band
            return [("Attention", "band-1", _plan(ex, None, _head_plan(ex)))] + _block_section(ex)
        return [("", "", _plan(ex, None, _head_plan(ex)))]
    if ex.form == "grouped":
        out = []
        for h in range(1, ex.heads + 1):
            heading, placed = _grouped_head(ex, h)
            out.append((heading, f"band-{h}", placed))
    else:
        plan = _head_plan(ex)
        out = [
            (f"Head {h} of {ex.heads}", f"band-{h}", _plan(ex, h, plan))
            for h in range(1, ex.heads + 1)
        ]
    joint = (
        "All heads: concatenate, then project" if "O" in ex.by_name else "All heads: concatenate"
    )
    out.append((joint, "band-out", _plan(ex, None, OUTPUT_PLAN)))
    out += _block_section(ex)
    placed_names = {p.step.name for _, _, ps in out for p in ps if p.shared_from is None}
    missing = [s.name for s in ex if s.name not in placed_names]
    if missing:  # pragma: no cover - a new step kind without a place on the sheet
        raise ValueError(f"the sheet has no place for {missing}")
    return out


# --- key values ---------------------------------------------------------------------------

# A key cell longer than this (a typed problem's 3^40, or a fraction over it) would print far
# below 8 pt in its box: the box shows a reference (#1) and the number is printed in full,
# at the sheet's text size, in a list below the grid. Drawn sheets never come near it.
LONG_CHARS = 9


class LongNumbers:
    """Collects the key's numbers too long for their boxes, numbering them in sheet order."""

    def __init__(self):
        self.lines: list[str] = []

    def fit(self, texts, decimals, step: steps.Step, convention: str):
        """The cell texts with long ones replaced by references (and long decimals dropped)."""
        if texts is None:
            return texts, decimals
        out_t = [list(row) for row in texts]
        out_d = [list(row) for row in decimals] if decimals is not None else None
        for r, row in enumerate(texts):
            for c, t in enumerate(row):
                if len(t) > LONG_CHARS:
                    self.lines.append(
                        f"#{len(self.lines) + 1}  {_where(step, r, c, convention)}: {t}"
                    )
                    out_t[r][c] = f"#{len(self.lines)}"
                if out_d is not None and len(out_d[r][c]) > LONG_CHARS:
                    out_d[r][c] = ""
        return out_t, out_d


def _where(step: steps.Step, r: int, c: int, convention: str) -> str:
    name = _pretty(step.name, step)
    if step.is_vector:
        return f"{name}, entry {c + 1 if convention == 'columns' else r + 1}"
    return f"{name}, row {r + 1}, column {c + 1}"


def _short(text: str, value) -> str:
    """A number for the working page's comparisons, in 4 significant digits when long."""
    return text if len(text) <= LONG_CHARS else show(f"{float(value):.4g}")


def _texts(
    value, step: steps.Step, convention: str, holds: str
) -> tuple[list[list[str]], list[list[str]] | None]:
    """The key's cells; in a step that holds fractions, each cell's 3-place decimal goes on a
    second line under it (blank under a whole number), so every such box reads alike."""
    rows = _as_rows(value, step, convention)
    texts = [[_cell_text(x) for x in row] for row in rows]
    if holds not in ("fraction", "long"):
        return texts, None
    decimals = [
        [
            ""
            if x is steps.MASKED or isinstance(x, float) or Fraction(x).denominator == 1
            else show(numbers.decimal(x))
            for x in row
        ]
        for row in rows
    ]
    return texts, decimals


def _term(x) -> str:
    return f"({_cell_text(x)})"


def dot_product(sol: Solution, step: steps.Step) -> str:
    """One cell of a product written out: the row, the column, the terms, the sum (and, for
    the block's F and Y, the bias of that feature)."""
    left, right = (sol.values[n] for n in step.inputs[:2])
    value = sol.values[step.name]
    best = None
    for r, row in enumerate(value):
        for c, x in enumerate(row):
            if x is steps.MASKED:
                continue
            pairs = [(left[r][k], right[k][c]) for k in range(len(right))]
            live = sum(1 for a, b in pairs if a != 0 and b != 0)
            if best is None or live > best[0]:
                best = (live, r, c, pairs, x)
    _, r, c, pairs, x = best
    lname, rname = (_pretty(n, sol.exercise[n]) for n in step.inputs[:2])
    name = _pretty(step.name, step)
    terms = " + ".join(f"{_term(a)}{_term(b)}" for a, b in pairs)
    bias = ""
    if step.kind == "affine":
        b = step.inputs[2]
        k = r if step.axis == "columns" else c
        bias = f" + {b}[{k + 1}] = {terms} + {_term(sol.values[b][k])}"
        terms = ""
    return (
        f"{name}[{r + 1}][{c + 1}] = (row {r + 1} of {lname})·(column {c + 1} of {rname})"
        + (bias if bias else f" = {terms}")
        + f" = {_cell_text(x)}"
    )


# LayerNorm's epsilon as transformers commonly set it; no learned scale or shift here.
NORM_EPS = 1e-5


def norm_notes(sol: Solution) -> list[str]:
    """What LayerNorm would make of each token of the block's output, on the exact track:
    the token's mean taken away, divided by the square root of its variance (plus a tiny
    epsilon). The sheet leaves it out because of those square roots."""
    ex = sol.exercise
    if not ex.block:
        return []
    r2 = sol.exact["R2"]
    tokens = list(zip(*r2)) if ex.convention == "columns" else [tuple(row) for row in r2]
    out = [
        "LayerNorm(x) = (x − mean(x)) / √(var(x) + ε), ε = 10⁻⁵, for each token's features "
        "(a real block also learns a scale and a shift per feature). On the exact track's R2:"
    ]
    for m, t in enumerate(tokens, start=1):
        mean = math.fsum(t) / len(t)
        var = math.fsum((x - mean) ** 2 for x in t) / len(t)
        normed = [(x - mean) / math.sqrt(var + NORM_EPS) for x in t]
        out.append(
            f"token {m}: mean {_places(mean)}, variance {_places(var)}, LayerNorm "
            "(" + ", ".join(_places(x) for x in normed) + ")"
        )
    return out


_EXACT_NAME = {"scale": "S/√{d}", "exp": "e^x", "sum": "sums of e^x", "normalise": "softmax"}


def _comparisons(
    sol: Solution, cell: tuple[float, float], avail_w: float
) -> list[Comparison]:
    ex = sol.exercise
    d_k = sol.problem.spec.d_k
    # Nothing crosses on the working page: a vector lies along a row in either convention,
    # one line tall (the row convention's sums as a column pushed a RoPE key onto a third page).
    conv = "columns"
    out = []
    for name in ex.track_dependent():
        step = ex[name]
        if step.kind == "concat":  # Zcat repeats the heads' Z comparisons, stacked
            continue
        hand = sol.values[name]
        real = sol.exact[name]
        rows_h = _as_rows(hand, step, conv)
        rows_e = _as_rows(real, step, conv)
        hand_t, exact_t, diff_t = [], [], []
        for rh, re_ in zip(rows_h, rows_e):
            hand_t.append(
                [
                    _cell_text(x) if x is steps.MASKED else _short(show(numbers.decimal(x)), x)
                    for x in rh
                ]
            )
            exact_t.append(
                [
                    _cell_text(y) if x is steps.MASKED else _short(_places(y), y)
                    for x, y in zip(rh, re_)
                ]
            )
            diff_t.append(
                [
                    ""
                    if x is steps.MASKED
                    else _short(_places(float(y) - float(Fraction(x)), "+"), y - float(x))
                    for x, y in zip(rh, re_)
                ]
            )
        exact_name = show(_EXACT_NAME.get(step.kind, step.formula).format(d=d_k))
        pretty = _pretty(name, step)
        views = [
            (t, lab, tit)
            for t, lab, tit in (
                (hand_t, f"{pretty} by hand", show(step.formula)),
                (exact_t, f"{pretty} exact", exact_name),
                (diff_t, "difference", "exact − hand"),
            )
        ]
        worst = max(
            (
                abs(float(y) - float(Fraction(x)))
                for rh, re_ in zip(rows_h, rows_e)
                for x, y in zip(rh, re_)
                if x is not steps.MASKED
            ),
            default=0.0,
        )
        out.append(
            (
                f"{step.title} ({pretty}): {show(step.formula)} beside {exact_name}",
                step,
                views,
                f"largest difference {worst:.3f}",
            )
        )
    # One type size and one cell width for every box of the page, a character clear of the
    # cell's walls on either side of the longest number; half a character each side where a
    # full one would push a comparison's three boxes onto two rows (and the key onto a third
    # page: "+12.542" beside "17.935" on a classic sheet).
    longest = max(
        len(t) for _, _, views, _ in out for grid, _, _ in views for row in grid for t in row
    )

    def fit_for(chars: int) -> tuple[float, float]:
        return (chars * CH_EM * COMPARE_PT * MM_PER_PT, cell[1])

    def one_row(chars: int) -> bool:
        w = fit_for(chars)[0]
        for _, step, _, _ in out:
            rows, cols = display_rows_cols(step, conv)
            at, _ = layout.side_by_side([(cols * w, rows * cell[1])] * 3, avail_w)
            if any(y > 0 for _, y in at):
                return False
        return True

    chars = longest + 2 if one_row(longest + 2) or not one_row(longest + 1) else longest + 1
    fit = fit_for(chars)
    comparisons = []
    halves = layout.halves(
        [[(display_rows_cols(s, conv)[1] * fit[0], 0.0)] * 3 for _, s, _, _ in out], avail_w
    )
    for (heading, step, views, note), half in zip(out, halves):
        rows, cols = display_rows_cols(step, conv)
        at, height = layout.side_by_side([(cols * fit[0], rows * fit[1])] * 3, avail_w)
        boxes = [
            matrix_view(
                ex, step, t, None, fit, label=lab, title=tit, chars=chars,
                place_style=f"left:{x:.3f}mm;top:{y:.3f}mm", convention=conv,
            )
            for (t, lab, tit), (x, y) in zip(views, at)
        ]
        comparisons.append(
            Comparison(heading, *boxes, note=note, grid_style=f"height:{height}mm", half=half)
        )
    return comparisons


def savings(sol: Solution) -> list[str]:
    """What sharing saved, in multiplications, for the key: grouped heads work each K and V
    once for the query heads of a group instead of once per query head."""
    ex = sol.exercise
    sp = sol.problem.spec
    if ex.form == "decode":
        return _cache_savings(sp)
    if ex.form != "grouped":
        return []
    per_head = (sp.d_k + sp.d_v) * sp.tokens * sp.d_in
    saved = (ex.heads - ex.kv_heads) * per_head
    kv = "one key/value head" if ex.kv_heads == 1 else f"{ex.kv_heads} key/value heads"
    return [
        f"{ex.heads} query heads read {kv}: K and V were worked {ex.kv_heads} time"
        f"{'s' if ex.kv_heads > 1 else ''}, not {ex.heads}.",
        f"Each K and V costs ({sp.d_k} + {sp.d_v}) × {sp.tokens} × {sp.d_in} = {per_head} "
        f"multiplications; sharing did {ex.kv_heads * per_head} instead of "
        f"{ex.heads * per_head}, saving {saved}, and {ex.heads - ex.kv_heads} fewer Kᵀ "
        "to write out.",
    ]


def _vector(v) -> str:
    return "(" + ", ".join(_cell_text(x) for x in v) + ")"


def rope_notes(sol: Solution) -> list[str]:
    """The key's check that a rotary score depends only on how far apart the two tokens are:
    turning key i by i and query j by j scores like turning the query alone by j − i (a
    turn keeps dot products), so the score would be the same one place later."""
    ex = sol.exercise
    if not ex.rope:
        return []
    if ex.form == "decode":
        return _decode_rope_notes(sol)
    s = next(st for st in ex.worked if st.role == "S")
    kt, qr = (ex[i] for i in s.inputs) if ex.convention == "columns" else reversed(
        [ex[i] for i in s.inputs]
    )
    kr = ex[kt.inputs[0]]
    k_name, q_name = kr.inputs[0], qr.inputs[0]
    cols = ex.convention == "columns"

    def token(name, m):
        v = sol.values[name]
        return tuple(row[m] for row in v) if cols else tuple(v[m])

    n, keys = (s.cols, s.rows) if cols else (s.rows, s.cols)
    def worth(p):  # a pair whose score is not 0, far apart, makes the clearest check
        k, q = token(k_name, p[0]), token(q_name, p[1])
        dot = sum(a * b for a, b in zip(k, steps.quarter_turns(q, p[1] - p[0])))
        return (dot != 0, p[1] - p[0], p[0])

    pairs = [(i, j) for j in range(n) for i in range(min(j, keys))]
    i, j = max(pairs, key=worth) if pairs else (0, 0)
    k, q = token(k_name, i), token(q_name, j)
    turned = steps.quarter_turns(q, j - i)
    score = sum(a * b for a, b in zip(k, turned))
    later_k, later_q = steps.quarter_turns(k, i + 1), steps.quarter_turns(q, j + 1)
    later = sum(a * b for a, b in zip(later_k, later_q))
    entry = f"{s.name}[{i + 1}][{j + 1}]" if cols else f"{s.name}[{j + 1}][{i + 1}]"
    terms = " + ".join(f"{_term(a)}{_term(b)}" for a, b in zip(k, turned))
    later_terms = " + ".join(f"{_term(a)}{_term(b)}" for a, b in zip(later_k, later_q))
    return [
        f"{entry} (key m = {i}, query m = {j}) is the key · the query turned by the distance "
        f"{j} − {i}: {_vector(k)} · {_vector(turned)} = {terms} = {_cell_text(score)}; one place "
        f"later, {_vector(later_k)} · {_vector(later_q)} = {later_terms} = {_cell_text(later)}. "
        "Real RoPE turns pair p by m·θ_p, θ_p = 10000^(−2(p−1)/d_k), each pair at its own "
        "frequency; quarter turns keep the numbers whole.",
    ]


def _times(n: int) -> str:
    return {0: "no times", 1: "once", 2: "twice"}.get(n, f"{n} times")


def _decode_rope_notes(sol: Solution) -> list[str]:
    """rope_notes for a decode step: a cached key was turned at its own position m = i when it
    was worked; turned back, it meets the new query turned by the distance n − 1 − i."""
    cols = sol.exercise.convention == "columns"
    keys, q = sol.values["K"], sol.values["q"]
    p = sol.problem.spec.tokens - 1
    query = tuple(row[0] for row in q) if cols else tuple(q[0])

    def unturned(i):
        cached = tuple(row[i] for row in keys) if cols else tuple(keys[i])
        return cached, steps.quarter_turns(cached, -i)

    def dot(a, b):
        return sum(x * y for x, y in zip(a, b))

    def worth(i):  # a key whose score is not 0, far from the query, makes the clearest check
        return (dot(unturned(i)[1], steps.quarter_turns(query, p - i)) != 0, p - i)

    i = max(range(p), key=worth)
    cached, k = unturned(i)
    turned = steps.quarter_turns(query, p - i)
    later_k, later_q = steps.quarter_turns(k, i + 1), steps.quarter_turns(query, p + 1)
    entry = f"S[{i + 1}][1]" if cols else f"S[1][{i + 1}]"
    terms = " + ".join(f"{_term(a)}{_term(b)}" for a, b in zip(k, turned))
    later_terms = " + ".join(f"{_term(a)}{_term(b)}" for a, b in zip(later_k, later_q))
    return [
        f"{entry} (cached key m = {i}, new query m = {p}): the cache holds key {i} turned "
        f"{_times(i)}, {_vector(cached)}, so the key itself is {_vector(k)}; it meets q turned by "
        f"the distance {p} − {i}: {_vector(k)} · {_vector(turned)} = {terms} = "
        f"{_cell_text(dot(k, turned))}; one place later, {_vector(later_k)} · {_vector(later_q)} "
        f"= {later_terms} = {_cell_text(dot(later_k, later_q))}. Real RoPE turns pair p by "
        "m·θ_p, θ_p = 10000^(−2(p−1)/d_k), each pair at its own frequency; quarter turns keep "
        "the numbers whole.",
    ]


def _cache_savings(sp) -> list[str]:
    """What the KV cache saved a decode step, in multiplications."""
    earlier = sp.tokens - 1
    kv = (sp.d_k + sp.d_v) * earlier * sp.d_in
    new = (2 * sp.d_k + sp.d_v) * sp.d_in
    scores, mix = sp.tokens * sp.d_k, sp.d_v * sp.tokens
    token = "token" if earlier == 1 else "tokens"
    return [
        f"The cache saved K and V of the {earlier} earlier {token}: recomputing them would "
        f"take ({sp.d_k} + {sp.d_v}) × {earlier} × {sp.d_in} = {kv} multiplications "
        "(and their queries are not needed at all: only the new token asks).",
        f"This step worked q, k and v of the new token only: ({sp.d_k} + {sp.d_k} + "
        f"{sp.d_v}) × {sp.d_in} = {new} multiplications, then {sp.tokens} × {sp.d_k} = "
        f"{scores} for the scores and {sp.d_v} × {sp.tokens} = {mix} for Z.",
    ]


def _foot_text(problem, badge: str, code: str | None = None) -> str:
    """The footer's words, for a browser that prints them in the page's margin box; a
    private class's sheet names its code, without ID or seed."""
    seed = f" · seed {problem.seed}" if problem.seed is not None and not code else ""
    which = f"code {code}" if code else f"sheet ID {problem.sheet_id}"
    return f"{badge} · {which}{seed}"


def _css_string(text: str) -> str:
    """A quoted CSS string that no text can break out of (or close the <style> with)."""
    safe = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:;()=-")
    return '"' + "".join(c if c in safe else f"\\{ord(c):x} " for c in text) + '"'


def instructions(sol: Solution) -> str:
    """The rule for writing answers, with an example that is no answer on this sheet (not even
    rounded), so the instructions never give a cell away."""
    seen: set[str] = set()
    for step in sol.exercise.worked:
        for row in _as_rows(sol.values[step.name], step, sol.exercise.convention):
            for x in row:
                if x is not steps.MASKED:
                    seen |= {numbers.text(x), numbers.decimal(x, 2)}
    example = next(
        (e for e in EXAMPLES if not {numbers.text(e), numbers.decimal(e, 2)} & seen), EXAMPLES[-1]
    )
    return INSTRUCTIONS.format(fraction=numbers.text(example), decimal=numbers.decimal(example, 2))


# --- the sheet ----------------------------------------------------------------------------


# Characters of the rules (8 pt, condensed) a line of the narrowest page holds, with spare.
RULES_LINE_CHARS = 125


def rules_lines(rules: tuple[str, ...]) -> int:
    """How many lines the rules' paragraph takes under the header."""
    chars = len("Rules: ") + sum(len(r) + 2 for r in rules)
    return -(-chars // RULES_LINE_CHARS) if rules else 0


def _fit_note(geometry: layout.PagePlan, paper: str) -> str:
    if geometry.scale >= layout.MIN_SCALE - 1e-9:
        return ""
    bigger = " (try --paper a3)" if paper != "a3" else ""
    return (
        f"note: this sheet fits {layout.PAPERS[paper][0]} only with its cells at "
        f"{geometry.scale:.0%} of a writable size{bigger}"
    )


def _too_big(sol: Solution, geometry: layout.PagePlan, paper: str) -> str:
    spec = sol.problem.spec
    size = f"{spec.tokens} tokens, d_in {spec.d_in}, d_k {spec.d_k}"
    change = "use --paper a3, or fewer tokens or features" if paper != "a3" else (
        "use fewer tokens or features"
    )
    return (
        f"this problem ({size}) does not fit {layout.PAPERS[paper][0]}: its cells would be "
        f"{geometry.scale:.0%} of a size a hand can write in, and a sheet needs at least "
        f"{layout.PRINT_MIN_SCALE:.0%}; {change}"
    )


def build(
    sol: Solution,
    kind: str = "blank",
    paper: str = "a4",
    title: str | None = None,
    student: str | None = None,
    fillable: bool = False,
    interactive: bool = False,
    working: bool = True,
    code: str | None = None,
    exam: bool = False,
    filled: dict | None = None,
    feedback: Feedback | None = None,
) -> Sheet:
    """The view model of a blank sheet (kind="blank") or an answer key (kind="key"); a key
    without `working` is one page: no dot products, no exact track.

    `interactive` makes a blank sheet to fill in and check on screen: an input in every
    blank cell and the problem's data (never its key) for the page's own grader; with `exam`
    the page only collects answers (no grader, no hints). A blank sheet with a private `code`
    prints the code where the sheet ID and seed would be.

    kind="feedback" is a graded student's sheet: `filled` gives each worked step's cell texts
    and second lines, shaped like the step's value (a mark and what was written; the key's
    value under a wrong cell), and `feedback` the words under the grid."""
    if kind not in ("blank", "key", "feedback"):
        raise ValueError(f"unknown sheet kind {kind!r}")
    if interactive and kind != "blank":
        raise ValueError("only a blank sheet can be interactive")
    if exam and not interactive:
        raise ValueError("only an interactive sheet can be an exam page")
    if code is not None and kind != "blank":
        raise ValueError("a key shows its sheet ID, never a private code")
    if paper not in layout.PAPERS:
        raise ValueError(f"unknown paper {paper!r}")
    ex = sol.exercise
    given_chars = max(
        (len(show(str(x))) for s in ex.given for row in _given_rows(sol, s) for x in row),
        default=1,
    )
    problem = sol.problem
    rules = tuple(show(r) for r in problem.spec.rules_text())
    header = layout.header_height(rules_lines(rules))
    geometry = _geometry(ex, paper, given_chars, header)
    if geometry.scale < layout.PRINT_MIN_SCALE:
        raise SheetTooBigError(_too_big(sol, geometry, paper))

    long_numbers = LongNumbers()

    def cell_texts(step: steps.Step):
        if step.given:
            return [[show(str(x)) for x in row] for row in _given_rows(sol, step)], None
        if kind == "feedback" and filled and step.name in filled:
            texts, seconds = (_as_rows(v, step, ex.convention) for v in filled[step.name])
            return long_numbers.fit(texts, seconds, step, ex.convention)
        if kind == "blank" and step.name not in ex.shown:
            return None, None
        texts, decimals = _texts(sol.values[step.name], step, ex.convention, layout.holds(ex, step))
        return long_numbers.fit(texts, decimals, step, ex.convention)

    sections = tuple(
        _section(
            ex,
            section,
            geometry,
            cell_texts,
            (fillable or interactive) and kind == "blank",
        )
        for section in geometry.sections
    )
    shown_working = None
    if kind == "key" and working:
        small = COMPARE_CELL
        shown_working = Working(
            dot_products=tuple(
                dot_product(sol, s) for s in ex.worked if s.kind in ("product", "affine")
            ),
            comparisons=tuple(_comparisons(sol, small, layout.working_width(paper))),
            grading_rule=GRADING_RULE,
            savings=tuple(savings(sol)),
            savings_heading="What the cache saved" if ex.form == "decode" else "What sharing saved",
            notes=tuple(show(line) for line in rope_notes(sol)),
            notes_heading="Rotary positions: only the distance counts",
            norm_notes=tuple(show(line) for line in norm_notes(sol)),
            norm_heading="No LayerNorm on the sheet: what it would give",
        )
    # How the numbers were drawn is for the teacher: the key's working page, never the sheet.
    drawing = (
        tuple(show(r) for r in sheet_rules(problem.spec))
        if problem.seed is not None and shown_working
        else ()
    )
    # On screen the page is as wide as the paper, less nothing: the margins become padding.
    page_width = (
        geometry.avail_w
        + 2 * (layout.OUTLINE + layout.MARGIN_SIDE)
        + layout.BAND_INDENT * geometry.banded
    )
    margins = f"{layout.MARGIN_TOP}mm {layout.MARGIN_SIDE}mm {layout.MARGIN_BOTTOM}mm"
    badge = {"key": "Answer key", "feedback": "Feedback"}.get(kind, "Worksheet")
    return Sheet(
        kind=kind,
        badge=badge,
        title=title if title else _default_title(ex),
        title_style=title_style(title or _default_title(ex)),
        student=student or "",
        page_css=f"size:{geometry.page};margin:{margins}",
        header_style=f"--head-h:{geometry.header:.3f}mm",
        working_page_css=(
            f"size:{layout.PAPERS[paper][0]} portrait;margin:{margins}"
            if shown_working and "landscape" in geometry.page
            else ""
        ),
        sheet_id=code or problem.sheet_id,
        full_id=code or problem.id,
        seed="" if problem.seed is None or code else str(problem.seed),
        rules=rules,
        drawing_rules=drawing,
        instructions=instructions(sol),
        sections=sections,
        working=shown_working,
        fillable=fillable and kind == "blank",
        id_field="handcalc_id",
        interactive=interactive,
        data=_page_data(problem, interactive, exam, code),
        screen_style=(
            f"max-width:{page_width:.1f}mm"
            if interactive
            else f"--paper-w:{page_width - 2 * layout.MARGIN_SIDE:.1f}mm"
        ),
        print_foot=_css_string(_foot_text(problem, badge, code)),
        long_numbers=tuple(show(line) for line in long_numbers.lines),
        fit_note=_fit_note(geometry, paper),
        explain=explanations(problem) if interactive and not exam else {},
        id_label="code" if code else "sheet ID",
        exam=exam,
        feedback=feedback,
    )


def _page_data(problem, interactive: bool, exam: bool, code: str | None) -> dict | None:
    if not interactive:
        return None
    if exam:
        return exam_data(problem, code or problem.id)
    return page_data(problem)


MARKING_INSTRUCTIONS = (
    "Every box shows what this student should have written: the key, or what their own "
    "earlier boxes lead to. Type only where the paper differs. In a box: b blank (Shift+B: "
    "the rest of the step), ? needs review, Esc back to the screen's value, n done and next "
    "student."
)


def _given_rows(sol: Solution, step: steps.Step) -> list[list]:
    return _as_rows(sol.values[step.name], step, sol.exercise.convention)


def marking_sheet(
    roster: list[tuple[str, Solution]],
    paper: str = "a4",
    title: str | None = None,
    codes: list | None = None,
) -> Sheet:
    """The marking page's view: the interactive sheet of the student whose givens are widest
    (so every student's fit its boxes), carrying the whole class's data (and a private
    class's codes, which is what the papers print)."""
    if not roster:
        raise OptionError("a marking page needs at least one student")

    def widest(sol: Solution) -> int:
        ex = sol.exercise
        return max(len(show(str(x))) for s in ex.given for row in _given_rows(sol, s) for x in row)

    _, sol = max(roster, key=lambda item: widest(item[1]))
    view = build(sol, "blank", paper=paper, title=title, interactive=True)
    return replace(
        view,
        badge="Marking",
        marking=True,
        instructions=MARKING_INSTRUCTIONS,
        data=marking_data([(name, s.problem) for name, s in roster], codes),
    )
