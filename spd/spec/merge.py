"""How a file's `defaults` combine with each of its processors, and where a merged value came from.

Called by `spd.spec.loader`. The rule: a processor gets every key of its file's `defaults` that it does
not set itself; a key it sets replaces the default's value entirely, nested mappings included (an
`output` on the processor is the whole output, nothing of the default's `output` survives). The one
exception is `tags`, merged per tag key with the processor's value winning. An explicit null on the
processor cancels the default (for `tags` too). `name` is never taken from defaults.
"""

from __future__ import annotations

from typing import Any

from spd.spec.positions import Path


def merge_defaults(defaults: dict[str, Any], processor: dict[str, Any]) -> dict[str, Any]:
    merged = {key: value for key, value in defaults.items() if key != "name"}
    merged.update(processor)
    default_tags = defaults.get("tags")
    own_tags = processor.get("tags")
    if isinstance(default_tags, dict) and isinstance(own_tags, dict):
        merged["tags"] = {**default_tags, **own_tags}
    return merged


def source_path(path: Path, data: Any) -> tuple[Path, bool]:
    """Where the value at `path` (in the merged document) is written in the file, and whether it was
    inherited from `defaults`."""
    if len(path) < 3 or path[0] != "processors" or not isinstance(path[1], int) or not isinstance(data, dict):
        return path, False
    processors = data.get("processors")
    defaults = data.get("defaults")
    if (
        not isinstance(processors, list)
        or not 0 <= path[1] < len(processors)
        or not isinstance(defaults, dict)
    ):
        return path, False
    item = processors[path[1]]
    key = path[2]
    if not isinstance(item, dict) or key == "name":
        return path, False
    if key == "tags" and len(path) >= 4:
        own = item.get("tags")
        default_tags = defaults.get("tags")
        if isinstance(own, dict) and path[3] in own:
            return path, False
        if (
            isinstance(default_tags, dict)
            and path[3] in default_tags
            and ("tags" not in item or isinstance(own, dict))
        ):
            return ("defaults", *path[2:]), True
        return path, False
    if key not in item and key in defaults:
        return ("defaults", *path[2:]), True
    return path, False
