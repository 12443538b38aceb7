"""The exercise as data: each step's name, inputs, operation, shape and colour.

Solving, the sheet, grading and follow-through all walk this one table, so another exercise
(more heads, a causal mask, the row convention) is another table, not more code.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction

Matrix = tuple[tuple, ...]
Vector = tuple
Value = Matrix | Vector


class _Masked:
    """A score hidden by the causal mask: printed as masked, weight exactly 0."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MASKED"

    def __reduce__(self):
        return (_Masked, ())


MASKED = _Masked()


def _floor_half(x: Fraction) -> Fraction:
    return Fraction(math.floor(Fraction(x) / 2))


def _trunc_half(x: Fraction) -> Fraction:
    return Fraction(math.trunc(Fraction(x) / 2))


# 3^x is worked exactly, so its size is bounded: a huge power would take minutes to write out
# and overflow the exact track's e^x. Drawn sheets stay far inside (scaled within -2…3).
EXP_LIMIT = 60


def _three_to(x: Fraction) -> Fraction:
    x = Fraction(x)
    if x.denominator != 1 or abs(x) > EXP_LIMIT:
        raise ValueError(f"3^x needs a whole x within ±{EXP_LIMIT}, not {x}")
    return Fraction(3) ** int(x)


@dataclass(frozen=True)
class Track:
    """How the two stand-ins are worked: by hand (floor(S/2), 3^x) or as a transformer does."""

    name: str
    scale: Callable
    exp: Callable
    lift: Callable = Fraction
    scale_text: str = ""
    exp_text: str = ""


ROUNDINGS = ("floor", "zero")


def simplified(rounding: str = "floor") -> Track:
    """The hand track: exact fractions; halves rounded down (floor) or toward zero.

    Givens enter as ints (products stay ints, twice as fast as Fractions); scaling, 3^x and
    the division by sums turn them into Fractions, so every value stays exact."""
    if rounding == "floor":
        return Track("simplified", _floor_half, _three_to, int, "floor(x/2)", "3^x")
    if rounding == "zero":
        return Track("simplified", _trunc_half, _three_to, int, "trunc(x/2)", "3^x")
    raise ValueError(f"unknown rounding {rounding!r}")


def exact(d_k: int) -> Track:
    """The real track: S/√d_k and e^x, in floats."""
    root = math.sqrt(d_k)
    return Track("exact", lambda x: x / root, math.exp, float, f"x/√{d_k}", "e^x")


# Colour groups of the sheet (design.md): given warm, products purple, scaling yellow,
# softmax green, output blue.
GROUPS = ("given", "product", "scale", "softmax", "output")


@dataclass(frozen=True)
class Step:
    """One box of the exercise: what it is called, how it is made, and its shape.

    `partner` names the projection a "weights swapped" slip borrows its weights from (a
    query's key, a key's query): with shared key heads or a second input it is not simply
    the step of the same number."""

    name: str
    role: str
    kind: str
    inputs: tuple[str, ...]
    rows: int
    cols: int | None
    group: str
    formula: str
    title: str
    head: int | None = None
    axis: str | None = None
    mask: str | None = None
    partner: str | None = None
    start: int = 0  # a rotation's first token position (a decode step's new token: n − 1)

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.rows,) if self.cols is None else (self.rows, self.cols)

    @property
    def is_vector(self) -> bool:
        return self.cols is None

    @property
    def given(self) -> bool:
        return self.kind == "given"

    @property
    def along_features(self) -> bool:
        """A vector with one entry per feature (a bias), not one per token (the sums)."""
        return self.is_vector and self.axis == "features"

    @property
    def suffix(self) -> str:
        """What tells this step from others of its role: the head "2", the key group "a"."""
        return self.name[len(self.role) :]


# The exercise's shapes: self-attention (queries and keys from X), cross-attention (queries
# from a second input Xq), grouped heads (query heads sharing key/value heads) and a decode
# step (one new token against a cache of earlier keys and values).
FORMS = ("self", "cross", "grouped", "decode")


@dataclass(frozen=True)
class Exercise:
    """The ordered step table for one set of sizes and rules."""

    steps: tuple[Step, ...]
    convention: str = "columns"
    causal: bool = False
    heads: int = 1
    form: str = "self"
    kv_heads: int | None = None
    shown: frozenset = frozenset()
    rope: bool = False
    block: bool = False
    by_name: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "by_name", {s.name: s for s in self.steps})

    def __getitem__(self, name: str) -> Step:
        return self.by_name[name]

    def __iter__(self):
        return iter(self.steps)

    @property
    def given(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.given)

    @property
    def worked(self) -> tuple[Step, ...]:
        """Every step computed from the givens (including those printed as givens)."""
        return tuple(s for s in self.steps if not s.given)

    @property
    def asked(self) -> tuple[Step, ...]:
        """The worked steps a student fills in and is graded on: all but the shown ones."""
        return tuple(s for s in self.steps if not s.given and s.name not in self.shown)

    def shown_in_order(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.steps if s.name in self.shown)

    def downstream(self, names: Sequence[str]) -> set[str]:
        """Names of the steps that depend, directly or not, on any of `names`."""
        hit = set(names)
        for s in self.steps:
            if any(i in hit for i in s.inputs):
                hit.add(s.name)
        return hit - set(names)

    def track_dependent(self) -> tuple[str, ...]:
        """Steps whose value differs between the hand track and the exact track."""
        roots = [s.name for s in self.steps if s.kind == "scale"]
        dep = set(roots) | self.downstream(roots)
        return tuple(s.name for s in self.steps if s.name in dep)

    def group_of(self, head: int) -> int:
        """The key/value head (1-based) that query head `head` reads, with grouped heads."""
        if not self.kv_heads:
            return head
        return (head - 1) // (self.heads // self.kv_heads) + 1


# --- the shared pieces every shape is built from ------------------------------------------

_WEIGHT_TITLES = {"WQ": "Query weights", "WK": "Key weights", "WV": "Value weights"}
_PROJECTION_TITLES = {
    "Q": "Queries",
    "K": "Keys",
    "V": "Values",
    "q": "New token's query",
    "k": "New token's key",
    "v": "New token's value",
}


class _Table:
    """A step table being written: the pieces (a projection, scores, the softmax block, the
    output) each add their steps in one convention, so a shape is a short list of pieces."""

    def __init__(self, convention: str, rounding: str):
        if convention not in ("columns", "rows"):
            raise ValueError(f"unknown convention {convention!r}")
        if rounding not in ROUNDINGS:
            raise ValueError(f"unknown rounding {rounding!r}")
        self.cols = convention == "columns"
        self.rounding = rounding
        self.steps: list[Step] = []

    def names(self) -> set[str]:
        return {s.name for s in self.steps}

    def shaped(self, r: int, c: int) -> tuple[int, int]:
        """Column-convention shape (features × tokens), turned for the row convention."""
        return (r, c) if self.cols else (c, r)

    def add(self, name, role, kind, inputs, shape, group, formula, title, head=None, **kw):
        rows, ncols = (shape[0], None) if len(shape) == 1 else shape
        self.steps.append(
            Step(name, role, kind, tuple(inputs), rows, ncols, group, formula, title, head, **kw)
        )
        return name

    def data(self, name: str, d_in: int, tokens: int, title: str) -> str:
        """A given input: features × tokens."""
        return self.add(name, name, "given", (), self.shaped(d_in, tokens), "given", name, title)

    def weights(self, role: str, sfx: str, d: int, d_in: int, head=None) -> str:
        shape = (d, d_in) if self.cols else (d_in, d)
        return self.add(
            role + sfx, role, "given", (), shape, "given", role, _WEIGHT_TITLES[role], head
        )

    def projection(self, role, sfx, w, x, d, tokens, head=None, partner=None) -> str:
        """Q = WQ·X (column convention) or X·WQ (row convention): features of each token."""
        inputs = (w, x) if self.cols else (x, w)
        formula = f"{_bare(w)}·{x}" if self.cols else f"{x}·{_bare(w)}"
        title = _PROJECTION_TITLES[role]
        shape = self.shaped(d, tokens)
        return self.add(
            role + sfx,
            role,
            "product",
            inputs,
            shape,
            "product",
            formula,
            title,
            head,
            partner=partner,
        )

    def transposed(self, k: str, sfx: str, d_k: int, tokens: int, head=None) -> str:
        shape = self.shaped(d_k, tokens)[::-1]
        formula = "Krᵀ" if k.startswith("Kr") else "Kᵀ"
        return self.add(
            "KT" + sfx, "KT", "transpose", (k,), shape, "product", formula, "Keys, transposed", head
        )

    def rotated(
        self, role: str, sfx: str, src: str, d: int, tokens: int, head=None, start: int = 0
    ) -> str:
        """RoPE by quarter turns: token m's vector turned m quarter turns in each pair of
        dimensions, (a, b) -> (-b, a) per turn; the first token is m = `start`."""
        title = {"Qr": "Turned queries", "Kr": "Turned keys"}.get(role, f"Turned {src}")
        return self.add(
            role + sfx,
            role,
            "rotate",
            (src,),
            self.shaped(d, tokens),
            "product",
            f"R·{role[0]}",
            title,
            head,
            axis="columns" if self.cols else "rows",
            start=start,
        )

    def scores(self, sfx, kt, q, keys, queries, head=None, mask=None) -> str:
        """S = Kᵀ·Q: keys down, queries across (turned for the row convention)."""
        inputs = (kt, q) if self.cols else (q, kt)
        qn = q if q in ("q", "qr") else "Qr" if q.startswith("Qr") else "Q"
        kn = "Krᵀ" if qn == "Qr" else "Kᵀ"
        formula = f"{kn}·{qn}" if self.cols else f"{qn}·{kn}"
        return self.add(
            "S" + sfx,
            "S",
            "product",
            inputs,
            self.shaped(keys, queries),
            "product",
            formula,
            "Attention scores",
            head,
            mask=mask,
        )

    def softmax(self, sfx, s, keys, queries, head=None) -> str:
        """floor(S/2), 3^x, the sums per query, and A: each query's weights sum to 1."""
        shape = self.shaped(keys, queries)
        half = "floor(S/2)" if self.rounding == "floor" else "trunc(S/2)"
        scaled = self.add(
            "scaled" + sfx, "scaled", "scale", (s,), shape, "scale", half, "Scaled scores", head
        )
        e = self.add(
            "exp" + sfx,
            "exp",
            "exp",
            (scaled,),
            shape,
            "softmax",
            "3^x",
            "Softmax numerators",
            head,
        )
        total, axis = ("colsum", "columns") if self.cols else ("rowsum", "rows")
        sums_ = self.add(
            total + sfx,
            total,
            "sum",
            (e,),
            (queries,),
            "softmax",
            "column sums" if self.cols else "row sums",
            "Column sums" if self.cols else "Row sums",
            head,
            axis=axis,
        )
        return self.add(
            "A" + sfx,
            "A",
            "normalise",
            (e, sums_),
            shape,
            "softmax",
            "exp / " + ("column sum" if self.cols else "row sum"),
            "Attention weights",
            head,
            axis=axis,
        )

    def output(self, sfx, v, a, d_v, queries, head=None) -> str:
        """Z = V·A: each query's weighted mix of the values."""
        inputs = (v, a) if self.cols else (a, v)
        return self.add(
            "Z" + sfx,
            "Z",
            "product",
            inputs,
            self.shaped(d_v, queries),
            "output",
            "V·A" if self.cols else "A·V",
            "Attention output",
            head,
        )

    def joined(self, zs, d_in, d_v, queries, project: bool = True) -> None:
        """Several heads: their Z stacked, then (`project`) the output projection WO."""
        h = len(zs)
        self.add(
            "Zcat",
            "Zcat",
            "concat",
            zs,
            self.shaped(h * d_v, queries),
            "output",
            "heads' Z stacked" if self.cols else "heads' Z side by side",
            "Concatenated heads",
            axis="rows" if self.cols else "columns",
        )
        if not project:
            return
        inputs = ("WO", "Zcat") if self.cols else ("Zcat", "WO")
        self.add(
            "O",
            "O",
            "product",
            inputs,
            self.shaped(d_in, queries),
            "output",
            "WO·Zcat" if self.cols else "Zcat·WO",
            "Multi-head output",
        )

    def appended(self, role: str, cache: str, new: str, d: int, tokens: int) -> str:
        """The cache grown by the new token: its vector as one more column (row)."""
        formula = f"[{cache} | {new}]" if self.cols else f"[{cache} ; {new}]"
        title = f"Keys: the cache and {new}" if role == "K" else "Values: the cache and v"
        return self.add(
            role,
            role,
            "concat",
            (cache, new),
            self.shaped(d, tokens),
            "product",
            formula,
            title,
            axis="columns" if self.cols else "rows",
        )

    def wo(self, d_in, heads, d_v) -> None:
        shape = (d_in, heads * d_v) if self.cols else (heads * d_v, d_in)
        self.add("WO", "WO", "given", (), shape, "given", "WO", "Output projection")

    def ffn_givens(self, d_in: int, d_ff: int) -> None:
        """The feed-forward layer's weights and biases: W1 (d_ff × d_in), b1 (one entry per
        hidden feature), W2 (d_in × d_ff), b2 (one per feature of the stream)."""
        for name, d, width, title in (
            ("W1", d_ff, d_in, "Layer 1"),
            ("b1", d_ff, None, "Bias 1"),
            ("W2", d_in, d_ff, "Layer 2"),
            ("b2", d_in, None, "Bias 2"),
        ):
            if width is None:  # a bias lies along the features, across every token
                self.add(name, name, "given", (), (d,), "given", name, title, axis="features")
            else:
                shape = (d, width) if self.cols else (width, d)
                self.add(name, name, "given", (), shape, "given", name, title)

    def block(self, x: str, zo: str, d_in: int, d_ff: int, tokens: int) -> None:
        """After attention: the residual R1 = X + Zo, the feed-forward layer F = W1·R1 + b1,
        H = ReLU(F), Y = W2·H + b2, and the second residual R2 = R1 + Y (no LayerNorm)."""
        axis = "columns" if self.cols else "rows"
        stream = self.shaped(d_in, tokens)
        title = "Residual: input plus attention"
        r1 = self.add("R1", "R1", "add", (x, zo), stream, "output", f"{x} + {zo}", title)
        for name, w, b, src, d, title in (
            ("F", "W1", "b1", r1, d_ff, "Hidden layer before ReLU"),
            ("Y", "W2", "b2", "H", d_in, "Feed-forward output"),
        ):
            inputs = (w, src, b) if self.cols else (src, w, b)
            formula = f"{w}·{src} + {b}" if self.cols else f"{src}·{w} + {b}"
            shape = self.shaped(d, tokens)
            self.add(name, name, "affine", inputs, shape, "product", formula, title, axis=axis)
            if name == "F":
                self.add("H", "H", "relu", ("F",), shape, "scale", "ReLU(F)", "Hidden layer: ReLU")
        title = "Block output: residual plus feed-forward"
        self.add("R2", "R2", "add", (r1, "Y"), stream, "output", "R1 + Y", title)

def _bare(w: str) -> str:
    """A weight's printed role without its head number: WQ2 is written WQ in a formula."""
    return w.rstrip("0123456789")


def _suffixes(heads: int) -> list[str]:
    return [""] if heads == 1 else [str(h) for h in range(1, heads + 1)]


def _attention(
    t: _Table,
    x: str,
    xq: str,
    tokens: int,
    queries: int,
    d_in,
    d_k,
    d_v,
    heads,
    causal,
    project: bool = True,
    rope: bool = False,
) -> list[str]:
    """One set of weights per head, then each head's Q, K, V, Kᵀ, S, softmax and Z; the
    queries come from `xq` (X itself for self-attention). Returns the heads' Z names."""
    mask = ("below" if t.cols else "above") if causal else None
    for h, sfx in enumerate(_suffixes(heads), start=1):
        head = None if heads == 1 else h
        for w, d in (("WQ", d_k), ("WK", d_k), ("WV", d_v)):
            t.weights(w, sfx, d, d_in, head)
    if heads > 1 and project:
        t.wo(d_in, heads, d_v)
    zs = []
    for h, sfx in enumerate(_suffixes(heads), start=1):
        head = None if heads == 1 else h
        q = t.projection("Q", sfx, "WQ" + sfx, xq, d_k, queries, head, partner="K" + sfx)
        k = t.projection("K", sfx, "WK" + sfx, x, d_k, tokens, head, partner="Q" + sfx)
        v = t.projection("V", sfx, "WV" + sfx, x, d_v, tokens, head)
        if rope:
            q = t.rotated("Qr", sfx, q, d_k, queries, head)
            k = t.rotated("Kr", sfx, k, d_k, tokens, head)
        kt = t.transposed(k, sfx, d_k, tokens, head)
        s = t.scores(sfx, kt, q, tokens, queries, head, mask)
        a = t.softmax(sfx, s, tokens, queries, head)
        zs.append(t.output(sfx, v, a, d_v, queries, head))
    return zs


def build(
    tokens: int,
    d_in: int,
    d_k: int,
    d_v: int | None = None,
    heads: int = 1,
    convention: str = "columns",
    causal: bool = False,
    rounding: str = "floor",
    output_projection: bool = True,
    rope: bool = False,
    d_ff: int = 0,
) -> Exercise:
    """Self-attention: queries, keys and values all from X. Multi-head step names carry the
    head number: Q1, S2. Without `output_projection` several heads stop at Zcat (no WO).
    With `rope` each head's Q and K are turned by position (Qr, Kr) before the scores; with
    `d_ff` the transformer block goes on after attention (R1, F, H, Y, R2)."""
    d_v = d_k if d_v is None else d_v
    if rope and d_k % 2:
        raise ValueError(f"rotary positions turn pairs of dimensions: d_k must be even, not {d_k}")
    t = _Table(convention, rounding)
    t.data("X", d_in, tokens, "Input features")
    zs = _attention(
        t, "X", "X", tokens, tokens, d_in, d_k, d_v, heads, causal, output_projection, rope
    )
    if heads > 1:
        t.joined(tuple(zs), d_in, d_v, tokens, output_projection)
    if d_ff:
        _block(t, "X", "O" if heads > 1 else zs[0], d_in, d_ff, tokens)
    return Exercise(tuple(t.steps), convention, causal, heads, rope=rope, block=bool(d_ff))


def _block(t: _Table, x: str, zo: str, d_in: int, d_ff: int, tokens: int) -> None:
    """The block after attention needs its output in X's shape: Z itself (d_v = d_in) or,
    with heads, O = WO·Zcat."""
    if zo not in t.names():
        raise ValueError("the block adds the attention output to X: several heads need WO")
    t.ffn_givens(d_in, d_ff)
    t.block(x, zo, d_in, d_ff, tokens)


def build_cross(
    tokens: int,
    queries: int,
    d_in: int,
    d_k: int,
    d_v: int | None = None,
    heads: int = 1,
    convention: str = "columns",
    rounding: str = "floor",
    output_projection: bool = True,
) -> Exercise:
    """Cross-attention: the queries come from a second input Xq (its own `queries` tokens),
    keys and values from X, so the scores are tokens × queries. No causal mask: the queries
    are not positions in X's sequence."""
    d_v = d_k if d_v is None else d_v
    t = _Table(convention, rounding)
    t.data("X", d_in, tokens, "Input features (keys and values)")
    t.data("Xq", d_in, queries, "Query-side input")
    zs = _attention(t, "X", "Xq", tokens, queries, d_in, d_k, d_v, heads, False, output_projection)
    if heads > 1:
        t.joined(tuple(zs), d_in, d_v, queries, output_projection)
    return Exercise(tuple(t.steps), convention, False, heads, "cross")


def build_decode(
    tokens: int,
    d_in: int,
    d_k: int,
    d_v: int | None = None,
    convention: str = "columns",
    rounding: str = "floor",
    rope: bool = False,
) -> Exercise:
    """One decode step: the keys and values of the `tokens` - 1 earlier tokens are given (the
    cache); the new token x gets its q, k and v, k and v are appended to the cache, and its
    one query scores every key. S, A and Z have one column (one row, for rows). With `rope`
    the new q and k are turned as token m = tokens - 1 (qr, kr); the cache holds keys turned
    at their own positions, as a model caches them."""
    if tokens < 2:
        raise ValueError("a decode step needs at least one cached token")
    if rope and d_k % 2:
        raise ValueError(f"rotary positions turn pairs of dimensions: d_k must be even, not {d_k}")
    d_v = d_k if d_v is None else d_v
    t = _Table(convention, rounding)
    t.data("x", d_in, 1, "The new token")
    for w, d in (("WQ", d_k), ("WK", d_k), ("WV", d_v)):
        t.weights(w, "", d, d_in)
    t.add(
        "Kcache",
        "Kcache",
        "given",
        (),
        t.shaped(d_k, tokens - 1),
        "given",
        "Kcache",
        "Key cache (earlier tokens)",
    )
    t.add(
        "Vcache",
        "Vcache",
        "given",
        (),
        t.shaped(d_v, tokens - 1),
        "given",
        "Vcache",
        "Value cache (earlier tokens)",
    )
    q = t.projection("q", "", "WQ", "x", d_k, 1, partner="k")
    k = t.projection("k", "", "WK", "x", d_k, 1, partner="q")
    v = t.projection("v", "", "WV", "x", d_v, 1)
    if rope:  # the new token is m = tokens − 1; the cache keeps keys turned when worked
        q = t.rotated("qr", "", q, d_k, 1, start=tokens - 1)
        k = t.rotated("kr", "", k, d_k, 1, start=tokens - 1)
    keys = t.appended("K", "Kcache", k, d_k, tokens)
    values = t.appended("V", "Vcache", v, d_v, tokens)
    kt = t.transposed(keys, "", d_k, tokens)
    s = t.scores("", kt, q, tokens, 1)
    a = t.softmax("", s, tokens, 1)
    t.output("", values, a, d_v, 1)
    return Exercise(tuple(t.steps), convention, False, 1, "decode", rope=rope)


def kv_suffix(g: int, kv_heads: int) -> str:
    """A key/value head's name suffix: none for one shared head, else a, b, c…"""
    return "" if kv_heads == 1 else "abcdefgh"[g - 1]


def build_grouped(
    tokens: int,
    d_in: int,
    d_k: int,
    d_v: int | None = None,
    heads: int = 2,
    kv_heads: int = 1,
    convention: str = "columns",
    causal: bool = False,
    rounding: str = "floor",
    output_projection: bool = True,
    rope: bool = False,
    d_ff: int = 0,
) -> Exercise:
    """Grouped heads: `heads` query heads share `kv_heads` key/value heads (one: multi-query).
    Each K and V is worked once, under the first query head of its group, and every query
    head of the group scores against that Kᵀ and mixes that V."""
    d_v = d_k if d_v is None else d_v
    if kv_heads < 1 or heads % kv_heads or kv_heads >= heads:
        raise ValueError(f"{kv_heads} key/value heads cannot be shared by {heads} query heads")
    per = heads // kv_heads
    t = _Table(convention, rounding)
    t.data("X", d_in, tokens, "Input features")
    mask = ("below" if t.cols else "above") if causal else None
    qs = [str(h) for h in range(1, heads + 1)]
    kvs = [kv_suffix(g, kv_heads) for g in range(1, kv_heads + 1)]
    for h, sfx in enumerate(qs, start=1):
        t.weights("WQ", sfx, d_k, d_in, h)
    for g, sfx in enumerate(kvs, start=1):
        first = (g - 1) * per + 1
        t.weights("WK", sfx, d_k, d_in, first)
        t.weights("WV", sfx, d_v, d_in, first)
    if output_projection:
        t.wo(d_in, heads, d_v)
    zs = []
    for h, sfx in enumerate(qs, start=1):
        g = (h - 1) // per + 1
        kv = kvs[g - 1]
        q = t.projection("Q", sfx, "WQ" + sfx, "X", d_k, tokens, h, partner="K" + kv)
        if (h - 1) % per == 0:
            t.projection("K", kv, "WK" + kv, "X", d_k, tokens, h, partner=q)
            t.projection("V", kv, "WV" + kv, "X", d_v, tokens, h)
            if rope:
                t.rotated("Kr", kv, "K" + kv, d_k, tokens, h)
            t.transposed(("Kr" if rope else "K") + kv, kv, d_k, tokens, h)
        if rope:
            q = t.rotated("Qr", sfx, q, d_k, tokens, h)
        s = t.scores(sfx, "KT" + kv, q, tokens, tokens, h, mask)
        a = t.softmax(sfx, s, tokens, tokens, h)
        zs.append(t.output(sfx, "V" + kv, a, d_v, tokens, h))
    t.joined(tuple(zs), d_in, d_v, tokens, output_projection)
    if rope and d_k % 2:
        raise ValueError(f"rotary positions turn pairs of dimensions: d_k must be even, not {d_k}")
    if d_ff:
        _block(t, "X", "O", d_in, d_ff, tokens)
    return Exercise(
        tuple(t.steps), convention, causal, heads, "grouped", kv_heads, rope=rope, block=bool(d_ff)
    )


# --- drills: worked steps printed filled in, as givens ----------------------------------

# Common drills by name: the steps they give (in every head), so the rest is practised.
DRILLS = {
    "scores": ("Q", "K", "V"),
    "softmax": ("S", "V"),
    "output": ("A", "V"),
    "block": ("R1",),
    "relu": ("R1", "F"),
}


def shown_steps(exercise: Exercise, requested) -> frozenset:
    """The worked steps printed as givens: those requested (a step name such as S2, a role
    such as S for every head's S, or a drill from DRILLS), and every step that only leads to
    them (with S given, Q, K and Kᵀ are no longer needed). Raises ValueError, in words."""
    wanted: set[str] = set()
    lookup = {}
    for s in exercise.steps:
        lookup.setdefault(s.name.lower(), set()).add(s.name)
        lookup.setdefault(s.role.lower(), set()).add(s.name)
    names = [n.strip() for n in requested]
    for name in names:
        key = name.lower()
        if key in DRILLS:
            roles = DRILLS[key]
            hits = {s.name for s in exercise.worked if s.role in roles}
            if not hits:
                hint = " (add --block)" if {"R1", "F"} & set(roles) else ""
                raise ValueError(
                    f"--given {name}: this exercise has no {', '.join(roles)}{hint}"
                )
            wanted |= hits
            continue
        if key not in lookup:
            known = ", ".join(s.name for s in exercise.worked)
            raise ValueError(
                f"--given: no step named {name!r} (steps: {known}; drills: {', '.join(DRILLS)})"
            )
        hits = lookup[key]
        if any(exercise[h].given for h in hits):
            raise ValueError(f"--given: {name} is a given matrix already; name worked steps")
        wanted |= hits
    consumers: dict[str, set[str]] = {s.name: set() for s in exercise.steps}
    for s in exercise.steps:
        for i in s.inputs:
            consumers[i].add(s.name)
    for s in reversed(exercise.worked):
        if s.name not in wanted and consumers[s.name] and consumers[s.name] <= wanted:
            wanted.add(s.name)
    if all(s.name in wanted for s in exercise.worked):
        raise ValueError("--given leaves no step to work; give fewer steps")
    return frozenset(wanted)


def with_shown(exercise: Exercise, requested) -> Exercise:
    """The same table with some worked steps printed as givens (see `shown_steps`)."""
    return replace(exercise, shown=shown_steps(exercise, requested))


# --- the operations: pure functions of values -------------------------------------------


def total(xs: Iterable, zero=0):
    """A sum on the caller's track. Floats (the exact track) go through math.fsum, correctly
    rounded: Python 3.12 changed how sum() adds floats, and the same key printed one exact
    value differently under Python 3.11 and 3.13."""
    return math.fsum(xs) if isinstance(zero, float) else sum(xs, zero)


def matmul(a: Matrix, b: Matrix, zero=0) -> Matrix:
    """a·b over any numbers; `zero` keeps empty sums on the caller's track."""
    if len(a[0]) != len(b):
        raise ValueError(f"cannot multiply {len(a)}×{len(a[0])} by {len(b)}×{len(b[0])}")
    bt = list(zip(*b))
    return tuple(tuple(total((x * y for x, y in zip(row, col)), zero) for col in bt) for row in a)


def transpose(a: Matrix) -> Matrix:
    return tuple(zip(*a))


def apply_mask(a: Matrix, mask: str | None) -> Matrix:
    """Hide the scores a token may not attend to: later keys for each query."""
    if mask is None:
        return a
    hidden = (lambda r, c: r > c) if mask == "below" else (lambda r, c: c > r)
    return tuple(
        tuple(MASKED if hidden(r, c) else x for c, x in enumerate(row)) for r, row in enumerate(a)
    )


def elementwise(a: Matrix, f: Callable, masked=MASKED) -> Matrix:
    return tuple(tuple(masked if x is MASKED else f(x) for x in row) for row in a)


def sums(a: Matrix, axis: str, zero=0) -> Vector:
    """Column sums (axis="columns": one per column) or row sums."""
    lines = zip(*a) if axis == "columns" else a
    return tuple(total(line, zero) for line in lines)


def normalise(a: Matrix, totals: Vector, axis: str) -> Matrix:
    """Divide each column (or row) by its total, so that it sums to 1."""
    if axis == "columns":
        return tuple(tuple(x / totals[c] for c, x in enumerate(row)) for row in a)
    return tuple(tuple(x / totals[r] for x in row) for r, row in enumerate(a))


def quarter_turns(vec: Sequence, turns: int) -> tuple:
    """One token's vector turned `turns` quarter turns in each pair of dimensions (1,2),
    (3,4), …: (a, b) -> (-b, a) per turn, so four turns bring it back."""
    out = list(vec)
    for _ in range(turns % 4):
        out = [x for i in range(0, len(out), 2) for x in (-out[i + 1], out[i])]
    return tuple(out)


def rotate(a: Matrix, axis: str, turns: Callable[[int], int] = lambda m: m) -> Matrix:
    """RoPE by quarter turns: token m (a column, or a row for axis="rows"), counted from 0,
    turned `turns(m)` quarter turns. A mistaken rotation passes another `turns`."""
    tokens = transpose(a) if axis == "columns" else a
    turned = tuple(quarter_turns(t, turns(m)) for m, t in enumerate(tokens))
    return transpose(turned) if axis == "columns" else turned


def add(a: Matrix, b: Matrix) -> Matrix:
    """Entry by entry: a residual connection."""
    return tuple(tuple(x + y for x, y in zip(ra, rb)) for ra, rb in zip(a, b))


def add_bias(a: Matrix, bias: Vector, axis: str) -> Matrix:
    """A bias, one entry per feature, added to every token: to each column (axis="columns",
    bias[i] onto row i) or to each row (bias[j] onto column j)."""
    if axis == "columns":
        return tuple(tuple(x + bias[i] for x in row) for i, row in enumerate(a))
    return tuple(tuple(x + bias[j] for j, x in enumerate(row)) for row in a)


def relu(x):
    """max(x, 0), on either track."""
    return x if x > 0 else type(x)(0)


def concat(parts: Sequence[Matrix], axis: str) -> Matrix:
    """Stack the heads' outputs: one under another (axis="rows") or side by side."""
    if axis == "rows":
        return tuple(row for part in parts for row in part)
    return tuple(tuple(x for part in parts for x in part[r]) for r in range(len(parts[0])))


def compute(step: Step, values: Mapping[str, Value], track: Track) -> Value:
    """The value of one step from the values of its inputs, on one track."""
    args = [values[i] for i in step.inputs]
    zero = track.lift(0)
    if step.kind == "product":
        return apply_mask(matmul(args[0], args[1], zero), step.mask)
    if step.kind == "transpose":
        return transpose(args[0])
    if step.kind == "scale":
        return elementwise(args[0], track.scale)
    if step.kind == "exp":
        return elementwise(args[0], track.exp, masked=zero)
    if step.kind == "sum":
        return sums(args[0], step.axis, zero)
    if step.kind == "normalise":
        return normalise(args[0], args[1], step.axis)
    if step.kind == "concat":
        return concat(args, step.axis)
    if step.kind == "rotate":
        return rotate(args[0], step.axis, lambda m: m + step.start)
    if step.kind == "add":
        return add(args[0], args[1])
    if step.kind == "affine":
        return add_bias(matmul(args[0], args[1], zero), args[2], step.axis)
    if step.kind == "relu":
        return elementwise(args[0], relu)
    raise ValueError(f"step {step.name} has no computation ({step.kind})")


def field_name(step: str, row: int, col: int | None = None) -> str:
    """The name of one answer cell wherever a cell needs a name (PDF form fields, HTML inputs):
    1-based, dot-free, e.g. S_r2_c3, or colsum_3 for a vector."""
    return f"{step}_{row + 1}" if col is None else f"{step}_r{row + 1}_c{col + 1}"


def lift(value, step: Step, track: Track) -> Value:
    """A given matrix (or bias vector) onto a track."""
    if step.is_vector:
        return tuple(track.lift(x) for x in value)
    return tuple(tuple(track.lift(x) for x in row) for row in value)


def run(exercise: Exercise, given: Mapping[str, Value], track: Track) -> dict[str, Value]:
    """Every step's value, in table order, from the given matrices."""
    values: dict[str, Value] = {s.name: lift(given[s.name], s, track) for s in exercise.given}
    for s in exercise.worked:
        values[s.name] = compute(s, values, track)
    return values
