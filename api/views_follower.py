"""The views follower ``fundledger serve`` runs beside its HTTP workers.

The public views are tables a follower keeps up to date from the log
(``projections.runner``); without one, ``GET /views/...`` would show the log
as it was when the views were last updated. ``fundledger serve`` therefore
starts one follower itself, as ``fundledger views follow`` would run it: the
same projections, reading names and birth dates through the vault, the same
batches.

Invariants:

- One follower per server, whatever the number of workers: the parent process
  starts it once, in a child process of its own, so that applying a large
  batch never holds the workers' interpreter lock.
- It stops with the server: ``stop`` asks it to end and waits; a follower
  that does not end in ``STOP_SECONDS`` is terminated, which loses nothing,
  since a batch is written in one transaction (``projections.store``). If the
  parent dies without asking (SIGKILL, say), the follower notices within
  ``WATCH_SECONDS`` and ends on its own.
- It never blocks another follower: positions are compared and set, so a
  ``fundledger views follow`` started beside the server is harmless.
- It needs the deployment's secrets file (masked names on notice lists, the
  person rules); without it, the server runs and the views are not followed,
  which it says once at start-up.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from dataclasses import replace
from multiprocessing.context import SpawnProcess
from multiprocessing.synchronize import Event

from api.http.settings import Settings, open_for_api
from api.vault_store import DeploymentSecrets, Vault
from api.views import ViewsReader, build_projections
from ledger.recorder import append_waits
from projections.runner import ProjectionRunner
from projections.store import ViewStore

logger = logging.getLogger(__name__)

POLL_SECONDS = 1.0  # between polls of the log while nothing is new
STOP_SECONDS = 30.0  # for a batch in progress to commit before terminating
WATCH_SECONDS = 0.5  # between looks at the stop event and the parent
CONNECTIONS = 2


class ViewsFollower:
    """A child process following the log into the views until stopped."""

    def __init__(self, settings: Settings, poll_seconds: float = POLL_SECONDS):
        # Spawned, not forked: the parent may hold database connections and
        # threads (uvicorn's), which a forked child must not inherit.
        self._context = multiprocessing.get_context("spawn")
        self._stop: Event | None = None  # made by start: it starts a helper
        self._process: SpawnProcess | None = None
        self.settings = settings
        self.poll_seconds = poll_seconds

    def start(self) -> bool:
        """Start following; False (with a warning) without the secrets file."""
        if not self.settings.secrets.exists():
            logger.warning(
                "the views are not followed: no secrets file at %s (run "
                "'fundledger views follow' with one)",
                self.settings.secrets,
            )
            return False
        self._stop = self._context.Event()
        self._process = self._context.Process(
            target=follow,
            args=(self.settings, self.poll_seconds, self._stop, os.getpid()),
            name="fundledger-views",
            daemon=True,
        )
        self._process.start()
        return True

    @property
    def alive(self) -> bool:
        """Whether the follower's process is running."""
        return self._process is not None and self._process.is_alive()

    def stop(self) -> None:
        """Ask the follower to end, wait for it, terminate it if it will not."""
        process, self._process = self._process, None
        if process is None or self._stop is None:
            return
        self._stop.set()
        process.join(STOP_SECONDS)
        if process.is_alive():
            logger.warning("the views follower did not stop; terminating it")
            process.terminate()
            process.join()
        process.close()


def follow(settings: Settings, poll_seconds: float, stop: Event, parent: int) -> None:
    """The follower process: catch up, then poll, until ``stop`` or orphaned."""
    logging.basicConfig(
        level=logging.INFO, format="views follower: %(levelname)s: %(message)s"
    )
    # Ctrl-C reaches the whole process group; the server stops this process.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    done = threading.Event()
    watcher = threading.Thread(
        target=_watch, args=(stop, parent, done), name="watch", daemon=True
    )
    watcher.start()
    ledger, _ = open_for_api(replace(settings, threads=CONNECTIONS))
    try:
        reader = ViewsReader(
            Vault(ledger.log_recorder, DeploymentSecrets.load(settings.secrets))
        )
        with ViewStore(ledger.storage) as store:
            runner = ProjectionRunner(
                store,
                build_projections(ledger, reader),
                before_batch=reader.prefetch,
            )
            with append_waits(ledger.log_recorder, ledger.storage) as wake:
                woken = " and at each append" if wake is not None else ""
                logger.info("following the log every %g s%s", poll_seconds, woken)
                runner.follow(poll_seconds, done, wake=wake)
    except Exception:
        logger.exception("the views follower stopped; the views fall behind the log")
        raise SystemExit(1) from None
    finally:
        done.set()
        ledger.close()


def _watch(stop: Event, parent: int, done: threading.Event) -> None:
    """Set ``done`` once the server asks, or once the server is gone."""
    while not done.is_set():
        if stop.wait(WATCH_SECONDS) or os.getppid() != parent:
            done.set()
