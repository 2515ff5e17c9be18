"""The projection runner: follows the log and keeps every view's stored rows.

A runner reads the log's entries in order, in batches, decodes each once, feeds
it to every projection that has not seen it, and commits each projection's
changed rows together with its new position (``projections.store``). It can be
stopped at any moment: a new runner restores each projection from its stored
rows and goes on from its stored position, with the same result as one that
never stopped, because projections are deterministic and their whole state is
their rows.

Each projection has its own position, so one can be rebuilt from the first entry
while the others keep theirs. The SQLite back end has no notifications, so a
follower polls; PostgreSQL is polled the same way (simple, and a batch read
costs one indexed range query).

Invariants:

- The stored rows of a projection are always exactly the rows at its stored
  position (one transaction per batch).
- A projection that raises while applying a batch commits nothing of it and is
  restored from its stored rows before the error reaches the caller.
- Any number of runners may follow one ledger: a batch commits only from the
  stored state it was computed from; the runner that loses restores and goes on.
- The entries a batch feeds are consecutive from the projection's position; a
  hole in the log stops the runner (``MissingEntry``) rather than skip it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from eventsourcing.persistence import InterfaceError, OperationalError

from ledger.errors import BadData, FundLedgerError, LedgerMisuse
from projections.base import Projection
from projections.feed import LoggedEvent
from projections.store import StoredPosition, ViewConflict, ViewStore

logger = logging.getLogger(__name__)

BATCH_SIZE = 5000
# A rebuild commits each view every this many entries, not every batch: it
# writes from scratch, and nobody waits on its rows before it is done. What a
# commit holds besides the rows in memory is small (about 17 MB for a county's
# 100,000 entries), and a county's rebuild is then one commit per view.
REBUILD_COMMIT = 200_000


class UnknownView(LedgerMisuse):
    """A view name that no registered projection has."""

    def __init__(self, name: str, known: Sequence[str]) -> None:
        super().__init__(
            f"no view named {name!r}; the views are: {', '.join(known) or 'none'}"
        )
        self.name = name
        self.known = list(known)


class ViewOutdated(LedgerMisuse):
    """Stored rows built by another version of the projection's code."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"view {name} was built by another version of its code: "
            f"run 'fundledger views rebuild {name}'"
        )
        self.name = name


class ProjectionFailed(FundLedgerError):
    """A projection raised while applying an entry; nothing of its batch was kept."""

    def __init__(self, name: str, seq: int, error: BaseException) -> None:
        super().__init__(
            f"view {name} failed at entry {seq}: {type(error).__name__}: {error}"
        )
        self.name = name
        self.seq = seq
        self.error = error


class MissingEntry(BadData):
    """The log has no entry where the next one must be."""

    def __init__(self, expected: int, found: int) -> None:
        super().__init__(
            f"the log skips from entry {expected - 1} to entry {found}: "
            "run 'fundledger verify'"
        )
        self.expected = expected
        self.found = found


@dataclass(frozen=True)
class ViewStatus:
    """Where one view stands against the log."""

    name: str
    position: int
    log_size: int
    updated_at: str | None
    outdated: bool

    @property
    def lag(self) -> int:
        """Entries in the log the view has not applied yet (< 0: log lost some)."""
        return self.log_size - self.position


class ProjectionRunner:
    """Feeds the log to a list of projections and stores what they make of it.

    Unlike the ``eventsourcing`` library's runner of the same name, this one
    reads the log's entries (what was hashed and can be proven), not the
    application's notifications, and polls, which works on SQLite too.
    """

    def __init__(
        self,
        store: ViewStore,
        projections: Sequence[Projection],
        *,
        batch_size: int = BATCH_SIZE,
        before_batch: Callable[[Sequence[LoggedEvent]], None] | None = None,
    ) -> None:
        """``before_batch`` sees each batch before any projection does: a
        lookup behind the projections (the vault) can fetch what the batch will
        ask for in one query instead of one per entry. It must not change what
        the lookups answer, only how fast.
        """
        if batch_size < 1:
            raise LedgerMisuse(f"batch size must be at least 1, got {batch_size}")
        names = [p.name for p in projections]
        if len(set(names)) != len(names):
            raise LedgerMisuse(f"two projections share a name: {names}")
        self.store = store
        self.batch_size = batch_size
        self.before_batch = before_batch
        self.projections = {p.name: p for p in projections}
        self._stored: dict[str, StoredPosition] = {}
        for projection in projections:
            store.register(projection)

    def projection(self, name: str) -> Projection:
        """The registered projection called ``name``."""
        try:
            return self.projections[name]
        except KeyError:
            raise UnknownView(name, sorted(self.projections)) from None

    # Restoring ----------------------------------------------------------------

    def _restore(self, projection: Projection) -> StoredPosition:
        stored = self.store.load(projection)
        if stored.outdated:
            raise ViewOutdated(projection.name)
        self._stored[projection.name] = stored
        return stored

    def _position(self, projection: Projection) -> StoredPosition:
        stored = self._stored.get(projection.name)
        return self._restore(projection) if stored is None else stored

    # Catching up ----------------------------------------------------------------

    def update(self, *, max_batches: int | None = None) -> int:
        """Catch every projection up with the log; return the entries applied.

        The count is of log entries read and fed to the projections behind
        them (an entry fed to two projections counts once). ``max_batches``
        stops early, as a crash between batches would. Each batch is committed
        on its own.
        """
        return self._catch_up(max_batches, commit_every=1)

    def _catch_up(self, max_batches: int | None, *, commit_every: int) -> int:
        """``update``, committing each projection every ``commit_every`` entries.

        Entries are read and fed a batch at a time; a projection's rows are
        written once it has been fed at least ``commit_every`` entries since
        its last commit, and when the log (or ``max_batches``) ends. Fewer,
        larger commits write a row changed by several batches once and spare
        the database a transaction per batch; the rows are the same.
        """
        applied = 0
        batches = 0
        # Per projection fed since its last commit: the next seq, the last
        # entry fed and how many entries.
        fed: dict[str, int] = {}
        last: dict[str, LoggedEvent] = {}
        counts: dict[str, int] = {}
        try:
            while max_batches is None or batches < max_batches:
                positions = {
                    name: fed[name] if name in fed else self._position(p).position
                    for name, p in self.projections.items()
                }
                if not positions:
                    break
                start = min(positions.values())
                entries = self.store.read_entries(start, self.batch_size)
                if not entries:
                    break
                entries = _consecutive(entries, start)
                if self.before_batch is not None:
                    self.before_batch(entries)
                for name, projection in self.projections.items():
                    offset = positions[name] - start
                    if offset >= len(entries):
                        continue
                    if name not in fed:
                        # Nothing outside a commit may leak into it.
                        projection.take_changes()
                    self._feed(projection, entries[offset:])
                    fed[name] = entries[-1].seq + 1
                    last[name] = entries[-1]
                    counts[name] = counts.get(name, 0) + len(entries) - offset
                    if counts[name] >= commit_every:
                        del fed[name], counts[name]
                        self._commit(projection, last.pop(name))
                applied += len(entries)
                batches += 1
            for name in list(last):
                del fed[name], counts[name]
                self._commit(self.projections[name], last.pop(name))
        except BaseException:
            # Projections fed past their stored rows: restore them before
            # they go on, or they would apply those entries twice.
            for name in fed:
                self._stored.pop(name, None)
            raise
        return applied

    def _feed(self, projection: Projection, entries: Sequence[LoggedEvent]) -> None:
        """Apply entries to one projection, or restore it and raise."""
        apply = projection.apply
        try:
            for event in entries:
                apply(event)
        except Exception as error:
            # The projection's rows are half way through the batch: forget them.
            failed_at = event.seq
            self._restore(projection)
            logger.exception("view %s failed at entry %d", projection.name, failed_at)
            raise ProjectionFailed(projection.name, failed_at, error) from error

    def _commit(self, projection: Projection, last: LoggedEvent) -> None:
        """Write what the projection changed since its last commit, up to ``last``."""
        expected = self._position(projection)
        try:
            self._stored[projection.name] = self.store.commit(
                projection,
                projection.take_changes(),
                expected=expected,
                position=last.seq + 1,
                notification_id=last.notification_id,
            )
        except ViewConflict as conflict:
            # Another runner (or a rebuild) got there first: its state is the
            # one to go on from, restored before the next batch.
            logger.info("%s; restoring it", conflict)
            self._stored.pop(projection.name, None)
        except OperationalError as error:
            if "locked" not in str(error):
                self._stored.pop(projection.name, None)
                raise
            # SQLite gave up waiting for another follower's write: this batch
            # was rolled back whole, so it is as if that follower had won.
            logger.warning("view %s: %s; restoring it", projection.name, error)
            self._stored.pop(projection.name, None)
        except BaseException:
            # Unknown whether it committed (a lost connection): restore too.
            self._stored.pop(projection.name, None)
            raise

    def follow(
        self,
        poll_interval: float = 1.0,
        stop: threading.Event | None = None,
        *,
        on_update: Callable[[int], None] | None = None,
        wake: Callable[[float], object] | None = None,
    ) -> None:
        """Keep the projections up to date until ``stop`` is set.

        The log is polled every ``poll_interval`` seconds while there is nothing
        new; a database that is briefly unreachable is tried again, with a
        warning, rather than ending the follower. ``on_update`` hears how many
        entries each catch-up applied, when it applied any. ``wake(seconds)``,
        if given, waits in place of the poll and returns early when the log may
        have grown (``ledger.recorder.append_waits``).
        """
        stop = stop or threading.Event()
        wait = wake or stop.wait
        while not stop.is_set():
            try:
                applied = self.update()
            except (InterfaceError, OperationalError) as error:
                logger.warning("cannot read the log, trying again: %s", error)
                applied = 0
            if applied == 0:
                wait(poll_interval)
            elif on_update is not None:
                on_update(applied)

    def rebuild(self, name: str | None = None) -> int:
        """Forget a view's rows (every view's without ``name``), replay the log.

        Returns the number of entries applied. The other views keep their
        positions and are only brought up to date. Each view is committed every
        ``REBUILD_COMMIT`` entries rather than every batch, so a rebuild
        stopped half way keeps less of its work, but writes much less.
        """
        names = [name] if name is not None else sorted(self.projections)
        for each in names:
            projection = self.projection(each)
            self._stored[each] = self.store.reset(projection)
        return self._catch_up(None, commit_every=max(self.batch_size, REBUILD_COMMIT))

    # Reporting -----------------------------------------------------------------

    def status(self) -> list[ViewStatus]:
        """Each view's position, the log's size and when the view last moved."""
        log_size = self.store.log_size()
        result = []
        for name in sorted(self.projections):
            stored = self.store.position(self.projections[name])
            if stored.position > log_size:
                logger.warning(
                    "view %s is at entry %d but the log has only %d entries",
                    name,
                    stored.position,
                    log_size,
                )
            result.append(
                ViewStatus(
                    name=name,
                    position=stored.position,
                    log_size=log_size,
                    updated_at=stored.updated_at,
                    outdated=stored.outdated,
                )
            )
        return result


def _consecutive(entries: list[LoggedEvent], start: int) -> list[LoggedEvent]:
    """The entries, checked to be ``start``, ``start + 1``, ... with no hole."""
    for offset, event in enumerate(entries):
        if event.seq != start + offset:
            raise MissingEntry(start + offset, event.seq)
    return entries
