"""Decoding with errors that name the field.

msgspec reports a bad value as ``Expected `int`, got `str` - at `$.events[3]...```.
We turn that into a :class:`FormatError` with ``field="events[3]..."`` and a
plain message, which the API returns as a 4xx and the CLI prints.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec

from prtrace.errors import FormatError

T = TypeVar("T")

_NUL_RULE = "matching regex '^[^\\\\x00]*$'"
_NAMED_FIELD = re.compile(r"(?:missing required|contains unknown) field `([^`]+)`")
_AT = re.compile(r"^(?P<msg>.*?) - at `\$(?P<path>[^`]*)`$", re.S)

_encoder = msgspec.json.Encoder()
encode = _encoder.encode


def split_msgspec_error(exc: msgspec.MsgspecError) -> FormatError:
    """Turn a msgspec error into a FormatError with the JSON path apart."""
    text = str(exc)
    match = _AT.match(text)
    if not match and not isinstance(exc, msgspec.ValidationError):
        return FormatError(f"body is not valid JSON: {text}", syntax=True)
    path = match.group("path").lstrip(".") if match else ""
    message = match.group("msg") if match else text
    message = message.replace(_NUL_RULE, "without the NUL character (\\u0000)")
    named = _NAMED_FIELD.search(message)
    if named:  # point at the missing or unknown field itself, not at its parent
        path = f"{path}.{named.group(1)}" if path else named.group(1)
    if "Invalid value" in message and "type" in path.rsplit(".", 1)[-1]:
        message = f"{message}: unknown event type"
    return FormatError(message, path or None)


def decode(data: bytes | str, type_: type[T]) -> T:
    """Decode JSON into ``type_``, raising :class:`FormatError` on any problem."""
    try:
        return msgspec.json.decode(data, type=type_)
    except msgspec.MsgspecError as exc:
        raise split_msgspec_error(exc) from None
    except UnicodeDecodeError:
        raise FormatError("body is not valid UTF-8", syntax=True) from None


def convert(obj: Any, type_: type[T]) -> T:
    """Like :func:`decode` for already-parsed Python objects."""
    try:
        return msgspec.convert(obj, type=type_)
    except msgspec.MsgspecError as exc:
        raise split_msgspec_error(exc) from None


def to_builtins(obj: Any) -> Any:
    return msgspec.to_builtins(obj)
