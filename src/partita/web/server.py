"""The console's HTTP server: pages, static assets and the JSON API, in the plane's loop."""

from __future__ import annotations

import enum
import logging
from importlib import resources
from pathlib import Path

from aiohttp import web

from partita.errors import InvalidInputError, NotFoundError
from partita.runtime import Plane
from partita.runtime.access import Access, needs_auth
from partita.web import api
from partita.web.auth import gate
from partita.web.errors import error_response

log = logging.getLogger("partita.web")

STATIC = Path(str(resources.files("partita.web") / "static"))
"""The console's assets, shipped inside the package: the page, its script and style, and the
vendored graph layout library (``vendor/``, with its license)."""
PAGES = (
    "/",
    "/campaigns",
    "/campaigns/{name}",
    "/activations",
    "/activations/{id}",
    "/sites",
)
"""Every page's URL; each serves the console, which draws the page its URL names."""
SHUTDOWN_SECONDS = 2.0
"""How long open requests get to finish when the server stops (watch streams end at once)."""


def parse_address(address: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:port`` for IPv6; port 0 picks a free one) as (host, port)."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise InvalidInputError.field(
            "http_listen", f"{address!r} is not host:port (or off to serve no console)"
        )
    return host.removeprefix("[").removesuffix("]"), int(port)


class WebState(enum.Enum):
    NEW = "new"
    SERVING = "serving"
    STOPPED = "stopped"


class WebServer:
    """The console of one plane on one ``host:port``, started and stopped beside its gRPC
    server (``start``, then ``shutdown``, which is idempotent)."""

    def __init__(self, plane: Plane, address: str) -> None:
        self.plane = plane
        self.host, self.port = parse_address(address)
        self.auth_required = needs_auth(plane.config.auth, [f"{self.host}:{self.port}"])
        self.app = build_app(plane, self.auth_required)
        self.runner = web.AppRunner(
            self.app,
            handle_signals=False,
            access_log=None,
            handler_cancellation=True,  # a closed browser tab ends its watch stream
            shutdown_timeout=SHUTDOWN_SECONDS,
        )
        self.state = WebState.NEW

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    async def start(self) -> None:
        """Listen; after this ``port`` is the bound port (also when 0 was asked)."""
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.host, self.port)
        try:
            await site.start()
        except OSError as exc:
            await self.runner.cleanup()
            raise OSError(f"console cannot listen on {self.host}:{self.port}: {exc}") from exc
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        self.state = WebState.SERVING
        log.info(
            "console at %s (%s)",
            self.url,
            "authentication required" if self.auth_required else "OPEN: no authentication",
        )

    async def shutdown(self) -> None:
        if self.state is not WebState.SERVING:
            self.state = WebState.STOPPED
            return
        self.state = WebState.STOPPED
        await self.runner.cleanup()


def build_app(plane: Plane, auth_required: bool = False) -> web.Application:
    """The aiohttp application: JSON API, pages and static assets over ``plane``; the API
    behind the same gate as the gRPC one (``partita.web.auth``)."""
    access = Access(plane.store, plane.config.default_namespace)
    app = web.Application(
        middlewares=[gate(access, auth_required), _errors], client_max_size=8 << 20
    )
    app[api.PLANE] = plane
    api.add_routes(app.router)
    for path in PAGES:
        app.router.add_get(path, _page)
    app.router.add_static("/static/", STATIC, append_version=False)
    return app


async def _page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


@web.middleware
async def _errors(request: web.Request, handler: api.Handler) -> web.StreamResponse:
    """Every API error as the gRPC API's status, in JSON; unknown API paths are NOT_FOUND."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if not request.path.startswith("/api/") or exc.status < 400:
            raise
        return error_response(NotFoundError(f"no such API call: {request.method} {request.path}"))
    except Exception as exc:
        return error_response(exc)
