"""The examples of the manual and the README, as fenced blocks, for the tests that run them.

One parser for every page: `README.md` and `docs/**/*.md`. A block is what sits between a line of
three backticks with a language (indented blocks inside lists too) and its closing fence. An HTML
comment on the line just before the fence says how a block is run, when it is more than checked:

- `<!-- example: run -->` on a `console` or `sh` block: its commands are run in a sandbox (a copy of
  `config/`, an embedded emulator state of its own), and a console block's printed lines are compared;
- `<!-- example: file NAME -->` on a block: written to NAME in that sandbox before the page's run blocks;
- `<!-- example: emulator -->` on an `sh` or `python` block: run against a real `spd emulator`, whose
  address replaces `http://127.0.0.1:4566`.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
_FENCE = re.compile(r"^( *)```([\w-]+)\n(.*?)^\1```[ \t]*$", flags=re.MULTILINE | re.DOTALL)
_NOTE = re.compile(r"<!-- example: ([^>]*?) -->\s*$")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    lang: str
    text: str
    note: str
    """What the `<!-- example: ... -->` comment before the block says ("" without one)."""

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def pages() -> list[Path]:
    return [README, *sorted(DOCS.rglob("*.md"))]


def blocks(page: Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    found = []
    for match in _FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        note = _NOTE.search(before)
        found.append(
            Block(
                page,
                text.count("\n", 0, match.start()) + 1,
                match.group(2),
                textwrap.dedent(match.group(3)),
                note.group(1) if note else "",
            )
        )
    return found


def all_blocks(*langs: str) -> list[Block]:
    return [b for page in pages() for b in blocks(page) if not langs or b.lang in langs]


def example(page: Path, lang: str, *needles: str) -> str:
    """The one `lang` block of `page` that contains every needle."""
    matching = [b.text for b in blocks(page) if b.lang == lang and all(n in b.text for n in needles)]
    assert len(matching) == 1, f"expected one {lang} example in {page} with {needles}, found {len(matching)}"
    return matching[0]


def console_commands(text: str) -> list[tuple[str, list[str]]]:
    """A console block's commands (`$ ` lines, with `\\` continuations) and the lines each printed."""
    found: list[tuple[str, list[str]]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("$ "):
            command = line[2:]
            while command.rstrip().endswith("\\") and i + 1 < len(lines):
                i += 1
                command = command.rstrip()[:-1] + " " + lines[i].strip()
            found.append((command, []))
        elif found:
            found[-1][1].append(line)
        i += 1
    return found


def shell_commands(lang: str, text: str) -> str:
    """The shell text of a block: a console block's commands, or an sh block as it is."""
    if lang == "console":
        return "\n".join(command for command, _ in console_commands(text)) + "\n"
    return text
