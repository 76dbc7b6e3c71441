"""How handlers are called and what they report, and how ``partita worker`` finds them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format

from partita.cli.client import CliError
from partita.cli.worker import load_handlers
from partita.worker import NonRetryableError, Worker
from partita.worker._convert import failure_of, from_struct, outputs
from partita.worker._handlers import HandlerSpec

SAMPLE = Path(__file__).parents[1] / "e2e" / "handlers_sample.py"


def one(inputs: dict[str, Any]) -> None: ...
def two(inputs: dict[str, Any], ctx: Any) -> None: ...
def star(*args: Any) -> None: ...
def defaulted(inputs: dict[str, Any], ctx: Any = None, extra: int = 0) -> None: ...
async def coro(inputs: dict[str, Any], ctx: Any) -> None: ...


class AsyncCallable:
    async def __call__(self, inputs: dict[str, Any]) -> None: ...


@pytest.mark.parametrize(
    ("function", "is_async", "takes_context"),
    [
        (one, False, False),
        (two, False, True),
        (star, False, True),
        (defaulted, False, True),
        (coro, True, True),
        (AsyncCallable(), True, False),
        (lambda inputs: None, False, False),
    ],
)
def test_handler_spec(function: Any, is_async: bool, takes_context: bool) -> None:
    spec = HandlerSpec.of("t", function)
    assert (spec.is_async, spec.takes_context) == (is_async, takes_context)


def needs_three(a: Any, b: Any, c: Any) -> None: ...
def no_arguments() -> None: ...
def keyword_required(inputs: Any, *, flag: bool) -> None: ...


@pytest.mark.parametrize("function", [needs_three, no_arguments, keyword_required, 42])
def test_handlers_that_cannot_be_called_are_refused_early(function: Any) -> None:
    with pytest.raises(TypeError):
        Worker("127.0.0.1:1", "q", {"t": function})


def test_worker_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="handler"):
        Worker("127.0.0.1:1", "q", {})
    with pytest.raises(ValueError, match="concurrency"):
        Worker("127.0.0.1:1", "q", {"t": one}, concurrency=0)
    worker = Worker("127.0.0.1:1", "q", {"t": one})
    assert worker.identity.endswith(f":{__import__('os').getpid()}")


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ({"a": 1, "b": [1, "x", None]}, {"a": 1, "b": [1, "x", None]}),
        (None, {}),
        (42, {"result": 42}),
        ("text", {"result": "text"}),
        ([1, 2], {"result": [1, 2]}),
    ],
)
def test_outputs(result: Any, expected: dict[str, Any]) -> None:
    assert from_struct(outputs(result)) == expected


@pytest.mark.parametrize("result", [{"when": object()}, {1: "not a string key"}])
def test_outputs_that_are_not_json_are_refused(result: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        outputs(result)


def test_failures() -> None:
    try:
        raise KeyError("ref")
    except KeyError as exc:
        plain = failure_of(exc)
    assert (plain.type, plain.message, plain.non_retryable) == ("KeyError", "'ref'", False)
    assert "KeyError" in json_format.MessageToDict(plain.details)["traceback"]

    typed = failure_of(NonRetryableError("gone", type="BadRef", details={"ref": "v1"}))
    assert (typed.type, typed.message, typed.non_retryable) == ("BadRef", "gone", True)
    assert json_format.MessageToDict(typed.details) == {"ref": "v1"}

    class Refused(NonRetryableError):
        pass

    assert failure_of(Refused("no")).type == "Refused"


def test_load_handlers_from_a_file_takes_its_public_functions() -> None:
    assert sorted(load_handlers(str(SAMPLE))) == ["add", "greet", "slow"]


def test_load_handlers_from_a_module_path_takes_its_handlers_dict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "my_handlers.py").write_text(
        "def build(inputs):\n    return inputs\n\nHANDLERS = {'compile': build}\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    handlers = load_handlers("my_handlers")
    assert list(handlers) == ["compile"]


@pytest.mark.parametrize("spec", ["no_such_module_here", "/no/such/file.py"])
def test_load_handlers_reports_what_is_wrong(spec: str) -> None:
    with pytest.raises(CliError, match="--handlers"):
        load_handlers(spec)
