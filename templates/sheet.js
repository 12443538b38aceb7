/* The self-checking sheet: arrow keys between cells, Check (grading.js, the same rules as
   `handcalc check`), Save answers (an answers file `handcalc check` reads). Every text it
   shows goes in through textContent, never as HTML. */
(function () {
  "use strict";
  var G = window.HandcalcGrading;
  var data = JSON.parse(document.getElementById("handcalc-data").textContent);
  var ex = new G.Exercise(data);
  var keyValues = G.solve(ex);
  var inputs = Array.prototype.slice.call(document.querySelectorAll("input[data-step]"));
  var byName = {};
  inputs.forEach(function (el) {
    byName[el.name] = el;
  });
  var checked = false;
  // Cells the learner had the page reveal (guide.js fills it): saved, graded as "revealed".
  var revealed = {};

  var MARKS = {
    correct: ["✓", "correct"],
    "follow-through": ["↪", "follow-through: right from your own earlier answers"],
    wrong: ["✗", "wrong"],
    blank: ["", "blank"],
    revealed: ["◉", "revealed: shown by the sheet, not counted as your work"],
    "needs-review": ["?", "needs review: cannot be read for sure; write it as a plain number"],
  };

  // --- keyboard: arrows move within a matrix, Tab goes in reading order (the DOM's) --------

  function neighbour(el, dr, dc) {
    var r = +el.dataset.r, c = +el.dataset.c, best = null, bestD = Infinity;
    el.closest(".m").querySelectorAll("input[data-step]").forEach(function (o) {
      var or = +o.dataset.r, oc = +o.dataset.c;
      var d = dr ? (or - r) * dr : (oc - c) * dc;
      var inLine = dr ? oc === c : or === r;
      if (inLine && d > 0 && d < bestD) {
        best = o;
        bestD = d;
      }
    });
    return best;
  }

  var MOVES = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };

  document.addEventListener("keydown", function (ev) {
    var el = ev.target;
    if (!el.dataset || !el.dataset.step || !MOVES[ev.key] || ev.altKey || ev.ctrlKey || ev.metaKey) {
      return;
    }
    // Left and right move the caret inside a cell first, as in a spreadsheet.
    var collapsed = el.selectionStart === el.selectionEnd;
    if (ev.key === "ArrowLeft" && !(collapsed && el.selectionStart === 0)) return;
    if (ev.key === "ArrowRight" && !(collapsed && el.selectionEnd === el.value.length)) return;
    var next = neighbour(el, MOVES[ev.key][0], MOVES[ev.key][1]);
    if (next) {
      ev.preventDefault();
      next.focus();
      next.select();
    }
  });

  // --- answers -----------------------------------------------------------------------

  function answers() {
    var student = document.getElementById("student").value.trim();
    var out = { id: data.id, student: student || null };
    ex.asked.forEach(function (s) {
      function cell(r, c) {
        var el = byName[G.fieldName(s.name, r, c)];
        var v = el ? el.value.trim() : "";
        return v === "" ? null : v;
      }
      var value = [];
      for (var r = 0; r < s.rows; r++) {
        if (s.cols === null) value.push(cell(r, null));
        else {
          var row = [];
          for (var c = 0; c < s.cols; c++) row.push(cell(r, c));
          value.push(row);
        }
      }
      out[s.name] = value;
    });
    var shown = inputs.filter(function (el) { return revealed[el.name]; })
      .map(function (el) { return el.name; });
    if (shown.length) out.revealed = shown;
    return out;
  }

  function save() {
    var blob = new Blob([JSON.stringify(answers(), null, 1) + "\n"], { type: "application/json" });
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = "answers-" + data.id + ".json";
    document.body.appendChild(a);
    a.click();
    setTimeout(function () {
      URL.revokeObjectURL(a.href);
      a.remove();
    }, 0);
  }

  // --- checking ----------------------------------------------------------------------

  function mark(el, verdict) {
    var cell = el.parentNode;
    var v = cell.querySelector(".v");
    cell.className = "cell" + (verdict ? " is-" + verdict.replace("-", "") : "");
    v.textContent = "";
    el.removeAttribute("aria-invalid");
    if (!verdict) return;
    // An empty box says "blank" by itself: no badge, only a grey outline and the words.
    if (verdict !== "blank") {
      var sym = document.createElement("span");
      sym.setAttribute("aria-hidden", "true");
      sym.textContent = MARKS[verdict][0];
      v.appendChild(sym);
    }
    var word = document.createElement("span");
    word.className = "sr";
    word.textContent = MARKS[verdict][1];
    v.appendChild(word);
    v.title = MARKS[verdict][1];
    if (verdict === "wrong") el.setAttribute("aria-invalid", "true");
  }

  function add(parent, tag, text, cls) {
    var el = document.createElement(tag);
    if (text !== undefined) el.textContent = text;
    if (cls) el.className = cls;
    parent.appendChild(el);
    return el;
  }

  function countsText(counts) {
    return G.VERDICTS.filter(function (v) {
      return counts[v];
    }).map(function (v) {
      return counts[v] + " " + v;
    }).join(", ");
  }

  function check() {
    var report = G.grade(ex, answers(), keyValues);
    checked = true;
    Object.keys(report.steps).forEach(function (name) {
      var s = ex.byName[name];
      var cells = report.steps[name].cells;
      for (var r = 0; r < s.rows; r++) {
        if (s.cols === null) {
          var el = byName[G.fieldName(name, r, null)];
          if (el) mark(el, cells[r]);
        } else {
          for (var c = 0; c < s.cols; c++) {
            var el2 = byName[G.fieldName(name, r, c)];
            if (el2) mark(el2, cells[r][c]);
          }
        }
      }
    });
    var c = report.counts;
    document.getElementById("score").textContent =
      "Score " + report.percent.toFixed(1) + " %: " + report.credited + " of " + report.graded +
      " cells (" + c.correct + " correct, " + c["follow-through"] + " follow-through; " +
      c.wrong + " wrong, " + c.blank + " blank" +
      (c.revealed ? ", " + c.revealed + " revealed, not counted" : "") + ")";
    var panel = document.getElementById("report");
    panel.textContent = "";
    add(panel, "h2", "Step by step");
    if (report.first_wrong) {
      var fw = ex.byName[report.first_wrong];
      add(panel, "p", "First went wrong at " + fw.name + " (" + fw.title + ", " + fw.name + " = " +
        fw.formula + ").", "first");
    } else {
      add(panel, "p", c.blank ? "No wrong cells, but some are blank." : "No wrong cells.", "first");
    }
    var list = add(panel, "ul");
    Object.keys(report.steps).forEach(function (name) {
      var r = report.steps[name];
      var counts = {};
      G.VERDICTS.forEach(function (v) { counts[v] = 0; });
      [].concat.apply([], r.cells.map(function (x) { return Array.isArray(x) ? x : [x]; }))
        .forEach(function (v) { if (v) counts[v] += 1; });
      var item = add(list, "li", undefined, counts.wrong ? "has-wrong" : "");
      add(item, "b", name);
      add(item, "span", " " + countsText(counts));
      r.mistakes.forEach(function (m) {
        add(item, "div", m.text, "mistake");
      });
      r.unreadable.forEach(function (u) {
        add(item, "div", "unreadable: " + u.cell + " " + u.text + " (" + u.error + ")", "mistake");
      });
    });
    add(panel, "p", "✓ correct · ↪ follow-through (right from your own earlier answers, earns credit) · ✗ wrong · hatched box: blank · ◉ revealed (shown by the sheet, not counted)", "legend");
    panel.hidden = false;
    return report;
  }

  document.getElementById("check").addEventListener("click", check);
  document.getElementById("save").addEventListener("click", save);
  inputs.forEach(function (el) {
    el.addEventListener("change", function () {
      if (checked) check();
    });
  });
  document.getElementById("check").disabled = false;
  document.getElementById("save").disabled = false;
  window.handcalcSheet = {
    check: check,
    answers: answers,
    mark: mark,
    isChecked: function () { return checked; },
    revealed: revealed,
    data: data,
    ex: ex,
    keyValues: keyValues,
    byName: byName,
    inputs: inputs,
  };
})();
