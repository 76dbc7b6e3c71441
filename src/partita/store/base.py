"""The Store protocol: everything the plane keeps, behind one interface.

The store holds rows, not domain objects: campaign specs and activation snapshots travel as
JSON text, so that the store knows nothing of the engine. Every backend passes the same
contract suite (``tests/contract``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

OPEN_STATUSES = ("RUNNING", "PAUSED")
"""Statuses of activations that are not terminal."""


@dataclass(frozen=True)
class CampaignRow:
    namespace: str
    name: str
    version: int
    api_version: str
    spec: str
    """JSON of the spec in its document shape."""
    digest: str
    create_time: float


@dataclass(frozen=True)
class EventRow:
    sequence: int
    time: float
    type: str
    stage: str
    data: str
    """JSON of the event's data."""


@dataclass(frozen=True)
class ActivationRow:
    namespace: str
    id: str
    campaign: str
    version: int
    status: str
    create_time: float
    close_time: float | None
    last_sequence: int
    snapshot: str
    """JSON of the activation's folded state."""


@dataclass(frozen=True)
class TimerRow:
    namespace: str
    activation_id: str
    timer_id: str
    due: float


@dataclass(frozen=True)
class TaskRow:
    """A stage task waiting for a worker, as a store with durable task queues keeps it."""

    namespace: str
    task_queue: str
    activation_id: str
    run_id: str
    attempt: int
    payload: str
    """JSON of the task as the runtime queues it."""


@dataclass(frozen=True)
class PayloadRow:
    """A large value kept apart from the history; an event refers to it by ``ref``."""

    ref: str
    data: str
    """JSON of the value."""


@dataclass
class ActivationWrite:
    """One transition of one activation: new events, the new snapshot, and its timers."""

    row: ActivationRow
    events: list[EventRow]
    timers: dict[str, float] | None = None
    """All of the activation's timers after the transition; None when they did not change."""
    expire_time: float | None = None
    """Set when the activation closed: it is deleted after this time."""
    request_id: str = ""
    """The client request this transition answers, remembered for idempotency."""
    expected_sequence: int = 0
    """The activation's ``last_sequence`` before the transition (a stale writer fails)."""
    tasks: list[TaskRow] = field(default_factory=list)
    """Stage tasks the transition enqueued. A store with durable task queues
    (``durable_tasks``) keeps them in the same transaction (an outbox); others ignore them."""
    payloads: list[PayloadRow] = field(default_factory=list)
    """Large values the events refer to, kept with them in the same transaction."""


@dataclass(frozen=True)
class NewActivation:
    """A start: the activation's first write, with the checks that make it safe."""

    write: ActivationWrite
    exclusive: bool = False
    """The campaign allows no parallel activations: fail while another one is open."""


@dataclass(frozen=True)
class Page:
    """Keyset paging: rows after ``after`` (an opaque key from the previous page)."""

    size: int = 100
    after: tuple[float | int | str, ...] | None = None


@dataclass(frozen=True)
class ActivationFilter:
    namespace: str
    statuses: tuple[str, ...] = ()
    campaign: str = ""
    created_after: float | None = None
    created_before: float | None = None


# -- schedules (issue 6) ---------------------------------------------------------------------

KEPT_SCHEDULE_ACTIONS = 10
"""Actions kept per schedule besides those whose activation is still open."""


@dataclass(frozen=True)
class ScheduleRow:
    """A schedule: its definition as the user gave it, and the scheduler's progress."""

    namespace: str
    id: str
    definition: str
    """JSON of the spec, action and policies (``remaining_actions`` is the column below)."""
    paused: bool
    note: str
    remaining_actions: int
    """Scheduled actions left before the schedule pauses itself; 0 means unlimited."""
    last_time: float
    """Progress: every fire with a nominal time at or before this one has been handled."""
    buffered: tuple[float, ...]
    """Nominal times of fires waiting for the schedule's open activations to close."""
    action_count: int
    missed_catchup: int
    """Fires skipped because they were missed by more than the catch-up window."""
    create_time: float
    update_time: float
    revision: int = 1
    """Bumped by every write: a writer holding an older revision fails."""


@dataclass(frozen=True)
class ScheduleActionRow:
    """One action a schedule took: the activation it started for one fire."""

    nominal_time: float
    actual_time: float
    activation_id: str
    status: str = ""
    """Read only: the activation's status when read; empty when it no longer exists."""


# -- batches (issue 12) -----------------------------------------------------------------------


@dataclass(frozen=True)
class BatchRow:
    """A batch action over the activations matching a filter, and its progress."""

    namespace: str
    id: str
    request_id: str
    """The request that started it ('' when none): a second start with it returns this row."""
    spec: str
    """JSON of the action, the filter and the action's arguments."""
    status: str
    """``RUNNING`` or ``COMPLETED``."""
    cursor: str
    """JSON of the key (create time, id) of the last activation handled; '' at first."""
    total: int
    done: int
    skipped: int
    failed: int
    last_error: str
    create_time: float
    update_time: float
    close_time: float | None = None
    revision: int = 1
    """Bumped by every save: a writer holding an older revision fails."""


# -- replicas (PostgreSQL) ------------------------------------------------------------------


@dataclass(frozen=True)
class ReplicaRow:
    """One plane among the replicas sharing a database."""

    id: str
    address: str
    """Where the other replicas reach it (``host:port``)."""
    start_time: float
    lease_until: float
    """On the database's clock."""
    alive: bool
    owned: int
    """Open activations it owns."""
    now: float
    """The database's clock when read."""


class ReplicaStore(Protocol):
    """What a store shared by several planes adds (``PostgresStore``): leases on replicas,
    owners of activations, stage tasks any replica may claim, and wake-ups between them."""

    replica_id: str

    async def register_replica(self, address: str, lease_seconds: float) -> None: ...

    async def renew_replica(self, lease_seconds: float) -> bool:
        """False when the lease had already run out: the replica must drop what it owns."""

    async def leave(self) -> None:
        """Disown this replica's open activations and delete its row (a clean stop)."""

    async def release_all(self) -> None: ...

    async def claim_activations(self, limit: int) -> list[ActivationRow]:
        """Open activations nobody alive owns, now owned by this replica."""

    async def claim_activation(self, namespace: str, activation_id: str) -> ActivationRow | None:
        """This activation, if it is open and nobody else alive owns it."""

    async def claim_closed_activation(self, namespace: str, activation_id: str) -> bool:
        """Take a closed activation so that this replica may reopen it (a rerun); False
        when it is open (then its owner reopens it) or gone."""

    async def owner_of(self, namespace: str, activation_id: str) -> ReplicaRow | None: ...

    async def replicas(self) -> list[ReplicaRow]: ...

    async def push_tasks(self, tasks: list[TaskRow]) -> None: ...

    async def claim_task(
        self, namespace: str, task_queue: str, hold_seconds: float
    ) -> TaskRow | None: ...

    async def delete_task(self, task: TaskRow) -> None: ...

    async def unclaim_task(self, task: TaskRow) -> None: ...

    async def task_backlog(self, namespace: str, task_queue: str) -> int: ...

    async def listen(
        self,
        on_tasks: Callable[[str, str], None],
        on_activation: Callable[[str, str], None],
    ) -> None: ...


# -- federation (issue 8) --------------------------------------------------------------------

DISPATCH_STATUSES = ("PENDING", "ACCEPTED", "CLOSED", "DONE")
"""A dispatch row's life: PENDING (the hub has not heard the site's ack), ACCEPTED (the site
has it), CLOSED (the site has the result, the hub has not acknowledged it), DONE."""


@dataclass(frozen=True)
class DispatchRow:
    """One dispatch as one side of the link keeps it: the hub's outbox or the site's inbox."""

    role: str
    """``hub`` (sent to a site) or ``site`` (received from the hub); part of the key."""
    dispatch_id: str
    site_id: str
    """The site the dispatch runs on."""
    namespace: str
    activation_id: str
    """On the hub: the activation of the remote stage. On the site: the local activation."""
    run_id: str
    """On the hub: the remote stage run. On the site: empty."""
    attempt: int
    message: str
    """JSON of the dispatch as sent (id, stage or campaign, inputs, headers)."""
    status: str
    """One of DISPATCH_STATUSES."""
    cancel: str
    """'' or what the hub asked of the site: ``cancel`` or ``terminate``."""
    result: str
    """JSON of the result (``{status, outputs, failure}``) once known, else ''."""
    create_time: float
    update_time: float


@dataclass(frozen=True)
class SiteRow:
    """A site a hub has heard from."""

    site_id: str
    plane_version: str
    last_seen_time: float


# -- security (issue 13) ---------------------------------------------------------------------


@dataclass(frozen=True)
class TokenRow:
    """A grant of one role in one namespace to a principal ``name``, with a bearer secret of
    which only the SHA-256 digest is kept."""

    token_id: str
    name: str
    namespace: str
    """A namespace, or ``*`` for every namespace (and the plane-wide calls)."""
    role: str
    digest: str
    """Hex SHA-256 of the bearer secret."""
    create_time: float
    expire_time: float
    """0 for a token that does not expire."""
    revoke_time: float
    """0 while the token is not revoked."""


@dataclass(frozen=True)
class AuditRow:
    """One mutating call: who, where, what, and how it ended."""

    seq: int
    """Order of recording (0 for a row not recorded yet)."""
    time: float
    identity: str
    namespace: str
    rpc: str
    """The full method name, ``/partita.v1.Service/Method``."""
    result: str
    """The status code's name: OK, PERMISSION_DENIED, ..."""


@dataclass(frozen=True)
class SecretRow:
    """A secret as stored: sealed (AES-GCM nonce and ciphertext), never in clear."""

    namespace: str
    name: str
    sealed: bytes
    update_time: float


@dataclass(frozen=True)
class NamespaceRow:
    """A namespace made explicitly, with its quotas (0: no limit)."""

    name: str
    max_running: int
    max_schedules: int
    create_time: float


# -- statistics ------------------------------------------------------------------------------


@dataclass
class StoreStats:
    """Counters the benchmarks and health read."""

    commits: int = 0
    writes: int = 0
    extra: dict[str, int] = field(default_factory=dict)


class Store(Protocol):
    """Durable state of one plane. Every write is on disk before its coroutine returns."""

    stats: StoreStats
    durable_tasks: bool
    """True when the store keeps stage tasks (``ActivationWrite.tasks``) and replicas share
    them; False when the plane queues them in memory."""

    async def open(self) -> None:
        """Create or migrate the schema and start the writer."""

    async def close(self) -> None:
        """Flush every pending write, then release the database. Idempotent."""

    # -- campaigns ---------------------------------------------------------------------------

    async def create_campaign(
        self, row: CampaignRow, request_id: str = ""
    ) -> tuple[CampaignRow, bool]:
        """Store ``row`` as the next version of its campaign, unless the latest version has the
        same digest or ``request_id`` was used before; then return that version and False.
        ``row.version`` is ignored: the store numbers versions from 1."""

    async def get_campaign(self, namespace: str, name: str, version: int = 0) -> CampaignRow | None:
        """One version (0: the latest), or None."""

    async def list_campaigns(
        self, namespace: str, name_prefix: str, all_versions: bool, page: Page
    ) -> list[CampaignRow]:
        """Campaigns by name (latest version only unless ``all_versions``), after ``page.after``
        which is ``(name, version)`` of the last row seen."""

    async def delete_campaign(self, namespace: str, name: str, version: int = 0) -> int:
        """Delete one version (0: all); the number deleted. PreconditionError while an
        activation of it is open."""

    # -- activations -------------------------------------------------------------------------

    async def create_activation(self, new: NewActivation) -> ActivationRow:
        """Insert a new activation with its first events. When its request id was used before,
        return the activation that request created (and write nothing); AlreadyExistsError when
        the id is taken; PreconditionError when ``exclusive`` and another activation of the
        campaign is open."""

    async def commit(self, write: ActivationWrite) -> None:
        """Append a transition. ConflictError when ``expected_sequence`` is stale."""

    async def continue_as_new(
        self, closing: ActivationWrite, chain_id: str, new: ActivationWrite
    ) -> None:
        """In one transaction: append ``closing`` (the last transition of the run stored under
        ``chain_id``, ConflictError when stale), move that run and its history to
        ``closing.row.id``, and store ``new`` (the next run) under ``chain_id``."""

    async def get_activation(self, namespace: str, activation_id: str) -> ActivationRow | None: ...

    async def activation_for_request(self, namespace: str, request_id: str) -> str | None:
        """The activation a request id was applied to, if it was."""

    async def list_activations(self, where: ActivationFilter, page: Page) -> list[ActivationRow]:
        """Newest first; ``page.after`` is ``(create_time, id)`` of the last row seen."""

    async def count_activations(self, where: ActivationFilter) -> int:
        """How many activations match ``where``."""

    async def history(
        self, namespace: str, activation_id: str, after: int = 0, limit: int = 1000
    ) -> list[EventRow]:
        """Events with a sequence above ``after``, in order."""

    async def payloads(self, namespace: str, activation_id: str, refs: list[str]) -> dict[str, str]:
        """The stored payloads of an activation by ref (missing refs are left out)."""

    async def open_activations(self) -> list[ActivationRow]:
        """Every activation that is not terminal (for recovery after a restart)."""

    async def timers(self) -> list[TimerRow]:
        """Every armed timer."""

    async def sweep(self, now: float, limit: int = 500) -> int:
        """Delete up to ``limit`` terminal activations past their expiry, with their history."""

    # -- schedules (issue 6) -----------------------------------------------------------------

    async def create_schedule(
        self, row: ScheduleRow, request_id: str = ""
    ) -> tuple[ScheduleRow, bool]:
        """Insert a schedule; (row, True). When ``request_id`` created one before, return that
        schedule and False; AlreadyExistsError when the id is taken."""

    async def get_schedule(self, namespace: str, schedule_id: str) -> ScheduleRow | None: ...

    async def list_schedules(self, namespace: str, page: Page) -> list[ScheduleRow]:
        """Schedules of a namespace by id, after ``page.after`` which is ``(id,)``."""

    async def all_schedules(self) -> list[ScheduleRow]:
        """Every schedule of every namespace (for the scheduler's start)."""

    async def save_schedule(
        self, row: ScheduleRow, expected_revision: int, action: ScheduleActionRow | None = None
    ) -> None:
        """Replace a schedule's row and record ``action`` (once per nominal time: a second
        action for the same time is ignored), in one transaction. ConflictError when the
        stored revision is not ``expected_revision`` or the schedule is gone. Keeps the
        KEPT_SCHEDULE_ACTIONS newest actions and those whose activation is open."""

    async def delete_schedule(self, namespace: str, schedule_id: str) -> bool:
        """Delete a schedule and its actions; False when there was none."""

    async def schedule_actions(self, namespace: str, schedule_id: str) -> list[ScheduleActionRow]:
        """The kept actions of a schedule, oldest first, each with its activation's status."""

    # -- federation (issue 8) ----------------------------------------------------------------

    # -- batches (issue 12) ------------------------------------------------------------------

    async def create_batch(self, row: BatchRow) -> tuple[BatchRow, bool]:
        """Add a batch; (the existing row, False) when its id, or its non-empty request id,
        is already taken in its namespace."""

    async def get_batch(self, namespace: str, batch_id: str) -> BatchRow | None: ...

    async def list_batches(self, namespace: str, page: Page) -> list[BatchRow]:
        """A namespace's batches, newest first; ``page.after`` is (create_time, id)."""

    async def save_batch(self, row: BatchRow) -> bool:
        """Store a batch's progress if its stored revision is ``row.revision - 1``; False
        (nothing written) when another writer saved it since."""

    async def open_batches(self) -> list[BatchRow]:
        """Every batch still RUNNING, in every namespace, oldest first."""

    async def add_dispatch(self, row: DispatchRow) -> tuple[DispatchRow, bool]:
        """Insert ``row`` unless a dispatch with its role and id exists; then return the stored
        row and False (how both sides of the link dedupe by dispatch id)."""

    async def get_dispatch(self, role: str, dispatch_id: str) -> DispatchRow | None: ...

    async def update_dispatch(
        self,
        role: str,
        dispatch_id: str,
        update_time: float,
        *,
        status: str | None = None,
        cancel: str | None = None,
        result: str | None = None,
    ) -> DispatchRow | None:
        """Change the given fields (None: unchanged) of one dispatch and return it; a status
        never moves back (PENDING < ACCEPTED < CLOSED < DONE: an older one is ignored). None
        when there is no such dispatch."""

    async def open_dispatches(self, role: str, site_id: str = "") -> list[DispatchRow]:
        """Dispatches of a role that are not DONE (of one site, unless ``site_id`` is empty),
        oldest first: what a side resends after a reconnect or a restart."""

    async def sweep_dispatches(self, before: float, limit: int = 500) -> int:
        """Delete up to ``limit`` DONE dispatches last updated before ``before``."""

    # -- security (issue 13) -------------------------------------------------------------

    async def add_token(self, row: TokenRow) -> None:
        """Keep a new token row (its ``token_id`` is fresh)."""

    async def token_by_digest(self, digest: str) -> TokenRow | None:
        """The token whose secret hashes to ``digest``, revoked or expired ones included."""

    async def tokens_named(self, name: str) -> list[TokenRow]:
        """Every token row of the principal ``name``, oldest first."""

    async def list_tokens(self, namespace: str) -> list[TokenRow]:
        """Token rows of ``namespace`` (every namespace for ``""``), by name then age."""

    async def revoke_tokens(self, name: str, namespace: str, now: float) -> int:
        """Revoke the live tokens of ``name`` (in ``namespace`` only, unless ``""``); how
        many were revoked."""

    async def add_audit(self, row: AuditRow) -> None:
        """Record one mutating call (``seq`` is assigned by the store)."""

    async def list_audit(self, namespace: str, page: Page) -> list[AuditRow]:
        """Audit rows of ``namespace`` (every one for ``""``), newest first; ``page.after``
        is the ``(seq,)`` of the last row of the previous page."""

    async def save_secret(self, row: SecretRow) -> None:
        """Insert or replace a secret."""

    async def delete_secret(self, namespace: str, name: str) -> bool:
        """Delete a secret; False when there was none."""

    async def list_secrets(self, namespace: str) -> list[SecretRow]:
        """The secrets of ``namespace`` (every namespace for ``""``), by namespace and name."""

    async def save_namespace(self, row: NamespaceRow) -> None:
        """Insert or replace a namespace."""

    async def delete_namespace(self, name: str) -> bool:
        """Delete a namespace row; False when there was none."""

    async def list_namespaces(self) -> list[NamespaceRow]:
        """Every namespace row, by name."""

    async def save_site(self, row: SiteRow) -> None:
        """Insert or replace a site."""

    async def list_sites(self, page: Page) -> list[SiteRow]:
        """Sites by id, after ``page.after`` which is ``(site_id,)``."""
