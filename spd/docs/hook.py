"""MkDocs hook (`hooks:` in mkdocs.yml): fills each page's reference markers with the generated tables.

Runs at every build, so the reference pages always describe the code being built.
"""

from __future__ import annotations

from typing import Any

from spd.docs.reference import expand


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    return expand(markdown)
