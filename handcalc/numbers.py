"""Numbers as people write them and as the key prints them: exact fractions, never floats.

Read as written: integers, fractions ("9/46"), decimals ("0.196", or with a decimal comma
"0,196"), mixed numbers ("7 1/3" = 22/3, "-2 1/2" = -5/2: a whole number, a space, a proper
fraction), vulgar fractions ("⅓", "2½") and powers of a whole number ("3^-1", "3^(-2)", "3⁻¹").
A cell that has more than one reading, or only a likely one, raises `Unclear` with its
readings: a comma before exactly three digits after a non-zero whole part ("4,222" is 4.222
or 4222) is left to the grader, which keeps the one reading that fits the step's range
(grading.py); the rest ("7 4/3", a full-width "３") go to the teacher as "needs review".
The interactive page's grader (templates/grading.js) reads cells by the same rules.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from .errors import AnswersError

_INT = re.compile(r"[+-]?\d+", re.ASCII)
_FRACTION = re.compile(r"([+-]?\d+)\s*/\s*([+-]?\d+)", re.ASCII)
_DECIMAL = re.compile(r"[+-]?(\d+\.\d*|\.\d+)", re.ASCII)
_DECIMAL_COMMA = re.compile(r"([+-]?)(\d+),(\d+)", re.ASCII)
_MINUS_SIGNS = str.maketrans(
    {"\u2212": "-", "\u2013": "-", "\ufe63": "-", "\uff0d": "-", "\u2044": "/", "\u2215": "/"}
)
_MIXED = re.compile(r"([+-]?)(\d+)[ ]+(\d+)[ ]*/[ ]*(\d+)", re.ASCII)
_VULGAR_CHARS = {
    "½": (1, 2), "⅓": (1, 3), "⅔": (2, 3), "¼": (1, 4), "¾": (3, 4), "⅕": (1, 5), "⅖": (2, 5),
    "⅗": (3, 5), "⅘": (4, 5), "⅙": (1, 6), "⅚": (5, 6), "⅐": (1, 7), "⅛": (1, 8), "⅜": (3, 8),
    "⅝": (5, 8), "⅞": (7, 8), "⅑": (1, 9), "⅒": (1, 10),
}  # fmt: skip
_VULGAR = re.compile(r"([+-]?)(\d*)([" + "".join(_VULGAR_CHARS) + "])", re.ASCII)
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
_POWER = re.compile(r"([+-]?)(\d+)(?:\^([+-]?\d+)|\^\(([+-]?\d+)\)|([⁻⁺]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+))", re.ASCII)
POWER_LIMIT = 60  # as steps.EXP_LIMIT: no exponent a student writes on this sheet is larger


@dataclass(frozen=True)
class Written:
    """A number as a person wrote it: its value, and how many decimals it was given to.

    `places` is None for integers and fractions, which are exact; a decimal is only as
    precise as the places written, which is what the grading tolerance rests on.
    """

    value: Fraction
    places: int | None = None


class Unclear(AnswersError):
    """A cell with more than one reading, or only a likely one.

    `readings` are what it may mean, likeliest first; `by_range` says the grader may pick
    the one reading that fits the step's range (a comma before three digits), else only a
    person decides (the first reading is then shown as the likely one)."""

    def __init__(self, message: str, readings: tuple[Written, ...], by_range: bool = False):
        super().__init__(message)
        self.readings = readings
        self.by_range = by_range


def _sign(sign: str, x: Fraction) -> Fraction:
    return -x if sign == "-" else x


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
    s = text.strip().translate(_MINUS_SIGNS)
    if s == "":
        return None
    if len(s) > 40:
        raise AnswersError(f"cannot read {text[:20]!r}… as a number (too long)")
    written = _special(s, text)
    if written is not None:
        return written
    try:
        return _plain(s.replace(" ", ""), text)
    except Unclear:
        raise
    except AnswersError:
        likely = _likely(text)
        if likely is None:
            raise
        raise Unclear(
            f"cannot read {text!r} as written; likely {likely_text(likely)}", (likely,)
        ) from None


def _special(s: str, text: str) -> Written | None:
    """The forms read before spaces are dropped: mixed numbers, vulgar fractions, powers."""
    m = _MIXED.fullmatch(s)
    if m:
        sign, whole, num, den = m.groups()
        if int(den) == 0:
            raise AnswersError(f"cannot read {text!r}: division by zero")
        value = _sign(sign, int(whole) + Fraction(int(num), int(den)))
        if int(num) >= int(den):
            raise Unclear(
                f"{text!r} is not a mixed number (the fraction is 1 or more); "
                f"likely {likely_text(Written(value))}",
                (Written(value),),
            )
        return Written(value)
    m = _VULGAR.fullmatch(s.replace(" ", ""))
    if m:
        sign, whole, char = m.groups()
        return Written(_sign(sign, int(whole or 0) + Fraction(*_VULGAR_CHARS[char])))
    m = _POWER.fullmatch(s.replace(" ", ""))
    if m:
        sign, base, up, bracketed, sup = m.groups()
        exponent = int(up or bracketed or sup.translate(_SUPERSCRIPTS))
        if abs(exponent) > POWER_LIMIT:
            raise AnswersError(f"cannot read {text!r}: the power is too large")
        if int(base) == 0 and exponent < 0:
            raise AnswersError(f"cannot read {text!r}: division by zero")
        return Written(_sign(sign, Fraction(int(base)) ** exponent))
    return None


def _plain(s: str, text: str) -> Written:
    """Integers, fractions and decimals, once spaces are dropped."""
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
        as_decimal = Written(Fraction(int(sign + whole + part), 10 ** len(part)), len(part))
        if len(part) == 3 and whole.strip("0"):
            raise Unclear(
                f"cannot read {text!r}: the comma may separate thousands; "
                f"write {sign}{whole}.{part} or {sign}{whole}{part}",
                (as_decimal, Written(Fraction(int(sign + whole + part)))),
                by_range=True,
            )
        return as_decimal
    raise AnswersError(f"cannot read {text!r} as a number")


def _likely(text: str) -> Written | None:
    """What a cell in unusual characters (a full-width "３", a superscript) likely says."""
    folded = unicodedata.normalize("NFKC", text)
    if folded == text or not folded.isascii():
        return None
    try:
        return parse(folded)
    except AnswersError:
        return None


def likely_text(w: Written) -> str:
    """A reading as the teacher would type it back (`check --accept`)."""
    if w.places is not None:
        return decimal(w.value, w.places)
    return text(w.value)


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
