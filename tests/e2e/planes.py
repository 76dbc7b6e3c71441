"""A site plane as a real subprocess, for tests that kill and restart it."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import grpc

from partita.v1 import campaign_pb2 as C
from partita.v1 import campaign_pb2_grpc as CG
from tests.conftest import assert_eventually, free_port


class PlaneProcess:
    """``partita site`` (or ``partita hub``) on a free port over one database (a file, or a
    PostgreSQL URL with ``log``: where its log goes); start, kill, pause, start again."""

    def __init__(
        self, db: Path | str, *extra: str, log: Path | None = None, command: str = "site"
    ) -> None:
        self.db = db
        self.extra = extra
        self.command = command
        self.address = f"127.0.0.1:{free_port()}"
        self.process: subprocess.Popen[bytes] | None = None
        if log is None:
            assert isinstance(db, Path), "a plane on PostgreSQL needs a log path"
            log = db.parent / "plane.log"
        self.log_path = log
        self.log = log.open("ab")

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "partita.cli.main",
                self.command,
                "--listen",
                self.address,
                "--db",
                str(self.db),
                *self.extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def pause(self) -> None:
        """SIGSTOP: the process keeps its sockets but does nothing (a cut link, a long GC)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=20)

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.resume()
            self.kill()
        self.log.close()

    async def channel(self) -> grpc.aio.Channel:
        """A channel to the plane once it answers."""

        async def connect() -> grpc.aio.Channel | None:
            channel = grpc.aio.insecure_channel(self.address)
            try:
                await CG.CampaignServiceStub(channel).ListCampaigns(
                    C.ListCampaignsRequest(), timeout=1
                )
                return channel
            except grpc.aio.AioRpcError:
                await channel.close()
                return None

        return await assert_eventually(connect, within=30)
