"""CampaignService: thin adapters over the runtime."""

from __future__ import annotations

from partita.api.errors import Ctx
from partita.api.rpc import unary
from partita.runtime import Plane
from partita.v1 import campaign_pb2, campaign_pb2_grpc
from partita.wire import convert


class CampaignServicer(campaign_pb2_grpc.CampaignServiceServicer):
    def __init__(self, plane: Plane) -> None:
        self.plane = plane

    @unary
    async def CreateCampaign(
        self, request: campaign_pb2.CreateCampaignRequest, context: Ctx
    ) -> campaign_pb2.CreateCampaignResponse:
        spec = convert.to_dict(request.spec) if request.HasField("spec") else None
        found, created = await self.plane.create_campaign(
            request.namespace, request.name, spec, request.document, request.request_id
        )
        return campaign_pb2.CreateCampaignResponse(
            campaign=convert.campaign(found), created=created
        )

    @unary
    async def GetCampaign(
        self, request: campaign_pb2.GetCampaignRequest, context: Ctx
    ) -> campaign_pb2.GetCampaignResponse:
        found = await self.plane.get_campaign(request.namespace, request.name, request.version)
        return campaign_pb2.GetCampaignResponse(campaign=convert.campaign(found))

    @unary
    async def ListCampaigns(
        self, request: campaign_pb2.ListCampaignsRequest, context: Ctx
    ) -> campaign_pb2.ListCampaignsResponse:
        found, token = await self.plane.list_campaigns(
            request.namespace,
            request.name_prefix,
            request.all_versions,
            request.page_size,
            request.page_token,
        )
        return campaign_pb2.ListCampaignsResponse(
            campaigns=[convert.campaign(c) for c in found], next_page_token=token
        )

    @unary
    async def DeleteCampaign(
        self, request: campaign_pb2.DeleteCampaignRequest, context: Ctx
    ) -> campaign_pb2.DeleteCampaignResponse:
        deleted = await self.plane.delete_campaign(request.namespace, request.name, request.version)
        return campaign_pb2.DeleteCampaignResponse(deleted_versions=deleted)

    @unary
    async def ValidateCampaign(
        self, request: campaign_pb2.ValidateCampaignRequest, context: Ctx
    ) -> campaign_pb2.ValidateCampaignResponse:
        spec = convert.to_dict(request.spec) if request.HasField("spec") else None
        violations = await self.plane.validate_campaign(request.name, spec, request.document)
        return campaign_pb2.ValidateCampaignResponse(
            valid=not violations,
            violations=[
                campaign_pb2.FieldViolation(field=v.field, description=v.description)
                for v in violations
            ],
        )
