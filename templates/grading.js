/* handcalc's grader in JavaScript: a line-by-line port of handcalc/grading.py (read its
   module docstring for the algorithm). Exact fractions on BigInt; no DOM, so node can load
   it too (tests/run_vectors.js runs the shared test vectors through it). */
(function (root, factory) {
  if (typeof module !== "undefined" && module.exports) {
    module.exports = factory();
  } else {
    root.HandcalcGrading = factory();
  }
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  var CORRECT = "correct", FOLLOW = "follow-through", WRONG = "wrong", BLANK = "blank";
  var REVEALED = "revealed", REVIEW = "needs-review";

  /* A failed computation (Python's ZeroDivisionError, ValueError, …): the view gives no
     target, the mistaken way no value. */
  function Fail(message) {
    this.message = message;
  }

  // --- exact fractions ------------------------------------------------------------------

  function gcd(a, b) {
    if (a < 0n) a = -a;
    if (b < 0n) b = -b;
    while (b) {
      var t = a % b;
      a = b;
      b = t;
    }
    return a;
  }

  function Frac(n, d) {
    if (d === undefined) d = 1n;
    if (d === 0n) throw new Fail("division by zero");
    if (d < 0n) {
      n = -n;
      d = -d;
    }
    var g = gcd(n, d);
    this.n = g > 1n ? n / g : n;
    this.d = g > 1n ? d / g : d;
  }

  var MASKED = { masked: true };
  var ZERO = new Frac(0n);

  /* grading.Interval: a value known only to lie in [lo, hi] (a rounded decimal). */
  function Interval(lo, hi) {
    this.lo = lo;
    this.hi = hi;
  }
  function ivOf(x) {
    return x instanceof Interval ? x : new Interval(frac(x), frac(x));
  }
  function isIv(a, b) {
    return a instanceof Interval || b instanceof Interval;
  }

  function frac(x) {
    if (x instanceof Frac) return x;
    if (x === MASKED) throw new Fail("a masked value in arithmetic");
    if (x instanceof Interval) throw new Fail("an interval where a number is needed");
    return new Frac(BigInt(x));
  }
  function cmp(a, b) {
    var d = a.n * b.d - b.n * a.d;
    return d < 0n ? -1 : d > 0n ? 1 : 0;
  }
  function abs(a) {
    return a.n < 0n ? new Frac(-a.n, a.d) : a;
  }
  function add(a, b) {
    if (isIv(a, b)) {
      a = ivOf(a);
      b = ivOf(b);
      return new Interval(add(a.lo, b.lo), add(a.hi, b.hi));
    }
    a = frac(a);
    b = frac(b);
    return new Frac(a.n * b.d + b.n * a.d, a.d * b.d);
  }
  function sub(a, b) {
    b = frac(b);
    return add(a, new Frac(-b.n, b.d));
  }
  function mul(a, b) {
    if (isIv(a, b)) {
      a = ivOf(a);
      b = ivOf(b);
      var ends = [mul(a.lo, b.lo), mul(a.lo, b.hi), mul(a.hi, b.lo), mul(a.hi, b.hi)];
      var lo = ends[0], hi = ends[0];
      ends.forEach(function (e) {
        if (cmp(e, lo) < 0) lo = e;
        if (cmp(e, hi) > 0) hi = e;
      });
      return new Interval(lo, hi);
    }
    a = frac(a);
    b = frac(b);
    return new Frac(a.n * b.n, a.d * b.d);
  }
  function div(a, b) {
    if (isIv(a, b)) {
      b = ivOf(b);
      if (b.lo.n <= 0n && b.hi.n >= 0n) throw new Fail("a divisor interval holding 0");
      return mul(a, new Interval(div(1n, b.hi), div(1n, b.lo)));
    }
    a = frac(a);
    b = frac(b);
    if (b.n === 0n) throw new Fail("division by zero");
    return new Frac(a.n * b.d, a.d * b.n);
  }
  function eq(a, b) {
    if (a === MASKED || b === MASKED) return a === b;
    return a.n === b.n && a.d === b.d;
  }
  function floorDiv(n, d) {
    var q = n / d;
    return n % d !== 0n && n < 0n !== d < 0n ? q - 1n : q;
  }
  function text(x) {
    return x.d === 1n ? String(x.n) : x.n + "/" + x.d;
  }
  /* numbers.decimal: rounded half away from zero to `places` decimals, exactly. */
  function decimal(x, places) {
    var scale = 10n ** BigInt(places);
    var num = (x.n < 0n ? -x.n : x.n) * scale;
    var whole = num / x.d;
    if ((num - whole * x.d) * 2n >= x.d) whole += 1n;
    var sign = x.n < 0n && whole ? "-" : "";
    var digits = String(whole).padStart(places + 1, "0");
    return places ? sign + digits.slice(0, -places) + "." + digits.slice(-places) : sign + digits;
  }

  /* The exact value of a double, as Python's Fraction(float) gives it. */
  function fromDouble(x) {
    if (!isFinite(x)) throw new Fail("not a finite number");
    if (x === 0) return ZERO;
    var view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, x);
    var hi = view.getUint32(0), lo = view.getUint32(4);
    var exp = (hi >>> 20) & 0x7ff;
    var mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
    if (exp) mant |= 1n << 52n;
    else exp = 1;
    var e = exp - 1075;
    var sign = hi >>> 31 ? -1n : 1n;
    return e >= 0
      ? new Frac(sign * (mant << BigInt(e)))
      : new Frac(sign * mant, 1n << BigInt(-e));
  }
  function toDouble(x) {
    return Number(x.n) / Number(x.d);
  }

  // --- numbers as people write them (handcalc/numbers.py) -------------------------------

  var INT = /^[+-]?\d+$/;
  var FRACTION = /^([+-]?\d+)\s*\/\s*([+-]?\d+)$/;
  var DECIMAL = /^[+-]?(\d+\.\d*|\.\d+)$/;
  var DECIMAL_COMMA = /^([+-]?)(\d+),(\d+)$/;
  var MINUS_SIGNS = /[\u2212\u2013\ufe63\uff0d]/g;
  var FRACTION_SLASHES = /[\u2044\u2215]/g;
  var MIXED = /^([+-]?)(\d+)[ ]+(\d+)[ ]*\/[ ]*(\d+)$/;
  var VULGAR_CHARS = {
    "½": [1, 2], "⅓": [1, 3], "⅔": [2, 3], "¼": [1, 4], "¾": [3, 4], "⅕": [1, 5], "⅖": [2, 5],
    "⅗": [3, 5], "⅘": [4, 5], "⅙": [1, 6], "⅚": [5, 6], "⅐": [1, 7], "⅛": [1, 8], "⅜": [3, 8],
    "⅝": [5, 8], "⅞": [7, 8], "⅑": [1, 9], "⅒": [1, 10],
  };
  var VULGAR = new RegExp("^([+-]?)(\\d*)([" + Object.keys(VULGAR_CHARS).join("") + "])$");
  var SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹";
  var POWER = /^([+-]?)(\d+)(?:\^([+-]?\d+)|\^\(([+-]?\d+)\)|([⁻⁺]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+))$/;
  var POWER_LIMIT = 60;

  /* numbers.Unclear: a cell with more than one reading, or only a likely one. */
  function Unclear(message, readings, byRange) {
    this.message = message;
    this.readings = readings;
    this.byRange = !!byRange;
  }
  function exact(value) {
    return { value: value, places: null };
  }
  function likelyText(w) {
    return w.places !== null ? decimal(w.value, w.places) : text(w.value);
  }
  function signed(sign, x) {
    return sign === "-" ? new Frac(-x.n, x.d) : x;
  }
  function superscript(sup) {
    return sup
      .split("")
      .map(function (ch) {
        return ch === "⁻" ? "-" : ch === "⁺" ? "+" : String(SUPERSCRIPTS.indexOf(ch));
      })
      .join("");
  }

  function quoted(text) {
    return "'" + text + "'";
  }

  /* One written cell: {value, places} (places null when exact), null for a blank. */
  function parse(raw) {
    if (raw === null || raw === undefined) return null;
    if (typeof raw === "boolean") throw new Fail("cannot read " + (raw ? "True" : "False") + " as a number");
    if (typeof raw === "number") {
      if (!isFinite(raw)) throw new Fail("cannot read " + raw + " as a number");
      if (Number.isInteger(raw)) return { value: new Frac(BigInt(raw)), places: null };
      return parse(String(raw));
    }
    if (typeof raw !== "string") throw new Fail("cannot read " + JSON.stringify(raw) + " as a number");
    var s = raw.trim().replace(MINUS_SIGNS, "-").replace(FRACTION_SLASHES, "/");
    if (s === "") return null;
    if (s.length > 40) throw new Fail("cannot read " + quoted(raw.slice(0, 20)) + "… as a number (too long)");
    var special = parseSpecial(s, raw);
    if (special !== null) return special;
    try {
      return parsePlain(s.replace(/ /g, ""), raw);
    } catch (e) {
      if (!(e instanceof Fail)) throw e;
      var likely = likelyOf(raw);
      if (likely === null) throw e;
      throw new Unclear("cannot read " + quoted(raw) + " as written; likely " + likelyText(likely), [likely]);
    }
  }

  /* numbers._special: mixed numbers, vulgar fractions, powers (read before spaces go). */
  function parseSpecial(s, raw) {
    var m = MIXED.exec(s);
    if (m) {
      var num = BigInt(m[3]), den = BigInt(m[4]);
      if (den === 0n) throw new Fail("cannot read " + quoted(raw) + ": division by zero");
      var value = signed(m[1], add(new Frac(BigInt(m[2])), new Frac(num, den)));
      if (num >= den) {
        throw new Unclear(
          quoted(raw) + " is not a mixed number (the fraction is 1 or more); likely " + text(value),
          [exact(value)]
        );
      }
      return exact(value);
    }
    var bare = s.replace(/ /g, "");
    m = VULGAR.exec(bare);
    if (m) {
      var part = VULGAR_CHARS[m[3]];
      return exact(signed(m[1], add(new Frac(BigInt(m[2] || "0")), new Frac(BigInt(part[0]), BigInt(part[1])))));
    }
    m = POWER.exec(bare);
    if (m) {
      var exponent = Number(m[3] || m[4] || superscript(m[5]));
      var base = BigInt(m[2]);
      if (Math.abs(exponent) > POWER_LIMIT) throw new Fail("cannot read " + quoted(raw) + ": the power is too large");
      if (base === 0n && exponent < 0) throw new Fail("cannot read " + quoted(raw) + ": division by zero");
      var power = exponent >= 0 ? new Frac(base ** BigInt(exponent)) : new Frac(1n, base ** BigInt(-exponent));
      return exact(signed(m[1], power));
    }
    return null;
  }

  /* numbers._likely: what a cell in unusual characters (a full-width digit) likely says. */
  function likelyOf(raw) {
    var folded = raw.normalize("NFKC");
    if (folded === raw || !/^[\x00-\x7f]*$/.test(folded)) return null;
    try {
      return parse(folded);
    } catch (e) {
      if (e instanceof Fail || e instanceof Unclear) return null;
      throw e;
    }
  }

  /* numbers._plain: integers, fractions and decimals, once spaces are dropped. */
  function parsePlain(s, raw) {
    if (INT.test(s)) return { value: new Frac(BigInt(s)), places: null };
    var m = FRACTION.exec(s);
    if (m) {
      var den = BigInt(m[2]);
      if (den === 0n) throw new Fail("cannot read " + quoted(raw) + ": division by zero");
      return { value: new Frac(BigInt(m[1]), den), places: null };
    }
    if (DECIMAL.test(s)) {
      var sign = s[0] === "-" ? -1n : 1n;
      var body = s.replace(/^[+-]/, "");
      var parts = body.split(".");
      var digits = (parts[0] + parts[1]) || "0";
      return {
        value: new Frac(sign * BigInt(digits), 10n ** BigInt(parts[1].length)),
        places: parts[1].length,
      };
    }
    /* A decimal comma; before three digits it may separate thousands (numbers.py). */
    m = DECIMAL_COMMA.exec(s);
    if (m) {
      var asDecimal = {
        value: new Frac(BigInt(m[1] + m[2] + m[3]), 10n ** BigInt(m[3].length)),
        places: m[3].length,
      };
      if (m[3].length === 3 && /[1-9]/.test(m[2])) {
        throw new Unclear(
          "cannot read " + quoted(raw) + ": the comma may separate thousands; write " +
            m[1] + m[2] + "." + m[3] + " or " + m[1] + m[2] + m[3],
          [asDecimal, exact(new Frac(BigInt(m[1] + m[2] + m[3])))],
          true
        );
      }
      return asDecimal;
    }
    throw new Fail("cannot read " + quoted(raw) + " as a number");
  }

  /* answers.read_cell: {text, written, error, readings, byRange}; never throws. */
  function readCell(raw) {
    var blank = { text: null, written: null, error: null, readings: [], byRange: false };
    if (raw === null || raw === undefined) return blank;
    var shown = typeof raw === "string" ? raw : JSON.stringify(raw).slice(0, 60);
    if (typeof raw === "object") {
      return { text: shown, written: null, error: "cannot read " + quoted(shown) + " as a number", readings: [], byRange: false };
    }
    try {
      var w = parse(raw);
      return w === null ? blank : { text: shown, written: w, error: null, readings: [], byRange: false };
    } catch (e) {
      if (e instanceof Unclear) return { text: shown, written: null, error: e.message, readings: e.readings, byRange: e.byRange };
      if (!(e instanceof Fail)) throw e;
      return { text: shown, written: null, error: e.message, readings: [], byRange: false };
    }
  }

  // --- the step table's operations (handcalc/steps.py) -----------------------------------

  function matmul(a, b) {
    if (a[0].length !== b.length) throw new Fail("cannot multiply");
    var out = [];
    for (var i = 0; i < a.length; i++) {
      var row = [];
      for (var j = 0; j < b[0].length; j++) {
        var s = ZERO;
        for (var k = 0; k < b.length; k++) s = add(s, mul(a[i][k], b[k][j]));
        row.push(s);
      }
      out.push(row);
    }
    return out;
  }
  function transpose(a) {
    return a[0].map(function (_, c) {
      return a.map(function (row) {
        return row[c];
      });
    });
  }
  function applyMask(a, mask) {
    if (!mask) return a;
    return a.map(function (row, r) {
      return row.map(function (x, c) {
        return (mask === "below" ? r > c : c > r) ? MASKED : x;
      });
    });
  }
  function elementwise(a, f, masked) {
    return a.map(function (row) {
      return row.map(function (x) {
        return x === MASKED ? masked : f(x);
      });
    });
  }
  function sums(a, axis) {
    var lines = axis === "columns" ? transpose(a) : a;
    return lines.map(function (line) {
      return line.reduce(add, ZERO);
    });
  }
  function normalise(a, totals, axis) {
    return a.map(function (row, r) {
      return row.map(function (x, c) {
        return div(x, totals[axis === "columns" ? c : r]);
      });
    });
  }
  function concat(parts, axis) {
    if (axis === "rows") return [].concat.apply([], parts);
    return parts[0].map(function (_, r) {
      return [].concat.apply([], parts.map(function (p) { return p[r]; }));
    });
  }

  /* steps.quarter_turns and steps.rotate: RoPE by quarter turns, (a, b) -> (-b, a) per turn. */
  function quarterTurns(vec, turns) {
    var out = vec.slice();
    for (var t = 0; t < ((turns % 4) + 4) % 4; t++) {
      var next = [];
      for (var i = 0; i < out.length; i += 2) {
        var b = frac(out[i + 1]);
        next.push(new Frac(-b.n, b.d), out[i]);
      }
      out = next;
    }
    return out;
  }
  function rotate(a, axis, turns) {
    turns = turns || function (m) { return m; };
    var tokens = axis === "columns" ? transpose(a) : a;
    var turned = tokens.map(function (t, m) { return quarterTurns(t, turns(m)); });
    return axis === "columns" ? transpose(turned) : turned;
  }

  /* steps.add, steps.add_bias and steps.relu: the block's residuals, biases and ReLU. */
  function addAll(a, b) {
    return a.map(function (row, r) {
      return row.map(function (x, c) { return add(x, b[r][c]); });
    });
  }
  function addBias(a, bias, axis) {
    return a.map(function (row, r) {
      return row.map(function (x, c) { return add(x, bias[axis === "columns" ? r : c]); });
    });
  }
  function relu(x) {
    x = frac(x);
    return x.n > 0n ? x : ZERO;
  }

  function floorHalf(x) {
    x = frac(x);
    return new Frac(floorDiv(x.n, 2n * x.d));
  }
  function truncHalf(x) {
    x = frac(x);
    return new Frac(x.n / (2n * x.d));
  }

  /* grading.hand_track: the sheet's hand track, safe on any numbers a student writes. */
  function handTrack(rounding, expLimit) {
    return {
      scale: rounding === "floor" ? floorHalf : truncHalf,
      exp: function (x) {
        x = frac(x);
        if (x.d !== 1n || (x.n < 0n ? -x.n : x.n) > BigInt(expLimit)) {
          throw new Fail("3^x needs a whole x of moderate size");
        }
        return x.n >= 0n ? new Frac(3n ** x.n) : new Frac(1n, 3n ** -x.n);
      },
    };
  }
  function eTo(expLimit) {
    return function (x) {
      x = frac(x);
      var v = toDouble(x);
      if (Math.abs(v) > expLimit) throw new Fail("e^x of a huge x");
      return fromDouble(Math.exp(v));
    };
  }

  function compute(step, values, track) {
    var args = step.inputs.map(function (i) {
      return values[i];
    });
    switch (step.kind) {
      case "product":
        return applyMask(matmul(args[0], args[1]), step.mask);
      case "transpose":
        return transpose(args[0]);
      case "scale":
        return elementwise(args[0], track.scale, MASKED);
      case "exp":
        return elementwise(args[0], track.exp, ZERO);
      case "sum":
        return sums(args[0], step.axis);
      case "normalise":
        return normalise(args[0], args[1], step.axis);
      case "concat":
        return concat(args, step.axis);
      case "rotate":
        return rotate(args[0], step.axis, function (m) { return m + (step.start || 0); });
      case "add":
        return addAll(args[0], args[1]);
      case "affine":
        return addBias(matmul(args[0], args[1]), args[2], step.axis);
      case "relu":
        return elementwise(args[0], relu, MASKED);
    }
    throw new Fail("step " + step.name + " has no computation (" + step.kind + ")");
  }

  function attempt(f) {
    try {
      return f();
    } catch (e) {
      if (e instanceof Fail) return null;
      throw e;
    }
  }

  // --- the exercise ------------------------------------------------------------------

  function Exercise(data) {
    this.data = data;
    this.steps = data.steps;
    this.byName = {};
    for (var i = 0; i < data.steps.length; i++) this.byName[data.steps[i].name] = data.steps[i];
    this.worked = data.steps.filter(function (s) {
      return s.kind !== "given";
    });
    this.givenSteps = data.steps.filter(function (s) {
      return s.kind === "given";
    });
    // Worked steps printed as givens (a drill): worked out for the key, never graded.
    var shown = {};
    (data.shown || []).forEach(function (name) {
      shown[name] = true;
    });
    this.shown = shown;
    this.asked = this.worked.filter(function (s) {
      return !shown[s.name];
    });
    this.track = handTrack(data.rounding, data.expLimit);
  }

  function lift(m) {
    return m.map(function (row) {
      if (!Array.isArray(row)) return new Frac(BigInt(row)); // a bias: a flat list
      return row.map(function (x) {
        return new Frac(BigInt(x));
      });
    });
  }

  /* The key: every step worked from the given matrices on the hand track. */
  function solve(ex) {
    var values = {};
    ex.givenSteps.forEach(function (s) {
      values[s.name] = lift(ex.data.given[s.name]);
    });
    ex.worked.forEach(function (s) {
      values[s.name] = compute(s, values, ex.track);
    });
    return values;
  }

  function isVector(step) {
    return step.cols === null || step.cols === undefined;
  }
  function positions(step) {
    var out = [];
    for (var r = 0; r < step.rows; r++) {
      if (isVector(step)) out.push([r, null]);
      else for (var c = 0; c < step.cols; c++) out.push([r, c]);
    }
    return out;
  }
  function at(value, p) {
    return p[1] === null ? value[p[0]] : value[p[0]][p[1]];
  }
  function shaped(step, cell) {
    var out = [];
    for (var r = 0; r < step.rows; r++) {
      if (isVector(step)) out.push(cell([r, null]));
      else {
        var row = [];
        for (var c = 0; c < step.cols; c++) row.push(cell([r, c]));
        out.push(row);
      }
    }
    return out;
  }
  function key(p) {
    return p[0] + "," + p[1];
  }
  function sameValue(a, b) {
    if (Array.isArray(a)) {
      if (!Array.isArray(b) || a.length !== b.length) return false;
      for (var i = 0; i < a.length; i++) if (!sameValue(a[i], b[i])) return false;
      return true;
    }
    return eq(a, b);
  }
  function fieldName(step, r, c) {
    return c === null ? step + "_" + (r + 1) : step + "_r" + (r + 1) + "_c" + (c + 1);
  }

  /* grading.needed_places: the decimals a non-whole key needs (fewer from 1 up). */
  /* `places` is [decimals, relative] (the marking's places and whether they relax from 1 up). */
  function neededPlaces(t, places) {
    var size = abs(t), n = places[0];
    if (size.n < size.d || !places[1]) return n;
    var digits = String(size.n / size.d).length;
    return Math.min(n, Math.max(1, n - digits));
  }

  /* Whether a written number counts as the target (the tolerance rule). */
  function matches(w, target, places) {
    if (places === undefined) places = [2, true];
    if (target === MASKED || target === null || target === undefined) return false;
    if (target instanceof Interval) {
      var whole = eq(target.lo, target.hi) && target.lo.d === 1n;
      var need = neededPlaces(div(add(target.lo, target.hi), 2n), places);
      if (w.places !== null && w.places < need && !whole) return false;
      var half = w.places === null ? ZERO : new Frac(1n, 2n * 10n ** BigInt(w.places));
      return cmp(sub(target.lo, half), w.value) <= 0 && cmp(w.value, add(target.hi, half)) <= 0;
    }
    if (eq(w.value, target)) return true;
    if (w.places === null || (target.d !== 1n && w.places < neededPlaces(target, places))) return false;
    var diff = sub(w.value, target);
    var lhs = (diff.n < 0n ? -diff.n : diff.n) * 2n * 10n ** BigInt(w.places);
    return lhs <= diff.d;
  }

  /* grading.rough: a written number with the rounding its places say. */
  function rough(w) {
    if (w.places === null) return w.value;
    var half = new Frac(1n, 2n * 10n ** BigInt(w.places));
    return new Interval(sub(w.value, half), add(w.value, half));
  }

  /* grading.Marking: the places a decimal needs, and what each step weighs. */
  var COPY_KINDS = ["transpose", "concat"];
  function marking(m) {
    m = m || {};
    return {
      places: [m.places === undefined ? 2 : m.places, m.relative !== false],
      preset: m.weights || "light-copy",
      factors: Object.keys(m.factors || {}).map(function (name) {
        var f = m.factors[name];
        var parts = String(f).split("/");
        return [name, new Frac(BigInt(parts[0]), BigInt(parts[1] || "1"))];
      }),
    };
  }
  function weightOf(mk, step, counted) {
    var base;
    if (mk.preset === "cells") base = new Frac(BigInt(counted));
    else if (mk.preset === "steps") base = new Frac(1n);
    else base = COPY_KINDS.indexOf(step.kind) >= 0 ? new Frac(1n, 4n) : new Frac(1n);
    mk.factors.forEach(function (nf) {
      if (nf[0] === step.name || nf[0] === step.role) base = mul(base, nf[1]);
    });
    return base;
  }

  // --- named mistakes ----------------------------------------------------------------

  function withStep(s, changes) {
    return Object.assign({}, s, changes);
  }
  function withValue(fed, name, value) {
    var out = Object.assign({}, fed);
    out[name] = value;
    return out;
  }
  function otherAxis(axis) {
    return axis === "columns" ? "rows" : "columns";
  }
  function weightsName(cx, s) {
    return s.inputs.filter(function (i) {
      return cx.ex.byName[i].role === "A";
    })[0];
  }
  /* The weight matrix a projection multiplies its input by (Context.weights). */
  function weightsOf(cx, step) {
    return step.inputs.filter(function (i) {
      return cx.ex.byName[i].role.charAt(0) === "W";
    })[0];
  }
  function shapedLike(value, step) {
    if (isVector(step)) return value.length === step.rows && !Array.isArray(value[0]);
    return value.length === step.rows && value.every(function (r) {
      return Array.isArray(r) && r.length === step.cols;
    });
  }

  /* grading._rounding_case: the learner's own case for the rounding message, the first
     score (as fed) whose half floor and truncation round apart. */
  function roundingCase(cx, s) {
    var scores = cx.fed[s.inputs[0]], ps = positions(s);
    for (var i = 0; i < ps.length; i++) {
      var x = at(scores, ps[i]);
      if (x !== MASKED && !eq(floorHalf(x), truncHalf(x))) return frac(x);
    }
    return new Frac(-3n);
  }

  /* grading._unturned: a turned step's value as if no turn had been made (Qr is Q, Krᵀ is Kᵀ). */
  function unturned(cx, name) {
    var s = cx.ex.byName[name];
    if (s.kind === "rotate") return cx.fed[s.inputs[0]];
    if (s.kind === "transpose") return transpose(unturned(cx, s.inputs[0]));
    if (s.kind === "concat") {
      var parts = s.inputs.map(function (i) {
        return attempt(function () { return unturned(cx, i); });
      });
      if (parts.every(function (p) { return p === null; })) throw new Fail(name + " is not turned");
      return concat(parts.map(function (p, k) { return p === null ? cx.fed[s.inputs[k]] : p; }), s.axis);
    }
    throw new Fail(name + " is not turned");
  }

  var MISTAKES = [
    {
      kind: "weights-swapped",
      roles: ["Q", "K", "q", "k"],
      redo: function (cx, s) {
        if (!s.partner) throw new Fail(s.name + " has no partner projection");
        var own = weightsOf(cx, s), other = weightsOf(cx, cx.ex.byName[s.partner]);
        var inputs = s.inputs.map(function (i) { return i === own ? other : i; });
        return compute(withStep(s, { inputs: inputs }), cx.fed, cx.track);
      },
      say: function (cx, s) {
        var other = weightsOf(cx, cx.ex.byName[s.partner]);
        return (
          s.name + " was worked with " + other + " instead of " + weightsOf(cx, s) +
          ": the query and key weights were swapped."
        );
      },
    },
    {
      kind: "scores-transposed",
      roles: ["S"],
      redo: function (cx, s) {
        var plain = compute(withStep(s, { mask: null }), cx.fed, cx.track);
        return applyMask(transpose(plain), s.mask);
      },
      say: function (cx, s) {
        var wrong = cx.ex.data.convention === "columns" ? "Qᵀ·K (or K·Qᵀ)" : "K·Qᵀ";
        return s.name + " is transposed: it was worked as " + wrong + " instead of " + s.formula + ".";
      },
    },
    {
      kind: "rounding",
      roles: ["scaled"],
      redo: function (cx, s) {
        var other = cx.rounding === "floor" ? "zero" : "floor";
        return compute(s, cx.fed, handTrack(other, cx.ex.data.expLimit));
      },
      say: function (cx, s) {
        var x = roundingCase(cx, s);
        var t = x.d === 1n ? text(x) : "(" + text(x) + ")";
        var down = text(floorHalf(x)), zero = text(truncHalf(x));
        if (cx.rounding === "floor") {
          return (
            s.name + " rounds halves toward zero instead of down: floor(" + t + "/2) is " +
            down + ", not " + zero + "."
          );
        }
        return (
          s.name + " rounds halves down (floor) instead of toward zero, as this sheet says: " +
          t + "/2 becomes " + zero + ", not " + down + "."
        );
      },
    },
    {
      kind: "not-scaled",
      roles: ["scaled", "exp"],
      redo: function (cx, s) {
        if (s.kind === "scale") return cx.fed[s.inputs[0]];
        var scale = cx.ex.byName[s.inputs[0]];
        return compute(s, withValue(cx.fed, scale.name, cx.fed[scale.inputs[0]]), cx.track);
      },
      say: function (cx, s) {
        if (s.kind === "scale") {
          return s.name + " = " + s.inputs[0] + ": the scores were not scaled (halved and rounded).";
        }
        var scores = cx.ex.byName[s.inputs[0]].inputs[0];
        return s.name + " = 3^" + scores + ": the scaling step was skipped.";
      },
    },
    {
      kind: "e-not-3",
      roles: ["exp"],
      redo: function (cx, s) {
        return compute(s, cx.fed, { scale: cx.track.scale, exp: eTo(cx.ex.data.expLimit) });
      },
      say: function (cx, s) {
        return s.name + " used e^x instead of 3^x: this sheet's stand-in for e^x is 3^x.";
      },
    },
    {
      kind: "softmax-axis",
      roles: ["colsum", "rowsum", "A"],
      redo: function (cx, s) {
        var e = cx.fed[s.inputs[0]];
        var other = otherAxis(s.axis);
        if (s.kind === "sum") return sums(e, other);
        return normalise(e, sums(e, other), other);
      },
      say: function (cx, s) {
        var line = s.axis === "columns" ? "column" : "row";
        var other = s.axis === "columns" ? "row" : "column";
        if (s.kind === "sum") {
          return s.name + " holds " + other + " sums: softmax sums each " + line + " of exp (one per query).";
        }
        return (
          s.name + " was normalised along " + other + "s instead of " + line + "s: " +
          "each " + line + " of A must sum to 1."
        );
      },
    },
    {
      kind: "weights-axis",
      roles: ["Z"],
      redo: function (cx, s) {
        var a = weightsName(cx, s);
        return compute(s, withValue(cx.fed, a, transpose(cx.fed[a])), cx.track);
      },
      say: function (cx, s) {
        var a = weightsName(cx, s);
        var wrong = s.inputs.map(function (i) {
          return i === a ? i + "ᵀ" : i;
        }).join("·");
        return (
          s.name + " was worked as " + wrong + " instead of " + s.inputs.join("·") +
          ": the weights were applied along the wrong axis."
        );
      },
    },
    {
      kind: "weights-axis",
      roles: ["Z"],
      redo: function (cx, s) {
        var value = matmul(cx.fed[s.inputs[1]], cx.fed[s.inputs[0]]);
        return value.length === s.rows && value[0].length === s.cols ? value : null;
      },
      say: function (cx, s) {
        return (
          s.name + " was worked as " + s.inputs.slice().reverse().join("·") + " instead of " +
          s.inputs.join("·") + ": the weights were applied along the wrong axis."
        );
      },
    },
    {
      kind: "rotation-direction",
      roles: ["Qr", "Kr", "qr", "kr"],
      redo: function (cx, s) {
        var start = s.start || 0;
        return rotate(cx.fed[s.inputs[0]], s.axis, function (m) { return -(m + start); });
      },
      say: function (cx, s) {
        return s.name + " turns the wrong way: a quarter turn takes (a, b) to (−b, a), not to (b, −a).";
      },
    },
    {
      kind: "rotation-position",
      roles: ["Qr", "Kr", "qr", "kr"],
      redo: function (cx, s) {
        var start = s.start || 0;
        if (start && (start + 1) % 4 === 0) throw new Fail("four quarter turns: the same as none");
        return rotate(cx.fed[s.inputs[0]], s.axis, function (m) { return m + start + 1; });
      },
      say: function (cx, s) {
        if (s.start) {
          return (
            s.name + " turns the new token by the wrong position: counted from m = 0, the " +
            s.start + " cached tokens are m = 0 to " + (s.start - 1) + ", so it is m = " +
            s.start + " (" + s.start + " quarter turns)."
          );
        }
        return (
          s.name + " turns each token by the wrong position: the first token is m = 0 " +
          "(not turned at all), the second m = 1 (one quarter turn), and so on."
        );
      },
    },
    {
      kind: "not-rotated",
      roles: ["Qr", "Kr", "qr", "kr", "K", "KT", "S"],
      redo: function (cx, s) {
        if (["rotate", "transpose", "concat"].indexOf(s.kind) >= 0) return unturned(cx, s.name);
        var fed = cx.fed;
        s.inputs.forEach(function (i) { fed = withValue(fed, i, unturned(cx, i)); });
        return compute(s, fed, cx.track);
      },
      say: function (cx, s) {
        if (s.kind === "rotate" && s.start) {
          return (
            s.name + " = " + s.inputs[0] + ": the new token was not turned; it is m = " + s.start +
            ", so it turns " + s.start + " quarter turns, (a, b) → (−b, a) per turn."
          );
        }
        if (s.kind === "rotate") {
          return (
            s.name + " = " + s.inputs[0] + ": the tokens were not turned; token m turns m quarter " +
            "turns, (a, b) → (−b, a) per turn (only the first, m = 0, stays as it is)."
          );
        }
        if (s.kind === "concat") {
          return (
            s.name + " took the new key before its turn: the cache holds turned keys, so " +
            s.inputs[s.inputs.length - 1] + " joins it, " + s.name + " = " + s.formula + "."
          );
        }
        if (s.kind === "transpose") {
          return (
            s.name + " was copied from the keys before their turn: it is " + s.formula +
            ", the turned keys transposed."
          );
        }
        var q = cx.ex.byName[s.inputs.filter(function (i) {
          return cx.ex.byName[i].kind === "rotate";
        })[0]];
        var wrong = s.formula.replace("Krᵀ", "Kᵀ").replace(q.role, q.inputs[0].replace(/[0-9]+$/, ""));
        return (
          s.name + " was worked as " + wrong + ", from the unturned queries and keys: with rotary " +
          "positions the scores are " + s.formula + "."
        );
      },
    },
    {
      kind: "bias-left-out",
      roles: ["F", "Y"],
      redo: function (cx, s) {
        return matmul(cx.fed[s.inputs[0]], cx.fed[s.inputs[1]]);
      },
      say: function (cx, s) {
        return s.name + " leaves out the bias: " + s.formula + " adds " + s.inputs[2] +
          " to every token.";
      },
    },
    {
      kind: "relu-before-bias",
      roles: ["H"],
      redo: function (cx, s) {
        var f = cx.ex.byName[s.inputs[0]];
        var product = matmul(cx.fed[f.inputs[0]], cx.fed[f.inputs[1]]);
        return addBias(elementwise(product, relu, MASKED), cx.fed[f.inputs[2]], f.axis);
      },
      say: function (cx, s) {
        var f = cx.ex.byName[s.inputs[0]];
        var b = f.inputs[2];
        return s.name + " applies ReLU before the bias: it is ReLU(" + f.formula + "), the bias " +
          b + " added first, not ReLU(…) + " + b + ".";
      },
    },
    {
      kind: "residual-forgotten",
      roles: ["R1", "R2"],
      redo: function (cx, s) {
        return cx.fed[s.inputs[1]];
      },
      say: function (cx, s) {
        return s.name + " forgets the residual: it is " + s.inputs[0] + " + " + s.inputs[1] +
          ", the input carried round and added back, not " + s.inputs[1] + " alone.";
      },
    },
    {
      kind: "relu-kept-negative",
      roles: ["H"],
      redo: function (cx, s) {
        return cx.fed[s.inputs[0]];
      },
      say: function (cx, s) {
        return s.name + " keeps negative entries: ReLU(x) = max(x, 0) turns every negative " +
          "entry of " + s.inputs[0] + " into 0.";
      },
    },
  ];

  // --- the algorithm -------------------------------------------------------------------

  function hiddenCells(ex, keyValues) {
    var hidden = {};
    ex.worked.forEach(function (s) {
      var h = {};
      if (s.mask) {
        positions(s).forEach(function (p) {
          if (at(keyValues[s.name], p) === MASKED) h[key(p)] = true;
        });
      } else if (["scale", "exp", "normalise"].indexOf(s.kind) >= 0 && s.inputs[0] in hidden) {
        h = hidden[s.inputs[0]];
      }
      hidden[s.name] = h;
    });
    return hidden;
  }

  function judge(cell, k, targets, places) {
    if (cell.error !== null) return [REVIEW, k];
    if (cell.written === null) return [BLANK, k];
    if (matches(cell.written, k, places)) return [CORRECT, k];
    for (var i = 0; i < targets.length; i++) {
      if (matches(cell.written, targets[i], places)) {
        return [FOLLOW, targets[i] instanceof Interval ? cell.written.value : targets[i]];
      }
    }
    return [WRONG, cell.written.value];
  }

  /* grading._bound / _settle / _likely: readings the step's range settles. */
  function sizeOf(x) {
    if (x === MASKED || x === null || x === undefined) return ZERO;
    if (x instanceof Interval) return cmp(abs(x.lo), abs(x.hi)) >= 0 ? abs(x.lo) : abs(x.hi);
    return abs(x);
  }
  function boundOf(graded, values) {
    var most = new Frac(1n);
    values.forEach(function (v) {
      graded.forEach(function (p) {
        var size = sizeOf(at(v, p));
        if (cmp(size, most) > 0) most = size;
      });
    });
    return mul(most, 10n);
  }
  function fitting(cell, bound) {
    return cell.readings.filter(function (w) {
      return cmp(abs(w.value), bound) <= 0;
    });
  }
  function settle(cells, gradedKeys, bound, s) {
    return shaped(s, function (p) {
      var cell = at(cells, p);
      if (!cell.byRange || !gradedKeys[key(p)]) return cell;
      var fits = fitting(cell, bound);
      if (fits.length !== 1) return cell;
      return { text: cell.text, written: fits[0], error: null, readings: cell.readings, byRange: cell.byRange };
    });
  }
  function likelyReading(cell, bound) {
    if (!cell.readings.length) return null;
    var fits = cell.byRange ? fitting(cell, bound) : [];
    return likelyText((fits.length ? fits : cell.readings)[0]);
  }

  function trivial(cells, graded) {
    var seen = [];
    graded.forEach(function (p) {
      var w = at(cells, p).written;
      if (w !== null && !seen.some(function (v) { return eq(v, w.value); })) seen.push(w.value);
    });
    return seen.length === 0 || (seen.length === 1 && graded.length > 1);
  }

  /* grading._earned: every cell right or follow-through, so an all-one-value step the
     student's own work gives is followed. */
  function earned(judged, graded) {
    return graded.length > 0 && graded.every(function (p) {
      var j = judged[key(p)];
      return !!j && (j[0] === CORRECT || j[0] === FOLLOW);
    });
  }

  /* grading.too_short: a decimal that would match but for having fewer places than needed. */
  function tooShort(w, target, places) {
    if (w === null || w.places === null || target === MASKED || target === null || target === undefined) {
      return false;
    }
    if (target.d === 1n || w.places >= neededPlaces(target, places)) return false;
    var diff = sub(w.value, target);
    return (diff.n < 0n ? -diff.n : diff.n) * 2n * 10n ** BigInt(w.places) <= diff.d;
  }

  /* grading.say_expected: the key's value and, where it differs, what the student's own
     earlier steps lead to; the places a too-short decimal needs. */
  function sayExpected(cell, expected, k, yours, places) {
    var parts = [];
    if (expected !== null && expected !== MASKED && !eq(expected, k) && yours.length) {
      parts.push("from your " + yours.join(" and ") + ": " + text(expected));
    }
    parts.push("key: " + text(k));
    var out = parts.join("; ");
    var short = [k, expected].filter(function (t) { return tooShort(cell.written, t, places); });
    if (short.length) {
      var need = neededPlaces(short[0], places);
      out += "; write at least " + need + " decimal" + (need > 1 ? "s" : "");
    }
    return out;
  }

  function mistakesOf(contexts, s, cells, verdicts, expected, graded, k, yours, places) {
    var wrong = graded.filter(function (p) { return at(verdicts, p) === WRONG; });
    if (!wrong.length) return [];
    var written = graded.filter(function (p) { return at(cells, p).written !== null; });
    var found = [];
    MISTAKES.forEach(function (way) {
      if (way.roles.indexOf(s.role) < 0) return;
      if (found.some(function (m) { return m.kind === way.kind; })) return;
      for (var i = 0; i < contexts.length; i++) {
        var cx = contexts[i];
        var value = attempt(function () { return way.redo(cx, s); });
        if (value !== null && shapedLike(value, s) && written.every(function (p) {
          return matches(at(cells, p).written, at(value, p), places);
        })) {
          found.push({ kind: way.kind, text: way.say(cx, s) });
          break;
        }
      }
    });
    var unsure = graded.filter(function (p) {
      var v = at(verdicts, p);
      return v === BLANK || v === REVIEW;
    });
    if (found.length || wrong.length !== 1 || unsure.length || graded.length < 2) {
      return found;
    }
    var p = wrong[0];
    var where = p[1] !== null ? "row " + (p[0] + 1) + ", column " + (p[1] + 1) : "entry " + (p[0] + 1);
    var cell = at(cells, p);
    return [{
      kind: "slip",
      text: "One slip in " + s.name + ", " + where + ": wrote " + cell.text + "; " +
        sayExpected(cell, at(expected, p), at(k, p), yours, places) + ".",
      cell: fieldName(s.name, p[0], p[1]),
      wrote: cell.text,
      expected: text(at(expected, p)),
      key: text(at(k, p)),
    }];
  }

  /* answers.Answers.grid for an answers object: every worked step's cells, step-shaped. */
  function grid(ex, answers) {
    var out = {};
    ex.asked.forEach(function (s) {
      var value = answers[s.name];
      if (value === undefined || value === null || value === "") value = null;
      out[s.name] = shaped(s, function (p) {
        if (value === null) return readCell(null);
        return readCell(p[1] === null ? value[p[0]] : value[p[0]][p[1]]);
      });
    });
    return out;
  }

  /* answers.Answers.revealed_cells: per worked step, the keys of the cells the page revealed. */
  function revealedCells(ex, answers) {
    var names = Array.isArray(answers.revealed) ? answers.revealed : [];
    var out = {};
    ex.worked.forEach(function (s) {
      out[s.name] = {};
      positions(s).forEach(function (p) {
        if (names.indexOf(fieldName(s.name, p[0], p[1])) >= 0) out[s.name][key(p)] = true;
      });
    });
    return out;
  }

  function jsonCell(x) {
    return x === MASKED ? "-inf" : x.d === 1n ? Number(x.n) : text(x);
  }

  var ROUGH_KINDS = ["product", "sum", "normalise", "transpose", "concat"];

  /* Grade one answers object (the answers file's JSON) against the page's problem; the
     result has the fields of `handcalc check --json` that the page and the vectors use.
     `rules` ({places, weights, factors}) is the marking; the default is handcalc's.
     `fill(step, position)` (the marking page's) says which cells to take as written with the
     value the student's own earlier cells lead to, as if copied from the screen; the result's
     `filled` then holds every step's cells as an answers file writes them. */
  function grade(ex, answers, keyValues, rules, fill) {
    keyValues = keyValues || solve(ex);
    var mk = marking(rules);
    var places = mk.places;
    var cellsBy = grid(ex, answers);
    var hidden = hiddenCells(ex, keyValues);
    var revealed = revealedCells(ex, answers);
    var credited = {}, asWritten = {}, roughly = {};
    ex.givenSteps.forEach(function (s) {
      credited[s.name] = asWritten[s.name] = roughly[s.name] = keyValues[s.name];
    });
    var out = {}, graded = 0, creditedCount = 0, firstWrong = null, filled = {};
    var total = ZERO, weighted = ZERO;
    var counts = {};
    [CORRECT, FOLLOW, WRONG, BLANK, REVEALED, REVIEW].forEach(function (v) { counts[v] = 0; });
    ex.worked.forEach(function (s) {
      if (ex.shown[s.name]) {
        credited[s.name] = asWritten[s.name] = roughly[s.name] = keyValues[s.name];
        return;
      }
      var k = keyValues[s.name];
      var views = [credited];
      if (s.inputs.some(function (i) { return !sameValue(credited[i], asWritten[i]); })) {
        views.push(asWritten);
      }
      var worked = views
        .map(function (view) {
          return [view, attempt(function () { return compute(s, view, ex.track); })];
        })
        .filter(function (w) { return w[1] !== null; });
      var targets = worked.map(function (w) { return w[1]; });
      if (ROUGH_KINDS.indexOf(s.kind) >= 0 && s.inputs.some(function (i) { return roughly[i] !== asWritten[i]; })) {
        var t = attempt(function () { return compute(s, roughly, ex.track); });
        if (t !== null) targets.push(t);
      }
      var yours = worked.length
        ? s.inputs.filter(function (i) { return !sameValue(worked[0][0][i], keyValues[i]); })
        : [];
      if (fill) {
        var goal = worked.length ? worked[0][1] : k;
        var raw = answers[s.name];
        filled[s.name] = shaped(s, function (p) {
          var g = at(goal, p);
          if (fill(s.name, p)) return hidden[s.name][key(p)] || g === MASKED ? null : jsonCell(g);
          var v = Array.isArray(raw) ? (p[1] === null ? raw[p[0]] : (raw[p[0]] || [])[p[1]]) : null;
          return v === undefined || v === "" ? null : v;
        });
        cellsBy[s.name] = shaped(s, function (p) {
          return fill(s.name, p) ? readCell(at(filled[s.name], p)) : at(cellsBy[s.name], p);
        });
      }
      var gradedHere = positions(s).filter(function (p) { return !hidden[s.name][key(p)]; });
      var gradedKeys = {};
      gradedHere.forEach(function (p) { gradedKeys[key(p)] = true; });
      var bound = boundOf(gradedHere, [k].concat(worked.map(function (w) { return w[1]; })));
      var cells = settle(cellsBy[s.name], gradedKeys, bound, s);
      var own = gradedHere.filter(function (p) { return !revealed[s.name][key(p)]; });
      var judged = {};
      gradedHere.forEach(function (p) {
        judged[key(p)] = revealed[s.name][key(p)]
          ? [REVEALED, at(k, p)]
          : judge(at(cells, p), at(k, p), targets.map(function (t) { return at(t, p); }), places);
      });
      var verdicts = shaped(s, function (p) {
        return judged[key(p)] ? judged[key(p)][0] : null;
      });
      var expected = worked.length ? worked[0][1] : k;
      var contexts = views.map(function (view) {
        return { ex: ex, fed: view, rounding: ex.data.rounding, track: ex.track };
      });
      var found = mistakesOf(contexts, s, cells, verdicts, expected, own, k, yours, places);
      var unreadable = [];
      own.forEach(function (p) {
        var c = at(cells, p);
        if (judged[key(p)][0] === REVIEW) {
          unreadable.push({ cell: fieldName(s.name, p[0], p[1]), text: c.text, likely: likelyReading(c, bound), error: c.error });
        }
      });
      var here = { graded: 0, credited: 0, review: 0 };
      gradedHere.forEach(function (p) {
        var v = judged[key(p)][0];
        counts[v] += 1;
        graded += 1;
        here.graded += 1;
        if (v === REVIEW) here.review += 1;
        if (v === CORRECT || v === FOLLOW) {
          creditedCount += 1;
          here.credited += 1;
        }
        if (v === WRONG && firstWrong === null) firstWrong = s.name;
      });
      var counted = here.graded - here.review;
      if (counted) {
        var w = weightOf(mk, s, counted);
        total = add(total, w);
        weighted = add(weighted, mul(w, new Frac(BigInt(here.credited), BigInt(counted))));
      }
      out[s.name] = {
        cells: verdicts,
        mistakes: found,
        unreadable: unreadable,
        expected: expected,
        yours: yours,
      };
      if (trivial(cells, own) && !earned(judged, own)) {
        credited[s.name] = asWritten[s.name] = roughly[s.name] = k;
        return;
      }
      credited[s.name] = shaped(s, function (p) {
        return judged[key(p)] ? judged[key(p)][1] : at(k, p);
      });
      var mine = function (p) {
        var w = at(cells, p).written;
        return judged[key(p)] && judged[key(p)][0] !== REVEALED && w !== null ? w : null;
      };
      asWritten[s.name] = shaped(s, function (p) {
        var w = mine(p);
        return w !== null ? w.value : at(k, p);
      });
      var widened = false;
      var wide = shaped(s, function (p) {
        var w = mine(p);
        if (w === null) return at(k, p);
        var r = rough(w);
        if (r instanceof Interval) widened = true;
        return r;
      });
      roughly[s.name] = widened ? wide : asWritten[s.name];
    });
    var score = cmp(total, ZERO) > 0 ? div(mul(weighted, 100n), total) : ZERO;
    return {
      id: ex.data.id,
      student: typeof answers.student === "string" && answers.student ? answers.student : null,
      percent: toDouble(score),
      graded: graded,
      credited: creditedCount,
      counts: counts,
      first_wrong: firstWrong,
      steps: out,
      filled: fill ? filled : undefined,
    };
  }

  // --- words for wrong cells (the page's report; report.to_text says the same) ----------

  /* Each readable wrong cell of each step, with what it should have been in the words of
     `handcalc check` ("wrote 0.2 (key: …; write at least 2 decimals)"): {step: [{cell,
     position, wrote, said}]}. */
  function wrongCells(ex, answers, report, keyValues, rules) {
    keyValues = keyValues || solve(ex);
    var places = marking(rules).places;
    var cellsBy = grid(ex, answers), out = {};
    Object.keys(report.steps).forEach(function (name) {
      var s = ex.byName[name], r = report.steps[name], list = [];
      positions(s).forEach(function (p) {
        var cell = at(cellsBy[name], p);
        if (at(r.cells, p) !== WRONG) return;
        list.push({
          cell: fieldName(name, p[0], p[1]),
          position: p,
          wrote: cell.text,
          said: sayExpected(cell, at(r.expected, p), at(keyValues[name], p), r.yours || [], places),
        });
      });
      out[name] = list;
    });
    return out;
  }

  /* The report as `handcalc check --json` prints it (without "file" and "rule"). */
  function toJson(report) {
    var steps = {};
    Object.keys(report.steps).forEach(function (name) {
      var r = report.steps[name];
      steps[name] = { cells: r.cells, mistakes: r.mistakes, unreadable: r.unreadable };
    });
    return Object.assign({}, report, { steps: steps });
  }

  return {
    Frac: Frac,
    MASKED: MASKED,
    Exercise: Exercise,
    parse: parse,
    readCell: readCell,
    solve: solve,
    grade: grade,
    toJson: toJson,
    wrongCells: wrongCells,
    jsonCell: jsonCell,
    fieldName: fieldName,
    text: text,
    matches: matches,
    VERDICTS: [CORRECT, FOLLOW, WRONG, BLANK, REVEALED, REVIEW],
    decimal: decimal,
  };
});
