/* The sheet's guide, on top of sheet.js: each step's explanation beside it, a hint for one
   cell (its factors highlighted where they cross, the sum written out with the learner's own
   numbers), revealing a cell, a step or the whole key (recorded in the saved answers, never
   counted), and a walkthrough that shows the key one step at a time. It never changes what
   the learner typed except by a reveal, and everything it writes goes in through textContent. */
(function () {
  "use strict";
  var S = window.handcalcSheet;
  var G = window.HandcalcGrading;
  if (!S || !G) return;
  var ex = S.ex, data = S.data, keyValues = S.keyValues, byName = S.byName;
  var rowsConvention = data.convention === "rows";
  var narrow = window.matchMedia("(max-width: 820px)");
  var body = document.body;

  // --- cells and boxes -------------------------------------------------------------------

  function isVector(s) {
    return s.cols === null || s.cols === undefined;
  }
  function valueAt(value, r, c) {
    return c === null ? value[r] : value[r][c];
  }
  /* A cell's place in its step's value, read off its name: S_r2_c3 -> [1, 2], colsum_3 -> [2, null]. */
  function position(el) {
    var m = /_r(\d+)_c(\d+)$/.exec(el.name);
    if (m) return [+m[1] - 1, +m[2] - 1];
    return [+/_(\d+)$/.exec(el.name)[1] - 1, null];
  }
  /* Where a value's cell sits in its printed box: a vector lies along the tokens. */
  function boxCell(s, r, c) {
    if (!isVector(s)) return [r, c];
    return rowsConvention ? [r, 0] : [0, r];
  }
  function shown(s) {
    if (s.role !== "KT") return s.name;
    var turned = /^Kr/.test(s.formula) ? "r" : "";
    return "K" + turned + s.name.slice(s.role.length) + "ᵀ";
  }
  function where(s, r, c) {
    return shown(s) + (c === null ? ", entry " + (r + 1) : ", row " + (r + 1) + ", column " + (c + 1));
  }
  function pretty(text) {
    return String(text).replace(/-/g, "−");
  }
  function keyText(s, r, c) {
    var k = valueAt(keyValues[s.name], r, c);
    return k === G.MASKED ? "−∞" : pretty(G.text(k));
  }
  /* A factor's number as the learner has it: a given, what they wrote, "?" for a blank box;
     a masked cell has no box and is what the mask makes it. */
  function factor(s, r, c) {
    if (s.kind === "given") return keyText(s, r, isVector(s) ? null : c);
    var el = byName[G.fieldName(s.name, r, isVector(s) ? null : c)];
    if (!el) return keyText(s, r, isVector(s) ? null : c);
    var v = el.value.trim();
    return v === "" ? "?" : pretty(v);
  }
  function paren(t) {
    return /^[−-]|\//.test(t) ? "(" + t + ")" : t;
  }

  function items(name) {
    return Array.prototype.slice.call(document.querySelectorAll('.item[data-name="' + name + '"]'));
  }
  /* The printed box of step `name` nearest to `near` (X is printed beside both Q and V). */
  function nearest(name, near) {
    var list = items(name);
    if (!near || list.length < 2) return list[0] || null;
    var a = near.getBoundingClientRect(), best = list[0], bestD = Infinity;
    list.forEach(function (it) {
      var b = it.getBoundingClientRect();
      var d = Math.abs(b.left - a.left) + Math.abs(b.top - a.top);
      if (d < bestD) {
        best = it;
        bestD = d;
      }
    });
    return best;
  }

  // --- highlights --------------------------------------------------------------------------

  function clearMarks() {
    document.querySelectorAll(".hl").forEach(function (e) { e.remove(); });
    document.querySelectorAll(".hint-target, .hl-step, .hl-factor").forEach(function (e) {
      e.classList.remove("hint-target", "hl-step", "hl-factor");
    });
  }

  /* A band over one row, one column or one cell of a printed box (fractions of its size, so
     it fits whatever size the sheet gives its cells). */
  function band(item, row, col) {
    var m = item.querySelector(".m");
    var R = +item.dataset.rows, C = +item.dataset.cols;
    var hl = document.createElement("span");
    hl.className = "hl";
    hl.setAttribute("aria-hidden", "true");
    hl.style.top = (row === null ? 0 : (100 * row) / R) + "%";
    hl.style.height = (row === null ? 100 : 100 / R) + "%";
    hl.style.left = (col === null ? 0 : (100 * col) / C) + "%";
    hl.style.width = (col === null ? 100 : 100 / C) + "%";
    m.appendChild(hl);
  }

  /* marks: [{name, row} | {name, col} | {name, cell: [r, c]}] in value positions. */
  function highlight(marks, target) {
    var near = target ? target.closest(".item") : null;
    marks.forEach(function (mk) {
      var s = ex.byName[mk.name];
      var item = nearest(mk.name, near);
      if (!item) return;
      if (mk.cell) {
        var p = boxCell(s, mk.cell[0], mk.cell[1]);
        band(item, p[0], p[1]);
      } else if (mk.row !== undefined) band(item, mk.row, null);
      else band(item, null, mk.col);
    });
    if (target) target.parentNode.classList.add("hint-target");
  }

  // --- hints: one per kind of step ------------------------------------------------------

  var HINTS = {
    product: function (s, r, c) {
      var a = ex.byName[s.inputs[0]], b = ex.byName[s.inputs[1]];
      var terms = [];
      for (var k = 0; k < a.cols; k++) {
        terms.push(paren(factor(a, r, k)) + " × " + paren(factor(b, k, c)));
      }
      return {
        text: where(s, r, c) + " = row " + (r + 1) + " of " + shown(a) + " times column " +
          (c + 1) + " of " + shown(b) + " = " + terms.join(" + ") + ". Multiply each pair, then add.",
        marks: [{ name: a.name, row: r }, { name: b.name, col: c }],
      };
    },
    transpose: function (s, r, c) {
      var a = ex.byName[s.inputs[0]];
      return {
        text: where(s, r, c) + " is " + where(a, c, r) + " (" + factor(a, c, r) +
          "): rows become columns, so copy it across.",
        marks: [{ name: a.name, cell: [c, r] }],
      };
    },
    scale: function (s, r, c) {
      var a = ex.byName[s.inputs[0]], v = factor(a, r, c);
      var how = data.rounding === "floor"
        ? "halve it and round down: floor(" + v + "/2). Below zero too: floor(−3/2) = −2."
        : "halve it and round toward zero: trunc(" + v + "/2), so trunc(−3/2) = −1.";
      return { text: where(s, r, c) + ": take " + where(a, r, c) + " (" + v + "), " + how, marks: [{ name: a.name, cell: [r, c] }] };
    },
    exp: function (s, r, c) {
      var a = ex.byName[s.inputs[0]], v = factor(a, r, c);
      return {
        text: where(s, r, c) + " = 3 to the power of " + where(a, r, c) + ": 3^" + paren(v) +
          ". A negative power is a fraction: 3^−1 = 1/3, 3^−2 = 1/9.",
        marks: [{ name: a.name, cell: [r, c] }],
      };
    },
    sum: function (s, r) {
      var a = ex.byName[s.inputs[0]], terms = [], k;
      var down = s.axis === "columns";
      var n = down ? a.rows : a.cols;
      for (k = 0; k < n; k++) terms.push(paren(down ? factor(a, k, r) : factor(a, r, k)));
      return {
        text: where(s, r, null) + " = the sum of " + (down ? "column " : "row ") + (r + 1) + " of " +
          shown(a) + " = " + terms.join(" + ") + ". Add them up.",
        marks: [down ? { name: a.name, col: r } : { name: a.name, row: r }],
      };
    },
    normalise: function (s, r, c) {
      var a = ex.byName[s.inputs[0]], b = ex.byName[s.inputs[1]];
      var i = s.axis === "columns" ? c : r;
      return {
        text: where(s, r, c) + " = " + where(a, r, c) + " divided by " + where(b, i, null) + " = " +
          paren(factor(a, r, c)) + " / " + paren(factor(b, i, null)) +
          ". Keep it as a fraction and cancel what you can.",
        marks: [{ name: a.name, cell: [r, c] }, { name: b.name, cell: [i, null] }],
      };
    },
    rotate: function (s, r, c) {
      var a = ex.byName[s.inputs[0]], cols = s.axis === "columns";
      var m = (cols ? c : r) + (s.start || 0), f = cols ? r : c, first = f - (f % 2);
      var cell = function (k) { return cols ? [k, c] : [r, k]; };
      var pa = cell(first), pb = cell(first + 1);
      var turns = ((m % 4) + 4) % 4;
      var dims = "entries " + (first + 1) + " and " + (first + 2);
      return {
        text: where(s, r, c) + ": " + (s.start ? "the new token" : "token " + (m + 1)) +
          " has m = " + m + ", so its " + dims +
          " of " + shown(a) + " (a, b) = (" + factor(a, pa[0], pa[1]) + ", " + factor(a, pb[0], pb[1]) +
          ") turn " + m + " quarter turn" + (m === 1 ? "" : "s") + ": (a, b) → (−b, a) each time" +
          (turns !== m ? " (four turns bring it back, so " + turns + ")" : "") +
          "; this box holds the turned pair's " + (f % 2 ? "second" : "first") + " entry.",
        marks: [{ name: a.name, cell: pa }, { name: a.name, cell: pb }],
      };
    },
    add: function (s, r, c) {
      var a = ex.byName[s.inputs[0]], b = ex.byName[s.inputs[1]];
      return {
        text: where(s, r, c) + " = " + where(a, r, c) + " + " + where(b, r, c) + " = " +
          paren(factor(a, r, c)) + " + " + paren(factor(b, r, c)) + ": add entry by entry.",
        marks: [{ name: a.name, cell: [r, c] }, { name: b.name, cell: [r, c] }],
      };
    },
    affine: function (s, r, c) {
      var a = ex.byName[s.inputs[0]], b = ex.byName[s.inputs[1]], bias = ex.byName[s.inputs[2]];
      var i = s.axis === "columns" ? r : c, terms = [];
      for (var k = 0; k < a.cols; k++) {
        terms.push(paren(factor(a, r, k)) + " × " + paren(factor(b, k, c)));
      }
      return {
        text: where(s, r, c) + " = row " + (r + 1) + " of " + shown(a) + " times column " +
          (c + 1) + " of " + shown(b) + ", plus " + where(bias, i, null) + " = " +
          terms.join(" + ") + " + " + paren(factor(bias, i, null)) +
          ". Multiply each pair, add them up, then add the bias.",
        marks: [{ name: a.name, row: r }, { name: b.name, col: c }, { name: bias.name, cell: [i, null] }],
      };
    },
    relu: function (s, r, c) {
      var a = ex.byName[s.inputs[0]], v = factor(a, r, c);
      return {
        text: where(s, r, c) + " = ReLU(" + v + "), from " + where(a, r, c) +
          ": keep it if it is positive, write 0 if it is negative (or 0).",
        marks: [{ name: a.name, cell: [r, c] }],
      };
    },
    concat: function (s, r, c) {
      var rr = r, cc = c, part = null;
      for (var k = 0; k < s.inputs.length && !part; k++) {
        var p = ex.byName[s.inputs[k]];
        if (s.axis === "rows") {
          if (rr < p.rows) part = p;
          else rr -= p.rows;
        } else if (cc < p.cols) part = p;
        else cc -= p.cols;
      }
      return {
        text: where(s, r, c) + " is " + where(part, rr, cc) + " (" + factor(part, rr, cc) +
          "): copy it into place.",
        marks: [{ name: part.name, cell: [rr, cc] }],
      };
    },
  };

  function hintFor(el) {
    var s = ex.byName[el.dataset.step], p = position(el);
    var make = HINTS[s.kind];
    if (!make) return { text: whyText(s.name), marks: [] };
    var h = make(s, p[0], p[1]);
    if (h.text.indexOf("?") >= 0) h.text += " Fill in the boxes marked ? first (or reveal them).";
    return h;
  }

  // --- the guide panel ---------------------------------------------------------------------

  // A labelled region, not an <aside>: in the narrow layout it sits inside <main>.
  var guide = document.createElement("div");
  guide.id = "guide";
  guide.className = "guide";
  guide.setAttribute("role", "region");
  guide.setAttribute("aria-label", "Step guide");
  guide.tabIndex = -1;
  guide.hidden = true;
  var gTitle = document.createElement("p");
  gTitle.className = "g-title";
  var gWhy = document.createElement("p");
  gWhy.className = "g-why";
  gWhy.setAttribute("aria-hidden", "true"); // screen readers have it beside the box (.why)
  var gHint = document.createElement("p");
  gHint.className = "g-hint";
  gHint.id = "hint-text";
  var gKeys = document.createElement("p");
  gKeys.className = "g-keys";
  // The guide may be hidden; what it announces goes through a region that never is.
  var live = document.createElement("p");
  live.id = "guide-live";
  live.className = "sr";
  live.setAttribute("role", "status");
  live.setAttribute("aria-live", "polite");
  [gTitle, gWhy, gHint, gKeys].forEach(function (e) { guide.appendChild(e); });
  body.appendChild(guide);
  document.querySelector(".toolbar").appendChild(live);

  var current = null; // {name, item}
  var lastCell = null;

  function whyText(name) {
    var it = items(name)[0];
    var why = it && it.querySelector(".why");
    return why ? why.textContent : "";
  }
  function labelText(name) {
    var it = items(name)[0];
    return it ? it.querySelector(".label b").textContent : name;
  }

  function setCurrent(name, item) {
    current = { name: name, item: item || items(name)[0] };
    gTitle.textContent = labelText(name);
    gWhy.textContent = whyText(name);
    place();
  }

  /* Beside the page when there is room, docked at the bottom of the window when not, and in
     the flow right after the step's box in the narrow layout. */
  function place() {
    body.style.paddingBottom = "";
    if (!current || !current.item) {
      guide.hidden = true;
      return;
    }
    guide.hidden = false;
    if (narrow.matches) {
      guide.className = "guide inline";
      guide.style.cssText = "";
      var it = current.item;
      if (it.nextSibling !== guide) it.parentNode.insertBefore(guide, it.nextSibling);
      return;
    }
    if (guide.parentNode !== body) body.appendChild(guide);
    var page = body.getBoundingClientRect();
    var room = window.innerWidth - page.right;
    if (room >= 230) {
      guide.className = "guide beside";
      var top = current.item.getBoundingClientRect().top + window.scrollY;
      guide.style.cssText = "left:" + (page.right + window.scrollX + 14) + "px;top:" + top +
        "px;width:" + Math.min(360, room - 30) + "px";
    } else {
      guide.className = "guide docked";
      guide.style.cssText = "";
      keepClear();
    }
  }

  /* Docked at the bottom, the guide must not cover the box it talks about. */
  function keepClear() {
    body.style.paddingBottom = guide.offsetHeight + 12 + "px";
    var box = lastCell && lastCell.closest(".item") === current.item ? lastCell : current.item;
    var over = box.getBoundingClientRect().bottom - (window.innerHeight - guide.offsetHeight - 8);
    if (over > 0) window.scrollBy(0, over);
  }

  /* On a window too narrow to centre the page with the guide beside it, move the page left. */
  function makeRoom() {
    body.style.marginLeft = "";
    if (narrow.matches) return;
    var free = window.innerWidth - body.offsetWidth;
    if (free >= 250 && free < 620) body.style.marginLeft = Math.max(8, (free - 330) / 2) + "px";
  }

  function say(text) {
    live.textContent = "";
    live.textContent = text;
  }

  // --- the tool bar: hint and reveal for the cell last in focus ------------------------------

  var buttons = {
    hint: document.getElementById("hint"),
    cell: document.getElementById("reveal-cell"),
    step: document.getElementById("reveal-step"),
    all: document.getElementById("reveal-all"),
    hide: document.getElementById("hide-key"),
    walk: document.getElementById("walk"),
  };

  /* Off, but still in the Tab order (aria-disabled): a press says why nothing happens. */
  function setOff(button, off) {
    button.disabled = false;
    button.setAttribute("aria-disabled", off ? "true" : "false");
  }
  function isOff(button) {
    if (button.getAttribute("aria-disabled") !== "true") return false;
    say(walk ? "Stop the walkthrough first." : "Pick a box first: click it, or Tab to it.");
    return true;
  }

  function cellButtons() {
    var on = !!lastCell && !walk;
    [buttons.hint, buttons.cell, buttons.step].forEach(function (b) { setOff(b, !on); });
    setOff(buttons.all, !!walk);
    hideButton();
    if (on) {
      var s = ex.byName[lastCell.dataset.step];
      var p = position(lastCell);
      buttons.hint.setAttribute("aria-label", "Hint for " + where(s, p[0], p[1]));
      buttons.cell.setAttribute("aria-label", "Reveal " + where(s, p[0], p[1]));
      buttons.step.setAttribute("aria-label", "Reveal every cell of " + shown(s));
    }
  }

  function hint(el) {
    clearMarks();
    var h = hintFor(el);
    highlight(h.marks, el);
    gHint.textContent = h.text;
    setCurrent(el.dataset.step, el.closest(".item"));
    say(h.text);
    return h;
  }

  /* The key over the cells (the learner's own values kept underneath, back with Hide key);
     more than one cell only after asking. */
  function reveal(list, ask) {
    var fresh = list.filter(function (el) { return !S.showing[el.name]; });
    if (!fresh.length) {
      say("The key is already showing there.");
      return 0;
    }
    if (ask && fresh.length > 1 && !window.confirm(ask + " (" + fresh.length + " cells)? " +
      "Your own answers are kept: Hide key brings them back. Revealed cells are not counted " +
      "in your score.")) {
      say("Nothing revealed.");
      return 0;
    }
    fresh.forEach(function (el) { S.reveal(el); });
    if (S.isChecked()) S.check();
    var n = fresh.length;
    say((n === 1 ? "1 cell revealed." : n + " cells revealed.") +
      " Your own answers are kept: Hide key brings them back.");
    hideButton();
    return n;
  }
  function hideKeys() {
    var n = S.inputs.filter(function (el) { return S.hideKey(el); }).length;
    if (S.isChecked()) S.check();
    say(n ? "Key hidden: your own answers are back in " + n + (n === 1 ? " cell" : " cells") +
      " (still marked ◉ revealed, as you saw the key)." : "No key is showing.");
    hideButton();
    return n;
  }
  function hideButton() {
    setOff(buttons.hide, !!walk || !Object.keys(S.showing).length);
  }

  document.addEventListener("focusin", function (ev) {
    var el = ev.target;
    if (!el.dataset || !el.dataset.step || walk) return;
    if (lastCell !== el) {
      clearMarks();
      gHint.textContent = "";
    }
    var entering = !current || current.name !== el.dataset.step;
    lastCell = el;
    cellButtons();
    setCurrent(el.dataset.step, el.closest(".item"));
    // Tabbing into a new step, a screen reader hears what the step is for once.
    if (entering) say(labelText(el.dataset.step) + ": " + whyText(el.dataset.step));
  });

  buttons.hint.addEventListener("click", function () {
    if (isOff(buttons.hint)) return;
    hint(lastCell);
    lastCell.focus();
  });
  buttons.cell.addEventListener("click", function () {
    if (isOff(buttons.cell)) return;
    reveal([lastCell]);
    lastCell.focus();
  });
  buttons.step.addEventListener("click", function () {
    if (isOff(buttons.step)) return;
    var name = lastCell.dataset.step;
    reveal(S.inputs.filter(function (el) { return el.dataset.step === name; }),
      "Reveal every cell of " + shown(ex.byName[name]));
    lastCell.focus();
  });
  buttons.all.addEventListener("click", function () {
    if (isOff(buttons.all)) return;
    reveal(S.inputs.slice(), "Reveal the whole key");
  });
  buttons.hide.addEventListener("click", function () {
    if (walk) say("Stop the walkthrough first.");
    else hideKeys();
  });

  document.addEventListener("keydown", function (ev) {
    var el = ev.target;
    if (walk || !el.dataset || !el.dataset.step) return;
    if (ev.key === "?" && !ev.ctrlKey && !ev.altKey && !ev.metaKey) {
      ev.preventDefault();
      hint(el);
    } else if (ev.key === "Escape") {
      clearMarks();
      gHint.textContent = "";
    }
  });

  // --- walkthrough: the key one step at a time --------------------------------------------

  // The steps the learner works, in table order (a drill prints some worked steps as givens).
  var order = ex.asked || ex.worked;
  var walk = null; // {at: index into order, timer}
  var PACE_MS = 5000;

  function cover(s, on) {
    items(s.name).forEach(function (it) {
      if (!it.querySelector("input")) coverCopy(s, it, on);
    });
    S.inputs.forEach(function (el) {
      if (el.dataset.step !== s.name) return;
      var old = el.parentNode.querySelector(".wk");
      el.parentNode.classList.toggle("covered", on);
      if (!on) {
        if (old) old.remove();
        return;
      }
      if (old) return;
      var p = position(el);
      var span = document.createElement("span");
      span.className = "wk";
      span.setAttribute("aria-hidden", "true");
      span.textContent = keyText(s, p[0], p[1]);
      el.parentNode.appendChild(span);
      fit(span, el.parentNode);
    });
  }

  /* A step printed again where another head needs it (grouped heads) has no boxes to fill:
     the key goes over its cells, placed by fractions of the box like the hint's bands. */
  function coverCopy(s, item, on) {
    var m = item.querySelector(".m");
    if (!m.classList.contains("blank")) return; // printed with its numbers already
    m.querySelectorAll(".wk").forEach(function (e) { e.remove(); });
    if (!on) return;
    var R = +item.dataset.rows, C = +item.dataset.cols;
    for (var r = 0; r < s.rows; r++) {
      for (var c = 0; c < (isVector(s) ? 1 : s.cols); c++) {
        var cc = isVector(s) ? null : c, p = boxCell(s, r, cc);
        var span = document.createElement("span");
        span.className = "wk";
        span.setAttribute("aria-hidden", "true");
        span.style.cssText = "top:" + (100 * p[0]) / R + "%;left:" + (100 * p[1]) / C +
          "%;height:" + 100 / R + "%;width:" + 100 / C + "%";
        span.textContent = keyText(s, r, cc);
        m.appendChild(span);
        fit(span, span);
      }
    }
  }

  /* A long fraction is set smaller until it fits its box (down to 60 %). */
  function fit(span, box) {
    var need = span.scrollWidth, room = box.clientWidth - 2;
    if (need > room) span.style.fontSize = Math.max(0.6, room / need) * 100 + "%";
  }

  function showStep(i) {
    i = Math.max(0, Math.min(order.length - 1, i));
    walk.at = i;
    order.forEach(function (s, j) { cover(s, j <= i); });
    var s = order[i];
    clearMarks();
    var item = items(s.name)[0];
    item.classList.add("hl-step");
    s.inputs.forEach(function (name) {
      var f = nearest(name, item);
      if (f) f.classList.add("hl-factor");
    });
    body.dataset.walkStep = s.name;
    gHint.textContent = "";
    gKeys.textContent = "Step " + (i + 1) + " of " + order.length +
      ". → or n: next · ← or p: back · space: " + (walk.timer ? "pause" : "play") + " · Esc: stop";
    item.scrollIntoView({ block: "nearest" });
    setCurrent(s.name, item);
    say("Step " + (i + 1) + " of " + order.length + ": " + labelText(s.name) + ". " + whyText(s.name));
  }

  function pause() {
    if (walk && walk.timer) {
      clearInterval(walk.timer);
      walk.timer = null;
    }
  }
  function play() {
    pause();
    walk.timer = setInterval(function () {
      var last = order.length - 1;
      if (walk.at < last) showStep(walk.at + 1);
      if (walk.at >= last) {
        pause();
        showStep(last);
      }
    }, PACE_MS);
  }

  // While the cells are out of the tab order, a box that scrolls sideways (a wide one on a
  // phone) takes focus itself, so the keyboard can still scroll it.
  function scrollers(on) {
    document.querySelectorAll(".item").forEach(function (item) {
      if (on && item.scrollWidth > item.clientWidth) item.tabIndex = 0;
      else item.removeAttribute("tabindex");
    });
  }
  function startWalk() {
    walk = { at: 0, timer: null };
    body.classList.add("walking");
    S.inputs.forEach(function (el) { el.tabIndex = -1; });
    scrollers(true);
    buttons.walk.setAttribute("aria-pressed", "true");
    buttons.walk.textContent = "Stop walkthrough";
    cellButtons();
    showStep(0);
    guide.focus({ preventScroll: true });
  }
  function stopWalk() {
    pause();
    order.forEach(function (s) { cover(s, false); });
    clearMarks();
    walk = null;
    body.classList.remove("walking");
    delete body.dataset.walkStep;
    S.inputs.forEach(function (el) { el.removeAttribute("tabindex"); });
    scrollers(false);
    buttons.walk.setAttribute("aria-pressed", "false");
    buttons.walk.textContent = "Walkthrough";
    gKeys.textContent = "";
    cellButtons();
    say("Walkthrough stopped.");
  }

  var WALK_KEYS = {
    ArrowRight: 1, ArrowDown: 1, PageDown: 1, n: 1,
    ArrowLeft: -1, ArrowUp: -1, PageUp: -1, p: -1,
  };
  document.addEventListener("keydown", function (ev) {
    if (!walk || ev.ctrlKey || ev.altKey || ev.metaKey) return;
    var t = ev.target;
    // typing a name: only Esc is the walkthrough's
    if (t && (t.id === "student" || t.type === "file") && ev.key !== "Escape") return;
    var step = WALK_KEYS[ev.key];
    if (step) {
      pause();
      showStep(walk.at + step);
    } else if (ev.key === "Home") showStep(0);
    else if (ev.key === "End") showStep(order.length - 1);
    else if (ev.key === " " || ev.key === "k") {
      if (walk.timer) pause();
      else play();
      showStep(walk.at);
    } else if (ev.key === "Escape") {
      stopWalk();
      buttons.walk.focus();
    } else return;
    ev.preventDefault();
  }, true);

  buttons.walk.addEventListener("click", function () {
    if (walk) stopWalk();
    else startWalk();
  });

  window.addEventListener("resize", function () {
    makeRoom();
    place();
  });
  narrow.addEventListener("change", function () {
    makeRoom();
    place();
  });
  makeRoom();
  cellButtons();
  buttons.walk.disabled = false;

  S.guide = { hint: hint };
})();
