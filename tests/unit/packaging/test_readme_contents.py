"""The README's table of contents lists every section, in order, with links that resolve.

When a section is added or renamed, this fails and prints the block to paste between the markers.
"""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[3] / "README.md"
START, END = "<!-- contents -->", "<!-- /contents -->"


def anchor(title: str, seen: dict[str, int]) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens, repeats numbered."""
    slug = re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
    count = seen.get(slug, 0)
    seen[slug] = count + 1
    return slug if count == 0 else f"{slug}-{count}"


def expected_contents(text: str) -> str:
    seen: dict[str, int] = {}
    lines = []
    in_code = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        match = None if in_code else re.match(r"^(##+) (.+)$", line)
        if match is None:
            continue
        level, title = len(match[1]), match[2]
        link = anchor(title, seen)
        if level <= 3 and title != "Contents":
            lines.append(f"{'  ' * (level - 2)}- [{title}](#{link})")
    return "\n".join([START, *lines, END])


def test_the_contents_match_the_sections() -> None:
    text = README.read_text(encoding="utf-8")
    expected = expected_contents(text)
    start, end = text.find(START), text.find(END)
    assert start != -1, f"README has no contents block; add:\n{expected}"
    assert end != -1, f"README's contents block is not closed; it should read:\n{expected}"
    assert text[start : end + len(END)] == expected, f"README contents are stale; replace with:\n{expected}"


def test_the_anchor_rule() -> None:
    seen: dict[str, int] = {}
    assert anchor("`spd validate` and `spd schema`", seen) == "spd-validate-and-spd-schema"
    assert anchor("The daemon: `spd run`", seen) == "the-daemon-spd-run"
    assert anchor("`--output json`", seen) == "--output-json"
    assert anchor("Settings", seen) == "settings"
    assert anchor("Settings", seen) == "settings-1"
