"""handcalc: self-attention worked by hand, with worksheets, keys and a grader."""

import importlib

# Exports load on first use, so `handcalc --help` pays for neither numpy nor WeasyPrint.
_EXPORTS = {
    "HandcalcError": "errors",
    "Problem": "problem",
    "Spec": "problem",
    "Solution": "solution",
    "solve": "solution",
    "make_problem": "draw",
    "grade": "grading",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'handcalc' has no attribute {name!r}")
