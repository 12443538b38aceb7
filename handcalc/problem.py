"""What a problem is: its sizes and rules (Spec), its given matrices, its ID and its file.

A sheet's ID encodes the whole problem, so `--id` brings back the same numbers on any
machine and any numpy version; the seed alone cannot promise that.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from . import steps
from .errors import OptionError, ProblemFileError, echoed, quoted
from .files import read_text, shown

# Bounds that keep a drawn sheet workable by hand and its ID short; beyond them the option is
# absurd. A typed-in problem (--from) may be bigger, up to TYPED_LIMITS: published exercises
# run to 12 tokens, and the ID packs each size in 16 values (heads in 8).
LIMITS = {
    "tokens": (1, 10),
    "d_in": (1, 12),
    "d_k": (1, 8),
    "d_v": (1, 8),
    "heads": (1, 4),
    "queries": (1, 10),
    "kv_heads": (1, 4),
    "d_ff": (1, 8),
}
TYPED_LIMITS = {
    "tokens": (1, 16),
    "d_in": (1, 16),
    "d_k": (1, 16),
    "d_v": (1, 16),
    "heads": (1, 8),
    "queries": (1, 15),
    "kv_heads": (1, 8),
    "d_ff": (1, 16),
}
# What each size is called when a typed matrix is out of range: the matrix that shows it.
_SIZE_WORDS = {
    "tokens": "tokens",
    "d_in": "features per token (d_in)",
    "d_k": "query/key size (d_k)",
    "d_v": "value size (d_v)",
    "heads": "heads",
    "queries": "queries",
    "d_ff": "hidden features (d_ff)",
}
ENTRY_LIMIT = 60
CONVENTIONS = ("columns", "rows")
# Seeds are whole numbers from 0 to MAX_SEED: more digits draw nothing new, and a seed is
# printed on every sheet.
MAX_SEED = 10**18 - 1


def check_seed(seed, what: str = "--seed") -> int:
    """A seed as a whole number in range (never True or 3.0), or a one-line OptionError."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise OptionError(f"{what} must be a whole number of at least 0, not {echoed(seed)}")
    if seed > MAX_SEED:
        raise OptionError(f"{what} must be at most {MAX_SEED} (18 digits), not {echoed(seed)}")
    return seed


def whole(x, what: str, error: type[Exception], lo: int, hi: int) -> int:
    """A number that must be a whole number from `lo` to `hi`, whatever its JSON type: 3 and
    3.0 are 3; True, 2.5, NaN, 1e15 and 100.0 (out of range) are one-line errors."""
    if isinstance(x, float) and x.is_integer():
        x = int(x)
    if isinstance(x, bool) or not isinstance(x, int):
        shown = quoted(x) if isinstance(x, str) else echoed(x)
        raise error(f"{what} holds {shown}; entries must be integers (whole numbers)")
    if not lo <= x <= hi:
        raise error(f"{what} holds {echoed(x)}; entries must lie within ±{hi} for hand work")
    return x


@dataclass(frozen=True)
class Level:
    """A named preset of sizes and value ranges."""

    name: str
    tokens: int
    d_in: int
    d_k: int
    x_range: tuple[int, int]
    w_range: tuple[int, int]
    about: str


LEVELS = {
    "easy": Level("easy", 3, 4, 2, (0, 1), (0, 1), "3 tokens, d_in 4, d_k 2, entries 0 and 1"),
    "classic": Level("classic", 4, 6, 3, (0, 1), (-1, 1), "4 tokens, d_in 6, d_k 3"),
    "hard": Level("hard", 5, 5, 3, (-1, 1), (-1, 1), "5 tokens, d_in 5, d_k 3, negative inputs"),
}


@dataclass(frozen=True)
class Spec:
    """Sizes, value ranges and rules: everything about a problem except its numbers."""

    tokens: int = 4
    d_in: int = 6
    d_k: int = 3
    d_v: int | None = None
    heads: int = 1
    convention: str = "columns"
    causal: bool = False
    rounding: str = "floor"
    x_range: tuple[int, int] = (0, 1)
    w_range: tuple[int, int] = (-1, 1)
    level: str = "classic"
    queries: int | None = None
    kv_heads: int | None = None
    output_projection: bool = True
    given_steps: tuple[str, ...] = ()
    decode: bool = False
    rope: bool = False
    block: bool = False
    d_ff: int | None = None

    def __post_init__(self):
        if self.d_v is None:
            object.__setattr__(self, "d_v", self.d_k)
        if self.block and self.d_ff is None:
            object.__setattr__(self, "d_ff", DEFAULT_D_FF)
        if not self.block and self.d_ff is not None:
            raise OptionError("--d-ff sizes the block's hidden layer; add --block")
        if self.kv_heads is not None and self.kv_heads == self.heads:
            object.__setattr__(self, "kv_heads", None)  # a key/value head each: plain heads
        for name, (lo, hi) in TYPED_LIMITS.items():
            value = getattr(self, name)
            if value is None:
                continue
            if not isinstance(value, int) or not lo <= value <= hi:
                _size_error(name, value, LIMITS[name])
        # --given is checked when the exercise is built: a typed problem's heads come later
        object.__setattr__(self, "given_steps", tuple(self.given_steps))
        self._check_form()
        if self.convention not in CONVENTIONS:
            raise OptionError(f"--convention must be one of {', '.join(CONVENTIONS)}")
        if self.rounding not in steps.ROUNDINGS:
            raise OptionError(f"--rounding must be one of {', '.join(steps.ROUNDINGS)}")
        for flag, (lo, hi) in (("--x-range", self.x_range), ("--w-range", self.w_range)):
            if lo > hi:
                raise OptionError(f"{flag} {lo}:{hi} is empty (the low end is above the high end)")
            if max(abs(lo), abs(hi)) > 9:
                raise OptionError(f"{flag} {lo}:{hi} is too wide for hand work (keep within -9:9)")

    def _check_form(self) -> None:
        shapes = [
            flag
            for flag, on in (
                ("--queries", self.queries is not None),
                ("--kv-heads", self.kv_heads is not None),
                ("--decode", self.decode),
            )
            if on
        ]
        if len(shapes) > 1:
            raise OptionError(f"{' and '.join(shapes)} make different exercises; pick one")
        if self.decode:
            if self.heads != 1:
                raise OptionError("--decode works one head; drop --heads")
            if self.causal:
                raise OptionError(
                    "--causal does not apply to a decode step: its one query is the newest "
                    "token, which sees every cached key anyway"
                )
            if self.tokens < 2:
                raise OptionError(
                    "--decode needs --tokens of at least 2: the cached tokens and the new one"
                )
        if self.rope and self.form == "cross":
            raise OptionError(
                "--rope does not apply to --queries: positions in Xq and in X count along two "
                "different sequences, so their distance means nothing (models turn "
                "self-attention's queries and keys, not cross-attention's)"
            )
        if self.rope and self.decode and (self.tokens - 1) % 4 == 0:
            raise OptionError(
                f"--rope --decode puts the new token at m = {self.tokens - 1}, and "
                f"{self.tokens - 1} quarter turns bring a pair back where it started (qr = q): "
                "take a number of tokens other than 5, 9 or 13"
            )
        if self.rope and self.d_k % 2:
            raise OptionError(
                f"--rope turns pairs of dimensions, so --d-k must be even, not {self.d_k}"
            )
        self._check_block()
        if self.queries is not None and self.causal:
            raise OptionError(
                "--causal does not apply to cross-attention: the queries come from Xq, not from "
                "X's sequence, so every query sees every key"
            )
        if self.kv_heads is not None and self.heads % self.kv_heads:
            raise OptionError(
                f"--kv-heads {self.kv_heads} must divide --heads {self.heads} "
                "(each key/value head serves the same number of query heads)"
            )

    def _check_block(self) -> None:
        """The block adds attention's output to X, so that output must have X's shape."""
        if not self.block:
            return
        if self.form in ("cross", "decode"):
            flag = "--queries" if self.form == "cross" else "--decode"
            raise OptionError(
                f"--block goes on after self-attention (with or without heads), not {flag}"
            )
        if self.heads > 1 and not self.output_projection:
            raise OptionError(
                "--block adds the heads' output O = WO·Zcat to X; drop --no-output-projection"
            )
        if self.heads == 1 and self.d_v != self.d_in:
            raise OptionError(
                f"--block adds Z to X, so one head needs --d-v equal to --d-in ({self.d_in}), "
                f"not {self.d_v}"
            )

    def check_drawable(self) -> None:
        """A drawn sheet keeps the tighter LIMITS (typed problems may go to TYPED_LIMITS)."""
        for name, (lo, hi) in LIMITS.items():
            value = getattr(self, name)
            if value is not None and not lo <= value <= hi:
                _size_error(name, value, (lo, hi))
        if self.block and min(self.x_range) >= 0 and min(self.w_range) >= 0:
            raise OptionError(
                f"--block draws need negative weights, else F is never negative and ReLU has "
                f"nothing to zero: widen --w-range {self.w_range[0]}:{self.w_range[1]} "
                "(e.g. -1:1)"
            )

    @property
    def form(self) -> str:
        if self.queries is not None:
            return "cross"
        if self.decode:
            return "decode"
        return "grouped" if self.kv_heads is not None else "self"

    def exercise(self) -> steps.Exercise:
        ex = self._table()
        if not self.given_steps:
            return ex
        try:
            return steps.with_shown(ex, self.given_steps)
        except ValueError as e:
            raise OptionError(str(e)) from None

    def _table(self) -> steps.Exercise:
        if self.form == "decode":
            return steps.build_decode(
                self.tokens, self.d_in, self.d_k, self.d_v, self.convention, self.rounding,
                rope=self.rope,
            )
        if self.form == "cross":
            return steps.build_cross(
                self.tokens,
                self.queries,
                self.d_in,
                self.d_k,
                self.d_v,
                self.heads,
                self.convention,
                self.rounding,
                output_projection=self.output_projection,
            )
        if self.form == "grouped":
            return steps.build_grouped(
                self.tokens,
                self.d_in,
                self.d_k,
                self.d_v,
                self.heads,
                self.kv_heads,
                self.convention,
                self.causal,
                self.rounding,
                output_projection=self.output_projection,
                rope=self.rope,
                d_ff=self.d_ff or 0,
            )
        return steps.build(
            self.tokens,
            self.d_in,
            self.d_k,
            self.d_v,
            self.heads,
            self.convention,
            self.causal,
            self.rounding,
            output_projection=self.output_projection,
            rope=self.rope,
            d_ff=self.d_ff or 0,
        )

    def rules_text(self) -> list[str]:
        """The rules this sheet uses, in words, printed on its first page (and the key's)."""
        cols = self.convention == "columns"
        half = (
            f"scaling: floor(S/2) stands in for S/√{self.d_k}; floor rounds down, below zero "
            "too: floor(-1/2) = -1, floor(-3/2) = -2"
            if self.rounding == "floor"
            else f"scaling: S/2 rounded toward zero stands in for S/√{self.d_k} (this sheet "
            "rounds toward zero, not down): -1/2 becomes 0, -3/2 becomes -1"
        )
        rules = [
            "tokens are " + ("columns" if cols else "rows"),
            half,
            "softmax numerator: 3^x stands in for e^x; 3^-1 = 1/3, 3^-2 = 1/9",
            "each " + ("column" if cols else "row") + " of A sums to 1",
        ]
        if self.causal:
            rules.append("causal mask: a token attends only to itself and earlier tokens")
        if self.rope and self.decode:
            rules.append(
                f"rotary positions: the new token is m = {self.tokens - 1} (the first is m = 0): "
                f"qr = R·q and kr = R·k turn it {self.tokens - 1} quarter turns in each pair of "
                "dimensions (1,2), (3,4), …: (a, b) becomes (−b, a) per turn; the cache holds "
                "each earlier key turned at its own position"
            )
        elif self.rope:
            rules.append(
                "rotary positions: Qr = R·Q and Kr = R·K turn token m (the first is m = 0) m "
                "quarter turns in each pair of dimensions (1,2), (3,4), …: (a, b) becomes (−b, a) "
                "per turn"
            )
        if self.form == "cross":
            rules.append(
                f"cross-attention: {self.queries} queries from Xq attend to the {self.tokens} "
                "tokens of X (keys and values); no mask, every query sees every key"
            )
        if self.form == "decode":
            rules.append(
                f"decode step: the cache holds K and V of the {self.tokens - 1} earlier tokens; "
                "the new token x adds one "
                + ("column" if cols else "row")
                + " to each, and its one query scores every key"
            )
        if self.heads > 1 and self.output_projection:
            rules.append(f"{self.heads} heads, concatenated, then the output projection WO")
        elif self.heads > 1:
            rules.append(f"{self.heads} heads, concatenated (no output projection)")
        if self.form == "grouped":
            per = self.heads // self.kv_heads
            shared = (
                "one key/value head (multi-query)"
                if self.kv_heads == 1
                else (f"{self.kv_heads} key/value heads, each serving {per} query heads")
            )
            rules.append(f"grouped heads: {self.heads} query heads share {shared}")
        if self.block:
            zo = "Z" if self.heads == 1 else "O"
            f, y = ("W1·R1", "W2·H") if cols else ("R1·W1", "H·W2")
            rules.append(
                f"the block: R1 = X + {zo}, F = {f} + b1 (b1 added to every token), "
                f"H = ReLU(F) = max(F, 0), Y = {y} + b2, R2 = R1 + Y; " + BLOCK_NO_NORM
            )
        if self.given_steps:
            shown = self.exercise().shown_in_order()
            rules.append(f"given, not graded: {', '.join(shown)}")
        return rules

    @classmethod
    def for_level(cls, level: str, **overrides) -> Spec:
        if level not in LEVELS:
            raise OptionError(f"--level must be one of {', '.join(LEVELS)}")
        lv = LEVELS[level]
        base = dict(
            tokens=lv.tokens, d_in=lv.d_in, d_k=lv.d_k, x_range=lv.x_range, w_range=lv.w_range
        )
        base.update({k: v for k, v in overrides.items() if v is not None})
        if base.get("rope") and overrides.get("d_k") is None and base["d_k"] % 2:
            base["d_k"] -= 1  # rotary positions turn pairs: an odd level size drops to even
        if base.get("block") and overrides.get("d_in") is None:
            base["d_in"] = min(base["d_in"], BLOCK_D_IN)
        if base.get("block") and overrides.get("d_v") is None and (base.get("heads") or 1) == 1:
            base["d_v"] = base["d_in"]  # one head's Z is added to X, so it has X's features
        spec = cls(level=level, **base)
        spec.check_drawable()
        return spec


# The block's default sizes: four features a token (at most; one head's d_v follows it) and
# two hidden features keep a block sheet to two pages and its key to four on A4 and letter
# (six features: five on letter); the README's hand-friendly numbers give the stress figures.
DEFAULT_D_FF = 2
BLOCK_D_IN = 4
BLOCK_NO_NORM = (
    "no LayerNorm (its square roots are not hand-friendly; the key's exact track shows what it "
    "would give)"
)


def _size_error(name: str, value, bounds: tuple[int, int]):
    lo, hi = bounds
    flag = "--" + name.replace("_", "-")
    raise OptionError(f"{flag} must be a whole number from {lo} to {hi}, not {value}")


@dataclass(frozen=True)
class Problem:
    """A spec and its given matrices (rows of integers). The seed is kept for the record."""

    spec: Spec
    given: Mapping[str, tuple[tuple[int, ...], ...]]
    seed: int | None = None
    exercise: steps.Exercise = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        ex = self.spec.exercise()
        object.__setattr__(self, "exercise", ex)
        given = {}
        for s in ex.given:
            if s.name not in self.given:
                raise ProblemFileError(f"the problem has no {s.name} matrix")
            check = _check_vector if s.is_vector else _check_matrix
            given[s.name] = check(s.name, self.given[s.name], s.shape)
        extra = set(self.given) - set(given)
        if extra:
            raise ProblemFileError(f"unexpected matrix {echoed(sorted(extra)[0])} in the problem")
        object.__setattr__(self, "given", given)

    @property
    def id(self) -> str:
        """The full ID: the whole problem, kept by answers files, forms and manifests."""
        return encode_id(self)

    @property
    def sheet_id(self) -> str:
        """The ID a sheet prints: the full ID when it fits one footer line, else a short one."""
        return printed_id(self)

    def to_json(self) -> dict:
        """Matrices as lists of rows; a bias (b1, b2) as a flat list."""
        return {
            name: list(m) if self.exercise[name].is_vector else [list(row) for row in m]
            for name, m in self.given.items()
        }

    def file_json(self) -> dict:
        """The problem file: the matrices, and `"rope": true` for a sheet with rotary
        positions, which no matrix shows (so `--from` brings the same exercise back)."""
        return {**self.to_json(), "rope": True} if self.spec.rope else self.to_json()


def _check_matrix(name: str, m, shape: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
    if not isinstance(m, (list, tuple)) or not m:
        raise ProblemFileError(f"{name} must be a list of rows")
    if not all(isinstance(r, (list, tuple)) for r in m):
        raise ProblemFileError(f"{name} must be a list of rows (lists of integers)")
    widths = {len(r) for r in m}
    if len(widths) != 1:
        raise ProblemFileError(f"{name} has ragged rows (lengths {sorted(widths)})")
    got = (len(m), len(m[0]))
    if got != tuple(shape):
        raise ProblemFileError(
            f"{name} is {got[0]}×{got[1]} but must be {shape[0]}×{shape[1]} for these sizes"
        )
    return tuple(
        tuple(whole(x, name, ProblemFileError, -ENTRY_LIMIT, ENTRY_LIMIT) for x in r) for r in m
    )


def _check_vector(name: str, v, shape: tuple[int, ...]) -> tuple[int, ...]:
    if not isinstance(v, (list, tuple)) or not v or any(isinstance(x, (list, tuple)) for x in v):
        raise ProblemFileError(f"{name} must be a flat list of integers, one per row")
    if len(v) != shape[0]:
        raise ProblemFileError(
            f"{name} has {len(v)} {'entry' if len(v) == 1 else 'entries'} but must have "
            f"{shape[0]} for these sizes"
        )
    return tuple(whole(x, name, ProblemFileError, -ENTRY_LIMIT, ENTRY_LIMIT) for x in v)


def from_matrices(data: Mapping, spec: Spec | None = None, seed: int | None = None) -> Problem:
    """A problem from a teacher's own matrices; sizes are read off their shapes."""
    spec = spec or Spec()
    if not isinstance(data, Mapping):
        raise ProblemFileError("a problem file must be a JSON object of matrices")
    if "rope" in data:
        if not isinstance(data["rope"], bool):
            raise ProblemFileError(f'"rope" must be true or false, not {echoed(data["rope"])}')
        spec = replace(spec, d_k=2, rope=spec.rope or data["rope"])  # d_k is read off WQ below
        data = {k: v for k, v in data.items() if k != "rope"}
    if "x" in data or "Kcache" in data:
        return _decode_from_matrices(data, spec, seed)
    if "X" not in data:
        raise ProblemFileError("the problem has no X matrix")
    heads = 1
    while f"WQ{heads + 1}" in data:
        heads += 1
    if heads == 1 and "WQ1" in data:
        raise ProblemFileError("a multi-head problem needs WQ1 and WQ2 at least")
    kv_heads = _kv_heads(data, heads)
    wq = "WQ" if heads == 1 else "WQ1"
    wv = "WV1" if heads > 1 and kv_heads is None else "WV" if kv_heads in (None, 1) else "WVa"
    for name in ("X", wq, wv):
        if name not in data:
            raise ProblemFileError(f"the problem has no {name} matrix")
        _check_rows(name, data[name])
    x, q, v = data["X"], data[wq], data[wv]
    cols = spec.convention == "columns"
    d_in, tokens = (len(x), len(x[0])) if cols else (len(x[0]), len(x))
    d_k = len(q) if cols else len(q[0])
    d_v = len(v) if cols else len(v[0])
    queries = None
    if "Xq" in data:
        _check_rows("Xq", data["Xq"])
        queries = len(data["Xq"][0]) if cols else len(data["Xq"])
    sizes = {"tokens": tokens, "d_in": d_in, "d_k": d_k, "d_v": d_v, "heads": heads}
    shown_by = {"tokens": "X", "d_in": "X", "d_k": wq, "d_v": wv, "heads": "WQ1…", "queries": "Xq"}
    checked = {**sizes, "queries": queries} if queries is not None else sizes
    block = {}
    if "W1" in data or spec.block:
        if "W1" not in data:
            raise ProblemFileError("the problem has no W1 matrix (the block's first layer)")
        _check_rows("W1", data["W1"])
        d_ff = len(data["W1"]) if cols else len(data["W1"][0])
        block = {"block": True, "d_ff": d_ff}
        checked = {**checked, "d_ff": d_ff}
        shown_by = {**shown_by, "d_ff": "W1"}
        if heads == 1 and d_v != d_in:
            raise ProblemFileError(
                f"{wv} makes values of {d_v} entries, but the block adds Z to X's {d_in} "
                "features: one head needs d_v = d_in"
            )
    _check_typed_sizes(data, checked, shown_by)
    if spec.rope and d_k % 2:
        raise ProblemFileError(
            f"{wq} makes queries of {d_k} entries: rotary positions turn pairs, so d_k must be even"
        )
    try:
        sized = replace(
            spec,
            **sizes,
            queries=queries,
            kv_heads=kv_heads,
            output_projection=heads == 1 or "WO" in data,
            **block,
        )
    except OptionError as e:
        if "must be a whole number" not in str(e):
            raise
        raise ProblemFileError(f"the problem's sizes are out of range: {e}") from None
    return Problem(sized, {k: v for k, v in data.items()}, seed)


def _check_typed_sizes(data: Mapping, sizes: dict, shown_by: dict) -> None:
    """A typed size out of range, named by the matrix that shows it, never by a flag."""
    for name, value in sizes.items():
        lo, hi = TYPED_LIMITS[name]
        if not lo <= value <= hi:
            m = data.get(shown_by[name]) if name != "heads" else None
            where = f"{shown_by[name]} is {len(m)}×{len(m[0])}:" if m else "the problem has"
            raise ProblemFileError(
                f"{where} {value} {_SIZE_WORDS[name]}, but a typed problem has {lo} to {hi}"
            )


def _decode_from_matrices(data: Mapping, spec: Spec, seed: int | None) -> Problem:
    """A decode step's file: the new token x, the weights and the two caches."""
    for name in ("x", "WQ", "WV", "Kcache"):
        if name not in data:
            raise ProblemFileError(f"the problem has no {name} matrix (a decode step)")
        _check_rows(name, data[name])
    cols = spec.convention == "columns"
    x, q, v, kc = data["x"], data["WQ"], data["WV"], data["Kcache"]
    d_in = len(x) if cols else len(x[0])
    cached = len(kc[0]) if cols else len(kc)
    d_k = len(q) if cols else len(q[0])
    d_v = len(v) if cols else len(v[0])
    _check_typed_sizes(
        data,
        {"tokens": cached + 1, "d_in": d_in, "d_k": d_k, "d_v": d_v},
        {"tokens": "Kcache", "d_in": "x", "d_k": "WQ", "d_v": "WV"},
    )
    if spec.rope and d_k % 2:
        raise ProblemFileError(
            f"WQ makes queries of {d_k} entries: rotary positions turn pairs, so d_k must be even"
        )
    try:
        sized = replace(spec, tokens=cached + 1, d_in=d_in, d_k=d_k, d_v=d_v, heads=1, decode=True)
    except OptionError as e:
        if "must be a whole number" not in str(e):
            raise
        raise ProblemFileError(f"the problem's sizes are out of range: {e}") from None
    return Problem(sized, dict(data), seed)


def _kv_heads(data: Mapping, heads: int) -> int | None:
    """Key/value heads shared by query heads: one WK (multi-query) or WKa, WKb…; None when
    every head has its own (WK1, WK2…)."""
    if heads == 1 or "WK1" in data:
        return None
    if "WK" in data:
        return 1
    g = 0
    while f"WK{steps.kv_suffix(g + 1, 8)}" in data:
        g += 1
    return g or None


def _check_rows(name, m) -> None:
    if not isinstance(m, list) or not m or not all(isinstance(r, list) and r for r in m):
        raise ProblemFileError(f"{name} must be a non-empty list of non-empty rows")


def load(path) -> dict:
    """Read a problem file's JSON, with one-line errors for every way it can be wrong."""
    text = read_text(path, "problem file", ProblemFileError)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ProblemFileError(
            f"problem file {shown(path)} is not valid JSON (line {e.lineno}: {e.msg})"
        ) from None
    except (ValueError, RecursionError):  # a 5,000-digit number, nesting thousands deep
        raise ProblemFileError(
            f"problem file {shown(path)} is not a problem (numbers or nesting too big)"
        ) from None


# --- sheet IDs -----------------------------------------------------------------------------
# An ID is one big number written in Crockford's base 32: a mixed-radix packing of the spec
# (rules, sizes) and every given entry, then two check characters against typos.

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_VERSION = 1
# Version 2 is a shape beyond self-attention: its extra fields (queries of cross-attention,
# shared key/value heads; 0 for none) sit between the entries and the version-1 header, so
# every version-1 ID reads as before.
_SHAPED = 2
_EXTRA_RADICES = (16, 16)
# Version 3 adds, below the entries, one bit per worked step (given in a drill or not),
# whether a multi-head problem has WO and whether it is a decode step, then version 2's two
# fields (0 for self-attention).
_DRILLED = 3
_MAX_ID_CHARS = 20_000
# Version 4 is a decode step: the version-1 header says it all (one head, its sizes).
_DECODE = 4
# Version 5 turns by position or goes on past attention: version 3's fields, then (with the
# block) its hidden size d_ff, then one bit each for --rope and --block.
_EXTENDED = 5
_D_FF_RADIX = 16


def _options(spec: Spec) -> tuple[int, int]:
    """The version-5 bits, most significant first: rotary positions, the whole block."""
    return int(spec.rope), int(spec.block)


def _pack_options(n: int, bits) -> int:
    """n with the version-5 bits appended below it (full and short IDs alike)."""
    for bit in bits:
        n = n * 2 + bit
    return n


def _unpack_options(n: int) -> tuple[int, list[int]]:
    """What is left of n, and the version-5 bits read off its bottom (full and short IDs
    alike). An ID with none of them set was written without them: the callers refuse it."""
    bits = [0] * len(_options(Spec()))
    for i in reversed(range(len(bits))):
        n, bits[i] = divmod(n, 2)
    return n, bits


def _drilled(problem: Problem) -> bool:
    return (
        bool(problem.exercise.shown)
        or not problem.spec.output_projection
        or any(_options(problem.spec))
    )


_HEADER_RADICES = (8, 2, 2, 2, 8, 16, 16, 16, 16, 2 * ENTRY_LIMIT + 1, 2 * ENTRY_LIMIT + 1)


def _header(problem: Problem, lo: int, hi: int) -> tuple[int, ...]:
    sp = problem.spec
    return (
        _EXTENDED
        if any(_options(sp))
        else _DRILLED
        if _drilled(problem)
        else {"self": _VERSION, "decode": _DECODE}.get(sp.form, _SHAPED),
        CONVENTIONS.index(sp.convention),
        int(sp.causal),
        steps.ROUNDINGS.index(sp.rounding),
        sp.heads - 1,
        sp.tokens - 1,
        sp.d_in - 1,
        sp.d_k - 1,
        sp.d_v - 1,
        lo + ENTRY_LIMIT,
        hi - lo,
    )


def _flat(m, step: steps.Step) -> list[int]:
    return list(m) if step.is_vector else [x for row in m for x in row]


def encode_id(problem: Problem) -> str:
    """The entries go in first (most significant), the header last, so decoding reads the
    header off the bottom and then knows how many entries follow."""
    entries = [x for name, m in problem.given.items() for x in _flat(m, problem.exercise[name])]
    lo, hi = min(entries), max(entries)
    n = 1  # a leading 1 keeps leading zero entries
    for x in entries:
        n = n * (hi - lo + 1) + (x - lo)
    if _drilled(problem):
        ex = problem.exercise
        for s in ex.worked:
            n = n * 2 + (s.name in ex.shown)
        n = n * 2 + int(problem.spec.output_projection)
        n = n * 2 + int(problem.spec.decode)
    if problem.spec.form in ("cross", "grouped") or _drilled(problem):
        extras = (problem.spec.queries or 0, problem.spec.kv_heads or 0)
        for value, radix in zip(extras, _EXTRA_RADICES):
            n = n * radix + value
    if problem.spec.block:
        n = n * _D_FF_RADIX + problem.spec.d_ff - 1
    if any(_options(problem.spec)):
        n = _pack_options(n, _options(problem.spec))
    for value, radix in zip(_header(problem, lo, hi), _HEADER_RADICES):
        n = n * radix + value
    body = ""
    while n:
        n, d = divmod(n, 32)
        body = _ALPHABET[d] + body
    check = zlib.crc32(body.encode()) % 1024
    text = body + _ALPHABET[check // 32] + _ALPHABET[check % 32]
    return "-".join(text[i : i + 5] for i in range(0, len(text), 5))


def decode_id(text: str, redraw: Callable[[Spec, int], Problem] | None = None) -> Problem:
    """The problem an ID stands for; a one-line error for a mistyped or foreign ID. A short ID
    of a drawn sheet needs `redraw` (draw.from_id passes the drawing; this module has no RNG)."""
    clean = _clean(text)
    try:
        return _decode_full(text, clean)
    except ProblemFileError:
        short = read_short_id(clean)
        if short is None:
            raise
    if short.kind == _TYPED:
        raise ProblemFileError(
            f"sheet ID {quoted(text)} names a typed problem too big for an ID: give its problem file "
            "with --from (its answers files and filled forms carry the full ID)"
        )
    if redraw is None:
        raise ProblemFileError(
            f"sheet ID {quoted(text)} is a drawn sheet's short ID; here only a full ID will do"
        )
    return redrawn(text, short, redraw(short.spec, short.seed))


def _decode_full(text: str, clean: str) -> Problem:
    bad = ProblemFileError(f"{quoted(text)} is not a handcalc sheet ID")
    if len(clean) < 4 or len(clean) > _MAX_ID_CHARS or any(c not in _ALPHABET for c in clean):
        raise bad
    body, check = clean[:-2], clean[-2:]
    want = zlib.crc32(body.encode()) % 1024
    if check != _ALPHABET[want // 32] + _ALPHABET[want % 32]:
        raise ProblemFileError(f"sheet ID {quoted(text)} does not check out (a typo?)")
    n = 0
    for c in body:
        n = n * 32 + _ALPHABET.index(c)
    header = []
    for radix in reversed(_HEADER_RADICES):
        n, value = divmod(n, radix)
        header.append(value)
    (version, conv, causal, rounding, heads, tokens, d_in, d_k, d_v, lo, span) = header[::-1]
    if version not in (_VERSION, _SHAPED, _DRILLED, _DECODE, _EXTENDED):
        raise bad
    options = [0, 0]
    if version == _EXTENDED:
        n, options = _unpack_options(n)
        if not any(options):
            raise bad
    d_ff = None
    if options[1]:
        n, d_ff = divmod(n, _D_FF_RADIX)
        d_ff += 1
    extras = [0, 0]
    if version in (_SHAPED, _DRILLED, _EXTENDED):
        for i in reversed(range(len(_EXTRA_RADICES))):
            n, extras[i] = divmod(n, _EXTRA_RADICES[i])
        if version == _SHAPED and not any(extras):
            raise bad
    wo, decode = 1, int(version == _DECODE)
    if version in (_DRILLED, _EXTENDED):
        n, decode = divmod(n, 2)
        n, wo = divmod(n, 2)
    lo -= ENTRY_LIMIT
    try:
        spec = Spec(
            queries=extras[0] or None,
            kv_heads=extras[1] or None,
            decode=bool(decode),
            tokens=tokens + 1,
            d_in=d_in + 1,
            d_k=d_k + 1,
            d_v=d_v + 1,
            heads=heads + 1,
            convention=CONVENTIONS[conv],
            causal=bool(causal),
            rounding=steps.ROUNDINGS[rounding],
            output_projection=bool(wo) or heads == 0,
            **_option_fields(options, d_ff),
        )
        if version in (_DRILLED, _EXTENDED):
            worked = spec.exercise().worked
            bits = []
            for _ in worked:
                n, bit = divmod(n, 2)
                bits.append(bit)
            shown = tuple(s.name for s, bit in zip(worked, reversed(bits)) if bit)
            spec = replace(spec, given_steps=shown)
        exercise = spec.exercise()
    except OptionError:
        raise bad from None
    shapes = [(s.rows, s.cols or 1) for s in exercise.given]
    count = sum(r * c for r, c in shapes)
    entries = []
    for _ in range(count):
        n, value = divmod(n, span + 1)
        entries.append(value + lo)
    if n != 1:
        raise bad
    entries.reverse()
    if max(entries, default=0) > ENTRY_LIMIT:  # the header allows more than a file may hold
        raise bad
    given, at = {}, 0
    for s, (r, c) in zip(exercise.given, shapes):
        given[s.name] = [entries[at + i * c : at + (i + 1) * c] for i in range(r)]
        if s.is_vector:
            given[s.name] = [row[0] for row in given[s.name]]
        at += r * c
    return Problem(spec, given)


def _option_fields(bits, d_ff: int | None) -> dict:
    """Spec fields from the version-5 bits (only those set, so a Spec without them reads)."""
    out = {"rope": True} if bits[0] else {}
    if bits[1]:
        out.update(block=True, d_ff=d_ff)
    return out


# --- short sheet IDs -----------------------------------------------------------------------
# A full ID grows with the problem (130 characters for four heads, thousands for the biggest
# typed problem), too long for a footer line or for a person to retype. A sheet whose full ID
# is longer than PRINTED_LIMIT symbols prints a short ID instead:
#   - a drawn sheet: its spec, its seed and a digest of its full ID. `--id` draws the seed
#     again and compares the digest, so a numpy whose stream has changed fails loudly instead
#     of bringing back different numbers;
#   - a typed sheet (no seed): a digest of its full ID alone, which names the problem but
#     cannot bring it back: its problem file (--from) does, and answers files and filled forms
#     carry the full ID.
# Short IDs use their own check, a weighted sum modulo the prime 1021 in which every symbol
# has its own weight: it catches every single mistyped symbol and every swap of two symbols,
# which a full ID's CRC catches only with odds of 1023 in 1024.

PRINTED_LIMIT = 40  # symbols (eight groups of five): a classic sheet keeps its full ID
_CHECK_PRIME = 1021
_SEEDED, _TYPED = 0, 1
_SEEDED_EXT = 2  # a seeded draw with --rope or --block: two more bits below the digest
_KINDS = 4  # one spare kind for later formats
_SEEDED_DIGEST_BITS = 20  # one in a million that a changed stream goes unnoticed
_TYPED_DIGEST_BITS = 40
_RANGE_RADIX = 19  # -9…9, Spec's bound on --x-range/--w-range


@dataclass(frozen=True)
class ShortId:
    """What a short ID says: a seeded draw (spec, seed) or a typed problem, by digest."""

    kind: int
    digest: int
    spec: Spec | None = None
    seed: int | None = None


def _digest(full_id: str, bits: int) -> int:
    raw = hashlib.sha256(full_id.encode()).digest()
    return int.from_bytes(raw[:8], "big") >> (64 - bits)


def _spec_fields(sp: Spec) -> list[tuple[int, int]]:
    """(value, radix) of every spec field a draw depends on, least significant first."""
    return [
        (CONVENTIONS.index(sp.convention), 2),
        (int(sp.causal), 2),
        (steps.ROUNDINGS.index(sp.rounding), len(steps.ROUNDINGS)),
        (int(sp.decode), 2),
        (int(sp.output_projection), 2),
        (sp.heads - 1, TYPED_LIMITS["heads"][1]),
        (sp.tokens - 1, TYPED_LIMITS["tokens"][1]),
        (sp.d_in - 1, TYPED_LIMITS["d_in"][1]),
        (sp.d_k - 1, TYPED_LIMITS["d_k"][1]),
        (sp.d_v - 1, TYPED_LIMITS["d_v"][1]),
        (sp.queries or 0, TYPED_LIMITS["queries"][1] + 1),
        (sp.kv_heads or 0, TYPED_LIMITS["kv_heads"][1] + 1),
        (sp.x_range[0] + 9, _RANGE_RADIX),
        (sp.x_range[1] - sp.x_range[0], _RANGE_RADIX),
        (sp.w_range[0] + 9, _RANGE_RADIX),
        (sp.w_range[1] - sp.w_range[0], _RANGE_RADIX),
    ]


def _short_check(body: str) -> str:
    """Two symbols that make the weighted sum of the whole ID 0 modulo 1021: the body's
    symbols weigh 33, 34, … from the right, the check's two weigh 32 and 1 (its value)."""
    total = sum((33 + i) * _ALPHABET.index(c) for i, c in enumerate(reversed(body)))
    value = -total % _CHECK_PRIME
    return _ALPHABET[value // 32] + _ALPHABET[value % 32]


def _grouped(n: int) -> str:
    body = ""
    while n:
        n, d = divmod(n, 32)
        body = _ALPHABET[d] + body
    text = body + _short_check(body)
    return "-".join(text[i : i + 5] for i in range(0, len(text), 5))


def printed_id(problem: Problem) -> str:
    """The full ID if it fits PRINTED_LIMIT symbols, else the short ID of a seeded draw,
    else (a typed problem, or sizes beyond a short ID's fields) the typed digest."""
    full = problem.id
    if len(full.replace("-", "")) <= PRINTED_LIMIT:
        return full
    sp = problem.spec
    if problem.seed is not None:
        fields = _spec_fields(sp)
        if all(0 <= v < r for v, r in fields):
            n = problem.seed
            ex = replace(sp, given_steps=()).exercise()
            for s in ex.worked:
                n = n * 2 + (s.name in problem.exercise.shown)
            for value, radix in reversed(fields):
                n = n * radix + value
            n = n * 2**_SEEDED_DIGEST_BITS + _digest(full, _SEEDED_DIGEST_BITS)
            options = _options(sp)
            if sp.block:
                n = n * _D_FF_RADIX + sp.d_ff - 1
            if not any(options):
                return _grouped(n * _KINDS + _SEEDED)
            return _grouped(_pack_options(n, options) * _KINDS + _SEEDED_EXT)
    n = (1 << _TYPED_DIGEST_BITS) + _digest(full, _TYPED_DIGEST_BITS)  # a leading 1: fixed length
    return _grouped(n * _KINDS + _TYPED)


def read_short_id(clean: str) -> ShortId | None:
    """A short ID's fields (clean: upper case, no separators), or None if it is not one."""
    if len(clean) < 4:
        return None
    body, check = clean[:-2], clean[-2:]
    if _short_check(body) != check:
        return None
    n = 0
    for c in body:
        n = n * 32 + _ALPHABET.index(c)
    n, kind = divmod(n, _KINDS)
    if kind == _TYPED:
        n, digest = divmod(n, 2**_TYPED_DIGEST_BITS)
        return ShortId(_TYPED, digest) if n == 1 else None
    if kind not in (_SEEDED, _SEEDED_EXT):
        return None
    options = [0, 0]
    if kind == _SEEDED_EXT:
        n, options = _unpack_options(n)
        if not any(options):
            return None
    d_ff = None
    if options[1]:
        n, d_ff = divmod(n, _D_FF_RADIX)
        d_ff += 1
    n, digest = divmod(n, 2**_SEEDED_DIGEST_BITS)
    values = []
    for _, radix in _spec_fields(Spec()):
        n, value = divmod(n, radix)
        values.append(value)
    (conv, causal, rounding, decode, wo, heads, tokens, d_in, d_k, d_v, queries, kv) = values[:12]
    x_lo, x_span, w_lo, w_span = values[12:]
    try:
        spec = Spec(
            convention=CONVENTIONS[conv],
            causal=bool(causal),
            rounding=steps.ROUNDINGS[rounding],
            decode=bool(decode),
            output_projection=bool(wo),
            heads=heads + 1,
            tokens=tokens + 1,
            d_in=d_in + 1,
            d_k=d_k + 1,
            d_v=d_v + 1,
            queries=queries or None,
            kv_heads=kv or None,
            x_range=(x_lo - 9, x_lo - 9 + x_span),
            w_range=(w_lo - 9, w_lo - 9 + w_span),
            **_option_fields(options, d_ff),
        )
        bits = []
        for _ in spec.exercise().worked:
            n, bit = divmod(n, 2)
            bits.append(bit)
        worked = spec.exercise().worked
        shown = tuple(s.name for s, bit in zip(worked, reversed(bits)) if bit)
        if shown:
            spec = replace(spec, given_steps=shown)
            spec.exercise()
    except (OptionError, IndexError):
        return None
    return ShortId(_SEEDED, digest, spec, n)


def _clean(text) -> str:
    clean = "".join(str(text).split()).replace("-", "").upper()
    return clean.translate(str.maketrans("OIL", "011"))


def id_names(problem: Problem, text) -> bool:
    """Whether an ID (full or short, as typed) names this problem; no drawing needed."""
    clean = _clean(text)
    short = read_short_id(clean)
    if short is None:
        return clean == problem.id.replace("-", "")
    if short.kind == _SEEDED:
        bits, same_seed = _SEEDED_DIGEST_BITS, problem.seed in (None, short.seed)
    else:
        bits, same_seed = _TYPED_DIGEST_BITS, True
    return same_seed and short.digest == _digest(problem.id, bits)


def redrawn(text, short: ShortId, problem: Problem) -> Problem:
    """The problem a seeded short ID names, once drawn again: refused when the digest differs."""
    if short.digest != _digest(problem.id, _SEEDED_DIGEST_BITS):
        raise ProblemFileError(
            f"sheet ID {text!r} was drawn from seed {short.seed} by a numpy whose random "
            "stream differs from this one; bring the problem back from its full ID (in the "
            "answers file, filled form or class manifest) or its problem file"
        )
    return problem
