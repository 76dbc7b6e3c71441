"""The one interceptor in front of every gRPC call: authenticate, authorize, audit.

The caller is named by a bearer token (``authorization: Bearer <secret>`` metadata) or by
the SAN URI of its verified client certificate (mTLS); what it may do comes from the one
table in ``partita.runtime.access``. On an open plane (loopback or Unix sockets only, or
``--insecure``) every caller is ``anonymous`` and allowed, and mutating calls are still
audited.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from cryptography import x509

from partita.api.errors import Ctx, abort
from partita.errors import PartitaError, UnauthenticatedError
from partita.runtime.access import (
    ALL,
    ANONYMOUS,
    CALLER,
    PUBLIC,
    RULES,
    Access,
    Identity,
    Rule,
)
from partita.runtime.tasks import TaskToken

UNAUTHENTICATED = Identity("unauthenticated")


class AuthInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Checks every call against ``RULES``; ``required`` False lets every caller in."""

    def __init__(self, access: Access, required: bool) -> None:
        self.access = access
        self.required = required

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
        details: grpc.HandlerCallDetails,
    ) -> Any:
        handler: Any = await continuation(details)
        if handler is None:
            return None
        method: str = details.method
        gate = _Gate(self, method)
        if handler.unary_unary:
            inner = handler.unary_unary

            async def unary_unary(request: Any, context: Ctx) -> Any:
                identity, rule, namespace = await gate.enter(request, context)
                try:
                    response = await inner(request, context)
                except BaseException as exc:
                    await gate.leave(identity, rule, namespace, _code_of(exc, context))
                    raise
                await gate.leave(identity, rule, namespace, "OK")
                return response

            return grpc.unary_unary_rpc_method_handler(
                unary_unary, handler.request_deserializer, handler.response_serializer
            )
        if handler.unary_stream:
            inner_stream = handler.unary_stream

            async def unary_stream(request: Any, context: Ctx) -> AsyncIterator[Any]:
                identity, rule, namespace = await gate.enter(request, context)
                result = "OK"
                try:
                    async for item in inner_stream(request, context):
                        yield item
                except BaseException as exc:
                    result = _code_of(exc, context)
                    raise
                finally:
                    await gate.leave(identity, rule, namespace, result)

            return grpc.unary_stream_rpc_method_handler(
                unary_stream, handler.request_deserializer, handler.response_serializer
            )
        if handler.stream_unary:
            inner_su = handler.stream_unary

            async def stream_unary(requests: Any, context: Ctx) -> Any:
                await gate.enter(None, context)
                return await inner_su(requests, context)

            return grpc.stream_unary_rpc_method_handler(
                stream_unary, handler.request_deserializer, handler.response_serializer
            )
        inner_ss = handler.stream_stream

        async def stream_stream(requests: Any, context: Ctx) -> AsyncIterator[Any]:
            await gate.enter(None, context)
            result = inner_ss(requests, context)
            if hasattr(result, "__aiter__"):
                async for item in result:
                    yield item
            else:
                await result

        return grpc.stream_stream_rpc_method_handler(
            stream_stream, handler.request_deserializer, handler.response_serializer
        )


class _Gate:
    def __init__(self, interceptor: AuthInterceptor, method: str) -> None:
        self.access = interceptor.access
        self.required = interceptor.required
        self.method = method

    async def enter(self, request: Any, context: Ctx) -> tuple[Identity, Rule | None, str]:
        """The caller, the rule and the namespace of an allowed call; aborts otherwise."""
        rule = RULES.get(self.method)
        if rule is not None and rule.plane_wide:
            namespace = ALL
        else:
            namespace = self.access.namespace(_namespace_of(request))
        identity = ANONYMOUS
        try:
            if self.required and not (rule is not None and rule.permission == PUBLIC):
                identity = UNAUTHENTICATED
                identity = await self.access.identify(_bearer(context), _uris(context))
            rule = self.access.authorize(identity, self.method, namespace)
            CALLER.set(identity)
        except PartitaError as exc:
            if rule is not None and rule.audited:
                code = "UNAUTHENTICATED" if isinstance(exc, UnauthenticatedError) else None
                await self.access.record(
                    identity, namespace, self.method, code or "PERMISSION_DENIED"
                )
            await abort(context, exc)
        return identity, rule, namespace

    async def leave(
        self, identity: Identity, rule: Rule | None, namespace: str, result: str
    ) -> None:
        if rule is not None and rule.audited:
            await self.access.record(identity, namespace, self.method, result)


def _namespace_of(request: Any) -> str:
    """The namespace a request is about: its ``namespace`` field, else its task token's."""
    if request is None:
        return ""
    token = getattr(request, "task_token", b"")
    if token:
        try:
            return TaskToken.decode(token).namespace
        except PartitaError:
            return ""
    value = getattr(request, "namespace", "")
    return value if isinstance(value, str) else ""


def _bearer(context: Ctx) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization":
            return value if isinstance(value, str) else value.decode()
    return None


def _uris(context: Ctx) -> list[str]:
    """The SAN URIs of the caller's verified client certificate (none without mTLS)."""
    pems = list(context.auth_context().get("x509_pem_cert") or [])
    if not pems:
        return []
    try:
        cert = x509.load_pem_x509_certificate(pems[0])
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return []
    return list(names.get_values_for_type(x509.UniformResourceIdentifier))


def _code_of(exc: BaseException, context: Ctx) -> str:
    if isinstance(exc, grpc.aio.AbortError):
        code = context.code()
        if isinstance(code, grpc.StatusCode):
            return code.name
        return "ABORTED_CALL"
    return "CANCELLED" if not isinstance(exc, Exception) else "INTERNAL"
