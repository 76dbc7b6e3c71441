"""Built-in stage providers, each a small class behind the ``Provider`` protocol."""

from partita.providers.base import Provider, StageCall, StageError
from partita.providers.http import HttpProvider
from partita.providers.simple import CounterProvider, MockProvider, NoopProvider


def builtin_providers() -> dict[str, Provider]:
    """A fresh instance of every built-in provider, by name."""
    providers: list[Provider] = [MockProvider(), NoopProvider(), CounterProvider(), HttpProvider()]
    return {p.name: p for p in providers}


__all__ = [
    "CounterProvider",
    "HttpProvider",
    "MockProvider",
    "NoopProvider",
    "Provider",
    "StageCall",
    "StageError",
    "builtin_providers",
]
