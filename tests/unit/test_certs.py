"""``partita certs``: a development CA and certificates, each site's id in its SAN URI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from partita.federation.certs import site_id_of


def certs(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "partita.cli.main", "certs", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_init_hub_site_and_client_make_a_ca_and_certificates_signed_by_it(tmp_path: Path) -> None:
    folder = tmp_path / "certs"
    for args in (
        ("init",),
        ("hub", "--host", "hub.example.org", "--host", "10.0.0.7"),
        ("site", "berlin"),
        ("client", "alice"),
    ):
        done = certs(*args, "--dir", str(folder))
        assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(
        f"{stem}.{ext}"
        for stem in ("ca", "hub", "site-berlin", "client-alice")
        for ext in ("pem", "key")
    )
    ca = load(folder / "ca.pem")
    for stem in ("hub", "site-berlin", "client-alice"):
        cert = load(folder / f"{stem}.pem")
        cert.verify_directly_issued_by(ca)
        assert (folder / f"{stem}.key").stat().st_mode & 0o077 == 0  # keys are private
    berlin = (folder / "site-berlin.pem").read_bytes()
    assert site_id_of(berlin) == "berlin"
    assert site_id_of((folder / "hub.pem").read_bytes()) is None
    assert site_id_of((folder / "client-alice.pem").read_bytes()) is None
    hub = load(folder / "hub.pem")
    san = hub.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["hub.example.org"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["10.0.0.7"]
    usage = hub.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in usage


def test_init_refuses_to_replace_a_ca_without_force(tmp_path: Path) -> None:
    assert certs("init", "--dir", str(tmp_path)).returncode == 0
    first = (tmp_path / "ca.pem").read_bytes()
    again = certs("init", "--dir", str(tmp_path))
    assert again.returncode == 2
    assert "exists" in again.stderr and "--force" in again.stderr
    assert (tmp_path / "ca.pem").read_bytes() == first
    assert certs("init", "--dir", str(tmp_path), "--force").returncode == 0
    assert (tmp_path / "ca.pem").read_bytes() != first


def test_a_certificate_without_a_ca_is_a_clear_error(tmp_path: Path) -> None:
    done = certs("site", "berlin", "--dir", str(tmp_path))
    assert done.returncode == 2
    assert "no CA in" in done.stderr and "partita certs init" in done.stderr


def test_a_site_id_with_a_slash_is_refused(tmp_path: Path) -> None:
    assert certs("init", "--dir", str(tmp_path)).returncode == 0
    done = certs("site", "a/b", "--dir", str(tmp_path))
    assert done.returncode == 2 and "without spaces or slashes" in done.stderr


def partita(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "partita.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_hub_without_its_certificates_is_a_clear_usage_error(tmp_path: Path) -> None:
    done = partita("hub", "--federation-listen", "127.0.0.1:0", "--db", str(tmp_path / "h.db"))
    assert done.returncode == 2
    assert "a hub needs --tls-cert, --tls-key, --tls-ca" in done.stderr
    assert "partita certs" in done.stderr


def test_a_site_linking_to_a_hub_needs_its_id_and_existing_files(tmp_path: Path) -> None:
    assert certs("init", "--dir", str(tmp_path)).returncode == 0
    assert certs("site", "berlin", "--dir", str(tmp_path)).returncode == 0
    tls = [
        "--tls-cert", str(tmp_path / "site-berlin.pem"),
        "--tls-key", str(tmp_path / "site-berlin.key"),
        "--tls-ca", str(tmp_path / "ca.pem"),
    ]  # fmt: skip
    done = partita("site", "--hub", "127.0.0.1:1", *tls)
    assert done.returncode == 2 and "--hub needs --site-id" in done.stderr
    tls[1] = str(tmp_path / "missing.pem")
    done = partita("site", "--hub", "127.0.0.1:1", "--site-id", "berlin", *tls)
    assert done.returncode == 2 and "--tls-cert: no such file" in done.stderr
