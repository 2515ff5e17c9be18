"""The event-sourced application that every fundledger ledger is.

``LedgerApplication`` is an ``eventsourcing`` Application whose recorder writes
the log in the same transaction as the events (``ledger.recorder``). It knows
nothing of funds: the domain's aggregates are saved through it by ``api/``.

A ledger exists once ``create`` has made its tables and written its metadata
(origin and verifier key); ``open`` refuses a location without them rather than
silently creating an empty ledger there. Tables are created only by ``create``,
never when opening, so several processes can open one ledger at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent, Repository
from eventsourcing.persistence import IntegrityError, PersistenceError, Recording

from ledger.entry import timestamp
from ledger.errors import (
    LedgerExists,
    LedgerMisuse,
    LedgerNotFound,
    UnsafeConfiguration,
)
from ledger.log import Log
from ledger.note import NoteSigner, NoteVerifier
from ledger.recorder import LogRecorder
from ledger.storage import APP_NAME, Storage, application_env


class DatabaseUnavailable(LedgerMisuse):
    """The database could not be reached or read."""

    def __init__(self, location: str, reason: str) -> None:
        super().__init__(f"cannot open database {location}: {reason}")
        self.location = location
        self.reason = reason


def replay(aggregate: Any, events: Iterable[Any]) -> Any:
    """``aggregate`` with ``events`` applied in order (None before the first).

    The library's ``project_aggregate`` does the same after checking each
    event against a runtime protocol, a check that costs more than most
    events' mutation: a county's rolls of 100,000 pupils are 200,000 events.
    Events read from the store are the library's own domain events.
    """
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


class LedgerRepository(Repository[UUID]):
    """The library's repository (same store, cache and settings as
    ``library``) replaying stored events with ``replay``."""

    def __init__(self, library: Repository[UUID]) -> None:
        self.__dict__.update(library.__dict__)

    def get(self, aggregate_id: UUID, **kwargs: Any) -> Any:
        """The aggregate as its stored events make it (see ``Repository.get``)."""
        kwargs.setdefault("projector_func", replay)
        return super().get(aggregate_id, **kwargs)


class LedgerApplication(Application[UUID]):
    """An ``eventsourcing`` application whose every saved event is logged."""

    name = APP_NAME

    def __init__(
        self,
        storage: Storage,
        *,
        create_tables: bool = False,
        pool_size: int = 5,
        **kwargs: Any,
    ) -> None:
        env = application_env(storage, create_tables=create_tables, pool_size=pool_size)
        try:
            super().__init__(env=env, **kwargs)
        except PersistenceError as error:
            raise DatabaseUnavailable(storage.display, _first_line(error)) from None
        datastore = getattr(self.recorder, "datastore", None)
        if getattr(datastore, "enable_db_functions", False):
            raise UnsafeConfiguration(
                "POSTGRES_ENABLE_DB_FUNCTIONS", "it inserts events without the log"
            )
        if not isinstance(self.recorder, LogRecorder):
            raise UnsafeConfiguration(
                "APPLICATION_RECORDER_TOPIC", "the recorder must write the log"
            )
        self.storage = storage
        self.log_recorder: LogRecorder = self.recorder

    def construct_repository(self) -> LedgerRepository:
        """The library's repository, replaying without per-event checks."""
        return LedgerRepository(super().construct_repository())

    def save_events(self, events: Sequence[Any]) -> list[Recording[UUID]]:
        """Save events already taken from their aggregates, in this order.

        ``save`` with events does the same, but checks each against the
        library's runtime protocols, which costs more than recording a small
        event; here the caller vouches that each is a domain event.
        """
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        processing_event.events.extend(events)
        recordings = self._record(processing_event)
        self._notify(recordings)
        return recordings


App = TypeVar("App", bound=LedgerApplication)


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


def create_ledger(
    storage: Storage,
    origin: str,
    signer: NoteSigner,
    *,
    app_class: type[App] = LedgerApplication,  # type: ignore[assignment]
    **kwargs: Any,
) -> tuple[App, Log]:
    """Create the tables and metadata of a new ledger at ``storage``."""
    if signer.name != origin:
        raise LedgerMisuse(
            f"the log key is named {signer.name!r} but the origin is {origin!r}: "
            "a checkpoint's key name must be its origin"
        )
    if storage.sqlite_path is not None and storage.sqlite_path.exists():
        raise LedgerExists(storage.display)
    if storage.sqlite_path is not None and not storage.sqlite_path.parent.is_dir():
        raise DatabaseUnavailable(storage.display, "its directory does not exist")
    app = app_class(storage, create_tables=True, **kwargs)
    try:
        # Plain inserts: a second init, even a concurrent one, violates the
        # primary key and changes nothing.
        app.log_recorder.write_meta(
            {"origin": origin, "vkey": signer.verifier_key, "created_at": timestamp()}
        )
    except IntegrityError:
        app.close()
        raise LedgerExists(storage.display) from None
    except PersistenceError as error:
        app.close()
        raise DatabaseUnavailable(storage.display, _first_line(error)) from None
    return app, Log(app.log_recorder, origin, NoteVerifier(signer.verifier_key), signer)


def open_ledger(
    storage: Storage,
    signer: NoteSigner | None = None,
    *,
    app_class: type[App] = LedgerApplication,  # type: ignore[assignment]
    **kwargs: Any,
) -> tuple[App, Log]:
    """Open an existing ledger; ``signer`` is needed only to sign checkpoints."""
    if storage.sqlite_path is not None and not storage.sqlite_path.is_file():
        raise LedgerNotFound(storage.display)
    app = app_class(storage, create_tables=False, **kwargs)
    try:
        meta = app.log_recorder.read_meta()
    except PersistenceError as error:
        app.close()
        reason = _first_line(error)
        if "log_meta" in reason:
            raise LedgerNotFound(storage.display) from None
        raise DatabaseUnavailable(storage.display, reason) from None
    if "origin" not in meta or "vkey" not in meta:
        app.close()
        raise LedgerNotFound(storage.display)
    verifier = NoteVerifier(meta["vkey"])
    if signer is not None and signer.verifier_key != meta["vkey"]:
        app.close()
        raise LedgerMisuse(
            f"the key given is {signer.verifier_key.split('+')[0]}+"
            f"{signer.verifier_key.split('+')[1]}, but this log's key is "
            f"{meta['vkey'].split('+')[0]}+{meta['vkey'].split('+')[1]}"
        )
    return app, Log(app.log_recorder, meta["origin"], verifier, signer)
