"""``partita worker`` runs Python stage handlers from a module until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from partita.cli.client import Client, CliError
from partita.cli.output import Printer
from partita.cli.site import LOG_FORMAT, LOG_LEVELS


def register(sub: argparse._SubParsersAction[Any], common: argparse.ArgumentParser) -> None:
    """Add ``worker`` to the command's subparsers."""
    p = sub.add_parser(
        "worker",
        parents=[common],
        help="run Python stage handlers on a task queue (until SIGTERM/Ctrl-C)",
        description="Poll a task queue of the plane at --server and run its stage tasks with "
        "the handlers of MODULE: its HANDLERS dict (task type -> callable) if it has one, "
        "else every public function it defines (task type = function name). On SIGTERM or "
        "SIGINT, stop polling, let running tasks finish within --grace, and exit 0.",
    )
    p.add_argument("--queue", required=True, metavar="Q", help="the task queue to poll")
    p.add_argument(
        "--handlers",
        required=True,
        metavar="MODULE",
        help="an importable module (pkg.handlers) or a .py file path",
    )
    p.add_argument(
        "--concurrency", type=int, default=10, metavar="N", help="tasks at once (default 10)"
    )
    p.add_argument("--identity", metavar="ID", help="the worker's identity (default host:pid)")
    p.add_argument(
        "--grace",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="time running tasks get to finish at shutdown (default 30)",
    )
    p.add_argument(
        "--log-level", default="INFO", type=str.upper, choices=LOG_LEVELS, help="default INFO"
    )
    p.set_defaults(func=worker)


def worker(args: argparse.Namespace, client: Client, out: Printer) -> int:
    from partita.worker import Worker, WorkerError

    handlers = load_handlers(args.handlers)
    try:
        running = Worker(
            client.target,
            args.queue,
            handlers,
            namespace=client.namespace,
            identity=args.identity,
            concurrency=args.concurrency,
        )
    except (TypeError, ValueError) as exc:
        raise CliError(f"--handlers {args.handlers}: {exc}") from None
    logging.basicConfig(level=args.log_level, format=LOG_FORMAT)
    try:
        running.run_forever(grace=args.grace)
    except WorkerError as exc:
        raise CliError(str(exc), 1) from None
    return 0


def load_handlers(spec: str) -> dict[str, Callable[..., Any]]:
    """The handlers of a module given by import path or file path (see ``partita worker``)."""
    module = _load_module(spec)
    declared = getattr(module, "HANDLERS", None)
    if declared is not None:
        if not isinstance(declared, dict) or not all(isinstance(k, str) for k in declared):
            raise CliError(f"--handlers {spec}: HANDLERS must be a dict of task type -> callable")
        return dict(declared)
    found: dict[str, Callable[..., Any]] = {
        name: value
        for name, value in vars(module).items()
        if not name.startswith("_")
        and inspect.isfunction(value)
        and value.__module__ == module.__name__
    }
    if not found:
        raise CliError(f"--handlers {spec}: no HANDLERS dict and no public function")
    return found


def _load_module(spec: str) -> ModuleType:
    path = Path(spec)
    try:
        if spec.endswith(".py") or os.sep in spec:
            if not path.is_file():
                raise CliError(f"--handlers {spec}: no such file")
            # Like `python FILE`, find the file's sibling modules; never shadow a module.
            sys.path.insert(0, str(path.resolve().parent))
            name = path.stem if path.stem not in sys.modules else f"_handlers_{path.stem}"
            loaded = importlib.util.spec_from_file_location(name, path)
            if loaded is None or loaded.loader is None:
                raise CliError(f"--handlers {spec}: not a Python module")
            module = importlib.util.module_from_spec(loaded)
            sys.modules[name] = module
            loaded.loader.exec_module(module)
            return module
        # Like `python -m`, find modules in the current directory.
        if os.getcwd() not in sys.path and "" not in sys.path:
            sys.path.insert(0, os.getcwd())
        return importlib.import_module(spec)
    except CliError:
        raise
    except ImportError as exc:
        raise CliError(f"--handlers {spec}: cannot import: {exc}") from None
    except Exception as exc:
        raise CliError(f"--handlers {spec}: importing it failed: {exc!r}") from None
