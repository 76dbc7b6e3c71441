"""Built-in stage providers, each a small class behind the ``Provider`` protocol."""

from partita.providers.base import Provider, StageCall, StageError
from partita.providers.http import HttpProvider
from partita.providers.simple import CounterProvider, MockProvider, NoopProvider
from partita.providers.symphony import (
    SiteLister,
    SymphonyCounterProvider,
    SymphonyListProvider,
    SymphonyMockProvider,
    SymphonyRemoteProvider,
    SymphonyTasksProvider,
)
from partita.providers.symphony_http import SymphonyHttpProvider
from partita.providers.symphony_script import SymphonyScriptProvider


def builtin_providers(sites: SiteLister | None = None) -> dict[str, Provider]:
    """A fresh instance of every built-in provider, by name.

    ``sites`` lists the sites a hub knows, for Symphony's ``providers.stage.list``; a site
    plane has none (federation passes its registry here on a hub).
    """
    providers: list[Provider] = [
        MockProvider(),
        NoopProvider(),
        CounterProvider(),
        HttpProvider(),
        SymphonyMockProvider(),
        SymphonyCounterProvider(),
        SymphonyHttpProvider(),
        SymphonyScriptProvider(),
        SymphonyListProvider(sites),
        SymphonyRemoteProvider(),
    ]
    found = {p.name: p for p in providers}
    tasks = SymphonyTasksProvider(found)
    found[tasks.name] = tasks
    return found


__all__ = [
    "CounterProvider",
    "HttpProvider",
    "MockProvider",
    "NoopProvider",
    "Provider",
    "SiteLister",
    "StageCall",
    "StageError",
    "SymphonyCounterProvider",
    "SymphonyHttpProvider",
    "SymphonyListProvider",
    "SymphonyMockProvider",
    "SymphonyRemoteProvider",
    "SymphonyScriptProvider",
    "SymphonyTasksProvider",
    "builtin_providers",
]
