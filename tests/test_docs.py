"""The README is the teacher's, DEVELOPING.md the rest: the README keeps the commands CI runs,
and every link from one to a section of the other lands on a heading that exists."""

from __future__ import annotations

import re

from .conftest import ROOT


def slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to -."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"```.*?```", "", text, flags=re.S)  # a shell comment is no heading
    return {slug(m.group(1)) for m in re.finditer(r"^#+ (.+)$", text, re.M)}


def test_links_between_the_readme_and_developing_land_on_headings():
    pairs = [("README.md", "DEVELOPING.md"), ("DEVELOPING.md", "README.md")]
    checked = 0
    for source, target in pairs:
        text = (ROOT / source).read_text(encoding="utf-8")
        have = anchors(ROOT / target)
        for anchor in re.findall(rf"\]\({re.escape(target)}#([\w\-]+)\)", text):
            assert anchor in have, (source, anchor)
            checked += 1
    assert checked >= 5


def test_slug_follows_github():
    assert slug("Check your work on screen in full") == "check-your-work-on-screen-in-full"
    assert slug("Drills: practise one part (`--given`)") == "drills-practise-one-part---given"


def test_the_readme_keeps_the_commands_ci_runs_and_leads_with_the_week():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = text[text.index("## Quickstart") : text.index("## A teacher's week")]
    assert "make sheet" in quick and "make test" in quick
    headings = re.findall(r"^## (.+)$", re.sub(r"```.*?```", "", text, flags=re.S), re.M)
    assert headings[:3] == ["Quickstart", "A teacher's week", "The exercise"]
    assert "## Benchmarks" in (ROOT / "DEVELOPING.md").read_text(encoding="utf-8")
