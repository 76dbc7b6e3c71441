"""The ``http`` provider: one HTTP request per stage run."""

from __future__ import annotations

import json
from typing import Any

import httpx

from partita.model.durations import parse_duration
from partita.providers.base import StageCall, StageError


class HttpProvider:
    """Sends ``config.method`` to ``config.url`` with ``config.headers`` and a JSON ``config.body``.

    Outputs ``status``, ``headers`` and ``body`` (parsed JSON when the response is JSON).
    A status outside ``config.successCodes`` (default: any 2xx) fails the stage; a 5xx or a
    connection error may be retried, other statuses fail for good.
    """

    name = "http"
    instant = False

    def __init__(self) -> None:
        self._client: httpx.AsyncClient | None = None

    async def run(self, call: StageCall) -> dict[str, Any]:
        config = call.config
        url = config.get("url")
        if not isinstance(url, str) or not url:
            raise StageError("config.url is required", type="BadConfig", non_retryable=True)
        method = str(config.get("method", "GET")).upper()
        headers = {str(k): str(v) for k, v in (config.get("headers") or {}).items()}
        timeout = parse_duration(config.get("timeout", "30s")).total_seconds()
        if self._client is None:
            self._client = httpx.AsyncClient()
        try:
            response = await self._client.request(
                method,
                url,
                headers=headers,
                json=config.get("body") if "body" in config else None,
                timeout=timeout,
            )
        except httpx.HTTPError as exc:
            raise StageError(f"{method} {url}: {exc!r}", type="HttpError") from None
        outputs = {
            "status": response.status_code,
            "headers": dict(response.headers),
            "body": _body(response),
        }
        codes = config.get("successCodes")
        ok = response.status_code in codes if codes else 200 <= response.status_code < 300
        if not ok:
            raise StageError(
                f"{method} {url} answered {response.status_code}",
                type="HttpStatus",
                details=outputs,
                non_retryable=response.status_code < 500,
            )
        return outputs

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _body(response: httpx.Response) -> Any:
    if "json" in response.headers.get("content-type", ""):
        try:
            return json.loads(response.text)
        except ValueError:
            pass
    return response.text
