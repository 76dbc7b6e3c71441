"""The Store protocol: everything the plane keeps, behind one interface.

The store holds rows, not domain objects: campaign specs and activation snapshots travel as
JSON text, so that the store knows nothing of the engine. Every backend passes the same
contract suite (``tests/contract``).
"""

from __future__ import annotations

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


@dataclass
class StoreStats:
    """Counters the benchmarks and health read."""

    commits: int = 0
    writes: int = 0
    extra: dict[str, int] = field(default_factory=dict)


class Store(Protocol):
    """Durable state of one plane. Every write is on disk before its coroutine returns."""

    stats: StoreStats

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

    async def history(
        self, namespace: str, activation_id: str, after: int = 0, limit: int = 1000
    ) -> list[EventRow]:
        """Events with a sequence above ``after``, in order."""

    async def open_activations(self) -> list[ActivationRow]:
        """Every activation that is not terminal (for recovery after a restart)."""

    async def timers(self) -> list[TimerRow]:
        """Every armed timer."""

    async def sweep(self, now: float, limit: int = 500) -> int:
        """Delete up to ``limit`` terminal activations past their expiry, with their history."""
