"""The spec's keys as tables, read from the JSON Schema that `spd schema` publishes (`SpecDocument`).

One row per key, nested keys by their dotted path (`face_search.collection_id`, `regions_of_interest[].polygon`),
with the type, whether it is required, the constraints the schema carries and the field's description.
Rules across keys (one kind per processor, what each kind takes, defaults) are `spd validate`'s, and the
spec page says them in prose.
"""

from __future__ import annotations

from typing import Any

from spd.docs.markdown import cell, code, table
from spd.spec.schema import spec_json_schema

LONG_PATTERN = 48
"""Patterns longer than this are left to `spd schema` (the ARN and tag patterns read as noise in a table)."""

Row = tuple[str, str, str, str, str]
DASH = "\N{EN DASH}"
"""Between the ends of a range, as the manual writes them."""
MINUS_INFINITY = "\N{MINUS SIGN}\N{INFINITY}"


def _optional(node: dict[str, Any]) -> dict[str, Any]:
    """The non-null member of `X | None` (pydantic writes it as `anyOf: [X, null]`)."""
    members = [m for m in node.get("anyOf", []) if m.get("type") != "null"]
    if len(members) == 1:
        return {**{k: v for k, v in node.items() if k != "anyOf"}, **members[0]}
    return node


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any] | None:
    ref = node.get("$ref")
    return defs[ref.rsplit("/", 1)[-1]] if isinstance(ref, str) else None


def _type(node: dict[str, Any], defs: dict[str, Any]) -> str:
    if "const" in node:
        return f"the integer {node['const']}" if node.get("type") == "integer" else f"`{node['const']}`"
    if "enum" in node:
        return " \\| ".join(f"`{value}`" for value in node["enum"])
    if _resolve(node, defs) is not None:
        return "mapping"
    kind = node.get("type")
    if kind == "array":
        items = node.get("items", {})
        inner = "mappings" if _resolve(items, defs) is not None else _type(items, defs)
        inner = inner if "enum" in items else f"{inner}s"
        return f"list of {inner}"
    if kind == "object":
        if "additionalProperties" in node and isinstance(node["additionalProperties"], dict):
            return f"mapping string → {_type(node['additionalProperties'], defs)}"
        return "mapping of names → mappings"
    if "oneOf" in node:
        return " or ".join(_type(option, defs) for option in node["oneOf"])
    return str(kind or "any")


def _constraints(node: dict[str, Any]) -> str:
    parts = []
    if "minLength" in node or "maxLength" in node:
        parts.append(f"{node.get('minLength', 0)}{DASH}{node.get('maxLength', '∞')} characters")
    if ("minimum" in node or "maximum" in node) and "const" not in node:
        parts.append(f"{node.get('minimum', MINUS_INFINITY)}{DASH}{node.get('maximum', '∞')}")
    if "minItems" in node or "maxItems" in node:
        parts.append(f"{node.get('minItems', 0)}{DASH}{node.get('maxItems', '∞')} items")
    pattern = node.get("pattern")
    if isinstance(pattern, str):
        parts.append(
            f"pattern {code(pattern)}" if len(pattern) <= LONG_PATTERN else "pattern: see `spd schema`"
        )
    names = node.get("propertyNames")
    if isinstance(names, dict) and ("minLength" in names or "maxLength" in names):
        parts.append(f"keys {names.get('minLength', 0)}{DASH}{names.get('maxLength', '∞')} characters")
    value = node.get("additionalProperties")
    if isinstance(value, dict) and "maxLength" in value:
        parts.append(f"values {value.get('minLength', 0)}{DASH}{value['maxLength']} characters")
    return "; ".join(parts)


def _rows(model: dict[str, Any], prefix: str, defs: dict[str, Any], skip: tuple[str, ...] = ()) -> list[Row]:
    rows: list[Row] = []
    required = set(model.get("required", []))
    for key, raw in model.get("properties", {}).items():
        if key in skip:
            continue
        node = _optional(raw)
        path = f"{prefix}{key}"
        nested = _resolve(node, defs)
        description = node.get("description") or (nested or {}).get("description", "")
        items = node.get("items", {}) if node.get("type") == "array" else {}
        element = _resolve(items, defs) if isinstance(items, dict) else None
        limits = _constraints({**node, **{k: v for k, v in items.items() if k in ("minLength", "maxLength")}})
        if element is not None and not description:
            description = element.get("description", "")
        rows.append(
            (code(path), _type(node, defs), "yes" if key in required else "", limits, cell(description))
        )
        if nested is not None:
            rows += _rows(nested, f"{path}.", defs)
        elif element is not None:
            rows += _rows(element, f"{path}[].", defs)
    return rows


def _render(rows: list[Row]) -> str:
    return table(("key", "type", "required", "constraints", "meaning"), rows)


def _schema() -> tuple[dict[str, Any], dict[str, Any]]:
    schema = spec_json_schema()
    return schema, schema["$defs"]


def top_level() -> str:
    """The keys of a spec file itself."""
    schema, defs = _schema()
    rows: list[Row] = []
    for key in schema["properties"]:
        node = _optional(schema["properties"][key])
        description = node.get("description", "")
        if key == "defaults":
            description = (_resolve(node, defs) or {}).get(
                "description", ""
            ) + " Any processor key but `name`."
        if key == "processors":
            description = "The stream processors; may be empty (`[]`)."
        rows.append(
            (
                code(key),
                _type(node, defs),
                "yes" if key in schema.get("required", []) else "",
                _constraints(node),
                cell(description),
            )
        )
    return _render(rows)


def targets() -> str:
    """The keys of one entry of `targets` (`targets.<name>.…`)."""
    _, defs = _schema()
    return _render(_rows(defs["TargetSpec"], "targets.<name>.", defs))


def processor() -> str:
    """The keys of one processor (also those of `defaults`, except `name`)."""
    _, defs = _schema()
    spec = defs["ProcessorSpec"]
    first = {"properties": {"name": spec["properties"]["name"]}, "required": ["name"]}
    return _render(_rows(first, "", defs) + _rows(spec, "", defs, skip=("name",)))
