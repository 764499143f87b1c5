"""Strict decoding of JSON request bodies, for every JSON body the emulator reads.

Python's `json` module is lenient where AWS is not and fragile where a server must not be: it accepts the
bare constants `NaN`, `Infinity` and `-Infinity` (which no JSON parser reading the emulator's answers
would accept back), and it recurses once per nesting level, so a body of 100,000 `[` overflows the
interpreter's stack with a `RecursionError`. `decode_json` checks the encoding and the nesting depth
before parsing (a linear scan with no recursion) and refuses the constants, raising one
`JsonBodyError` whose message says what is wrong. Callers turn it into their own error shape: the
service front ends into a `SerializationException`, the control API into `{"error": ...}` with 400.

Used by `spd.emulator.http.app` (every `X-Amz-Target` request, before moto or the stream-processor handlers
see it), `spd.emulator.http.responses` and `spd.emulator.http.control`.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

MAX_DEPTH = 128
"""Deepest nesting of arrays and objects accepted. Rekognition requests nest at most six levels; moto's
other services get room for DynamoDB's 32 levels of nested attribute values (two JSON levels each)."""

# A string literal, or an unterminated one running to the end: every match attempt succeeds greedily, so
# the scan is linear whatever the input (no backtracking, no restart at each later quote).
_STRING = re.compile(r'"(?:[^"\\]|\\.?)*(?:"|\Z)', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class JsonBodyError(ValueError):
    """The body is not acceptable JSON; the message says why, for the client."""


def _refuse_constant(name: str) -> Any:
    raise JsonBodyError(f"{name} is not a valid JSON value")


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in `text`, string contents ignored; no recursion."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def decode_json(raw: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse a request body: UTF-8, at most `max_depth` levels deep, no NaN or infinities."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JsonBodyError(f"Request body is not valid UTF-8 (byte {exc.start})") from None
    else:
        text = raw
    if json_depth(text) > max_depth:
        raise JsonBodyError(f"Request body nests deeper than {max_depth} levels")
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except JsonBodyError:
        raise
    except ValueError as exc:  # JSONDecodeError, and int() of a number with too many digits
        raise JsonBodyError(f"Request body is not valid JSON: {exc}") from None


def decode_json_object(raw: bytes | str, *, max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """`decode_json`, and the value must be an object (every AWS JSON request and control body is)."""
    data = decode_json(raw, max_depth=max_depth)
    if not isinstance(data, dict):
        raise JsonBodyError("Request body must be a JSON object")
    return data
