"""``providers.stage.http`` with Symphony's semantics.

One request to ``url`` with ``method``; every config key may be overridden by an input of
the same name; ``header.<Name>`` inputs become headers and a ``body`` input is sent as JSON.
Outputs ``status`` (the HTTP code), ``body`` (text) and ``header.<Name>``.

With ``wait.url``, the first answer must be one of ``wait.start``; then ``wait.url`` is
polled every ``wait.interval`` seconds, at most ``wait.count`` times (0: until cancelled),
until an answer in ``wait.success`` (whose JSON body also satisfies ``wait.expression``,
when given: a JSONPath with ``wait.expressionType: jsonpath``, else a Symphony expression
over the body that must not give ``false``) or one in ``wait.fail``. ``waitBody`` and
``waitResult`` report the answer that ended the wait. Running out of polls fails the stage
(Symphony before #340 reported success).

Without ``wait.url``, a status outside ``successCodes`` (when given) fails the stage; so
does any status outside 2xx (Symphony fails all but 200), with ``status`` and ``body``
kept in the stage's outputs for its selector.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from partita.expr import ExpressionError, Template
from partita.expr.symphony import SymphonyEvaluator, text
from partita.expr.symphony import _query as query
from partita.providers.base import StageCall, StageError

CONFIG_KEYS = (
    "url",
    "method",
    "successCodes",
    "wait.url",
    "wait.interval",
    "wait.count",
    "wait.start",
    "wait.success",
    "wait.fail",
    "wait.expression",
    "wait.expressionType",
)


class SymphonyHttpProvider:
    """Symphony's http stage provider; see the module docstring."""

    name = "symphony.http"
    instant = False

    def __init__(self) -> None:
        self._client: httpx.AsyncClient | None = None

    async def run(self, call: StageCall) -> dict[str, Any]:
        config = _settings(call)
        url = config.get("url")
        if not isinstance(url, str) or not url:
            raise StageError("config.url is required", type="BadConfig", non_retryable=True)
        method = str(config.get("method") or "GET").upper()
        headers = {k[7:]: text(v) for k, v in call.inputs.items() if k.startswith("header.")}
        body = json.dumps(call.inputs["body"]).encode() if "body" in call.inputs else None
        if body is not None:
            headers.setdefault("Content-Type", "application/json")
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=30.0)
        response = await self._send(method, url, headers, body)
        outputs: dict[str, Any] = {"status": response.status_code, "body": response.text}
        for key, value in response.headers.items():
            # Go's canonical spelling (Content-Type), which Symphony's outputs carry.
            outputs[f"header.{'-'.join(p.capitalize() for p in key.split('-'))}"] = value
        wait_url = config.get("wait.url")
        if wait_url:
            if response.status_code not in _codes(config.get("wait.start")):
                raise _failure(f"unexpected status code {response.status_code}", outputs)
            outputs.update(await self._wait(str(wait_url), headers, config, outputs))
            return outputs
        codes = _codes(config.get("successCodes"))
        if codes and response.status_code not in codes:
            raise _failure(f"unexpected status code {response.status_code}", outputs)
        return outputs

    async def _send(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None
    ) -> httpx.Response:
        assert self._client is not None
        try:
            return await self._client.request(method, url, headers=headers, content=body)
        except httpx.HTTPError as exc:
            raise StageError(f"{method} {url}: {exc!r}", type="HttpError") from None

    async def _wait(
        self, url: str, headers: dict[str, str], config: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        interval = float(config.get("wait.interval") or 0)
        count = int(config.get("wait.count") or 0)
        success, fail = _codes(config.get("wait.success")), _codes(config.get("wait.fail"))
        expression = str(config.get("wait.expression") or "")
        kind = str(config.get("wait.expressionType") or "symphony")
        polls = 0
        while count == 0 or polls < count:
            answer = await self._send("GET", url, headers, None)
            if answer.status_code in fail:
                raise _failure(f"failed to wait for operation: {answer.status_code}", outputs)
            if answer.status_code in success:
                met, result = _check(answer.text, expression, kind)
                if met:
                    found: dict[str, Any] = {"waitBody": answer.text}
                    if expression:
                        found["waitResult"] = result
                    return found
            polls += 1
            if interval > 0:
                await asyncio.sleep(interval)
        raise _failure(f"gave up waiting on {url} after {count} polls", outputs)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _settings(call: StageCall) -> dict[str, Any]:
    """Config with every key an input of the same name overrides, as Symphony does."""
    config = dict(call.config)
    wait = config.pop("wait", None)
    if isinstance(wait, dict):  # `wait: {url: ...}` is read like `wait.url: ...`
        for key, value in wait.items():
            config.setdefault(f"wait.{key}", value)
    for key in CONFIG_KEYS:
        if key in call.inputs:
            config[key] = call.inputs[key]
    return config


def _codes(value: Any) -> set[int]:
    if value is None or value == "":
        return set()
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list):
        items = [items]
    try:
        return {int(float(str(item).strip())) for item in items if str(item).strip()}
    except ValueError:
        raise StageError(
            f"{value!r} is not a list of status codes", type="BadConfig", non_retryable=True
        ) from None


def _check(body: str, expression: str, kind: str) -> tuple[bool, Any]:
    if not expression:
        return True, None
    try:
        document = json.loads(body)
    except ValueError:
        return False, None
    if kind == "jsonpath":
        try:
            result = query(document, expression)
        except ValueError:
            return False, None
        return result is not None, result
    try:
        result = Template.compile(expression, SymphonyEvaluator()).render(
            {"value": document, "triggers": {}, "inputs": {}, "outputs": {}}
        )
    except ExpressionError:
        return False, None
    return text(result) != "false", result


def _failure(message: str, outputs: dict[str, Any]) -> StageError:
    return StageError(message, type="HttpStatus", details={"outputs": outputs}, non_retryable=True)
