"""SecurityService: tokens and the audit log, over the plane's ``Access``."""

from __future__ import annotations

from partita.api.errors import Ctx
from partita.api.rpc import unary
from partita.errors import InvalidInputError
from partita.runtime import Plane
from partita.runtime.access import CALLER, Access, role_in
from partita.runtime.secrets import Secrets
from partita.store import NamespaceRow, TokenRow
from partita.v1 import security_pb2, security_pb2_grpc
from partita.wire import convert

S = security_pb2
MAX_PAGE = 1000


class SecurityServicer(security_pb2_grpc.SecurityServiceServicer):
    def __init__(self, access: Access, secrets: Secrets) -> None:
        self.access = access
        self.secrets = secrets

    @unary
    async def SetSecret(self, request: S.SetSecretRequest, context: Ctx) -> S.SetSecretResponse:
        namespace = self.access.namespace(request.namespace)
        await self.secrets.set(namespace, request.name, request.value)
        return S.SetSecretResponse(
            secret=S.Secret(
                namespace=namespace,
                name=request.name,
                update_time=convert.timestamp(self.secrets.clock()),
            )
        )

    @unary
    async def ListSecrets(
        self, request: S.ListSecretsRequest, context: Ctx
    ) -> S.ListSecretsResponse:
        namespace = self.access.namespace(request.namespace)
        found = await self.secrets.list(namespace)
        return S.ListSecretsResponse(
            secrets=[
                S.Secret(namespace=namespace, name=name, update_time=convert.timestamp(when))
                for name, when in found
            ]
        )

    @unary
    async def DeleteSecret(
        self, request: S.DeleteSecretRequest, context: Ctx
    ) -> S.DeleteSecretResponse:
        await self.secrets.delete(self.access.namespace(request.namespace), request.name)
        return S.DeleteSecretResponse()

    @unary
    async def CreateToken(
        self, request: S.CreateTokenRequest, context: Ctx
    ) -> S.CreateTokenResponse:
        row, secret = await self.access.create_token(
            request.name,
            self.access.namespace(request.namespace),
            request.role,
            request.ttl_seconds,
        )
        return S.CreateTokenResponse(token=token_message(row), secret=secret)

    @unary
    async def ListTokens(self, request: S.ListTokensRequest, context: Ctx) -> S.ListTokensResponse:
        rows = await self.access.store.list_tokens(self.access.namespace(request.namespace))
        return S.ListTokensResponse(tokens=[token_message(r) for r in rows])

    @unary
    async def RevokeToken(
        self, request: S.RevokeTokenRequest, context: Ctx
    ) -> S.RevokeTokenResponse:
        if not request.name:
            raise InvalidInputError.field("name", "is required")
        count = await self.access.revoke(request.name, self.access.namespace(request.namespace))
        return S.RevokeTokenResponse(revoked=count)

    @unary
    async def ListAuditRecords(
        self, request: S.ListAuditRecordsRequest, context: Ctx
    ) -> S.ListAuditRecordsResponse:
        if request.page_size < 0:
            raise InvalidInputError.field("page_size", "must not be negative")
        after = 0
        if request.page_token:
            if not request.page_token.isdigit():
                raise InvalidInputError.field("page_token", "is not a token of this list")
            after = int(request.page_token)
        size = min(request.page_size or 100, MAX_PAGE)
        rows = await self.access.audit(self.access.namespace(request.namespace), size, after)
        return S.ListAuditRecordsResponse(
            records=[
                S.AuditRecord(
                    sequence=r.seq,
                    time=convert.timestamp(r.time),
                    identity=r.identity,
                    namespace=r.namespace,
                    rpc=r.rpc,
                    result=r.result,
                )
                for r in rows
            ],
            next_page_token=str(rows[-1].seq) if len(rows) == size else "",
        )


class ApprovalServicer(security_pb2_grpc.ApprovalServiceServicer):
    def __init__(self, plane: Plane, access: Access) -> None:
        self.plane = plane
        self.access = access

    @unary
    async def AnswerApproval(
        self, request: S.AnswerApprovalRequest, context: Ctx
    ) -> S.AnswerApprovalResponse:
        if not request.stage:
            raise InvalidInputError.field("stage", "is required")
        namespace = self.access.namespace(request.namespace)
        caller = CALLER.get()
        state = await self.plane.answer_approval(
            namespace,
            request.activation_id,
            request.stage,
            "approve" if request.approve else "reject",
            convert.to_dict(request.fields),
            caller.name,
            role_in(caller, namespace),
        )
        return S.AnswerApprovalResponse(activation=convert.activation(state))


class NamespaceServicer(security_pb2_grpc.NamespaceServiceServicer):
    def __init__(self, plane: Plane) -> None:
        self.namespaces = plane.namespaces

    @unary
    async def CreateNamespace(
        self, request: S.CreateNamespaceRequest, context: Ctx
    ) -> S.CreateNamespaceResponse:
        given = request.namespace
        row = await self.namespaces.create(
            given.name, given.max_running_activations, given.max_schedules
        )
        return S.CreateNamespaceResponse(namespace=namespace_message(row))

    @unary
    async def UpdateNamespace(
        self, request: S.UpdateNamespaceRequest, context: Ctx
    ) -> S.UpdateNamespaceResponse:
        given = request.namespace
        row = await self.namespaces.update(
            given.name, given.max_running_activations, given.max_schedules
        )
        return S.UpdateNamespaceResponse(namespace=namespace_message(row))

    @unary
    async def ListNamespaces(
        self, request: S.ListNamespacesRequest, context: Ctx
    ) -> S.ListNamespacesResponse:
        rows = await self.namespaces.list()
        return S.ListNamespacesResponse(namespaces=[namespace_message(r) for r in rows])

    @unary
    async def DeleteNamespace(
        self, request: S.DeleteNamespaceRequest, context: Ctx
    ) -> S.DeleteNamespaceResponse:
        await self.namespaces.delete(request.name)
        return S.DeleteNamespaceResponse()


def namespace_message(row: NamespaceRow) -> S.Namespace:
    return S.Namespace(
        name=row.name,
        max_running_activations=row.max_running,
        max_schedules=row.max_schedules,
        create_time=convert.timestamp(row.create_time),
    )


def token_message(row: TokenRow) -> S.Token:
    return S.Token(
        id=row.token_id,
        name=row.name,
        namespace=row.namespace,
        role=row.role,
        create_time=convert.timestamp(row.create_time),
        expire_time=convert.timestamp(row.expire_time or None),
        revoke_time=convert.timestamp(row.revoke_time or None),
    )
