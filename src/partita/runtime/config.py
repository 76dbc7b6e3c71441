"""The plane's one settings class."""

from __future__ import annotations

from dataclasses import dataclass, field

from partita.runtime.governance import QueueLimit


@dataclass(frozen=True, kw_only=True)
class PlaneConfig:
    """How a plane runs. Every field has a default that suits a laptop."""

    db: str = "partita.db"
    """SQLite file of the embedded store, or a ``postgresql://`` URL (replicas)."""
    synchronous: str = "FULL"
    """SQLite ``synchronous``: FULL (acknowledged means on disk) or NORMAL."""
    site_id: str = "local"
    """This site's id (``__site`` in mock outputs, ``activation.site`` in expressions)."""
    listen: tuple[str, ...] = ("127.0.0.1:7600",)
    """gRPC listen addresses: ``host:port`` or ``unix:/path``."""
    retention_seconds: float = 24 * 3600
    """Terminal activations are deleted this long after they close (a campaign may override)."""
    sweep_interval_seconds: float = 60.0
    """How often the retention sweeper runs."""
    max_payload_bytes: int = 4 << 20
    """Largest inputs, signal data or outputs accepted, as JSON: a bigger one is refused
    (RESOURCE_EXHAUSTED, naming the field)."""
    payload_threshold_bytes: int = 256 << 10
    """Inputs, outputs and signal data longer than this (as JSON) are stored apart from the
    history, which refers to them (``runtime.payloads``)."""
    poll_seconds: float = 60.0
    """Longest a PollStageTask call waits for a task before it returns empty."""
    queue_limits: dict[str, QueueLimit] = field(default_factory=dict)
    """Rate limits of task queues, by queue name (in every namespace); SQLite planes only."""
    worker_ttl_seconds: float = 60.0
    """A worker not polling and not heard from for this long leaves ListWorkers."""
    grace_seconds: float = 10.0
    """On shutdown, how long in-flight calls get to finish."""
    replica_id: str = ""
    """On PostgreSQL: this plane's name among the site's replicas (default: host and pid)."""
    replica_lease_seconds: float = 10.0
    """On PostgreSQL: a replica silent this long loses its activations to the others."""
    advertise: str = ""
    """On PostgreSQL: the address other replicas reach this one at (default: the first TCP
    listen address)."""
    default_namespace: str = "default"
    federation_listen: str = ""
    """A hub: where sites dial in (mTLS only); empty for a plane that is not a hub."""
    hub: str = ""
    """A site of a hub: the hub's federation address; empty for a standalone site."""
    tls_cert: str = ""
    """PEM certificate of this plane: the hub's server certificate, or a site's client one."""
    tls_key: str = ""
    """PEM private key of ``tls_cert``."""
    tls_ca: str = ""
    """PEM CA that peers' certificates must chain to."""
    api_tls: bool = False
    """A hub: serve the public API (``listen``) with mTLS too, clients presenting a certificate
    from ``tls_ca``."""
    auth: str = "auto"
    """Authentication of the public API and the console: ``auto`` (required unless every
    listen address is loopback or a Unix socket), ``on`` (always) or ``off``
    (``--insecure``: never)."""
    secret_key_file: str = ""
    """File holding the secret key (base64 of 32 bytes); empty: ``PARTITA_SECRET_KEY``."""
    keepalive_seconds: float = 10.0
    """Federation: keepalive ping and site heartbeat interval; a link silent for about twice
    this long is found dead."""
    trace_exporter: str = "none"
    """Where OpenTelemetry spans go: ``none``, ``console`` or ``otlp`` (set by the
    ``OTEL_EXPORTER_OTLP_*`` variables)."""
    reconnect_max_seconds: float = 30.0
    """A site: the longest backoff between attempts to reach its hub."""
    extra: dict[str, str] = field(default_factory=dict)
