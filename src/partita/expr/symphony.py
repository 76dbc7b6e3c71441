"""Eclipse Symphony's expression dialect, for ``workflow.symphony/v1`` documents.

The grammar is ``symphony.lark`` (parsed by lark); this module gives it Symphony's meaning:

- words are literal text (``deploy``, ``roll-back``, ``site1.status``); ``'quoted'`` text is
  literal without its quotes; whole numbers are numbers;
- ``+ - * /`` add, subtract, multiply and divide when both sides are numbers (a whole
  result stays whole, ``x/0`` is the text ``"x/0"``) and otherwise join the two sides as
  text (``+`` with nothing between them, the others with their own character);
- ``. : ? = ~ & \\`` and ``,`` (outside function arguments) always join as text;
- functions: ``$output(stage, key)``, ``$input(key)``, ``$trigger(key[, default])``,
  ``$context([path])``/``$val([path])``, ``$if``, ``$equal``, ``$and``, ``$or``, ``$not``,
  ``$gt``, ``$ge``, ``$lt``, ``$le``, ``$between``, ``$in``, ``$json``, ``$str``,
  ``$jsonpath``, ``$base64encode``, ``$base64decode``.

The environment an expression reads (``Expression.evaluate(env)``) holds ``triggers`` (the
activation's inputs), ``inputs`` (the stage's inputs, the injected ``__`` ones included),
``outputs`` (each finished stage's outputs by stage name) and ``value`` (what ``$context``
reads). Errors name the function and the column where it starts.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)

from partita.expr._template import ExpressionError
from partita.expr.secrets import reference

Node = Callable[[Mapping[str, Any]], Any]
"""A compiled piece of an expression: its value under an environment."""

_PARSER: Lark | None = None


def _parser() -> Lark:
    global _PARSER
    if _PARSER is None:
        grammar = resources.files("partita.expr").joinpath("symphony.lark").read_text()
        _PARSER = Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=False)
    return _PARSER


class SymphonyExpression:
    """One compiled Symphony expression."""

    __slots__ = ("_node", "source")

    def __init__(self, source: str, node: Node) -> None:
        self.source = source
        self._node = node

    def evaluate(self, env: Mapping[str, Any]) -> Any:
        return self._node(env)


class SymphonyEvaluator:
    """Compiles the text inside ``${{ … }}`` with Symphony's grammar."""

    @staticmethod
    def text(value: Any) -> str:
        """How a value reads where an expression sits inside longer text."""
        return text(value)

    def compile(self, source: str) -> SymphonyExpression:
        if not source.strip():
            raise ExpressionError("empty expression")
        try:
            tree = _parser().parse(source)
        except UnexpectedInput as exc:
            raise ExpressionError(f"{source!r}: {_syntax(exc, source)}") from None
        try:
            node = _Build(source).transform(tree)
        except VisitError as exc:
            raise exc.orig_exc from None
        return SymphonyExpression(source, node)


def _syntax(exc: UnexpectedInput, source: str) -> str:
    column = getattr(exc, "column", None)
    if isinstance(exc, UnexpectedEOF) or column is None or column < 0:
        return "unexpected end of expression (an unclosed '(' or a missing operand?)"
    if isinstance(exc, UnexpectedCharacters):
        position = exc.pos_in_stream if exc.pos_in_stream is not None else column - 1
        return f"unexpected character {source[position]!r} at column {column}"
    if isinstance(exc, UnexpectedToken):
        token = exc.token
        if token.type == "$END":
            return "unexpected end of expression (an unclosed '(' or a missing operand?)"
        return (
            f"unexpected {str(token)!r} at column {column} "
            "(two values side by side need an operator or a function between them)"
        )
    return f"syntax error at column {column}"


# -- values -----------------------------------------------------------------------------------


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def whole(value: float) -> int | float:
    """``3.0`` as ``3``: Symphony keeps whole results whole."""
    if isinstance(value, float) and value.is_integer() and math.isfinite(value):
        return int(value)
    return value


def text(value: Any) -> str:
    """A value as Symphony formats it into text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(whole(value)) if value.is_integer() else repr(value)
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _number(value: Any) -> float | None:
    if is_number(value):
        return float(value)
    try:
        return float(text(value))
    except ValueError:
        return None


def _truth(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "t", "1"):
            return True
        if lowered in ("false", "f", "0"):
            return False
    return None


def equal(left: Any, right: Any) -> bool:
    """Symphony's ``$equal``: numbers within 1e-9, otherwise as formatted text."""
    if is_number(left) and is_number(right):
        return abs(float(left) - float(right)) < 1e-9
    if isinstance(left, bool) and isinstance(right, bool):
        return left is right
    return text(left) == text(right)


def _arithmetic(op: str, left: Any, right: Any) -> Any:
    if is_number(left) and is_number(right):
        a, b = float(left), float(right)
        if op == "+":
            return whole(a + b)
        if op == "-":
            return whole(a - b)
        if op == "*":
            return whole(a * b)
        if op == "/" and b != 0:
            return whole(a / b)
    return f"{text(left)}{'' if op == '+' else op}{text(right)}"


# -- building ---------------------------------------------------------------------------------


class _Failure(ExpressionError):
    """An evaluation error, already placed at a column."""


@v_args(meta=True)
class _Build(Transformer[Token, Node]):
    def __init__(self, source: str) -> None:
        super().__init__()
        self.source = source

    def start(self, meta: Any, children: list[Node]) -> Node:
        node: Node = children[0]
        return node

    def int(self, meta: Any, children: list[Token]) -> Node:
        value = int(children[0])
        return lambda env: value

    def squoted(self, meta: Any, children: list[Token]) -> Node:
        value = str(children[0])[1:-1]
        return lambda env: value

    def word(self, meta: Any, children: list[Token]) -> Node:
        value = str(children[0])
        return lambda env: value

    def wrap(self, meta: Any, children: list[Any]) -> Node:
        opening, inner = str(children[0]), children[1]
        closing = "]" if opening == "[" else "}"
        return lambda env: f"{opening}{text(inner(env))}{closing}"

    def prefix(self, meta: Any, children: list[Any]) -> Node:
        op, operand = str(children[0]), children[1]
        if op == "+":
            same: Node = operand
            return same

        def negate(env: Mapping[str, Any]) -> Any:
            value = operand(env)
            return -value if is_number(value) else f"-{text(value)}"

        return negate

    def binop(self, meta: Any, children: list[Any]) -> Node:
        left, op, right = children[0], str(children[1]), children[2]
        if op in "+-*/":
            return lambda env: _arithmetic(op, left(env), right(env))
        return lambda env: f"{text(left(env))}{op}{text(right(env))}"

    def args(self, meta: Any, children: list[Node]) -> list[Node]:
        return children

    def call(self, meta: Any, children: list[Any]) -> Node:
        name = str(children[1])
        args: list[Node] = children[2] if len(children) > 2 else []
        function = FUNCTIONS.get(name)
        column = meta.column
        if function is None:
            known = ", ".join(f"${n}" for n in sorted(FUNCTIONS))
            raise ExpressionError(
                f"{self.source!r}: unknown function ${name} at column {column} (known: {known})"
            )
        low, high = ARITY[name]
        if len(args) < low or (high is not None and len(args) > high):
            wanted = str(low) if low == high else f"{low} to {high}" if high else f"{low} or more"
            raise ExpressionError(
                f"{self.source!r}: ${name}() at column {column} takes {wanted} "
                f"argument{'s' if wanted != '1' else ''}, not {len(args)}"
            )
        source = self.source

        def invoke(env: Mapping[str, Any]) -> Any:
            try:
                return function(env, args)
            except _Failure:
                raise
            except (ExpressionError, ValueError, TypeError, KeyError) as exc:
                message = exc.args[0] if exc.args else type(exc).__name__
                raise _Failure(f"{source!r}: ${name}() at column {column}: {message}") from None

        return invoke


# -- functions --------------------------------------------------------------------------------

Function = Callable[[Mapping[str, Any], list[Node]], Any]


def _output(env: Mapping[str, Any], args: list[Node]) -> Any:
    outputs = env.get("outputs") or {}
    stage, key = text(args[0](env)), text(args[1](env))
    if not outputs:
        return ""
    if stage not in outputs:
        raise ValueError(f"stage {stage!r} has no outputs yet")
    found = outputs[stage]
    if not isinstance(found, Mapping) or key not in found:
        raise ValueError(f"stage {stage!r} has no output {key!r}")
    return found[key]


def _input(env: Mapping[str, Any], args: list[Node]) -> Any:
    inputs = env.get("inputs") or {}
    key = text(args[0](env))
    if key not in inputs:
        raise ValueError(f"the stage has no input {key!r}")
    return inputs[key]


def _trigger(env: Mapping[str, Any], args: list[Node]) -> Any:
    triggers = env.get("triggers") or {}
    key = text(args[0](env))
    if key in triggers:
        return triggers[key]
    if len(args) > 1:
        return args[1](env)
    raise ValueError(f"the activation has no input {key!r} and no default is given")


def _context(env: Mapping[str, Any], args: list[Node]) -> Any:
    value = env.get("value")
    if not args:
        return value
    path = text(args[0](env))
    if path.startswith("$") or path.startswith("{$"):
        return _query(value, path.strip("{}"))
    if not isinstance(value, Mapping):
        raise ValueError(f"the context value {text(value)!r} is not a map")
    if path not in value:
        raise ValueError(f"the context value has no key {path!r}")
    return value[path]


def _if(env: Mapping[str, Any], args: list[Node]) -> Any:
    return args[1](env) if text(args[0](env)) == "true" else args[2](env)


def _logic(combine: Callable[[list[bool]], bool]) -> Function:
    def run(env: Mapping[str, Any], args: list[Node]) -> bool:
        values = []
        for arg in args:
            value = arg(env)
            truth = _truth(value)
            if truth is None:
                raise ValueError(f"{text(value)!r} is not a boolean value")
            values.append(truth)
        return combine(values)

    return run


def _compare(check: Callable[[list[float]], bool]) -> Function:
    def run(env: Mapping[str, Any], args: list[Node]) -> bool:
        numbers = []
        for arg in args:
            value = arg(env)
            number = _number(value)
            if number is None:
                raise ValueError(f"{text(value)!r} is not a valid number")
            numbers.append(number)
        return check(numbers)

    return run


def _in(env: Mapping[str, Any], args: list[Node]) -> bool:
    wanted = text(args[0](env))
    return any(text(arg(env)) == wanted for arg in args[1:])


def _json(env: Mapping[str, Any], args: list[Node]) -> str:
    return json.dumps(args[0](env), separators=(",", ":"))


def _jsonpath(env: Mapping[str, Any], args: list[Node]) -> Any:
    value = args[0](env)
    for _ in range(2):  # a JSON string, possibly holding JSON text itself
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                break
    return _query(value, text(args[1](env)))


def _query(value: Any, path: str) -> Any:
    from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError
    from jsonpath_ng.ext.parser import parse

    try:
        compiled = parse(path)
    except (JsonPathLexerError, JsonPathParserError, Exception) as exc:
        raise ValueError(f"bad JSONPath {path!r}: {exc}") from None
    found = [match.value for match in compiled.find(value)]
    if not found:
        return None
    return found[0] if len(found) == 1 else found


def _b64encode(env: Mapping[str, Any], args: list[Node]) -> str:
    return base64.b64encode(text(args[0](env)).encode()).decode()


def _b64decode(env: Mapping[str, Any], args: list[Node]) -> str:
    try:
        return base64.b64decode(text(args[0](env)), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError(f"not base64 text: {exc}") from None


FUNCTIONS: dict[str, Function] = {
    "output": _output,
    "input": _input,
    "trigger": _trigger,
    "context": _context,
    "val": _context,
    "if": _if,
    "equal": lambda env, args: equal(args[0](env), args[1](env)),
    "and": _logic(all),
    "or": _logic(any),
    "not": _logic(lambda values: not values[0]),
    "gt": _compare(lambda n: n[0] > n[1]),
    "ge": _compare(lambda n: n[0] >= n[1]),
    "lt": _compare(lambda n: n[0] < n[1]),
    "le": _compare(lambda n: n[0] <= n[1]),
    "between": _compare(lambda n: n[1] <= n[0] <= n[2]),
    "in": _in,
    "json": _json,
    "str": lambda env, args: text(args[0](env)),
    "jsonpath": _jsonpath,
    "base64encode": _b64encode,
    "base64decode": _b64decode,
    "secret": lambda env, args: reference(text(args[0](env)), text(args[1](env))),
}

ARITY: dict[str, tuple[int, int | None]] = {
    "output": (2, 2),
    "input": (1, 1),
    "trigger": (1, 2),
    "context": (0, 1),
    "val": (0, 1),
    "if": (3, 3),
    "equal": (2, 2),
    "and": (2, 2),
    "or": (2, 2),
    "not": (1, 1),
    "gt": (2, 2),
    "ge": (2, 2),
    "lt": (2, 2),
    "le": (2, 2),
    "between": (3, 3),
    "in": (2, None),
    "json": (1, 1),
    "str": (1, 1),
    "jsonpath": (2, 2),
    "base64encode": (1, 1),
    "base64decode": (1, 1),
    "secret": (2, 2),
}
"""Argument counts: (fewest, most); None: no upper bound."""
