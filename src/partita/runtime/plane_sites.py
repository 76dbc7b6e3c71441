"""The plane's federation side: the sites a hub knows (issue 8). Mixed into ``Plane``."""

from __future__ import annotations

from partita.runtime.config import PlaneConfig
from partita.runtime.paging import MAX_PAGE, page_of, token_of
from partita.runtime.sites import SiteInfo, Sites


class PlaneSites:
    config: PlaneConfig
    sites: Sites

    async def _site_ids(self) -> list[str]:
        """Every site this hub knows, by id (for Symphony's ``providers.stage.list``)."""
        ids: list[str] = []
        token = ""
        while True:
            found, token = await self.list_sites(MAX_PAGE, token)
            ids.extend(site.site_id for site in found)
            if not token:
                return ids

    @property
    def is_hub(self) -> bool:
        """A hub plane accepts site planes (``--federation-listen``)."""
        return bool(self.config.federation_listen)

    async def list_sites(
        self, page_size: int = 0, page_token: str = ""
    ) -> tuple[list[SiteInfo], str]:
        """The sites this hub knows, by id: linked or not, last seen, dispatches in flight."""
        page = page_of(page_size, page_token, (str,))
        found = await self.sites.list(page)
        token = token_of((found[-1].site_id,)) if len(found) == page.size else ""
        return found, token
