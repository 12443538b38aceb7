// Runs the shared grading vectors through the page's grader: node tests/run_vectors.js FILE
// Prints one JSON object: each vector's name, what templates/grading.js says of it, and its
// words for each wrong cell (the page's report).
"use strict";
const fs = require("fs");
const path = require("path");
const G = require(path.join(__dirname, "..", "templates", "grading.js"));

const data = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const results = data.vectors.map((v) => {
  const ex = new G.Exercise(v.sheet);
  const report = G.grade(ex, v.answers, undefined, v.rules);
  const said = {};
  for (const [step, cells] of Object.entries(G.wrongCells(ex, v.answers, report, undefined, v.rules))) {
    if (cells.length) said[step] = cells.map((w) => [w.cell, w.wrote, w.said]);
  }
  return { name: v.name, got: G.toJson(report), said };
});
process.stdout.write(JSON.stringify({ results }) + "\n");
