"""FederationService: the site link (on a hub) and ListSites, thin adapters over federation."""

from __future__ import annotations

from collections.abc import AsyncIterator

from partita.api.errors import Ctx
from partita.api.rpc import stream, unary
from partita.errors import PreconditionError
from partita.federation.hub import Hub
from partita.federation.tls import peer_site_id
from partita.runtime import Plane
from partita.v1 import federation_pb2 as F
from partita.v1 import federation_pb2_grpc as FG
from partita.wire import convert


class FederationServicer(FG.FederationServiceServicer):
    def __init__(self, plane: Plane, hub: Hub | None) -> None:
        self.plane = plane
        self.hub = hub

    @stream
    async def Connect(
        self, request_iterator: AsyncIterator[F.ConnectRequest], context: Ctx
    ) -> AsyncIterator[F.ConnectResponse]:
        if self.hub is None:
            raise PreconditionError("this plane is not a hub (start it with `partita hub`)")
        identity = peer_site_id(context.auth_context())  # type: ignore[arg-type]
        async for message in self.hub.connect(identity, request_iterator):
            yield message

    @unary
    async def ListSites(self, request: F.ListSitesRequest, context: Ctx) -> F.ListSitesResponse:
        sites, token = await self.plane.list_sites(request.page_size, request.page_token)
        return F.ListSitesResponse(sites=[convert.site(s) for s in sites], next_page_token=token)
