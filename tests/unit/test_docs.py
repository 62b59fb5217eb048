"""The README is the front door: short, naming the two commands, linking every page of docs/; and every relative
link in the README and docs/ resolves, to a file and, with a #fragment, to a heading in it (GitHub's anchors)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def links(path: Path) -> list[str]:
    return LINK.findall(FENCE.sub("", path.read_text()))


def anchor(heading: str) -> str:
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    headings = re.findall(r"^#{1,6} (.+)$", FENCE.sub("", path.read_text()), re.M)
    return {anchor(h) for h in headings}


def test_the_readme_is_a_front_door():
    text = README.read_text()
    assert len(text.splitlines()) <= 200
    assert "./local/up" in text and "./local/test" in text  # .ci/run runs the README's test command


def test_the_readme_links_every_page_of_docs():
    linked = {(README.parent / target.split("#")[0]).resolve() for target in links(README)}
    assert DOCS and {p.resolve() for p in DOCS} <= linked


@pytest.mark.parametrize("page", [README, *DOCS], ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve(page):
    broken = []
    for target in links(page):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: not checked here
        file, _, fragment = target.partition("#")
        resolved = (page.parent / file).resolve() if file else page
        if not resolved.exists():
            broken.append(target)
        elif fragment and resolved.suffix == ".md" and fragment not in anchors(resolved):
            broken.append(target)
    assert broken == []


def test_the_anchor_rule_matches_githubs():
    assert anchor("Any endpoint, LocalStack included (`./local/deploy`)") == "any-endpoint-localstack-included-localdeploy"
    assert anchor("Waiting orders (limit and sniper)") == "waiting-orders-limit-and-sniper"
