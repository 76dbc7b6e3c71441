"""mTLS for the site link: credentials that pick up renewed certificate files by themselves.

The hub's server credentials are ``grpc.dynamic_ssl_server_credentials``: before each new
handshake gRPC asks for the current certificates, and the files are read again when they
changed on disk. A site reads its files again before each connection. So certificates
rotate without a restart.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import grpc

from partita.federation.certs import site_id_of

log = logging.getLogger("partita.tls")


@dataclass(frozen=True)
class TlsFiles:
    """A certificate, its key, and the CA that peers' certificates must chain to."""

    cert: Path
    key: Path
    ca: Path

    def read(self) -> tuple[bytes, bytes, bytes]:
        """(certificate, key, CA) as PEM."""
        return self.cert.read_bytes(), self.key.read_bytes(), self.ca.read_bytes()

    def stamp(self) -> tuple[float, ...]:
        """Changes whenever one of the files does."""
        stamps: list[float] = []
        for path in (self.cert, self.key, self.ca):
            try:
                info = os.stat(path)
                stamps += [info.st_mtime_ns, info.st_size, info.st_ino]
            except OSError:
                stamps += [-1, -1, -1]
        return tuple(stamps)


def server_credentials(files: TlsFiles) -> grpc.ServerCredentials:
    """Server credentials that require a client certificate from ``files.ca`` and reload the
    files when they change."""
    current = {"stamp": files.stamp()}

    def config(pem: tuple[bytes, bytes, bytes]) -> grpc.ServerCertificateConfiguration:
        cert, key, ca = pem
        return grpc.ssl_server_certificate_configuration([(key, cert)], root_certificates=ca)

    def fetch() -> grpc.ServerCertificateConfiguration | None:
        stamp = files.stamp()
        if stamp == current["stamp"]:
            return None
        try:
            fresh = config(files.read())
        except OSError as exc:
            log.warning("keeping the current certificates: %s", exc)
            return None
        current["stamp"] = stamp
        log.info("certificates reloaded from %s", files.cert)
        return fresh

    return grpc.dynamic_ssl_server_credentials(
        config(files.read()),
        fetch,  # type: ignore[arg-type]  # gRPC documents None as "unchanged"
        require_client_authentication=True,
    )


def channel_credentials(files: TlsFiles) -> grpc.ChannelCredentials:
    """Client credentials from the files as they are now."""
    cert, key, ca = files.read()
    return grpc.ssl_channel_credentials(
        root_certificates=ca, private_key=key, certificate_chain=cert
    )


def peer_site_id(auth_context: dict[str, list[bytes]]) -> str | None:
    """The site id in the peer's verified client certificate; None without one."""
    pems = auth_context.get("x509_pem_cert") or []
    if not pems:
        return None
    try:
        return site_id_of(pems[0])
    except ValueError:
        return None


def has_peer_certificate(auth_context: dict[str, list[bytes]]) -> bool:
    return bool(auth_context.get("x509_pem_cert"))
