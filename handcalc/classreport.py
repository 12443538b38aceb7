"""A class's results on one page: per-step accuracy, the named mistakes ranked by how many
students made them (with their names), the score distribution and who has not handed in.

The numbers are worked out here from the graded reports; the charts are plain SVG drawn from
those numbers by `bar_chart` (dark bars with their values written beside them, so they read
the same printed in grey); the template only places them (templates/class_report.html).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from html import escape

from .grading import MISTAKE_KINDS, REVIEW, Report
from .report import Missing, _failed, mistake_counts

# What each kind of named mistake is, in a few words for a chart's label.
MISTAKE_WORDS = {
    "weights-swapped": "WQ and WK swapped",
    "scores-transposed": "scores transposed (Qᵀ·K or K·Qᵀ)",
    "rounding": "halves rounded toward zero, not floored",
    "not-scaled": "scores not scaled",
    "e-not-3": "eˣ instead of 3ˣ",
    "softmax-axis": "rows normalised instead of columns",
    "weights-axis": "Z as A·V or V·Aᵀ",
    "slip": "an arithmetic slip in one cell",
}
BINS = 10  # the score distribution: 0–10 %, 10–20 %, ..., 90–100 % (100 % in the last)


@dataclass(frozen=True)
class StepAccuracy:
    step: str
    credited: int
    counted: int

    @property
    def percent(self) -> float:
        return float(100 * Fraction(self.credited, self.counted)) if self.counted else 0.0


@dataclass(frozen=True)
class MistakeRank:
    kind: str
    words: str
    students: tuple[str, ...]


@dataclass(frozen=True)
class ClassView:
    """Everything the class report prints; the template computes nothing."""

    title: str
    counts: str
    accuracy: tuple[StepAccuracy, ...]
    mistakes: tuple[MistakeRank, ...]
    distribution: tuple[int, ...]
    missing: tuple[str, ...]
    failed: tuple[str, ...]
    accuracy_svg: str
    mistakes_svg: str
    distribution_svg: str


def step_accuracy(reports: Sequence[Report]) -> list[StepAccuracy]:
    """Per step, the cells credited (correct or follow-through) out of the cells counted,
    pooled over every student who handed in (cells waiting for review are not counted)."""
    names: list[str] = []
    for r in reports:
        names += [n for n in r.steps if n not in names]
    out = []
    for n in names:
        results = [r.steps[n] for r in reports if n in r.steps]
        credited = sum(x.credited for x in results)
        counted = sum(x.graded - x.count(REVIEW) for x in results)
        out.append(StepAccuracy(n, credited, counted))
    return out


def mistake_ranking(reports: Sequence[Report]) -> list[MistakeRank]:
    """The named mistakes made by at least one student, most students first (ties in the
    order they are looked for), with those students' names."""
    ranks = []
    for kind in MISTAKE_KINDS:
        who = tuple(
            r.answers.student or r.answers.source for r in reports if mistake_counts(r)[kind]
        )
        if who:
            ranks.append(MistakeRank(kind, MISTAKE_WORDS.get(kind, kind), who))
    order = {k: i for i, k in enumerate(MISTAKE_KINDS)}
    return sorted(ranks, key=lambda m: (-len(m.students), order[m.kind]))


def distribution(reports: Sequence[Report]) -> list[int]:
    """How many scores fall in each tenth: [0, 10), [10, 20), ..., [90, 100]."""
    out = [0] * BINS
    for r in reports:
        out[min(BINS - 1, int(r.score * BINS // 100))] += 1
    return out


def bar_chart(labels: Sequence[str], values: Sequence[float], top: float, unit: str = "",
              titles: Sequence[str] | None = None, label_width: int = 150) -> str:  # fmt: skip
    """A horizontal bar chart as SVG text: a bar per label, its value written beside it.
    Bars are dark grey on white with a black edge, so the chart reads the same in grey."""
    bar_h, gap, width = 16, 6, 260
    height = len(labels) * (bar_h + gap) + gap
    right = label_width + width + 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{right}" height="{height}" '
        f'viewBox="0 0 {right} {height}" role="img" font-family="Handcalc Sans, DejaVu Sans, '
        f'sans-serif" font-size="11">',
        f'<line x1="{label_width}" y1="0" x2="{label_width}" y2="{height}" stroke="#000"/>',
    ]
    for k, (label, value) in enumerate(zip(labels, values)):
        y = gap + k * (bar_h + gap)
        w = 0 if not top else width * value / top
        text = f"{value:.1f}{unit}" if isinstance(value, float) else f"{value}{unit}"
        tip = f"<title>{escape(titles[k])}</title>" if titles else ""
        parts += [
            f'<g>{tip}<text x="{label_width - 6}" y="{y + bar_h - 4}" text-anchor="end">'
            f"{escape(label)}</text>",
            f'<rect x="{label_width}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="#555" '
            'stroke="#000" stroke-width="0.8"/>',
            f'<text x="{label_width + w + 5:.1f}" y="{y + bar_h - 4}">{escape(text)}</text></g>',
        ]
    parts.append("</svg>")
    return "\n".join(parts)


def view(rows: Sequence, title: str = "Class report") -> ClassView:
    """The class report's view model from a class's gradebook rows (Reports, Missing
    students and failed files)."""
    reports = [r for r in rows if isinstance(r, Report)]
    missing = tuple(r.student for r in rows if isinstance(r, Missing))
    failed = tuple(
        f"{_failed(r).student or _failed(r).file}: {_failed(r).error}"
        for r in rows
        if not isinstance(r, (Report, Missing))
    )
    acc = step_accuracy(reports)
    ranks = mistake_ranking(reports)
    dist = distribution(reports)
    mean = f"; mean {sum(r.percent for r in reports) / len(reports):.1f} %" if reports else ""
    counts = (
        f"{len(reports)} graded, {len(missing)} missing, {len(failed)} failed{mean} "
        "over those graded"
    )
    bins = [f"{10 * k}–{10 * k + 10} %" for k in range(BINS)]
    return ClassView(
        title=title,
        counts=counts,
        accuracy=tuple(acc),
        mistakes=tuple(ranks),
        distribution=tuple(dist),
        missing=missing,
        failed=failed,
        accuracy_svg=bar_chart(
            [a.step for a in acc],
            [a.percent for a in acc],
            100.0,
            " %",
            [f"{a.credited} of {a.counted} cells" for a in acc],
            70,
        ),
        mistakes_svg=bar_chart(
            [m.words for m in ranks],
            [len(m.students) for m in ranks],
            max([len(reports), 1]),
            "",
            [", ".join(m.students) for m in ranks],
            250,
        )
        if ranks
        else "",
        distribution_svg=bar_chart(bins, dist, max([*dist, 1]), "", None, 80),
    )


def report_files(rows: Sequence, path: str) -> list[tuple[str, bytes]]:
    """The class report as HTML at `path` (".html" added when it has no suffix) and as a PDF
    beside it."""
    from . import render

    stem, ext = os.path.splitext(path)
    html_path = path if ext.lower() in (".html", ".htm") else path + ".html"
    stem = os.path.splitext(html_path)[0]
    html = render.render_class_report(view(rows))
    return [(html_path, html.encode("utf-8")), (stem + ".pdf", render.render_pdf(html))]
