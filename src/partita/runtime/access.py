"""Who may call what: identities, roles, the one table from RPC to permission, tokens, audit.

Both front doors use this module: the gRPC interceptor (``partita.api.auth``) and the
console's middleware (``partita.web.auth``). Fail-closed: an RPC missing from ``RULES`` is
refused, and so is a caller without a grant of a role holding the permission in the
namespace the call is about.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import re
import secrets
import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field

from partita.errors import InvalidInputError, PermissionDeniedError, UnauthenticatedError
from partita.store import AuditRow, Page, Store, TokenRow

log = logging.getLogger("partita.access")

ROLES = ("reader", "operator", "admin")
ALL = "*"
"""The namespace of a grant that holds in every namespace, and of the plane-wide calls."""
PUBLIC = ""
"""The permission of calls anyone may make (health, reflection)."""
TOKEN_PREFIX = "pt_"
CLIENT_URI_PREFIX = "spiffe://partita/client/"
SITE_URI_PREFIX = "spiffe://partita/site/"
_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,128}$")

_READ = {
    "campaigns.read",
    "activations.read",
    "schedules.read",
    "workers.read",
    "sites.read",
    "replicas.read",
    "namespaces.read",
}
_OPERATE = {
    "activations.start",
    "activations.control",
    "tasks.work",
    "schedules.trigger",
    "approvals.answer",
}
_ADMIN = {
    "campaigns.write",
    "schedules.write",
    "tokens.read",
    "tokens.write",
    "audit.read",
    "secrets.read",
    "secrets.write",
    "replicas.deliver",
    "sites.connect",
    "namespaces.write",
}
PERMISSIONS: dict[str, frozenset[str]] = {
    "reader": frozenset(_READ),
    "operator": frozenset(_READ | _OPERATE),
    "admin": frozenset(_READ | _OPERATE | _ADMIN),
}
"""Each role's permissions; each role holds those of the roles before it."""


@dataclass(frozen=True)
class Rule:
    """What one RPC needs."""

    permission: str
    """The permission a caller's role must hold; ``PUBLIC`` for anyone."""
    audited: bool = False
    """True for a mutating call: recorded in the audit log, whatever its result."""
    plane_wide: bool = False
    """True for calls about no namespace: the grant must be on ``*``."""


def _rules() -> dict[str, Rule]:
    def service(name: str, entries: dict[str, Rule]) -> dict[str, Rule]:
        return {f"/partita.v1.{name}/{rpc}": rule for rpc, rule in entries.items()}

    read, write = Rule("campaigns.read"), Rule("campaigns.write", audited=True)
    act = Rule("activations.read")
    control = Rule("activations.control", audited=True)
    sched_read, sched_write = Rule("schedules.read"), Rule("schedules.write", audited=True)
    work = Rule("tasks.work")
    return {
        **service(
            "CampaignService",
            {
                "CreateCampaign": write,
                "GetCampaign": read,
                "ListCampaigns": read,
                "DeleteCampaign": write,
                "ValidateCampaign": read,
            },
        ),
        **service(
            "ActivationService",
            {
                "StartActivation": Rule("activations.start", audited=True),
                "GetActivation": act,
                "ListActivations": act,
                "CancelActivation": control,
                "TerminateActivation": control,
                "SignalActivation": control,
                "AdvanceActivation": control,
                "GetActivationHistory": act,
                "WatchActivation": act,
                "RerunActivation": control,
                "SkipStage": control,
                "RetryStage": control,
                "PauseActivation": control,
                "ResumeActivation": control,
            },
        ),
        **service(
            "BatchService",
            {"StartBatch": control, "GetBatch": act, "ListBatches": act},
        ),
        **service(
            "WorkerService",
            {
                "PollStageTask": work,
                "CompleteStageTask": Rule("tasks.work", audited=True),
                "FailStageTask": Rule("tasks.work", audited=True),
                "HeartbeatStageTask": work,
                "ListWorkers": Rule("workers.read"),
                "ListTaskQueues": Rule("workers.read"),
            },
        ),
        **service(
            "ScheduleService",
            {
                "CreateSchedule": sched_write,
                "GetSchedule": sched_read,
                "UpdateSchedule": sched_write,
                "DeleteSchedule": sched_write,
                "ListSchedules": sched_read,
                "PauseSchedule": sched_write,
                "ResumeSchedule": sched_write,
                "TriggerSchedule": Rule("schedules.trigger", audited=True),
            },
        ),
        **service(
            "FederationService",
            {
                "Connect": Rule("sites.connect", plane_wide=True),
                "ListSites": Rule("sites.read", plane_wide=True),
            },
        ),
        **service(
            "ReplicaService",
            {
                "ListReplicas": Rule("replicas.read", plane_wide=True),
                # relays an input the receiving replica has audited already
                "DeliverInput": Rule("replicas.deliver"),
            },
        ),
        **service(
            "SecurityService",
            {
                "CreateToken": Rule("tokens.write", audited=True),
                "ListTokens": Rule("tokens.read"),
                "RevokeToken": Rule("tokens.write", audited=True),
                "ListAuditRecords": Rule("audit.read"),
                "SetSecret": Rule("secrets.write", audited=True),
                "ListSecrets": Rule("secrets.read"),
                "DeleteSecret": Rule("secrets.write", audited=True),
            },
        ),
        "/partita.v1.ApprovalService/AnswerApproval": Rule("approvals.answer", audited=True),
        **service(
            "NamespaceService",
            {
                "CreateNamespace": Rule("namespaces.write", audited=True, plane_wide=True),
                "UpdateNamespace": Rule("namespaces.write", audited=True, plane_wide=True),
                "ListNamespaces": Rule("namespaces.read", plane_wide=True),
                "DeleteNamespace": Rule("namespaces.write", audited=True, plane_wide=True),
            },
        ),
        "/grpc.health.v1.Health/Check": Rule(PUBLIC),
        "/grpc.health.v1.Health/List": Rule(PUBLIC),
        "/grpc.health.v1.Health/Watch": Rule(PUBLIC),
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": Rule(PUBLIC),
    }


RULES: dict[str, Rule] = _rules()
"""The one table from RPC (full method name) to what it needs. The console's routes map to
these same names (``partita.web.auth``)."""


@dataclass(frozen=True)
class Identity:
    """A caller, and its grants: namespace (or ``*``) to role."""

    name: str
    grants: dict[str, str] = field(default_factory=dict)
    everything: bool = False
    """True on an open plane: every call is allowed."""

    def holds(self, permission: str, namespace: str) -> bool:
        if self.everything or permission == PUBLIC:
            return True
        for where in (namespace, ALL):
            role = self.grants.get(where)
            if role is not None and permission in PERMISSIONS.get(role, frozenset()):
                return True
        return False


ANONYMOUS = Identity("anonymous", everything=True)
"""The caller on an open plane."""
CALLER: ContextVar[Identity] = ContextVar("partita_caller", default=ANONYMOUS)
"""The caller of the call being served (set by the gate, read by servicers)."""


def role_in(identity: Identity, namespace: str) -> str:
    """The strongest role ``identity`` holds in ``namespace`` ("" for none)."""
    if identity.everything:
        return "admin"
    held = [identity.grants.get(namespace, ""), identity.grants.get(ALL, "")]
    ranked = [r for r in held if r in ROLES]
    return max(ranked, key=ROLES.index) if ranked else ""


def digest(secret: str) -> str:
    """Hex SHA-256 of a bearer secret: what the store keeps (secrets are 256 random bits,
    so a fast hash is enough; nothing can be guessed from it)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def is_local(address: str) -> bool:
    """True for a Unix socket or a loopback ``host:port``."""
    if address.startswith("unix:"):
        return True
    host = address.rpartition(":")[0].removeprefix("[").removesuffix("]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def needs_auth(mode: str, addresses: Iterable[str]) -> bool:
    """Whether a plane serving ``addresses`` requires authentication: ``mode`` is ``on``
    (always), ``off`` (``--insecure``: never) or ``auto`` (unless every address is local)."""
    if mode == "on":
        return True
    if mode == "off":
        return False
    return not all(is_local(a) for a in addresses)


class Access:
    """The plane's gate: identifies callers, checks the table, keeps tokens and the audit log."""

    def __init__(
        self, store: Store, default_namespace: str, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.default_namespace = default_namespace
        self.clock = clock

    def namespace(self, value: str) -> str:
        return value or self.default_namespace

    async def identify(self, bearer: str | None, uris: list[str]) -> Identity:
        """The caller named by a bearer token (``Bearer <secret>``) or by the SAN URIs of its
        verified client certificate; UnauthenticatedError without usable credentials."""
        if bearer:
            scheme, _, secret = bearer.strip().partition(" ")
            if scheme.lower() != "bearer" or not secret.strip():
                raise UnauthenticatedError("the authorization metadata must be 'Bearer <token>'")
            row = await self.store.token_by_digest(digest(secret.strip()))
            if row is None or not self._live(row):
                raise UnauthenticatedError("the token is unknown, expired or revoked")
            return Identity(f"token:{row.name}", {row.namespace: row.role})
        for uri in uris:
            if uri.startswith(CLIENT_URI_PREFIX):
                name = uri.removeprefix(CLIENT_URI_PREFIX)
                rows = [r for r in await self.store.tokens_named(name) if self._live(r)]
                return Identity(f"client:{name}", _grants(rows))
            if uri.startswith(SITE_URI_PREFIX):
                site = uri.removeprefix(SITE_URI_PREFIX)
                return Identity(f"site:{site}", {ALL: "site"})
        raise UnauthenticatedError(
            "credentials required: a bearer token in the authorization metadata or a "
            "client certificate"
        )

    def authorize(self, identity: Identity, method: str, namespace: str) -> Rule:
        """The rule of ``method`` when ``identity`` may call it about ``namespace``;
        PermissionDeniedError (naming the permission, nothing else) otherwise."""
        rule = RULES.get(method)
        if rule is None:
            raise PermissionDeniedError(f"{method} has no permission defined: refused")
        if identity.name.startswith("site:") and not identity.everything:
            if rule.permission in ("sites.connect", PUBLIC):
                return rule
            raise PermissionDeniedError(f"missing permission {rule.permission}")
        where = ALL if rule.plane_wide else namespace
        if not identity.holds(rule.permission, where):
            raise PermissionDeniedError(
                f"missing permission {rule.permission} in namespace {where!r}"
            )
        return rule

    async def record(self, identity: Identity, namespace: str, method: str, result: str) -> None:
        """Add one mutating call to the audit log (a failure to record is logged, and the
        call's own result stands)."""
        try:
            await self.store.add_audit(
                AuditRow(0, self.clock(), identity.name, namespace, method, result)
            )
        except Exception:
            log.exception("audit: cannot record %s by %s", method, identity.name)

    async def create_token(
        self, name: str, namespace: str, role: str, ttl_seconds: float = 0.0
    ) -> tuple[TokenRow, str]:
        """A new token and its secret (shown once; only its digest is kept)."""
        check_grant(name, namespace, role)
        if ttl_seconds < 0:
            raise InvalidInputError.field("ttl_seconds", "must not be negative")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self.clock()
        row = TokenRow(
            token_id=secrets.token_hex(8),
            name=name,
            namespace=namespace,
            role=role,
            digest=digest(secret),
            create_time=now,
            expire_time=now + ttl_seconds if ttl_seconds else 0.0,
            revoke_time=0.0,
        )
        await self.store.add_token(row)
        return row, secret

    async def revoke(self, name: str, namespace: str) -> int:
        return await self.store.revoke_tokens(name, namespace, self.clock())

    async def audit(self, namespace: str, size: int, after: int) -> list[AuditRow]:
        return await self.store.list_audit(
            namespace, Page(size=size, after=(after,) if after else None)
        )

    def _live(self, row: TokenRow) -> bool:
        if row.revoke_time:
            return False
        return not row.expire_time or row.expire_time > self.clock()


def check_grant(name: str, namespace: str, role: str) -> None:
    if not _NAME.match(name):
        raise InvalidInputError.field("name", "must be 1-128 letters, digits, '.', '_', '-' or '@'")
    if namespace != ALL and not _NAME.match(namespace):
        raise InvalidInputError.field("namespace", "must be a namespace name or '*'")
    if role not in ROLES:
        raise InvalidInputError.field("role", f"must be one of {', '.join(ROLES)}")


def _grants(rows: list[TokenRow]) -> dict[str, str]:
    """Each namespace's strongest role among ``rows``."""
    grants: dict[str, str] = {}
    for row in rows:
        held = grants.get(row.namespace)
        if held is None or ROLES.index(row.role) > ROLES.index(held):
            grants[row.namespace] = row.role
    return grants
