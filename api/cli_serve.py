"""``fundledger serve``: the HTTP API (``api.http``) under uvicorn.

Before any worker starts, the parent opens the ledger once (so a missing ledger
or an unreadable key is one line on stderr, as with every command) and creates
the view tables: several processes starting at once and each creating tables
can collide, so workers only ever open what is there. With one worker the app
runs in this process; with more, uvicorn starts them from the factory
``api.http.app:app_from_environment`` with the settings in ``FUNDLEDGER_*``.

The parent also starts one views follower (``api.views_follower``), whatever
the number of workers, and stops it when the server stops; ``--no-follow``
leaves the views to a ``fundledger views follow`` run elsewhere.
"""

from __future__ import annotations

import argparse
import os
import signal
from typing import Any

import uvicorn

from api.http.app import app_from_environment, create_app, create_view_tables
from api.http.settings import DEFAULT_THREADS, Settings, open_for_api
from api.views_follower import ViewsFollower

MAX_PORT = 65535


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= MAX_PORT:
        raise argparse.ArgumentTypeError(f"must be in [0, {MAX_PORT}], got {value}")
    return value


def _count(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 256:
        raise argparse.ArgumentTypeError(f"must be in [1, 256], got {value}")
    return value


def add_serve_commands(commands: Any) -> None:
    """Add ``serve`` with its host, port, workers, threads and group commit."""
    serve = commands.add_parser("serve", help="serve the HTTP API (uvicorn)")
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (127.0.0.1)"
    )
    serve.add_argument("--port", type=_port, default=8000, help="TCP port (8000)")
    serve.add_argument("--workers", type=_count, default=1, help="worker processes (1)")
    serve.add_argument(
        "--threads",
        type=_count,
        default=DEFAULT_THREADS,
        help=f"threads and database connections per worker ({DEFAULT_THREADS})",
    )
    serve.add_argument(
        "--no-group-commit",
        dest="group_commit",
        action="store_false",
        help="record each write in its own transaction (for comparison)",
    )
    serve.add_argument(
        "--no-follow",
        dest="follow",
        action="store_false",
        help="do not keep the views up to date (run 'views follow' elsewhere)",
    )
    serve.set_defaults(run=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    """Check the ledger, create the view tables once, follow, serve until stopped."""
    settings = Settings(
        db=args.db,
        log_key=args.log_key,
        secrets=args.secrets,
        threads=args.threads,
        create_view_tables=False,
        group_commit=args.group_commit,
    )
    ledger, _ = open_for_api(settings)
    ledger.close()
    create_view_tables(settings)
    follower = ViewsFollower(settings)
    if args.follow:
        follower.start()
    # uvicorn shuts down on SIGTERM, then raises it again under the handler it
    # found: this one, so that the follower is stopped rather than orphaned.
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        _serve(args, settings)
    finally:
        signal.signal(signal.SIGTERM, previous)
        follower.stop()
    return 0


def _terminated(signum: int, frame: object) -> None:
    del frame
    raise SystemExit(128 + signum)


def _serve(args: argparse.Namespace, settings: Settings) -> None:
    """uvicorn until stopped: the app in this process, or in worker processes."""
    if args.workers == 1:
        uvicorn.run(
            create_app(settings), host=args.host, port=args.port, log_level="info"
        )
        return
    os.environ.update(settings.environment())
    uvicorn.run(
        f"{app_from_environment.__module__}:{app_from_environment.__name__}",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="info",
    )
