"""One grading logic, two languages: the shared vectors hold the Python grader and the page's
JavaScript grader (templates/grading.js, run by node) to the same verdicts."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from handcalc.interactive import page_data
from handcalc.problem import decode_id

from . import grading_vectors
from .conftest import ROOT

COMMITTED = json.loads(grading_vectors.PATH.read_text(encoding="utf-8"))
VECTORS = COMMITTED["vectors"]
NAMES = [v["name"] for v in VECTORS]


def test_vectors_are_fresh():
    """Remakes the vectors; fails when the committed file is stale (run the module to fix)."""
    assert grading_vectors.build() == COMMITTED, "run: python -m tests.grading_vectors"


def test_vectors_cover_every_verdict_and_named_mistake():
    kinds = {
        m["kind"] for v in VECTORS for s in v["expected"]["steps"].values() for m in s["mistakes"]
    }
    assert kinds >= {
        "slip",
        "weights-swapped",
        "scores-transposed",
        "rounding",
        "not-scaled",
        "e-not-3",
        "softmax-axis",
        "weights-axis",
        "rotation-direction",
        "rotation-position",
        "not-rotated",
        "bias-left-out",
        "relu-before-bias",
        "residual-forgotten",
        "relu-kept-negative",
    }
    verdicts = {k for v in VECTORS for k, n in v["expected"]["counts"].items() if n}
    assert verdicts == {"correct", "follow-through", "wrong", "blank", "revealed", "needs-review"}
    sheets = {
        (v["sheet"]["convention"], v["sheet"]["causal"], v["sheet"]["heads"]) for v in VECTORS
    }
    assert {("rows", False, 1), ("columns", True, 1), ("columns", False, 2)} <= sheets


@pytest.mark.parametrize("vector", VECTORS, ids=NAMES)
def test_python_grader_gives_the_committed_verdicts(vector):
    assert page_data(decode_id(vector["sheet"]["id"])) == vector["sheet"]
    assert grading_vectors.regrade(vector) == vector["expected"]


def _comparable(report: dict) -> dict:
    """Everything both graders promise alike; an unreadable cell's error wording may differ."""
    out = {k: report[k] for k in ("id", "student", "percent", "graded", "credited", "counts")}
    out["first_wrong"] = report["first_wrong"]
    out["steps"] = {
        name: {
            "cells": s["cells"],
            "mistakes": s["mistakes"],
            "unreadable": [(u["cell"], u["text"], u["likely"]) for u in s["unreadable"]],
        }
        for name, s in report["steps"].items()
    }
    return out


@pytest.fixture(scope="module")
def js_results():
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    done = subprocess.run(
        [node, str(ROOT / "tests" / "run_vectors.js"), str(grading_vectors.PATH)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return {r["name"]: r for r in json.loads(done.stdout)["results"]}


@pytest.mark.parametrize("vector", VECTORS, ids=NAMES)
def test_javascript_grader_agrees(vector, js_results):
    assert _comparable(js_results[vector["name"]]["got"]) == _comparable(vector["expected"])


@pytest.mark.parametrize("vector", VECTORS, ids=NAMES)
def test_the_page_words_wrong_cells_as_the_text_report_does(vector, js_results):
    assert js_results[vector["name"]]["said"] == vector["said"]


def test_vectors_cover_the_words_for_wrong_cells():
    words = [w for v in VECTORS for cells in v["said"].values() for _, _, w in cells]
    assert any("from your" in w for w in words)
    assert any("write at least 2 decimals" in w for w in words)
