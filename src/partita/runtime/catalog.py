"""Campaigns: validated, versioned, compiled once per version."""

from __future__ import annotations

import json
import time
from typing import Any

from partita.engine import CompiledCampaign, compile_campaign
from partita.errors import InvalidInputError, NotFoundError
from partita.model.campaign import PARTITA_API, Campaign
from partita.model.documents import check_name, parse_campaign_spec, spec_digest
from partita.model.symphony import object_name
from partita.store import CampaignRow, Page, Store


class Catalog:
    """Creates, reads and deletes campaign versions, and caches their compiled form."""

    def __init__(self, store: Store, providers: list[str]) -> None:
        self._store = store
        self._providers = providers
        self._compiled: dict[tuple[str, str, int], CompiledCampaign] = {}
        self._latest: dict[tuple[str, str], Campaign] = {}
        """The latest version of each campaign started by name, when this plane is the only
        writer of its store (SQLite). Replicas on a shared store (``durable_tasks``) read the
        latest version each time: another replica may have created a newer one."""
        self._cache_latest = not store.durable_tasks
        self._changes = 0
        """Creates and deletes begun or ended: a read that overlapped one does not fill the
        cache."""

    def validate(self, name: str, spec: dict[str, Any], api_version: str) -> CompiledCampaign:
        """Check a spec's structure, expressions and providers; InvalidInputError names each."""
        check_name("name", name)
        parsed = parse_campaign_spec(spec, api_version)
        return compile_campaign(name, 0, api_version, parsed, self._providers)

    async def create(
        self,
        namespace: str,
        name: str,
        spec: dict[str, Any],
        api_version: str = PARTITA_API,
        request_id: str = "",
    ) -> tuple[Campaign, bool]:
        check_name("namespace", namespace)
        compiled = self.validate(name, spec, api_version)
        row = CampaignRow(
            namespace=namespace,
            name=name,
            version=0,
            api_version=api_version,
            spec=json.dumps(compiled.spec.dump(), sort_keys=True),
            digest=spec_digest(compiled.spec, api_version),
            create_time=time.time(),
        )
        self._forget(namespace, name)
        try:
            stored, created = await self._store.create_campaign(row, request_id)
        finally:
            self._forget(namespace, name)  # a read meanwhile may have filled it with the old
        return _campaign(stored), created

    async def get(self, namespace: str, name: str, version: int = 0) -> Campaign:
        """A stored version; Symphony's ``<root>:<version>`` finds ``<root>-v-<version>``.

        The latest version (``version`` 0) of a plain name comes from memory once read, on a
        plane that is its store's only writer: every create and delete goes through here."""
        latest = self._cache_latest and not version and ":" not in name
        if latest and (found := self._latest.get((namespace, name))) is not None:
            return found
        changes = self._changes
        row = await self._store.get_campaign(namespace, name, version)
        if row is None and ":" in name:
            row = await self._store.get_campaign(namespace, object_name(name), version)
        if row is None:
            which = f" version {version}" if version else ""
            raise NotFoundError(f"campaign {name!r}{which} not found in namespace {namespace!r}")
        campaign = _campaign(row)
        if latest and changes == self._changes:
            self._latest[(namespace, name)] = campaign
        return campaign

    def _forget(self, namespace: str, name: str) -> None:
        self._changes += 1
        self._latest.pop((namespace, name), None)

    async def list(
        self, namespace: str, name_prefix: str, all_versions: bool, page: Page
    ) -> list[Campaign]:
        rows = await self._store.list_campaigns(namespace, name_prefix, all_versions, page)
        return [_campaign(r) for r in rows]

    async def delete(self, namespace: str, name: str, version: int = 0) -> int:
        self._forget(namespace, name)
        try:
            deleted = await self._store.delete_campaign(namespace, name, version)
        finally:
            self._forget(namespace, name)
        if not deleted:
            raise NotFoundError(f"campaign {name!r} not found in namespace {namespace!r}")
        for key in [k for k in self._compiled if k[:2] == (namespace, name)]:
            if not version or key[2] == version:
                del self._compiled[key]
        return deleted

    async def compiled(self, namespace: str, name: str, version: int) -> CompiledCampaign:
        """The compiled form of one stored version (cached: versions never change)."""
        key = (namespace, name, version)
        found = self._compiled.get(key)
        if found is None:
            campaign = await self.get(namespace, name, version)
            found = self.compile(campaign)
        return found

    def compile(self, campaign: Campaign) -> CompiledCampaign:
        key = (campaign.namespace, campaign.name, campaign.version)
        found = self._compiled.get(key)
        if found is None:
            try:
                found = compile_campaign(
                    campaign.name,
                    campaign.version,
                    campaign.api_version,
                    campaign.spec,
                    self._providers,
                )
            except InvalidInputError as exc:  # stored before a provider went away
                raise NotFoundError(
                    f"campaign {campaign.name!r} no longer compiles: {exc}"
                ) from None
            self._compiled[key] = found
        return found


def _campaign(row: CampaignRow) -> Campaign:
    return Campaign(
        namespace=row.namespace,
        name=row.name,
        version=row.version,
        api_version=row.api_version,
        spec=parse_campaign_spec(json.loads(row.spec), PARTITA_API),
        digest=row.digest,
        create_time=row.create_time,
    )
