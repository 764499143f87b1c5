"""The model's constraints in the forms the two validators need: the spec schema and the emulator.

Both read a shape of `spd.api.model.MODEL` and turn its pattern into the same engine-neutral form, so a
value the spec language accepts is one the emulator accepts, and the reverse. The model's patterns are
written for the service's Java engine, matched against the whole value, with ASCII `\\d` and `\\w`. The
engines that run them here differ: the spec's (Rust regex, through pydantic) and the emulator's (`regex`)
read `\\d` and `\\w` as Unicode classes, and JSON Schema validators search rather than match. Hence:

- `ascii_classes` spells `\\d` and `\\w` out as ASCII ranges;
- `anchored` makes a searching engine match the whole value;
- `without_lookahead` drops a leading negative lookahead (`(?!aws:)` on TagKey), which Rust regex does
  not support; the spec refuses that prefix with a rule of its own (`spd.spec.validate`).

Pure: no third-party import, so the spec language can use it.
"""

from __future__ import annotations

import re

from spd.api.model import MODEL
from spd.api.shapes import Shape

_ASCII_CLASSES = {"d": "0-9", "w": "A-Za-z0-9_"}
_LEADING_LOOKAHEAD = re.compile(r"^(\^?)\(\?![^()]*\)")


def shape_of(structure: str, *path: str) -> Shape:
    """The shape a member path of a request structure has (`MODEL.member_shape`)."""
    return MODEL.member_shape(structure, *path)


NUMBER_RANGES: dict[str, tuple[int, int]] = {
    "integer": (-(2**31), 2**31 - 1),
    "long": (-(2**63), 2**63 - 1),
}
"""What the model's integer types hold (Smithy: `integer` is 32-bit signed, `long` 64-bit signed)."""


def value_range(shape: Shape) -> tuple[float | None, float | None]:
    """The values a number shape accepts: its own bounds, within what its type can hold at all (a
    `long` without a maximum still ends at 2^63 - 1); None where neither bounds it."""
    low: float | None
    high: float | None
    low, high = NUMBER_RANGES.get(shape.type, (None, None))
    if shape.min is not None:
        low = shape.min if low is None else max(low, shape.min)
    if shape.max is not None:
        high = shape.max if high is None else min(high, shape.max)
    return low, high


def bound(value: float | None) -> int | float | None:
    """A bound as people write it: 128, not 128.0."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def ascii_classes(pattern: str) -> str:
    """`pattern` with `\\d` and `\\w` spelt as the ASCII ranges the service means by them."""
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            escaped = pattern[i + 1]
            if escaped in _ASCII_CLASSES:
                ranges = _ASCII_CLASSES[escaped]
                out.append(ranges if in_class else f"[{ranges}]")
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        out.append(char)
        i += 1
    return "".join(out)


def without_lookahead(pattern: str) -> str:
    """`pattern` without a leading negative lookahead such as TagKey's `(?!aws:)`."""
    return _LEADING_LOOKAHEAD.sub(r"\1", pattern, count=1)


def anchored(pattern: str) -> str:
    """`pattern` anchored at both ends, unless it already is, so that searching means matching it whole."""
    bare = pattern[1:-1] if pattern.startswith("(") and pattern.endswith(")") else pattern
    if bare.startswith("^") and bare.endswith("$") and not bare.endswith("\\$"):
        return pattern
    return f"^(?:{pattern})$" if "|" in pattern else f"^{pattern}$"


def portable_pattern(shape: Shape) -> str:
    """The shape's pattern for an engine that searches and reads `\\d` as Unicode (the spec's form)."""
    if shape.pattern is None:
        raise ValueError(f"{shape.name} has no pattern")
    return anchored(ascii_classes(without_lookahead(shape.pattern)))


def full_match_pattern(shape: Shape) -> str:
    """The shape's pattern, ASCII classes spelt out, for an engine that full-matches (the emulator's)."""
    if shape.pattern is None:
        raise ValueError(f"{shape.name} has no pattern")
    return ascii_classes(shape.pattern)


ROLE_ARN_SHAPE = MODEL.member_shape("CreateStreamProcessorRequest", "RoleArn")
"""The one rule of an IAM role ARN, for a processor's role and a target's role (chain) alike.

From Rekognition's model (`RoleArn`: `arn:aws:iam::<12 digits>:role/...`), the only API model of the two
spd talks to that states one: STS's `AssumeRole` takes any text of 20 to 2048 characters (`arnType`) and
refuses a bad ARN only when called. So the partition is `aws`, for targets too: a target's last role
is in the account its processors live in, whose roles Rekognition accepts only as `arn:aws:`."""

ROLE_ARN_PATTERN = portable_pattern(ROLE_ARN_SHAPE)
"""The rule in the spec's form (anchored, ASCII classes), for its JSON schema."""

_ROLE_ARN = re.compile(full_match_pattern(ROLE_ARN_SHAPE))


def role_arn_account(text: str) -> str | None:
    """The account a role ARN names, or None when `text` is not a role ARN by `ROLE_ARN_SHAPE`."""
    if _ROLE_ARN.fullmatch(text) is None:
        return None
    return text.split(":")[4]
