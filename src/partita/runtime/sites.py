"""The sites a hub knows: who is linked now, when each was last heard from, what it runs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from partita.store import Page, SiteRow, Store


@dataclass(frozen=True)
class SiteInfo:
    """A site as ``ListSites`` shows it."""

    site_id: str
    connected: bool
    """The site has an open link to the hub now."""
    last_seen_time: float
    """When the hub last heard from the site (seconds since the epoch)."""
    dispatches_in_flight: int
    """Dispatches sent to the site that have no result yet."""
    plane_version: str


SEEN_WRITE_SECONDS = 60.0
"""A linked site's last-seen time goes to the store at most this often (10,000 sites each
heartbeating every 10 s would otherwise write 1,000 rows a second); ``list`` shows the time
from memory."""


class Sites:
    """Every site that ever said hello (kept in the store) and which of them are linked now
    (kept in memory: after a hub restart, every site is disconnected until it dials again)."""

    def __init__(self, store: Store, clock: Callable[[], float]) -> None:
        self._store = store
        self._clock = clock
        self._links: dict[str, int] = {}
        """Connected sites, with the number of the link that is current."""
        self._versions: dict[str, str] = {}
        self._seen: dict[str, tuple[float, float]] = {}
        """Linked sites: (last heard, last written to the store), seconds since the epoch."""

    async def connected(self, site_id: str, plane_version: str) -> int:
        """A site said hello; returns the link's number (a newer link replaces an older)."""
        number = self._links.get(site_id, 0) + 1
        self._links[site_id] = number
        self._versions[site_id] = plane_version
        now = self._clock()
        self._seen[site_id] = (now, now)
        await self._store.save_site(SiteRow(site_id, plane_version, now))
        return number

    async def seen(self, site_id: str, *, write: bool = False) -> None:
        """The site sent something: it is alive (written to the store now and then)."""
        now = self._clock()
        _, written = self._seen.get(site_id, (0.0, 0.0))
        if not write and now - written < SEEN_WRITE_SECONDS:
            self._seen[site_id] = (now, written)
            return
        self._seen[site_id] = (now, now)
        version = self._versions.get(site_id, "")
        await self._store.save_site(SiteRow(site_id, version, now))

    async def disconnected(self, site_id: str, link: int) -> None:
        """A link ended; the site stays connected if a newer link replaced it."""
        if self._links.get(site_id) == link:
            del self._links[site_id]
            await self.seen(site_id, write=True)
            self._seen.pop(site_id, None)

    def is_current(self, site_id: str, link: int) -> bool:
        return self._links.get(site_id) == link

    async def list(self, page: Page) -> list[SiteInfo]:
        """Sites by id after ``page.after`` (``(site_id,)``)."""
        rows = await self._store.list_sites(page)
        in_flight = Counter(r.site_id for r in await self._store.open_dispatches("hub"))
        return [
            SiteInfo(
                site_id=row.site_id,
                connected=row.site_id in self._links,
                last_seen_time=max(row.last_seen_time, self._seen.get(row.site_id, (0.0,))[0]),
                dispatches_in_flight=in_flight[row.site_id],
                plane_version=row.plane_version,
            )
            for row in rows
        ]
