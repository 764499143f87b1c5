"""The types in which `spd.api.model` describes the API: plain frozen values, no behaviour beyond look-up.

Kept apart from the generated module so that the generator's output is data only, and so that code that
walks shapes (the emulator's request validation, the spec schema) can be typed against these classes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Member:
    """A member of a structure: its wire name, the shape it has, and whether the request must carry it."""

    name: str
    shape: str
    required: bool = False


@dataclass(frozen=True, slots=True)
class Shape:
    """One shape of the service model with the constraints botocore's model states for it.

    `type` is the model's type name (structure, list, map, string, integer, long, float, boolean,
    timestamp, blob). `min`/`max` bound a string's length, a list's or map's size, or a number's value.
    `pattern` is the model's regular expression, to be matched against the whole value.
    """

    name: str
    type: str
    min: float | None = None
    max: float | None = None
    pattern: str | None = None
    enum: tuple[str, ...] = ()
    members: tuple[Member, ...] = ()
    member: str | None = None
    key: str | None = None
    value: str | None = None

    def member_named(self, name: str) -> Member | None:
        """The structure member with this wire name, or None."""
        for member in self.members:
            if member.name == name:
                return member
        return None


@dataclass(frozen=True, slots=True)
class Operation:
    """An operation: its input and output shapes and the errors the model documents for it."""

    name: str
    input: str | None
    output: str | None
    errors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ServiceModel:
    """The whole generated description: the service's metadata, its operations and the shapes they reach."""

    api_version: str
    target_prefix: str
    json_version: str
    operations: Mapping[str, Operation] = field(default_factory=dict)
    shapes: Mapping[str, Shape] = field(default_factory=dict)

    def shape(self, name: str) -> Shape:
        """The shape with this name (KeyError names it when absent)."""
        return self.shapes[name]

    def input_shape(self, operation: str) -> Shape | None:
        """The input shape of an operation, or None for an operation without input."""
        name = self.operations[operation].input
        return None if name is None else self.shapes[name]

    def member_shape(self, structure: str, *path: str) -> Shape:
        """The shape reached from a structure by a path of member names (lists are stepped through)."""
        shape = self.shapes[structure]
        for step in path:
            while shape.type == "list" and shape.member is not None:
                shape = self.shapes[shape.member]
            member = shape.member_named(step)
            if member is None:
                raise KeyError(f"{shape.name} has no member {step}")
            shape = self.shapes[member.shape]
        return shape
