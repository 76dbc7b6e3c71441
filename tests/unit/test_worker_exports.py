"""The worker SDK's public surface is exactly this: a change to it is a deliberate one."""

from __future__ import annotations

import partita.worker


def test_exported_members() -> None:
    assert partita.worker.__all__ == [
        "Handler",
        "NonRetryableError",
        "TaskContext",
        "TaskInfo",
        "Worker",
        "WorkerError",
        "WorkerState",
    ]
    assert partita.worker.__all__ == sorted(partita.worker.__all__)
    assert all(hasattr(partita.worker, name) for name in partita.worker.__all__)
