"""The CLI's connection to a plane: stubs, error messages, paging and following activations."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc

from partita.cli.views import is_terminal
from partita.v1 import activation_pb2, activation_pb2_grpc, campaign_pb2_grpc

CALL_TIMEOUT = 30.0
"""Deadline of every unary call, in seconds."""
RECONNECT_SECONDS = 60.0
"""How long a follower keeps re-watching while the plane is unreachable (e.g. restarting)."""
STATUS_DETAILS_KEY = "grpc-status-details-bin"

BAD_INPUT_CODES = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.ALREADY_EXISTS,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.OUT_OF_RANGE,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.UNAVAILABLE,
    }
)
"""Statuses that exit 2: the request was wrong, or there was no plane to ask."""


class CliError(Exception):
    """A failure to report on one line of stderr, with the exit code to return."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def describe_rpc_error(error: grpc.RpcError, target: str) -> CliError:
    """``CODE: details`` (plus BadRequest field violations), with its exit code."""
    code = error.code() if callable(getattr(error, "code", None)) else None
    details = (error.details() if callable(getattr(error, "details", None)) else "") or ""
    if code is None:
        return CliError(str(error) or "request failed", 1)
    message = f"{code.name}: {details}" if details else code.name
    if code is grpc.StatusCode.UNAVAILABLE:
        message = f"{code.name}: cannot reach plane at {target}"
        message += f" ({details})" if details else ""
    missing = [v for v in field_violations(error) if v not in details]
    if missing:
        message += " (" + "; ".join(missing) + ")"
    return CliError(message, 2 if code in BAD_INPUT_CODES else 1)


def field_violations(error: grpc.RpcError) -> list[str]:
    """``field: description`` of each ``google.rpc.BadRequest`` violation in the status details.

    Reads the ``grpc-status-details-bin`` trailer directly, so grpcio-status is not needed;
    returns nothing when googleapis-common-protos is not installed either.
    """
    try:
        from google.rpc import error_details_pb2, status_pb2
    except ImportError:
        return []
    trailer: Any = None
    if callable(getattr(error, "trailing_metadata", None)):
        trailer = error.trailing_metadata()
    found = []
    for key, value in trailer or ():
        if key != STATUS_DETAILS_KEY or not isinstance(value, bytes):
            continue
        try:
            status = status_pb2.Status.FromString(value)
        except Exception:  # a malformed trailer is not worth failing over
            continue
        for detail in status.details:
            if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                found += [
                    f"{v.field}: {v.description}" if v.field else v.description
                    for v in bad.field_violations
                ]
    return found


class Client:
    """Stubs over one channel to the plane at ``target`` (``host:port`` or ``unix:/path``)."""

    def __init__(self, target: str, namespace: str = "default") -> None:
        self.target = target
        self.namespace = namespace
        self._channel: grpc.Channel | None = None

    @property
    def channel(self) -> grpc.Channel:
        if self._channel is None:
            self._channel = _open(self.target)
        return self._channel

    @property
    def campaigns(self) -> Any:
        return campaign_pb2_grpc.CampaignServiceStub(self.channel)

    @property
    def activations(self) -> Any:
        return activation_pb2_grpc.ActivationServiceStub(self.channel)

    def in_namespace(self, namespace: str) -> Client:
        """A client for another namespace over the same channel."""
        if namespace == self.namespace:
            return self
        other = Client(self.target, namespace)
        other._channel = self.channel
        return other

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None

    def get_activation(self, activation_id: str) -> Any:
        request = activation_pb2.GetActivationRequest(
            namespace=self.namespace, activation_id=activation_id
        )
        return self.activations.GetActivation(request, timeout=CALL_TIMEOUT).activation

    def follow(self, activation_id: str, from_sequence: int = 0) -> Iterator[Any]:
        """Every WatchActivationResponse after ``from_sequence`` until the activation ends.

        Re-watches from the last sequence received when the stream breaks or ends early
        (the plane restarting), for up to RECONNECT_SECONDS of unreachability.
        """
        last = from_sequence
        unreachable_since: float | None = None
        while True:
            try:
                ended = False
                request = activation_pb2.WatchActivationRequest(
                    namespace=self.namespace, activation_id=activation_id, from_sequence=last
                )
                for item in self.activations.WatchActivation(request):
                    unreachable_since = None
                    last = item.event.sequence
                    ended = is_terminal(item.activation.status)
                    yield item
                if ended:
                    return
                current = self.get_activation(activation_id)
                if is_terminal(current.status) and current.history_length <= last:
                    return
            except grpc.RpcError as error:
                if error.code() is not grpc.StatusCode.UNAVAILABLE:
                    raise
                unreachable_since = unreachable_since or time.monotonic()
                if time.monotonic() - unreachable_since > RECONNECT_SECONDS:
                    raise
            time.sleep(0.5)

    def wait(self, activation_id: str) -> Any:
        """The activation once it is terminal, following it live."""
        final = None
        for item in self.follow(activation_id):
            final = item.activation
        if final is None or not is_terminal(final.status):
            final = self.get_activation(activation_id)
        return final


def pages(call: Callable[..., Any], request: Any, items: str, limit: int = 0) -> Iterator[Any]:
    """Every item of a paged List RPC (at most ``limit`` when it is not 0)."""
    count = 0
    while True:
        if limit:
            request.page_size = min(limit - count, 1000)
        response = call(request, timeout=CALL_TIMEOUT)
        for item in getattr(response, items):
            yield item
            count += 1
            if limit and count >= limit:
                return
        if not response.next_page_token:
            return
        request.page_token = response.next_page_token


TLS_ENV = ("PARTITA_TLS_CERT", "PARTITA_TLS_KEY", "PARTITA_TLS_CA")
"""A client certificate, its key and the CA: set them to reach a plane serving mTLS
(``partita hub --api-tls``)."""


CHANNEL_OPTIONS = [("grpc.max_receive_message_length", 64 << 20)]
"""An activation with inputs and outputs up to the plane's payload limit (4 MiB each) fits."""
TOKEN_ENV = "PARTITA_TOKEN"
"""A bearer token (``partita token create``) sent with every call in ``authorization``."""


def _open(target: str) -> grpc.Channel:
    channel = _dial(target)
    token = os.environ.get(TOKEN_ENV, "").strip()
    if token:
        channel = grpc.intercept_channel(channel, _Bearer(token))
    return channel


class _Bearer(
    grpc.UnaryUnaryClientInterceptor,  # type: ignore[type-arg]
    grpc.UnaryStreamClientInterceptor,  # type: ignore[type-arg]
    grpc.StreamUnaryClientInterceptor,  # type: ignore[type-arg]
    grpc.StreamStreamClientInterceptor,  # type: ignore[type-arg]
):
    """Adds ``authorization: Bearer <token>`` to every call."""

    def __init__(self, token: str) -> None:
        self.pair = ("authorization", f"Bearer {token}")

    def _details(self, details: Any) -> Any:
        return details._replace(metadata=[*(details.metadata or ()), self.pair])

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation: Any, details: Any, requests: Any) -> Any:
        return continuation(self._details(details), requests)

    def intercept_stream_stream(self, continuation: Any, details: Any, requests: Any) -> Any:
        return continuation(self._details(details), requests)


def _dial(target: str) -> grpc.Channel:
    cert, key, ca = (os.environ.get(name, "") for name in TLS_ENV)
    if not ca or target.startswith("unix:"):
        return grpc.insecure_channel(target, options=CHANNEL_OPTIONS)
    try:
        pem = [Path(path).read_bytes() if path else None for path in (cert, key, ca)]
    except OSError as exc:
        raise CliError(f"cannot read a TLS file named in {', '.join(TLS_ENV)}: {exc}") from None
    credentials = grpc.ssl_channel_credentials(
        root_certificates=pem[2], private_key=pem[1], certificate_chain=pem[0]
    )
    return grpc.secure_channel(target, credentials, options=CHANNEL_OPTIONS)
