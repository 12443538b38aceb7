/* The marking page: the learner's sheet (sheet.js) with a class's data. Each box shows what
   the chosen student should have written, worked by the grader itself (grading.js, `fill`):
   the key, or what the student's own earlier boxes lead to. The teacher types only where the
   paper differs; a typed box stays as typed whatever changes above it. Everything is kept in
   the browser as it happens (per class), and Export writes one class answers file that
   `handcalc check --manifest` grades like answers typed in full. Text goes in as textContent. */
(function () {
  "use strict";
  var G = window.HandcalcGrading, S = window.handcalcSheet;
  var base = S.data;
  if (!base.marking) return;
  var roster = base.students;
  var inputs = S.inputs;
  var nameEl = document.getElementById("student");
  var who = document.getElementById("who");
  var find = document.getElementById("find");
  var KEY = "handcalc-mark:" + base.classKey;
  // typed[id][field]: what the teacher typed; blank[id][field]: blank on paper; marked[id]:
  // done; exported[id]: the student's answers as last exported (so a change is told).
  var state = { at: 0, typed: {}, blank: {}, marked: {}, exported: {}, exports: 0 };

  function problemOf(st) {
    var d = {};
    Object.keys(base).forEach(function (k) {
      if (k !== "students" && k !== "marking" && k !== "classKey") d[k] = base[k];
    });
    d.id = st.id;
    d.given = st.given;
    return d;
  }

  // --- what each box should say, from the grader ----------------------------------------

  /* The student's sheet as the teacher has it: typed boxes as typed, blank ones null, the
     rest left for the grader to fill with what the student's own earlier values give. */
  function work(i) {
    var st = roster[i];
    var typed = state.typed[st.id] || {}, blank = state.blank[st.id] || {};
    var ex = i === state.at ? S.ex : new G.Exercise(problemOf(st));
    var keyValues = i === state.at ? S.keyValues : G.solve(ex);
    var sent = { id: st.id, student: st.student };
    ex.asked.forEach(function (s) {
      var rows = [];
      for (var r = 0; r < s.rows; r++) {
        if (s.cols === null || s.cols === undefined) rows.push(cellOf(s.name, r, null));
        else {
          var row = [];
          for (var c = 0; c < s.cols; c++) row.push(cellOf(s.name, r, c));
          rows.push(row);
        }
      }
      sent[s.name] = rows;
    });
    function cellOf(name, r, c) {
      var f = G.fieldName(name, r, c);
      return f in typed ? typed[f] : blank[f] ? null : undefined;
    }
    var report = G.grade(ex, sent, keyValues, undefined, function (name, p) {
      var f = G.fieldName(name, p[0], p[1]);
      return !(f in typed) && !blank[f];
    });
    var full = { id: st.id, student: st.student };
    ex.asked.forEach(function (s) { full[s.name] = report.filled[s.name]; });
    return { report: report, answers: full };
  }

  function shownText(v) {
    return v === null || v === undefined ? "" : String(v).replace(/-/g, "−");
  }

  /* Paint the current student: every box, its verdict, the report and the counts. */
  function refresh() {
    var st = roster[state.at];
    var typed = state.typed[st.id] || {}, blank = state.blank[st.id] || {};
    var done = work(state.at);
    S.showReport(done.report, done.answers);
    inputs.forEach(function (el) {
      var f = el.name, p = S.position(el), s = S.ex.byName[el.dataset.step];
      var row = done.answers[s.name][p[0]];
      var v = p[1] === null ? row : row[p[1]];
      var cell = el.parentNode;
      if (f in typed) {
        if (el.value !== typed[f]) el.value = typed[f];
        el.placeholder = "";
      } else {
        if (el.value !== "") el.value = "";
        el.placeholder = blank[f] ? "" : shownText(v);
      }
      cell.classList.toggle("typed", f in typed || !!blank[f]);
    });
    counts();
  }

  function typedCount(id) {
    return Object.keys(state.typed[id] || {}).length + Object.keys(state.blank[id] || {}).length;
  }

  function counts() {
    var all = 0, marked = 0;
    roster.forEach(function (st) {
      all += typedCount(st.id);
      if (state.marked[st.id]) marked += 1;
    });
    var here = typedCount(roster[state.at].id);
    document.getElementById("counts").textContent =
      here + " typed for this student · " + all + " typed in all · " + marked + " of " +
      roster.length + " students marked";
    Array.prototype.forEach.call(who.options, function (o, i) {
      var text = (i + 1) + ". " + roster[i].student + (state.marked[roster[i].id] ? " ✓" : "");
      if (o.textContent !== text) o.textContent = text;
    });
  }

  // --- the givens of the chosen student, in the boxes the sheet printed -----------------

  function centred(text, width) {
    var left = Math.floor((width - text.length + 1) / 2);
    var out = new Array(Math.max(left, 0) + 1).join(" ") + text;
    while (out.length < width) out += " ";
    return out;
  }

  function paintGivens() {
    document.querySelectorAll(".item[data-name]").forEach(function (item) {
      var s = S.ex.byName[item.dataset.name];
      var m = item.querySelector(".m");
      if (!s || s.kind !== "given" || !m) return;
      var rows = +item.dataset.rows, cols = +item.dataset.cols;
      if (!m.dataset.chars) {
        m.dataset.chars = String(m.textContent.split("\n")[0].length / cols);
      }
      var chars = +m.dataset.chars;
      var flat = [].concat.apply([], S.data.given[s.name].map(function (r) {
        return Array.isArray(r) ? r : [r];
      }));
      var lines = [];
      for (var r = 0; r < rows; r++) {
        var line = "";
        for (var c = 0; c < cols; c++) line += centred(shownText(flat[r * cols + c]), chars);
        lines.push(line);
      }
      m.textContent = lines.join("\n");
    });
  }

  // --- choosing a student -----------------------------------------------------------------

  function show(i, focus) {
    state.at = i;
    S.use(problemOf(roster[i]));
    paintGivens();
    S.readableGivens();
    nameEl.value = roster[i].student;
    who.value = String(i);
    var ids = document.querySelector(".foot .ids");
    if (ids) {
      // what the student's paper prints: a private class's code, else the (short) sheet ID
      var printed = roster[i].code
        ? "code " + roster[i].code
        : "sheet ID " + (roster[i].sheetId || roster[i].id);
      ids.textContent = "Marking · " + roster[i].student + " · " + printed;
    }
    refresh();
    keep();
    if (focus && inputs.length) {
      inputs[0].focus();
      inputs[0].select();
    }
  }

  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  function findStudent(query) {
    var q = fold(query.trim());
    if (!q) return -1;
    for (var i = 0; i < roster.length; i++) {
      if (fold(roster[i].student).indexOf(q) >= 0) return i;
    }
    return -1;
  }

  /* Done: this student is marked; on to the next one not yet marked (or simply the next). */
  function doneNext() {
    var st = roster[state.at];
    state.marked[st.id] = true;
    var next = -1;
    for (var k = 1; k <= roster.length; k++) {
      var i = (state.at + k) % roster.length;
      if (!state.marked[roster[i].id]) {
        next = i;
        break;
      }
    }
    if (next < 0) {
      keep();
      counts();
      S.say("Every student is marked. Export marks writes the class answers file.");
      return;
    }
    show(next, true);
    S.say("Marked " + st.student + ". Now " + roster[next].student + ".");
  }

  // --- typing ---------------------------------------------------------------------------

  function setCell(el, value, isBlank) {
    var id = roster[state.at].id;
    var typed = state.typed[id] = state.typed[id] || {};
    var blank = state.blank[id] = state.blank[id] || {};
    delete typed[el.name];
    delete blank[el.name];
    if (isBlank) blank[el.name] = true;
    else if (value !== null && value.trim() !== "") typed[el.name] = value;
    if (!Object.keys(typed).length) delete state.typed[id];
    if (!Object.keys(blank).length) delete state.blank[id];
    refresh();
    keep();
  }

  /* Shift+B: this box and every later one of its step left blank (an unfinished step);
     boxes typed there stay as typed. */
  function blankRest(el) {
    var id = roster[state.at].id;
    var typed = state.typed[id] || {};
    var blank = state.blank[id] = state.blank[id] || {};
    var from = inputs.indexOf(el);
    inputs.forEach(function (o, k) {
      if (k >= from && o.dataset.step === el.dataset.step && !(o.name in typed)) {
        blank[o.name] = true;
      }
    });
    refresh();
    keep();
  }

  function current() {
    var el = document.activeElement;
    return el && el.dataset && el.dataset.step ? el : null;
  }

  inputs.forEach(function (el) {
    el.addEventListener("input", function () {
      setCell(el, el.value, false);
    });
    el.addEventListener("focus", function () {
      el.select();
    });
    el.addEventListener("keydown", function (ev) {
      if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
      if (ev.key === "b") {
        ev.preventDefault();
        var isBlank = !(state.blank[roster[state.at].id] || {})[el.name];
        setCell(el, null, isBlank);
      } else if (ev.key === "B") {
        ev.preventDefault();
        blankRest(el);
      } else if (ev.key === "?") {
        ev.preventDefault();
        setCell(el, "?", false);
      } else if (ev.key === "Escape") {
        ev.preventDefault();
        setCell(el, null, false);
      } else if (ev.key === "n" || ev.key === "N") {
        ev.preventDefault();
        doneNext();
      }
    });
  });

  function onCell(action) {
    return function () {
      var el = current() || lastCell;
      if (!el) {
        S.say("Click a box first.");
        return;
      }
      action(el);
      el.focus();
    };
  }
  var lastCell = null;
  document.addEventListener("focusin", function (ev) {
    if (ev.target.dataset && ev.target.dataset.step) lastCell = ev.target;
  });

  // --- keeping and exporting --------------------------------------------------------------

  function storage() {
    try {
      return window.localStorage;
    } catch (e) {
      return null;
    }
  }

  function keep() {
    var ls = storage();
    if (!ls) return;
    try {
      ls.setItem(KEY, JSON.stringify(state));
    } catch (e) {
      S.say("This browser would not keep the marking (" + e.name + "): export it now.");
    }
  }

  function restore() {
    var ls = storage();
    if (!ls) return false;
    try {
      var got = JSON.parse(ls.getItem(KEY) || "null");
      if (!got || typeof got !== "object") return false;
      Object.keys(state).forEach(function (k) {
        if (got[k] !== undefined) state[k] = got[k];
      });
      if (!(state.at >= 0 && state.at < roster.length)) state.at = 0;
      return true;
    } catch (e) {
      return false;
    }
  }

  /* The class answers file: one ordinary answers object per marked student, roster order. */
  function classAnswers() {
    var list = [];
    roster.forEach(function (st, i) {
      if (state.marked[st.id]) list.push(work(i).answers);
    });
    return list;
  }

  /* Export marks: every marked student in one file under a new name each time (nothing
     replaces an earlier export), after asking when a student already exported has changed. */
  function exportMarks() {
    var list = classAnswers();
    if (!list.length) {
      S.say("No student is marked yet: Done, next (or n in a box) marks one.");
      return null;
    }
    var now = {}, changed = [];
    list.forEach(function (a) {
      now[a.id] = JSON.stringify(a);
      if (state.exported[a.id] && state.exported[a.id] !== now[a.id]) changed.push(a.student);
    });
    var dropped = roster.filter(function (st) {
      return state.exported[st.id] && !now[st.id];
    }).map(function (st) { return st.student; });
    if (changed.length || dropped.length) {
      var lines = [];
      if (changed.length) lines.push("Marked differently since the last export: " + changed.join(", ") + ".");
      if (dropped.length) lines.push("No longer marked, so left out: " + dropped.join(", ") + ".");
      if (!window.confirm(lines.join("\n") + "\nGrading this file changes their grades. Export?")) {
        S.say("Nothing exported.");
        return null;
      }
    }
    state.exports += 1;
    var name = "marks-" + base.classKey.slice(0, 6) + "-" + state.exports + ".json";
    var blob = new Blob([JSON.stringify(list, null, 1) + "\n"], { type: "application/json" });
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.appendChild(a);
    a.click();
    setTimeout(function () {
      URL.revokeObjectURL(a.href);
      a.remove();
    }, 0);
    state.exported = now;
    keep();
    S.say("Exported " + list.length + " students as " + name + " (every student marked so " +
      "far). Grade it alone: handcalc check --manifest manifest.json " + name);
    return name;
  }

  // --- wiring ---------------------------------------------------------------------------

  roster.forEach(function (st, i) {
    var o = document.createElement("option");
    o.value = String(i);
    o.textContent = (i + 1) + ". " + st.student;
    who.appendChild(o);
  });
  who.addEventListener("change", function () {
    show(+who.value, false);
  });
  find.addEventListener("input", function () {
    var i = findStudent(find.value);
    if (i >= 0 && i !== state.at) show(i, false);
    else if (i < 0 && find.value.trim()) S.say("No student's name holds “" + find.value.trim() + "”.");
  });
  find.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && inputs.length) {
      ev.preventDefault();
      inputs[0].focus();
    }
  });
  nameEl.readOnly = true;
  document.getElementById("done").addEventListener("click", doneNext);
  document.getElementById("blank").addEventListener("click", onCell(function (el) {
    setCell(el, null, !(state.blank[roster[state.at].id] || {})[el.name]);
  }));
  document.getElementById("review").addEventListener("click", onCell(function (el) {
    setCell(el, "?", false);
  }));
  document.getElementById("untype").addEventListener("click", onCell(function (el) {
    setCell(el, null, false);
  }));
  document.getElementById("export").addEventListener("click", exportMarks);

  var back = restore();
  show(state.at, false);
  if (back && Object.keys(state.marked).length + Object.keys(state.typed).length) {
    S.say("Your marking from before is back (kept in this browser).");
  }
  ["done", "blank", "review", "untype", "export"].forEach(function (id) {
    document.getElementById(id).disabled = false;
  });

  window.handcalcMark = {
    state: state,
    show: show,
    work: work,
    classAnswers: classAnswers,
    exportMarks: exportMarks,
    doneNext: doneNext,
    findStudent: findStudent,
  };
})();
