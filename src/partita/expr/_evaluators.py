"""The expression dialects behind one ``Evaluator`` interface."""

from __future__ import annotations

import re
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


PRUNED = ("inputs", "outputs")
"""Maps that may be large (a fan-out's 10,000 sites): an expression gets only their keys it
names, so that evaluating it does not convert all of them each time."""


def _named_keys(source: str, variable: str) -> frozenset[str] | None:
    """The keys of ``variable`` that ``source`` reads as ``variable.key``; None when it
    reads the variable any other way (whole, or by index), so it needs all of it."""
    uses = len(re.findall(rf"\b{variable}\b", source))
    keys = re.findall(rf"\b{variable}\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)", source)
    return frozenset(keys) if len(keys) == uses else None


class _CelExpression:
    __slots__ = ("_keys", "_program", "_variables", "source")

    def __init__(self, source: str, program: Any, variables: frozenset[str]) -> None:
        self.source = source
        self._program = program
        self._variables = variables
        self._keys = {v: _named_keys(source, v) for v in PRUNED if v in variables}

    def _env(self, env: Mapping[str, Any]) -> dict[str, Any]:
        """Only what the expression reads."""
        out = {k: env[k] for k in self._variables if k in env}
        for variable, keys in self._keys.items():
            value = out.get(variable)
            if keys is not None and isinstance(value, Mapping):
                out[variable] = {k: value[k] for k in keys if k in value}
        return out

    def evaluate(self, env: Mapping[str, Any]) -> Any:
        try:
            return self._program.execute(self._env(env))
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
        variables = frozenset(program.variables())
        unknown = sorted(variables - VARIABLES)
        if unknown:
            raise ExpressionError(
                f"{source!r}: unknown variable {', '.join(unknown)} "
                f"(expressions may read {', '.join(sorted(VARIABLES))})"
            )
        return _CelExpression(source, program, variables)


def evaluator_for(api_version: str) -> Evaluator:
    """The evaluator for documents of ``api_version``."""
    if api_version == SYMPHONY_API:
        from partita.expr.symphony import SymphonyEvaluator

        return SymphonyEvaluator()
    return CelEvaluator()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
