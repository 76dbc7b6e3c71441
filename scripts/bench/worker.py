#!/usr/bin/env python3
"""A benchmark worker process: ``--pollers`` Python SDK Workers on one task queue.

Each ``partita.worker.Worker`` keeps one PollStageTask in flight at a time and runs up to
``--concurrency`` tasks; several pollers in one process share the event loop. Runs until
SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal

from handlers import HANDLERS

from partita.worker import Worker


async def serve(args: argparse.Namespace) -> None:
    workers = [
        Worker(
            args.server,
            args.queue,
            HANDLERS,
            identity=f"bench-{os.getpid()}-{k}",
            concurrency=args.concurrency,
        )
        for k in range(args.pollers)
    ]
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    running = [asyncio.create_task(w.run()) for w in workers]
    await stop.wait()
    await asyncio.gather(*(w.shutdown(grace=5) for w in workers))
    await asyncio.gather(*running, return_exceptions=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--server", required=True)
    ap.add_argument("--queue", required=True)
    ap.add_argument("--concurrency", type=int, default=64, help="tasks at once per poller")
    ap.add_argument("--pollers", type=int, default=1, help="Worker objects in this process")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
