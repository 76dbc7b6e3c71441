"""Handlers: how one is called (sync in a thread, or async; with or without a context)."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from partita.worker._context import TaskContext

Handler = Callable[..., Any]
"""``handler(inputs)`` or ``handler(inputs, ctx)``, sync or async, returning the outputs."""

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


@dataclass(frozen=True)
class HandlerSpec:
    """A handler and how to call it, decided once from its signature."""

    task_type: str
    function: Handler
    is_async: bool
    takes_context: bool

    @classmethod
    def of(cls, task_type: str, function: Handler) -> HandlerSpec:
        """Raises TypeError when ``function`` cannot be called with ``(inputs[, ctx])``."""
        if not callable(function):
            raise TypeError(f"handler for {task_type!r} is not callable: {function!r}")
        is_async = inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(
            getattr(function, "__call__", None)  # noqa: B004 - an object with an async __call__
        )
        try:
            parameters = list(inspect.signature(function).parameters.values())
        except (TypeError, ValueError):  # a builtin without a signature: give it the inputs
            return cls(task_type, function, is_async, takes_context=False)
        varargs = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters)
        positional = [p for p in parameters if p.kind in _POSITIONAL]
        required = [p for p in positional if p.default is inspect.Parameter.empty]
        required_keywords = [
            p
            for p in parameters
            if p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is inspect.Parameter.empty
        ]
        if (not positional and not varargs) or len(required) > 2 or required_keywords:
            raise TypeError(
                f"handler for {task_type!r} must take (inputs) or (inputs, ctx): "
                f"{getattr(function, '__qualname__', function)!r} takes {parameters}"
            )
        return cls(task_type, function, is_async, takes_context=varargs or len(positional) >= 2)

    async def call(self, inputs: dict[str, Any], ctx: TaskContext) -> Any:
        """The handler's return value; an async one runs on the loop, a sync one in a thread."""
        args: tuple[Any, ...] = (inputs, ctx) if self.takes_context else (inputs,)
        if self.is_async:
            return await self.function(*args)
        result = await run_in_thread(self.function, *args, name=f"partita-task-{self.task_type}")
        if inspect.isawaitable(result):  # a sync function that returned a coroutine
            result = await result
        return result


def run_in_thread(function: Callable[..., Any], *args: Any, name: str) -> asyncio.Future[Any]:
    """``function(*args)`` in a new daemon thread, with the caller's contextvars.

    Unlike ``asyncio.to_thread`` the thread is a daemon of its own: a handler still running
    when the worker gives up on it at shutdown neither blocks the process's exit nor holds
    a slot of a shared executor.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()
    context = contextvars.copy_context()

    def settle(ok: bool, value: Any) -> None:
        if future.done():
            return
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)

    def target() -> None:
        try:
            outcome: tuple[bool, Any] = (True, context.run(function, *args))
        except BaseException as exc:
            outcome = (False, exc)
        # A closed loop: nobody waits for the result any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, *outcome)

    threading.Thread(target=target, name=name, daemon=True).start()
    return future
