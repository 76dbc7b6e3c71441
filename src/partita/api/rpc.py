"""Decorators that route every servicer exception through the error translator."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc

from partita.api.errors import Ctx, abort

Req = TypeVar("Req")
Resp = TypeVar("Resp")
S = TypeVar("S")


def unary(
    method: Callable[[S, Req, Ctx], Awaitable[Resp]],
) -> Callable[[S, Req, Ctx], Awaitable[Resp]]:
    @functools.wraps(method)
    async def wrapper(self: S, request: Req, context: Ctx) -> Resp:
        try:
            return await method(self, request, context)
        except Exception as exc:
            if isinstance(exc, grpc.aio.AbortError):
                raise
            await abort(context, exc)

    return wrapper


def stream(
    method: Callable[[S, Req, Ctx], AsyncIterator[Resp]],
) -> Callable[[S, Req, Ctx], AsyncIterator[Resp]]:
    @functools.wraps(method)
    async def wrapper(self: S, request: Req, context: Ctx) -> AsyncIterator[Resp]:
        try:
            async for item in method(self, request, context):
                yield item
        except Exception as exc:
            if isinstance(exc, grpc.aio.AbortError):
                raise
            await abort(context, exc)

    return wrapper


def unimplemented(servicer_base: type[Any], issue: str) -> type[Any]:
    """A servicer whose every RPC answers UNIMPLEMENTED, naming the work that will add it."""

    def make(name: str) -> Callable[..., Awaitable[None]]:
        async def method(self: Any, request: Any, context: Ctx) -> None:
            await context.abort(
                grpc.StatusCode.UNIMPLEMENTED, f"{name} is not implemented yet ({issue})"
            )

        return method

    names = [n for n in vars(servicer_base) if not n.startswith("_")]
    return type(
        f"Unimplemented{servicer_base.__name__}", (servicer_base,), {n: make(n) for n in names}
    )
