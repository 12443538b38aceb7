"""Run handcalc as if HarfBuzz's subsetter were missing, so WeasyPrint subsets fonts with
fontTools, its slow path: how tests/test_fonts.py and benchmarks/bench_sheets.py try it.

Usage (from anywhere):  python scripts/slow_subsetting.py COMMAND [ARGS ...]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import weasyprint.pdf.fonts as fonts  # noqa: E402

fonts.harfbuzz_subset = None

from handcalc.cli import main  # noqa: E402

main(sys.argv[1:])
