"""`${VAR}` and `${VAR:-default}` in spec values, filled from an environment mapping the caller passes.

Called by the YAML readers on every string value that contains `$` (keys are structure and are never
expanded). Semantics follow the shell: `${VAR:-default}` uses the default when VAR is unset *or empty*;
`${VAR}` with VAR unset is an error (returned, not raised, so every unset variable is reported); `$$` is a
literal `$`; a `$` not followed by `{` or `$` is kept as it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_REFERENCE = re.compile(r"\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-)([^}]*))?\}|(\{))")


def expand(text: str, environ: Mapping[str, str]) -> tuple[str, list[str]]:
    """Return the expanded text and the problems found (empty when all went well)."""
    if "$" not in text:
        return text, []
    problems: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        escaped, name, has_default, default, malformed = match.groups()
        if escaped:
            return "$"
        if malformed:
            problems.append(
                "malformed variable reference; write ${NAME} or ${NAME:-default} (and $$ for a literal $)"
            )
            return match.group(0)
        value = environ.get(name)
        if has_default:
            return value if value else default
        if value is None:
            problems.append(f"environment variable {name} is not set (give a default with ${{{name}:-...}})")
            return match.group(0)
        return value

    return _REFERENCE.sub(substitute, text), problems
