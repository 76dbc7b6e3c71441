"""Printing results as a table, key: value lines, JSON (protobuf's JSON mapping) or YAML."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC
from typing import Any, TextIO

import yaml
from google.protobuf import json_format
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

FORMATS = ("table", "json", "yaml", "symphony")
"""``symphony``: Eclipse Symphony's shape where one exists (``get activation``), JSON else."""


def to_data(message: Message) -> Any:
    """A message in protobuf's JSON mapping (lowerCamelCase), as plain Python data.

    Numbers of ``Struct`` fields that are whole come out as ints (``3``, not ``3.0``).
    """
    return plain(json_format.MessageToDict(message, preserving_proto_field_name=False))


def plain(value: Any) -> Any:
    """``value`` with whole floats turned into ints, recursively."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def compact(value: Any, *, hide_private: bool = False, limit: int = 0) -> str:
    """One-line JSON with sorted keys; optionally without the plane's ``__``-prefixed keys
    (at any depth) and cut at ``limit`` characters."""
    value = plain(value)
    if hide_private:
        value = _public(value)
    text = json.dumps(
        value, ensure_ascii=False, separators=(", ", ": "), sort_keys=True, default=str
    )
    if limit and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def _public(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _public(v) for k, v in value.items() if not str(k).startswith("__")}
    if isinstance(value, list):
        return [_public(v) for v in value]
    return value


def timestamp(ts: Timestamp | None, *, millis: bool = False) -> str:
    """RFC 3339 in UTC (``2024-04-07T02:02:32Z``); empty when unset."""
    if ts is None or (ts.seconds == 0 and ts.nanos == 0):
        return ""
    moment = ts.ToDatetime(tzinfo=UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if millis:
        text += f".{moment.microsecond // 1000:03d}"
    return text + "Z"


class Printer:
    """Writes results to a stream in one format.

    ``structured`` (json, yaml) prints data with :meth:`emit`; table mode prints with
    :meth:`line`, :meth:`fields` and :meth:`table`.
    """

    def __init__(self, fmt: str, stream: TextIO | None = None) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown output format {fmt!r}")
        self.format = fmt
        self.stream = stream or sys.stdout

    @property
    def structured(self) -> bool:
        return self.format != "table"

    def emit(self, data: Any, *, stream_item: bool = False) -> None:
        """Print ``data`` as JSON or YAML.

        ``stream_item``: one item of a stream — JSON on one line, YAML as one document.
        """
        if self.format in ("json", "symphony"):
            indent = None if stream_item else 2
            self.write(json.dumps(data, indent=indent, ensure_ascii=False, default=str))
        else:
            text = yaml.safe_dump(
                data, sort_keys=False, allow_unicode=True, default_flow_style=False
            )
            self.write(("---\n" if stream_item else "") + text.rstrip("\n"))

    def emit_message(self, message: Message, *, stream_item: bool = False) -> None:
        self.emit(to_data(message), stream_item=stream_item)

    def line(self, text: str = "") -> None:
        self.write(text)

    def fields(self, pairs: Iterable[tuple[str, str]]) -> None:
        """``key: value`` lines with the values aligned; empty values are left out."""
        shown = [(k, v) for k, v in pairs if v != ""]
        width = max((len(k) for k, _ in shown), default=0) + 1
        for key, value in shown:
            self.write(f"{key + ':':<{width}} {value}")

    def table(
        self, headers: Sequence[str], rows: Sequence[Sequence[str]], indent: str = ""
    ) -> None:
        """An aligned table; the last column is not padded."""
        for text in format_table(headers, rows):
            self.write(indent + text)

    def write(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """The lines of an aligned table, two spaces between columns."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = []
    for row in [list(headers), *rows]:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return lines
