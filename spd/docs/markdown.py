"""Markdown pieces the generated tables share, and the docstrings written under class attributes."""

from __future__ import annotations

import ast
import inspect
import itertools
import re
import textwrap
from collections.abc import Callable, Iterable, Sequence


def _outside_code(text: str, change: Callable[[str], str]) -> str:
    """`text` with `change` applied to everything but its code spans (tables keep `|` in code spans)."""
    parts = re.split(r"(`+[^`]*`+)", text)
    return "".join(part if part.startswith("`") else change(part) for part in parts)


def prose(text: object) -> str:
    """`text` with `<`, `>` and `&` escaped outside code spans, so `<region>` is shown, not taken as HTML."""
    return _outside_code(
        str(text), lambda part: part.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    )


def cell(text: object) -> str:
    """`text` as one table cell: one line, pipes outside code spans escaped, HTML characters shown."""
    return _outside_code(prose(" ".join(str(text).split())), lambda part: part.replace("|", "\\|"))


def code(text: object) -> str:
    """`text` as inline code in a table cell (backticks inside become a longer fence)."""
    value = str(text)
    fence = "``" if "`" in value else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A Markdown table; cells are taken as they are (escape them with `cell`)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def attribute_docstrings(cls: type) -> dict[str, str]:
    """The string literal written under each attribute of `cls`'s own body, by attribute name.

    Python keeps no such docstring at run time; reading the source is how pydantic does it too
    (`use_attribute_docstrings`), without paying for it when the model is imported.
    """
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    found: dict[str, str] = {}
    for node, following in itertools.pairwise(body):
        name = None
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            name = node.target.id
        elif (
            isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
        ):
            name = node.targets[0].id
        if (
            name is not None
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            found[name] = inspect.cleandoc(following.value.value)
    return found
