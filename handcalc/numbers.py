"""Numbers as people write them and as the key prints them: exact fractions, never floats.

A decimal comma is read as a decimal point when the cell is one number with a single comma
between digits and nothing else that could be a separator ("0,5625", "-1,5", "12,25"). The
one form it could be confused with, a thousands separator, is refused rather than guessed:
a comma before exactly three digits after a non-zero whole part ("1,234", "-2,500"). The
interactive page's grader (templates/grading.js) reads cells by the same rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from .errors import AnswersError

_INT = re.compile(r"[+-]?\d+", re.ASCII)
_FRACTION = re.compile(r"([+-]?\d+)\s*/\s*([+-]?\d+)", re.ASCII)
_DECIMAL = re.compile(r"[+-]?(\d+\.\d*|\.\d+)", re.ASCII)
_DECIMAL_COMMA = re.compile(r"([+-]?)(\d+),(\d+)", re.ASCII)
_MINUS_SIGNS = str.maketrans({"\u2212": "-", "\u2013": "-", "\ufe63": "-", "\uff0d": "-"})


@dataclass(frozen=True)
class Written:
    """A number as a person wrote it: its value, and how many decimals it was given to.

    `places` is None for integers and fractions, which are exact; a decimal is only as
    precise as the places written, which is what the grading tolerance rests on.
    """

    value: Fraction
    places: int | None = None


def parse(text: str | int | float) -> Written | None:
    """Read one answer cell; None for a blank. Raises AnswersError for unreadable text."""
    if text is None:
        return None
    if isinstance(text, bool):
        raise AnswersError(f"cannot read {text!r} as a number")
    if isinstance(text, int):
        return Written(Fraction(text))
    if isinstance(text, float):
        if text != text or text in (float("inf"), float("-inf")):
            raise AnswersError(f"cannot read {text!r} as a number")
        return parse(repr(text))
    if not isinstance(text, str):
        raise AnswersError(f"cannot read {text!r} as a number")
    s = text.strip().translate(_MINUS_SIGNS).replace(" ", "")
    if s == "":
        return None
    if len(s) > 40:
        raise AnswersError(f"cannot read {text[:20]!r}… as a number (too long)")
    if _INT.fullmatch(s):
        return Written(Fraction(int(s)))
    m = _FRACTION.fullmatch(s)
    if m:
        den = int(m.group(2))
        if den == 0:
            raise AnswersError(f"cannot read {text!r}: division by zero")
        return Written(Fraction(int(m.group(1)), den))
    if _DECIMAL.fullmatch(s):
        try:
            d = Decimal(s)
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
            raise AnswersError(f"cannot read {text!r} as a number") from None
        places = len(s.split(".")[1])
        return Written(Fraction(d), places)
    m = _DECIMAL_COMMA.fullmatch(s)
    if m:
        sign, whole, part = m.groups()
        if len(part) == 3 and whole.strip("0"):
            raise AnswersError(
                f"cannot read {text!r}: the comma may separate thousands; "
                f"write {sign}{whole}.{part} or {sign}{whole}{part}"
            )
        return Written(Fraction(int(sign + whole + part), 10 ** len(part)), len(part))
    raise AnswersError(f"cannot read {text!r} as a number")


def to_json(x):
    """A rational as the contract wants it: an int when whole, else "p/q" in lowest terms."""
    if isinstance(x, Fraction):
        return x.numerator if x.denominator == 1 else f"{x.numerator}/{x.denominator}"
    return x


def text(x) -> str:
    """A rational for a person: "3", "-9/46"."""
    x = Fraction(x)
    return str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"


def decimal(x, places: int = 3) -> str:
    """A rational rounded half away from zero to `places` decimals, exactly (no float)."""
    x = Fraction(x)
    scaled = abs(x) * 10**places
    whole = int(scaled)
    if scaled - whole >= Fraction(1, 2):
        whole += 1
    sign = "-" if x < 0 and whole else ""
    digits = str(whole).rjust(places + 1, "0")
    return f"{sign}{digits[:-places]}.{digits[-places:]}" if places else f"{sign}{digits}"
