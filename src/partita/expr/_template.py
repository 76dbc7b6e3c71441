"""Templates: values (strings, lists, maps) with embedded ``${{ … }}`` expressions."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from partita.expr._evaluators import Evaluator, Expression

# `}}` inside a quoted string does not close an expression.
_SEGMENT = re.compile(r"""\$\{\{((?:[^}'"]|'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|\}(?!\}))*)\}\}""")


class ExpressionError(Exception):
    """An expression does not compile, or fails when evaluated."""


@dataclass(frozen=True)
class _Part:
    text: str
    expression: Expression | None


class Template:
    """A compiled value. ``render(env)`` evaluates every expression in it."""

    __slots__ = ("_kind", "_value", "_where")

    def __init__(self, kind: str, value: Any, where: str = "") -> None:
        self._kind = kind
        self._value = value
        self._where = where

    @classmethod
    def compile(cls, value: Any, evaluator: Evaluator, where: str = "") -> Template:
        """Compile every expression inside ``value``; raise ExpressionError on the first bad one.

        ``where`` names the field (``stageSelector``, ``inputs``): an error while rendering
        then names the field, and the key inside it, where the failing expression sits.
        """
        if isinstance(value, str):
            parts = _split(value, evaluator)
            if parts is None:
                return cls("static", value)
            if len(parts) == 1 and parts[0].expression is not None:
                return cls("single", parts[0].expression, where)
            return cls("joined", (parts, getattr(evaluator, "text", _as_text)), where)
        if isinstance(value, Mapping):
            items = {
                k: cls.compile(v, evaluator, f"{where}.{k}" if where else "")
                for k, v in value.items()
            }
            if all(t.is_static for t in items.values()):
                return cls("static", value)
            return cls("map", items)
        if isinstance(value, list | tuple):
            elements = [
                cls.compile(v, evaluator, f"{where}[{i}]" if where else "")
                for i, v in enumerate(value)
            ]
            if all(t.is_static for t in elements):
                return cls("static", value)
            return cls("list", elements)
        return cls("static", value)

    @property
    def is_static(self) -> bool:
        """True when the value holds no expression."""
        return self._kind == "static"

    def render(self, env: Mapping[str, Any]) -> Any:
        """The value with every expression replaced by its result under ``env``."""
        kind, value = self._kind, self._value
        if kind == "static":
            return value
        if kind in ("single", "joined"):
            try:
                if kind == "single":
                    return value.evaluate(env)
                parts, text = value
                return "".join(
                    p.text if p.expression is None else text(p.expression.evaluate(env))
                    for p in parts
                )
            except ExpressionError as exc:
                if not self._where:
                    raise
                raise ExpressionError(f"{self._where}: {exc}") from None
        if kind == "map":
            return {k: t.render(env) for k, t in value.items()}
        return [t.render(env) for t in value]


def _split(text: str, evaluator: Evaluator) -> list[_Part] | None:
    if "${{" not in text:
        return None
    parts: list[_Part] = []
    end = 0
    for match in _SEGMENT.finditer(text):
        if match.start() > end:
            parts.append(_Part(text[end : match.start()], None))
        parts.append(_Part(match.group(0), evaluator.compile(match.group(1).strip())))
        end = match.end()
    rest = text[end:]
    if "${{" in rest:
        raise ExpressionError(f"unclosed '${{{{' in {text!r}")
    if rest:
        parts.append(_Part(rest, None))
    return parts


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
