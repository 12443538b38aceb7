"""The house rules of the code base, checked: which module may import which library, and
every command explains itself."""

from __future__ import annotations

import ast
from pathlib import Path

import click

from handcalc.cli import main

PACKAGE = Path(__file__).resolve().parent.parent / "handcalc"

# Each outside library is the business of one module (pypdf: reading forms and joining sheets).
OWNERS = {
    "click": {"cli.py"},
    "numpy": {"draw.py"},
    "jinja2": {"render.py"},
    "weasyprint": {"render.py"},
    "pypdf": {"answers.py"},
    "pikepdf": {"pdfjoin.py"},
}


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_each_library_is_imported_only_by_its_owner():
    users = {lib: set() for lib in OWNERS}
    for path in PACKAGE.glob("*.py"):
        for lib in imported(path) & set(OWNERS):
            users[lib].add(path.name)
    assert users == OWNERS


def test_every_command_and_option_has_help():
    assert main.help
    for name, command in main.commands.items():
        assert command.help, name
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"{name} {param.opts}"
