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
_NAMED_FIELD = re.compile(
    r"(?:missing required|contains unknown) field `([^`]+)`|(?<=\(\\u0000\)) in field `([^`]+)`$"
)
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
    if named:  # point at the missing, unknown or NUL-holding field, not at its parent
        name = named.group(1) or named.group(2)
        path = f"{path}.{name}" if path else name
        if named.group(2):  # prtrace.events._refuse_nul: msgspec's own words, then
            message = message[: named.start()]
    if "Invalid value" in message and "type" in path.rsplit(".", 1)[-1]:
        message = f"{message}: unknown event type"
    return FormatError(message, path or None)


def is_utf8_error(exc: BaseException) -> bool:
    """True when decoding failed because the bytes are not UTF-8.

    msgspec up to 0.19 let Python's ``UnicodeDecodeError`` through; 0.23 turns
    it into a plain ``DecodeError("Invalid UTF-8 encoded string")``, with no
    position and nothing else to tell it from malformed JSON but its text.
    """
    if isinstance(exc, UnicodeDecodeError):
        return True
    return (
        isinstance(exc, msgspec.DecodeError)
        and not isinstance(exc, msgspec.ValidationError)
        and "UTF-8" in str(exc)
    )


def utf8_error(data: bytes | bytearray | memoryview | str, field: str | None = None) -> FormatError:
    """The 400 for a body that is not UTF-8, naming the first bad byte and its offset.

    msgspec no longer says where the bad byte is, so it is found here, on the
    error path only (one more pass over a body that is being refused anyway).
    """
    if isinstance(data, str):  # a str cannot hold bad UTF-8 bytes, only lone surrogates
        data = data.encode("utf-8", "surrogatepass")
    try:
        bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = exc.object[exc.start : exc.end]
        shown = " ".join(f"0x{byte:02x}" for byte in bad)
        where = f"byte{'s' if len(bad) > 1 else ''} {shown} at offset {exc.start}"
        return FormatError(f"body is not valid UTF-8: {where}", field, syntax=True)
    return FormatError("body is not valid UTF-8", field, syntax=True)


def decode(data: bytes | str, type_: type[T]) -> T:
    """Decode JSON into ``type_``, raising :class:`FormatError` on any problem."""
    try:
        return msgspec.json.decode(data, type=type_)
    except UnicodeDecodeError:  # msgspec before 0.23
        raise utf8_error(data) from None
    except msgspec.MsgspecError as exc:
        if is_utf8_error(exc):
            raise utf8_error(data) from None
        raise split_msgspec_error(exc) from None


def convert(obj: Any, type_: type[T]) -> T:
    """Like :func:`decode` for already-parsed Python objects."""
    try:
        return msgspec.convert(obj, type=type_)
    except msgspec.MsgspecError as exc:
        raise split_msgspec_error(exc) from None


def to_builtins(obj: Any) -> Any:
    return msgspec.to_builtins(obj)
