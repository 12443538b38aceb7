/* The self-checking sheet: arrow keys between cells, Check (grading.js, the same rules as
   `handcalc check`), Save answers (an answers file `handcalc check` reads) and Open answers
   (one loaded back). Everything typed is kept in the browser (localStorage, per sheet ID and
   student) as it is typed, so a reload or a closed tab loses nothing. A revealed cell shows
   the key over the learner's own value, which is kept, saved and back when the key is hidden.
   Every text it shows goes in through textContent, never as HTML. */
(function () {
  "use strict";
  var G = window.HandcalcGrading;
  var data = JSON.parse(document.getElementById("handcalc-data").textContent);
  // The marking page (mark.js) is this sheet with a class's data: it swaps the problem per
  // student (use) and keeps its own record, so the learner's keeping and buttons stay off.
  var MARKING = !!data.marking;
  var ex, keyValues, PREFIX;
  function use(problem) {
    data = problem;
    ex = new G.Exercise(problem);
    keyValues = G.solve(ex);
    PREFIX = "handcalc:" + problem.id + ":";
  }
  use(data);
  var inputs = Array.prototype.slice.call(document.querySelectorAll("input[data-step]"));
  var byName = {};
  inputs.forEach(function (el) {
    byName[el.name] = el;
  });
  var studentEl = document.getElementById("student");
  var checked = false;
  // Cells the learner had the page reveal: saved apart, graded as "revealed". A revealed cell
  // stays revealed once seen (hiding the key again gives back the learner's value, not credit).
  var revealed = {};
  // The learner's own value of each cell whose key is showing, by field name.
  var own = {};
  var showing = {};
  // Typed since the answers were last saved to a file (the browser's copy is always current).
  var unsaved = false;

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
    var student = studentEl.value.trim();
    var out = { id: data.id, student: student || null };
    ex.asked.forEach(function (s) {
      function cell(r, c) {
        var el = byName[G.fieldName(s.name, r, c)];
        var v = el ? ownValue(el).trim() : "";
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

  /* What the learner wrote in a cell, even while the key is showing over it. */
  function ownValue(el) {
    return showing[el.name] ? own[el.name] || "" : el.value;
  }

  /* A file name for the saved answers: the student's name and the sheet's ID. */
  function fileName(student) {
    var who = (student || "").replace(/[^\p{L}\p{N}]+/gu, "-").replace(/^-+|-+$/g, "");
    return "answers-" + (who ? who + "-" : "") + data.id + ".json";
  }

  /* Save answers: asks for the name first when the Name field is empty (the gradebook keys
     its rows by name); Cancel saves nothing. */
  function save() {
    if (!studentEl.value.trim()) {
      var name = window.prompt("Your name, for the answers file and the gradebook:", "");
      if (name === null) {
        say("Not saved: type your name in the Name field, then Save answers.");
        studentEl.focus();
        return null;
      }
      studentEl.value = name.trim();
      store();
    }
    var out = answers();
    var blob = new Blob([JSON.stringify(out, null, 1) + "\n"], { type: "application/json" });
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = fileName(out.student);
    document.body.appendChild(a);
    a.click();
    setTimeout(function () {
      URL.revokeObjectURL(a.href);
      a.remove();
    }, 0);
    unsaved = false;
    store();
    say("Saved as " + a.download + ".");
    return a.download;
  }

  function say(text) {
    document.getElementById("score").textContent = text;
  }

  // --- revealing: the key over a cell, the learner's value kept underneath ------------

  function reveal(el) {
    var first = !revealed[el.name];
    if (!showing[el.name]) {
      var p = position(el), s = ex.byName[el.dataset.step];
      own[el.name] = el.value;
      showing[el.name] = true;
      var k = keyValues[s.name][p[0]];
      el.value = G.text(p[1] === null ? k : k[p[1]]);
      el.readOnly = true;
    }
    revealed[el.name] = true;
    mark(el, "revealed");
    store();
    return first;
  }

  /* Hide the key of a revealed cell: the learner's own value comes back, editable; the cell
     stays listed as revealed (it was seen). */
  function hideKey(el) {
    if (!showing[el.name]) return false;
    el.value = own[el.name] || "";
    el.readOnly = false;
    delete showing[el.name];
    delete own[el.name];
    store();
    return true;
  }

  function position(el) {
    var m = /_r(\d+)_c(\d+)$/.exec(el.name);
    if (m) return [+m[1] - 1, +m[2] - 1];
    return [+/_(\d+)$/.exec(el.name)[1] - 1, null];
  }

  // --- keeping the work: in the browser as it is typed, and from a saved file ---------

  function storage() {
    try {
      return window.localStorage;
    } catch (e) {
      return null; // storage switched off: the page still works, the warning still guards
    }
  }

  /* The browser's copy of this sheet's work, under the sheet ID and the student's name. */
  function store() {
    var ls = storage();
    if (!ls) return;
    var out = answers();
    var who = out.student || "";
    var rec = { answers: out, showing: Object.keys(showing), unsaved: unsaved };
    try {
      ls.setItem(PREFIX + "student:" + who, JSON.stringify(rec));
      // a name typed in: the work moves with it, no unnamed draft is left behind
      if (who && JSON.parse(ls.getItem(PREFIX + "last") || "null") === "") {
        ls.removeItem(PREFIX + "student:");
      }
      ls.setItem(PREFIX + "last", JSON.stringify(who));
    } catch (e) {
      say("This browser would not keep your work (" + e.name + "): save it to a file.");
    }
  }

  function stored() {
    var ls = storage();
    if (!ls) return null;
    try {
      var who = studentEl.value.trim();
      if (!who) who = JSON.parse(ls.getItem(PREFIX + "last") || '""');
      var rec = JSON.parse(ls.getItem(PREFIX + "student:" + who) || "null");
      return rec && rec.answers ? rec : null;
    } catch (e) {
      return null;
    }
  }

  function clearMarks() {
    inputs.forEach(function (el) { mark(el, null); });
    checked = false;
    var panel = document.getElementById("report");
    panel.textContent = "";
    panel.hidden = true;
  }

  /* Fill the page from an answers object (the JSON Save answers writes). */
  function load(obj, showingNames) {
    inputs.forEach(function (el) {
      el.value = "";
      el.readOnly = false;
    });
    [revealed, own, showing].forEach(function (o) {
      Object.keys(o).forEach(function (k) { delete o[k]; });
    });
    clearMarks();
    if (typeof obj.student === "string" && obj.student) studentEl.value = obj.student;
    ex.asked.forEach(function (s) {
      var value = obj[s.name];
      if (!Array.isArray(value)) return;
      inputs.forEach(function (el) {
        if (el.dataset.step !== s.name) return;
        var p = position(el);
        var row = value[p[0]];
        var v = p[1] === null ? row : Array.isArray(row) ? row[p[1]] : null;
        if (v !== null && v !== undefined && typeof v !== "object") el.value = String(v);
      });
    });
    var names = Array.isArray(obj.revealed) ? obj.revealed : [];
    var show = showingNames || names;
    names.forEach(function (name) {
      var el = byName[name];
      if (!el) return;
      if (show.indexOf(name) >= 0) reveal(el);
      else {
        revealed[name] = true;
        mark(el, "revealed");
      }
    });
  }

  /* Refuse what is no answers file of this sheet, in one sentence; else the text to say. */
  function openText(text) {
    var obj;
    try {
      obj = JSON.parse(text);
    } catch (e) {
      return { error: "That file is not an answers file (it is not JSON); nothing was changed." };
    }
    if (Array.isArray(obj)) {
      obj = obj.filter(function (a) { return a && a.id === data.id; })[0] || obj;
    }
    if (!obj || typeof obj !== "object" || Array.isArray(obj)) {
      return { error: "That file is not an answers file of this sheet; nothing was changed." };
    }
    if (obj.id !== undefined && obj.id !== null && obj.id !== data.id) {
      return {
        error: "That answers file is for sheet " + String(obj.id).slice(0, 60) + ", not this " +
          "sheet (" + data.id + "); nothing was changed.",
      };
    }
    var steps = ex.asked.filter(function (s) { return Array.isArray(obj[s.name]); });
    if (!steps.length) {
      return { error: "That file holds no answers of this sheet's steps; nothing was changed." };
    }
    return { answers: obj };
  }

  function typedAnything() {
    return inputs.some(function (el) { return ownValue(el).trim() !== ""; });
  }

  function openFile(file) {
    var reader = new FileReader();
    reader.onload = function () {
      var got = openText(String(reader.result));
      if (got.error) {
        say(got.error);
        return;
      }
      if (typedAnything() && !window.confirm(
        "Replace what is on the page with the answers in " + file.name + "?")) {
        say("Nothing was changed.");
        return;
      }
      load(got.answers);
      unsaved = false;
      store();
      say("Opened " + file.name + ": your answers are back. Press Check to check them.");
    };
    reader.onerror = function () {
      say("Could not read " + file.name + "; nothing was changed.");
    };
    reader.readAsText(file);
  }

  /* Start afresh: every box emptied and the browser's copy dropped, after asking. */
  function startAfresh() {
    if (!window.confirm("Start afresh? Every box on this sheet is emptied and the copy kept " +
      "in this browser is dropped. Answers files you saved are not touched.")) {
      return false;
    }
    var ls = storage();
    if (ls) {
      try {
        ls.removeItem(PREFIX + "student:" + studentEl.value.trim());
      } catch (e) { /* nothing kept */ }
    }
    load({});
    unsaved = false;
    say("Started afresh: every box is empty.");
    return true;
  }

  // --- reading the printed numbers -----------------------------------------------------

  /* A given matrix is one box of monospaced lines, which a screen reader reads as one flat
     string of numbers: each gets a table it reads row by row instead (the box is hidden from
     it). Steps printed filled in (a drill's) get one too. */
  function readableGivens() {
    document.querySelectorAll(".item[data-name]").forEach(function (item) {
      var s = ex.byName[item.dataset.name];
      var old = item.querySelector("table.sr");
      if (old) old.remove();
      var m = item.querySelector(".m");
      if (!s || !m || m.querySelector("input") || m.classList.contains("blank")) return;
      if (s.kind !== "given" && !ex.shown[s.name]) return;
      var value = keyValues[s.name];
      var table = document.createElement("table");
      table.className = "sr";
      var vector = s.cols === null || s.cols === undefined;
      add(table, "caption", shown(s) + ": " + s.rows + (vector ? " entries" : " rows by " +
        s.cols + " columns"));
      value.forEach(function (row, r) {
        var tr = add(table, "tr");
        add(tr, "th", vector ? "entry " + (r + 1) : "row " + (r + 1)).scope = "row";
        (vector ? [row] : row).forEach(function (x) {
          add(tr, "td", x === G.MASKED ? "masked" : G.text(x).replace(/-/g, "−"));
        });
      });
      m.setAttribute("aria-hidden", "true");
      m.parentNode.insertBefore(table, m);
    });
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

  // Wrong cells listed per step, as `handcalc check` lists them.
  var SHOW_WRONG = 4;

  /* A step's name as the page prints it: Kᵀ, not KT. */
  function shown(s) {
    return s.role === "KT" ? "K" + s.name.slice(s.role.length) + "ᵀ" : s.name;
  }
  /* A cell as the page names it: "A, row 2, column 2", "colsum, entry 3". */
  function cellName(s, p) {
    return shown(s) + (p[1] === null ? ", entry " + (p[0] + 1) :
      ", row " + (p[0] + 1) + ", column " + (p[1] + 1));
  }
  function revealedIn(name) {
    return Object.keys(revealed).some(function (f) {
      return byName[f] && byName[f].dataset.step === name;
    });
  }

  function check() {
    var sent = answers();
    return showReport(G.grade(ex, sent, keyValues), sent);
  }

  /* Mark every cell with its verdict and write the step-by-step report. */
  function showReport(report, sent) {
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
      (c.revealed ? ", " + c.revealed + " revealed, not counted" : "") + ")." +
      (MARKING ? "" : " The report is below (Ctrl+Enter checks and goes to it).");
    var panel = document.getElementById("report");
    panel.textContent = "";
    add(panel, "h2", "Step by step").id = "report-h";
    add(panel, "p", document.getElementById("score").textContent.replace(/ The report is below.*$/, ""),
      "score-line");
    if (report.first_wrong) {
      var fw = ex.byName[report.first_wrong];
      add(panel, "p", "First went wrong at " + shown(fw) + " (" + fw.title + ", " + shown(fw) +
        " = " + fw.formula + ").", "first");
    } else {
      add(panel, "p", c.blank ? "No wrong cells, but some are blank." : "No wrong cells.", "first");
    }
    var said = G.wrongCells(ex, sent, report, keyValues);
    var list = add(panel, "ul");
    Object.keys(report.steps).forEach(function (name) {
      var r = report.steps[name], s = ex.byName[name];
      var counts = {};
      G.VERDICTS.forEach(function (v) { counts[v] = 0; });
      [].concat.apply([], r.cells.map(function (x) { return Array.isArray(x) ? x : [x]; }))
        .forEach(function (v) { if (v) counts[v] += 1; });
      var item = add(list, "li", undefined, counts.wrong ? "has-wrong" : "");
      add(item, "b", shown(s));
      add(item, "span", " " + countsText(counts));
      var upstream = s.inputs.filter(function (i) { return revealedIn(i); });
      if (upstream.length) {
        add(item, "div", "Checked against the key's " + upstream.map(function (i) {
          return shown(ex.byName[i]);
        }).join(" and ") + " where you revealed it, not against your own value there.", "note");
      }
      r.mistakes.forEach(function (m) {
        add(item, "div", m.text, "mistake");
      });
      var slip = r.mistakes.some(function (m) { return m.kind === "slip"; });
      var wrong = said[name] || [];
      if (!slip) {
        wrong.slice(0, SHOW_WRONG).forEach(function (w) {
          add(item, "div", cellName(s, w.position) + ": wrote " + w.wrote + " (" + w.said + ")",
            "mistake");
        });
        if (wrong.length > SHOW_WRONG) {
          add(item, "div", "(and " + (wrong.length - SHOW_WRONG) + " more)", "mistake");
        }
      }
      r.unreadable.forEach(function (u) {
        var el = byName[u.cell];
        var where = el ? cellName(s, position(el)) : u.cell;
        add(item, "div", "unreadable: " + where + " " + u.text + " (" + u.error + ")", "mistake");
      });
    });
    add(panel, "p", "✓ correct · ↪ follow-through (right from your own earlier answers, earns credit) · ✗ wrong · hatched box: blank · ◉ revealed (shown by the sheet, not counted)", "legend");
    panel.hidden = false;
    return report;
  }

  if (!MARKING) wireLearner();

  function wireLearner() {
    document.getElementById("check").addEventListener("click", check);
    document.getElementById("save").addEventListener("click", save);
    var picker = document.getElementById("open-file");
    document.getElementById("open").addEventListener("click", function () {
      picker.value = "";
      picker.click();
    });
    picker.addEventListener("change", function () {
      if (picker.files && picker.files[0]) openFile(picker.files[0]);
    });
    document.getElementById("afresh").addEventListener("click", startAfresh);
    // Print my work: the sheet as filled in, its marks and the report; Ctrl+P stays blank.
    document.getElementById("print-work").addEventListener("click", function () {
      document.body.classList.add("print-work");
      window.print();
    });
    window.addEventListener("afterprint", function () {
      document.body.classList.remove("print-work");
    });
    inputs.forEach(function (el) {
      el.addEventListener("input", function () {
        unsaved = true;
        store();
      });
      el.addEventListener("change", function () {
        if (checked) check();
      });
    });
    studentEl.addEventListener("input", function () {
      unsaved = true;
      store();
    });
    // Leaving with work not yet in a file: the browser asks first (its copy is kept anyway).
    window.addEventListener("beforeunload", function (ev) {
      if (!unsaved) return undefined;
      ev.preventDefault();
      ev.returnValue = "";
      return "";
    });
    // Ctrl+Enter (or Cmd+Enter) checks from anywhere on the page.
    document.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey) && !ev.altKey) {
        ev.preventDefault();
        check();
        document.getElementById("report").focus();
      }
    });
  }

  window.handcalcSheet = {
    check: check,
    answers: answers,
    mark: mark,
    isChecked: function () { return checked; },
    revealed: revealed,
    showing: showing,
    reveal: reveal,
    hideKey: hideKey,
    position: position,
    ownValue: ownValue,
    openText: openText,
    load: load,
    save: save,
    get data() { return data; },
    get ex() { return ex; },
    get keyValues() { return keyValues; },
    byName: byName,
    use: use,
    showReport: showReport,
    readableGivens: readableGivens,
    say: say,
    inputs: inputs,
  };

  readableGivens();
  if (MARKING) return;

  // The work kept in this browser comes back (after a reload, or on reopening the file).
  var kept = stored();
  if (kept) {
    load(kept.answers, kept.showing);
    unsaved = !!kept.unsaved;
    store();
    if (typedAnything() || kept.answers.revealed) {
      say("Your answers from before are back (kept in this browser). Start afresh empties the boxes.");
    }
  }
  ["check", "save", "open", "afresh", "print-work"].forEach(function (id) {
    document.getElementById(id).disabled = false;
  });
})();
