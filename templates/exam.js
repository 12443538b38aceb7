/* An exam page: type the answers, then Save answers writes an answers file that
   `handcalc check` grades. It holds no key and no grader: it only collects. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("handcalc-data").textContent);
  var byName = {};
  Array.prototype.forEach.call(document.querySelectorAll("input[data-step]"), function (el) {
    byName[el.name] = el;
  });

  function fieldName(step, r, c) {
    return c === null ? step + "_" + (r + 1) : step + "_r" + (r + 1) + "_c" + (c + 1);
  }

  function cell(step, r, c) {
    var el = byName[fieldName(step, r, c)];
    var v = el ? el.value.trim() : "";
    return v === "" ? null : v;
  }

  function answers() {
    var student = document.getElementById("student").value.trim();
    var out = { id: data.id, student: student || null };
    data.asked.forEach(function (s) {
      var value = [];
      for (var r = 0; r < s.rows; r++) {
        if (s.cols === null) value.push(cell(s.name, r, null));
        else {
          var row = [];
          for (var c = 0; c < s.cols; c++) row.push(cell(s.name, r, c));
          value.push(row);
        }
      }
      out[s.name] = value;
    });
    return out;
  }

  function save() {
    var text = JSON.stringify(answers(), null, 1) + "\n";
    var a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([text], { type: "application/json" }));
    a.download = "answers-" + data.id + ".json";
    document.body.appendChild(a);
    a.click();
    setTimeout(function () {
      URL.revokeObjectURL(a.href);
      a.remove();
    }, 0);
  }

  var button = document.getElementById("save");
  button.addEventListener("click", save);
  button.disabled = false;
  window.handcalcExam = { answers: answers };
})();
