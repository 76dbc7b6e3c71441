"""The expression dialects behind one ``Evaluator`` interface."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import cel

from partita.expr._template import ExpressionError
from partita.model.campaign import SYMPHONY_API

VARIABLES = frozenset({"inputs", "outputs", "context", "trigger", "activation", "secrets"})
"""The names a CEL expression may read."""


class Expression(Protocol):
    """One compiled expression."""

    source: str

    def evaluate(self, env: Mapping[str, Any]) -> Any:
        """The expression's value under ``env``; ExpressionError when it cannot be had."""
        ...


class Evaluator(Protocol):
    """Compiles the source text inside ``${{ … }}``."""

    def compile(self, source: str) -> Expression: ...


class _CelExpression:
    __slots__ = ("_program", "source")

    def __init__(self, source: str, program: Any) -> None:
        self.source = source
        self._program = program

    def evaluate(self, env: Mapping[str, Any]) -> Any:
        try:
            return self._program.execute(dict(env))
        except KeyError as exc:
            raise ExpressionError(f"{self.source!r}: no such key {exc.args[0]!r}") from None
        except Exception as exc:  # the CEL library raises TypeError/RuntimeError/ValueError
            raise ExpressionError(f"{self.source!r}: {_first_line(exc)}") from None


class CelEvaluator:
    """Common Expression Language, for ``partita/v1`` documents."""

    def compile(self, source: str) -> Expression:
        if not source:
            raise ExpressionError("empty expression")
        try:
            program = cel.compile(source)
        except Exception as exc:
            raise ExpressionError(f"{source!r}: {_first_line(exc)}") from None
        unknown = sorted(set(program.variables()) - VARIABLES)
        if unknown:
            raise ExpressionError(
                f"{source!r}: unknown variable {', '.join(unknown)} "
                f"(expressions may read {', '.join(sorted(VARIABLES))})"
            )
        return _CelExpression(source, program)


def evaluator_for(api_version: str) -> Evaluator:
    """The evaluator for documents of ``api_version``."""
    if api_version == SYMPHONY_API:
        from partita.expr.symphony import SymphonyEvaluator

        return SymphonyEvaluator()
    return CelEvaluator()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
