"""Writes `spd/api/model.py` from botocore's Rekognition service model: `python -m spd.api.generate`.

Only the operations spd calls (or that the emulator serves) are described, with every shape they reach,
so the generated file stays small enough to read. The output is deterministic (operations and shapes in
name order), which lets `tests/unit/api/test_generated_model.py` regenerate it and compare byte for byte.
This module is the only part of `spd.api` that imports botocore, and nothing at run time imports it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from spd.api.rules import COLLECTION_OPERATIONS, STREAM_PROCESSOR_OPERATIONS

OPERATIONS = (*STREAM_PROCESSOR_OPERATIONS, *COLLECTION_OPERATIONS)
"""The stream-processor operations, tagging, and the collection operations that preflight reads."""

TARGET = Path(__file__).with_name("model.py")

_HEADER = '''"""Generated from botocore's Rekognition service model by `python -m spd.api.generate`: do not edit.

API version {api_version}. `tests/unit/api/test_generated_model.py` regenerates this file and fails on any
difference. What the model does not say lives in `spd.api.rules`. Excluded from the formatter: its form
is the generator's.
"""

from spd.api.shapes import Member, Operation, ServiceModel, Shape
'''


def _number(value: Any) -> str:
    """A bound as the model states it: an int stays an int, a float keeps its repr."""
    return repr(value) if isinstance(value, float) else repr(int(value))


def _shape_source(shape: Any) -> str:
    meta = shape.metadata
    parts = [f"name={shape.name!r}", f"type={shape.type_name!r}"]
    if "min" in meta:
        parts.append(f"min={_number(meta['min'])}")
    if "max" in meta:
        parts.append(f"max={_number(meta['max'])}")
    if "pattern" in meta:
        parts.append(f"pattern={meta['pattern']!r}")
    if shape.type_name == "string" and shape.enum:
        parts.append(f"enum={tuple(shape.enum)!r}")
    if shape.type_name == "structure":
        required = set(meta.get("required", ()))
        members = ", ".join(
            f"Member({name!r}, {member.name!r}" + (", required=True)" if name in required else ")")
            for name, member in shape.members.items()
        )
        parts.append(f"members=({members},)" if members else "members=()")
    elif shape.type_name == "list":
        parts.append(f"member={shape.member.name!r}")
    elif shape.type_name == "map":
        parts.append(f"key={shape.key.name!r}")
        parts.append(f"value={shape.value.name!r}")
    return f"Shape({', '.join(parts)})"


def _collect(shape: Any, into: dict[str, Any]) -> None:
    if shape is None or shape.name in into:
        return
    into[shape.name] = shape
    if shape.type_name == "structure":
        for member in shape.members.values():
            _collect(member, into)
    elif shape.type_name == "list":
        _collect(shape.member, into)
    elif shape.type_name == "map":
        _collect(shape.key, into)
        _collect(shape.value, into)


def render() -> str:
    """The text of `spd/api/model.py` for the botocore installed now."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("rekognition")
    shapes: dict[str, Any] = {}
    operations: list[str] = []
    for name in sorted(OPERATIONS):
        operation = model.operation_model(name)
        for shape in (operation.input_shape, operation.output_shape, *operation.error_shapes):
            _collect(shape, shapes)
        errors = tuple(sorted(error.name for error in operation.error_shapes))
        input_name = operation.input_shape.name if operation.input_shape is not None else None
        output_name = operation.output_shape.name if operation.output_shape is not None else None
        operations.append(
            f"        {name!r}: Operation({name!r}, input={input_name!r}, output={output_name!r}, errors={errors!r}),"
        )
    lines = [
        _HEADER.format(api_version=model.api_version),
        "MODEL = ServiceModel(",
        f"    api_version={model.api_version!r},",
        f"    target_prefix={model.metadata['targetPrefix']!r},",
        f"    json_version={model.metadata['jsonVersion']!r},",
        "    operations={",
        *operations,
        "    },",
        "    shapes={",
        *(f"        {name!r}: {_shape_source(shapes[name])}," for name in sorted(shapes)),
        "    },",
        ")",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    """Write the generated module; print where."""
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
