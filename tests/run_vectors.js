// Runs the shared grading vectors through the page's grader: node tests/run_vectors.js FILE
// Prints one JSON object: each vector's name and what templates/grading.js says of it.
"use strict";
const fs = require("fs");
const path = require("path");
const G = require(path.join(__dirname, "..", "templates", "grading.js"));

const data = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const results = data.vectors.map((v) => {
  const ex = new G.Exercise(v.sheet);
  return { name: v.name, got: G.toJson(G.grade(ex, v.answers, undefined, v.rules)) };
});
process.stdout.write(JSON.stringify({ results }) + "\n");
