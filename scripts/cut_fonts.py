"""Cut the sheet's own fonts, once, from the DejaVu fonts: run it again only to change them.

    python3 scripts/cut_fonts.py [DEJAVU_FOLDER] [--out FOLDER]
    (default: Debian's fonts-dejavu-core and fonts-dejavu-extra; out: templates/fonts)

Each face keeps the glyphs of RANGES and EXTRA below (Latin letters for names and titles,
digits, maths and punctuation; a test fails when a sheet needs one more), loses its hinting,
and is renamed: DejaVu's licence (Bitstream Vera's, kept in every font's name table and
written to templates/fonts/LICENSE.txt) lets modified fonts be shipped only under a new name,
so "DejaVu Sans" becomes "Handcalc Sans", "DejaVu Sans Condensed" "Handcalc Sans Condensed"
and "DejaVu Sans Mono" "Handcalc Mono". templates/fonts/fonts.css loads them for PDFs; text
outside these glyphs falls back to the system's fonts.

The output depends only on the input fonts: the same DejaVu release gives the same bytes.
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "templates" / "fonts"
SOURCE = Path("/usr/share/fonts/truetype/dejavu")

# shipped file <- DejaVu file
FACES = {
    "HandcalcSans.ttf": "DejaVuSans.ttf",
    "HandcalcSans-Bold.ttf": "DejaVuSans-Bold.ttf",
    "HandcalcSans-Oblique.ttf": "DejaVuSans-Oblique.ttf",
    "HandcalcSansCondensed.ttf": "DejaVuSansCondensed.ttf",
    "HandcalcSansCondensed-Bold.ttf": "DejaVuSansCondensed-Bold.ttf",
    "HandcalcMono.ttf": "DejaVuSansMono.ttf",
    "HandcalcMono-Bold.ttf": "DejaVuSansMono-Bold.ttf",
}

# Longest first: "DejaVu Sans Mono" must not become "Handcalc Sans Mono".
RENAMES = (
    ("DejaVu Sans Mono", "Handcalc Mono"),
    ("DejaVuSansMono", "HandcalcMono"),
    ("DejaVu Sans", "Handcalc Sans"),
    ("DejaVuSans", "HandcalcSans"),
)
# Name records that name the font (family, style, full and PostScript names); the copyright,
# vendor, URL and licence records stay as they are, as the licence asks.
NAME_IDS = (1, 3, 4, 6, 16, 17)

RANGES = (
    (0x20, 0x7E),  # ASCII
    (0xA0, 0x17F),  # Latin-1 and Latin Extended-A: most names written in Latin letters
    (0x218, 0x21B),  # Romanian comma-below letters
    (0x2B0, 0x2FF),  # modifier letters (the x of e^x)
    (0x391, 0x3C9),  # Greek letters, for formulas
    (0x1D2C, 0x1D6A),  # modifier letters (the T of K^T, subscript i)
    (0x2010, 0x2027),  # dashes, quotes, bullets, ellipsis
    (0x2030, 0x203A),  # per mille, primes, angle quotes
    (0x2070, 0x209C),  # superscripts and subscripts
    (0x2190, 0x2199),  # arrows
    (0x2200, 0x22FF),  # mathematical operators
)
# Signs the sheets and the interactive page use beyond those ranges.
EXTRA = "\u2713\u2717\u21aa\u25a0\u25a1"  # check mark, ballot x, hooked arrow, squares


def wanted_text() -> str:
    """Every character of RANGES and EXTRA."""
    chars = {chr(c) for lo, hi in RANGES for c in range(lo, hi + 1)}
    return "".join(sorted(chars | set(EXTRA)))


def renamed(text: str) -> str:
    for old, new in RENAMES:
        text = text.replace(old, new)
    return text


def cut(source: Path, target: Path, text: str) -> None:
    font = TTFont(source, recalcTimestamp=False)
    options = subset.Options()
    options.hinting = False
    options.drop_tables += ["FFTM", "MATH"]
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.ignore_missing_unicodes = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text)
    subsetter.subset(font)
    for record in font["name"].names:
        if record.nameID in NAME_IDS:
            record.string = renamed(record.toUnicode())
        elif record.nameID == 5:
            record.string = record.toUnicode() + "; cut for handcalc"
    leftover = [
        r.nameID for r in font["name"].names if r.nameID in NAME_IDS and "DejaVu" in r.toUnicode()
    ]
    if leftover:
        raise SystemExit(f"{target.name}: name records {leftover} still say DejaVu")
    font.save(target)


def main(argv: list[str]) -> None:
    out = OUT
    if "--out" in argv:
        at = argv.index("--out")
        out = Path(argv[at + 1])
        argv = argv[:at] + argv[at + 2 :]
    source = Path(argv[0]) if argv else SOURCE
    missing = [name for name in FACES.values() if not (source / name).is_file()]
    if missing:
        raise SystemExit(
            f"missing in {source}: {', '.join(missing)} (apt-get install fonts-dejavu-extra)"
        )
    out.mkdir(parents=True, exist_ok=True)
    text = wanted_text()
    for target, name in FACES.items():
        cut(source / name, out / target, text)
        print(f"{target:34} {(out / target).stat().st_size // 1024:>4} KiB  from {name}")
    licence = TTFont(source / FACES["HandcalcSans.ttf"])["name"].getDebugName(13)
    (out / "LICENSE.txt").write_text(
        "The fonts in this folder are cut down (fewer glyphs, no hinting) and renamed from the\n"
        "DejaVu fonts, as their licence allows for renamed fonts. Their licence, as it stands\n"
        "in every font file:\n\n" + licence.strip() + "\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    main(sys.argv[1:])
