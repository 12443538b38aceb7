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
  var REVEALED = "revealed";

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

  function frac(x) {
    if (x instanceof Frac) return x;
    if (x === MASKED) throw new Fail("a masked value in arithmetic");
    return new Frac(BigInt(x));
  }
  function add(a, b) {
    a = frac(a);
    b = frac(b);
    return new Frac(a.n * b.d + b.n * a.d, a.d * b.d);
  }
  function sub(a, b) {
    b = frac(b);
    return add(a, new Frac(-b.n, b.d));
  }
  function mul(a, b) {
    a = frac(a);
    b = frac(b);
    return new Frac(a.n * b.n, a.d * b.d);
  }
  function div(a, b) {
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
    var s = raw.trim().replace(MINUS_SIGNS, "-").replace(/ /g, "");
    if (s === "") return null;
    if (s.length > 40) throw new Fail("cannot read " + quoted(raw.slice(0, 20)) + "… as a number (too long)");
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
    /* A decimal comma, unless it could separate thousands (numbers.py says the rule). */
    m = DECIMAL_COMMA.exec(s);
    if (m) {
      if (m[3].length === 3 && /[1-9]/.test(m[2])) {
        throw new Fail(
          "cannot read " + quoted(raw) + ": the comma may separate thousands; write " +
            m[1] + m[2] + "." + m[3] + " or " + m[1] + m[2] + m[3]
        );
      }
      return {
        value: new Frac(BigInt(m[1] + m[2] + m[3]), 10n ** BigInt(m[3].length)),
        places: m[3].length,
      };
    }
    throw new Fail("cannot read " + quoted(raw) + " as a number");
  }

  /* answers.read_cell: {text, written, error}; never throws. */
  function readCell(raw) {
    if (raw === null || raw === undefined) return { text: null, written: null, error: null };
    var shown = typeof raw === "string" ? raw : JSON.stringify(raw).slice(0, 60);
    if (typeof raw === "object") {
      return { text: shown, written: null, error: "cannot read " + quoted(shown) + " as a number" };
    }
    try {
      var w = parse(raw);
      return w === null
        ? { text: null, written: null, error: null }
        : { text: shown, written: w, error: null };
    } catch (e) {
      if (!(e instanceof Fail)) throw e;
      return { text: shown, written: null, error: e.message };
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

  /* Whether a written number counts as the target (the tolerance rule). */
  function matches(w, target) {
    if (target === MASKED || target === null || target === undefined) return false;
    if (eq(w.value, target)) return true;
    if (w.places === null || (target.d !== 1n && w.places < 2)) return false;
    var diff = sub(w.value, target);
    var lhs = (diff.n < 0n ? -diff.n : diff.n) * 2n * 10n ** BigInt(w.places);
    return lhs <= diff.d;
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

  function judge(cell, k, targets) {
    if (cell.error !== null) return [WRONG, k];
    if (cell.written === null) return [BLANK, k];
    if (matches(cell.written, k)) return [CORRECT, k];
    for (var i = 0; i < targets.length; i++) {
      if (matches(cell.written, targets[i])) return [FOLLOW, targets[i]];
    }
    return [WRONG, cell.written.value];
  }

  function trivial(cells, graded) {
    var seen = [];
    graded.forEach(function (p) {
      var w = at(cells, p).written;
      if (w !== null && !seen.some(function (v) { return eq(v, w.value); })) seen.push(w.value);
    });
    return seen.length === 0 || (seen.length === 1 && graded.length > 1);
  }

  /* grading.too_short: a decimal that would match but for having fewer than two places. */
  function tooShort(w, target) {
    if (w === null || w.places === null || target === MASKED || target === null || target === undefined) {
      return false;
    }
    if (target.d === 1n || w.places >= 2) return false;
    var diff = sub(w.value, target);
    return (diff.n < 0n ? -diff.n : diff.n) * 2n * 10n ** BigInt(w.places) <= diff.d;
  }

  /* grading.say_expected: the key's value and, where it differs, what the student's own
     earlier steps lead to; the places a too-short decimal needs. */
  function sayExpected(cell, expected, k, yours) {
    var parts = [];
    if (expected !== null && expected !== MASKED && !eq(expected, k) && yours.length) {
      parts.push("from your " + yours.join(" and ") + ": " + text(expected));
    }
    parts.push("key: " + text(k));
    var out = parts.join("; ");
    if (tooShort(cell.written, k) || tooShort(cell.written, expected)) {
      out += "; write at least 2 decimals";
    }
    return out;
  }

  function mistakesOf(contexts, s, cells, verdicts, expected, graded, k, yours) {
    var wrong = graded.filter(function (p) { return at(verdicts, p) === WRONG; });
    var readableWrong = wrong.filter(function (p) { return at(cells, p).written !== null; });
    if (!readableWrong.length) return [];
    var written = graded.filter(function (p) { return at(cells, p).written !== null; });
    var found = [];
    MISTAKES.forEach(function (way) {
      if (way.roles.indexOf(s.role) < 0) return;
      if (found.some(function (m) { return m.kind === way.kind; })) return;
      for (var i = 0; i < contexts.length; i++) {
        var cx = contexts[i];
        var value = attempt(function () { return way.redo(cx, s); });
        if (value !== null && shapedLike(value, s) && written.every(function (p) {
          return matches(at(cells, p).written, at(value, p));
        })) {
          found.push({ kind: way.kind, text: way.say(cx, s) });
          break;
        }
      }
    });
    var blanks = graded.filter(function (p) { return at(verdicts, p) === BLANK; });
    if (found.length || wrong.length !== 1 || readableWrong.length !== 1 || blanks.length || graded.length < 2) {
      return found;
    }
    var p = wrong[0];
    var where = p[1] !== null ? "row " + (p[0] + 1) + ", column " + (p[1] + 1) : "entry " + (p[0] + 1);
    var cell = at(cells, p);
    return [{
      kind: "slip",
      text: "One slip in " + s.name + ", " + where + ": wrote " + cell.text + "; " +
        sayExpected(cell, at(expected, p), at(k, p), yours) + ".",
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

  /* Grade one answers object (the answers file's JSON) against the page's problem; the
     result has the fields of `handcalc check --json` that the page and the vectors use. */
  function grade(ex, answers, keyValues) {
    keyValues = keyValues || solve(ex);
    var cellsBy = grid(ex, answers);
    var hidden = hiddenCells(ex, keyValues);
    var revealed = revealedCells(ex, answers);
    var credited = {}, asWritten = {};
    ex.givenSteps.forEach(function (s) {
      credited[s.name] = asWritten[s.name] = keyValues[s.name];
    });
    var out = {}, graded = 0, creditedCount = 0, firstWrong = null;
    var counts = {};
    [CORRECT, FOLLOW, WRONG, BLANK, REVEALED].forEach(function (v) { counts[v] = 0; });
    ex.worked.forEach(function (s) {
      if (ex.shown[s.name]) {
        credited[s.name] = asWritten[s.name] = keyValues[s.name];
        return;
      }
      var cells = cellsBy[s.name], k = keyValues[s.name];
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
      var yours = worked.length
        ? s.inputs.filter(function (i) { return !sameValue(worked[0][0][i], keyValues[i]); })
        : [];
      var gradedHere = positions(s).filter(function (p) { return !hidden[s.name][key(p)]; });
      var own = gradedHere.filter(function (p) { return !revealed[s.name][key(p)]; });
      var judged = {};
      gradedHere.forEach(function (p) {
        judged[key(p)] = revealed[s.name][key(p)]
          ? [REVEALED, at(k, p)]
          : judge(at(cells, p), at(k, p), targets.map(function (t) { return at(t, p); }));
      });
      var verdicts = shaped(s, function (p) {
        return judged[key(p)] ? judged[key(p)][0] : null;
      });
      var expected = targets.length ? targets[0] : k;
      var contexts = views.map(function (view) {
        return { ex: ex, fed: view, rounding: ex.data.rounding, track: ex.track };
      });
      var found = mistakesOf(contexts, s, cells, verdicts, expected, own, k, yours);
      var unreadable = [];
      positions(s).forEach(function (p) {
        var c = at(cells, p);
        if (c.error !== null) unreadable.push({ cell: fieldName(s.name, p[0], p[1]), text: c.text, error: c.error });
      });
      gradedHere.forEach(function (p) {
        var v = judged[key(p)][0];
        counts[v] += 1;
        graded += 1;
        if (v === CORRECT || v === FOLLOW) creditedCount += 1;
        if (v === WRONG && firstWrong === null) firstWrong = s.name;
      });
      out[s.name] = {
        cells: verdicts,
        mistakes: found,
        unreadable: unreadable,
        expected: expected,
        yours: yours,
      };
      if (trivial(cells, own)) {
        credited[s.name] = asWritten[s.name] = k;
        return;
      }
      credited[s.name] = shaped(s, function (p) {
        return judged[key(p)] ? judged[key(p)][1] : at(k, p);
      });
      asWritten[s.name] = shaped(s, function (p) {
        var w = at(cells, p).written;
        var mine = judged[key(p)] && judged[key(p)][0] !== REVEALED;
        return mine && w !== null ? w.value : at(k, p);
      });
    });
    return {
      id: ex.data.id,
      student: typeof answers.student === "string" && answers.student ? answers.student : null,
      percent: graded ? (100 * creditedCount) / graded : 0,
      graded: graded,
      credited: creditedCount,
      counts: counts,
      first_wrong: firstWrong,
      steps: out,
    };
  }

  // --- words for wrong cells (the page's report; report.to_text says the same) ----------

  /* Each readable wrong cell of each step, with what it should have been in the words of
     `handcalc check` ("wrote 0.2 (key: …; write at least 2 decimals)"): {step: [{cell,
     position, wrote, said}]}. */
  function wrongCells(ex, answers, report, keyValues) {
    keyValues = keyValues || solve(ex);
    var cellsBy = grid(ex, answers), out = {};
    Object.keys(report.steps).forEach(function (name) {
      var s = ex.byName[name], r = report.steps[name], list = [];
      positions(s).forEach(function (p) {
        var cell = at(cellsBy[name], p);
        if (at(r.cells, p) !== WRONG || cell.written === null) return;
        list.push({
          cell: fieldName(name, p[0], p[1]),
          position: p,
          wrote: cell.text,
          said: sayExpected(cell, at(r.expected, p), at(keyValues[name], p), r.yours || []),
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
    VERDICTS: [CORRECT, FOLLOW, WRONG, BLANK, REVEALED],
  };
});
