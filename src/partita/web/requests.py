"""Request messages of the JSON API, read from the query string or a JSON body.

The JSON API takes the same request messages as the gRPC API, in protobuf's JSON mapping:
a GET reads each field from a query parameter of the field's JSON name (or its proto
name), a repeated field from the parameter given several times; a POST reads its JSON body.
What cannot be read is an InvalidInputError naming the field, as the gRPC API reports it.
"""

from __future__ import annotations

from typing import Any, TypeVar

from aiohttp import web
from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from partita.errors import InvalidInputError

M = TypeVar("M", bound=Message)

INTEGERS = frozenset(
    {
        FieldDescriptor.TYPE_INT32,
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_UINT32,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_SINT32,
        FieldDescriptor.TYPE_SINT64,
    }
)
MAX_BODY_BYTES = 4 << 20
"""Largest JSON body accepted; the gRPC API's largest message."""


def from_query(request: web.Request, cls: type[M]) -> M:
    """A request message from the query string, one field per parameter."""
    message = cls()
    fields: dict[str, Any] = {}
    for each in cls.DESCRIPTOR.fields:
        fields[each.json_name] = each
        fields[each.name] = each
    for key in sorted(set(request.query.keys())):
        field = fields.get(key)
        if field is None:
            known = ", ".join(sorted(f.json_name for f in cls.DESCRIPTOR.fields))
            raise InvalidInputError.field(key, f"is not a parameter of this call (known: {known})")
        raw = request.query.getall(key)
        values = [_value(field, key, v) for v in raw]
        part = cls()
        try:
            json_format.ParseDict(
                {field.json_name: values if _repeated(field) else values[-1]}, part
            )
        except json_format.ParseError as exc:
            raise InvalidInputError.field(key, _reason(exc)) from None
        message.MergeFrom(part)
    return message


async def from_body(request: web.Request, cls: type[M]) -> M:
    """A request message from the JSON body (an empty body is an empty message)."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise InvalidInputError.field("body", f"is larger than {MAX_BODY_BYTES} bytes")
    text = await request.text()
    message = cls()
    if not text.strip():
        return message
    try:
        json_format.Parse(text, message)
    except json_format.ParseError as exc:
        raise InvalidInputError.field("body", _reason(exc)) from None
    return message


def _repeated(field: Any) -> bool:
    return bool(field.is_repeated)


def _value(field: Any, key: str, text: str) -> object:
    """A query string value as the JSON value protobuf's mapping expects for the field."""
    if field.type == FieldDescriptor.TYPE_BOOL:
        if text.lower() in ("true", "1", ""):
            return True
        if text.lower() in ("false", "0"):
            return False
        raise InvalidInputError.field(key, f"{text!r} is not true or false")
    if field.type in INTEGERS:
        if not text.lstrip("-").isdigit():
            raise InvalidInputError.field(key, f"{text!r} is not a whole number")
        return int(text)
    if field.type == FieldDescriptor.TYPE_ENUM:
        names = field.enum_type.values_by_name
        if text not in names:
            # ``RUNNING`` for ``ACTIVATION_STATUS_RUNNING``: the enum's prefix may be left out
            prefix = field.enum_type.values[0].name.removesuffix("UNSPECIFIED")
            if prefix + text.upper() in names:
                return prefix + text.upper()
            choices = ", ".join(n.removeprefix(prefix) for n in names if n != _zero_name(field))
            raise InvalidInputError.field(key, f"{text!r} is not one of {choices}")
    return text


def _zero_name(field: Any) -> str:
    """The name of an enum field's zero value (``…_UNSPECIFIED``), never a choice."""
    return str(field.enum_type.values[0].name)


def _reason(exc: json_format.ParseError) -> str:
    """ParseError's message without protobuf's ``Failed to parse x field:`` preamble."""
    text = str(exc)
    _, sep, rest = text.partition(" field: ")
    return rest.strip() if sep and text.startswith("Failed to parse") else text
