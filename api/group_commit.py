"""Group commit: concurrent writes recorded together, one transaction a group.

Every save is one transaction, and on PostgreSQL every transaction that writes
the log takes the same table lock: one request per transaction caps a server at
the rate of transactions, however many officers write at once. A
``GroupCommitter`` owns one thread that takes every request waiting when it is
free, checks and applies them one after another exactly as ``execute`` would,
and saves all of them in one transaction. Under load the groups grow by
themselves; a lone request is saved at once, without waiting for company.

Invariants (none of the log's guarantees is weakened):

- Each request is checked as ``api.commands`` checks every request: signature,
  command, role, jurisdiction, the domain's rules, replays. It sees what the
  requests before it in the group changed (``FundLedger.unsaved``), so the
  group records exactly what recording them one by one, in that order, would.
- A refused request leaves no trace and does not hold back the others. If the
  domain refused it halfway, after it had changed an aggregate that others in
  the group changed too, the group is worked out again without it.
- The group's requests and events are saved in one transaction, each request's
  record followed by its own events, in the order the requests came. A receipt
  names only its own request's entries. Given the log, the committer proves
  the group's receipts against one checkpoint with one read of the tree.
- A group that cannot be saved records nothing. When another writer changed
  one of its aggregates first (``IntegrityError``), each of its requests is
  worked out again as a group of its own, on the aggregates read afresh; a
  request that loses so even alone answers ``IntegrityError``, as ``execute``
  does after its retries, and its sender may send it again. Any other failure
  is every request's answer.
- A request with the key and request id of one accepted earlier in the group
  is executed after the group is saved, and answers as the replay it is (or is
  refused for reusing the id); its answer does not depend on anything else.
- Aggregates stay in the committer's own cache between groups, brought up to
  date from the store at each load (another process may have written), so a
  county's fund is not replayed from its first event for every request. What
  a refused request or an unsaved group may have changed is evicted from it.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.application import LRUCache
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from api.app import FundLedger
from api.commands import Applied, Receipt, check_and_apply
from api.requests import SignedRequest
from domain.requests import AcceptedRequest
from ledger.errors import LedgerMisuse
from ledger.log import InclusionProof, Log

logger = logging.getLogger(__name__)

# The most requests one transaction records; more wait for the next group.
MAX_GROUP = 256
# Aggregates the committer keeps between groups (funds, rolls, the registry).
CACHE_SIZE = 1024


@dataclass(frozen=True)
class ProvenReceipt(Receipt):
    """A receipt with the inclusion proof of each entry in a signed checkpoint."""

    size: int = 0
    checkpoint: str = ""
    proofs: tuple[InclusionProof, ...] = ()


class CommitterClosed(LedgerMisuse):
    """A write reached a server that is shutting down; nothing was recorded."""

    def __init__(self) -> None:
        super().__init__("the server is shutting down; send the request again")


@dataclass
class _Waiting:
    """One request and the answer its sender waits for."""

    signed: SignedRequest
    answer: Future[Receipt] = field(default_factory=Future)

    @property
    def key(self) -> tuple[str, str]:
        return self.signed.key_id, str(self.signed.request["request_id"])


@dataclass
class _Group:
    """A group worked out: what to save, and every other answer."""

    saved: list[tuple[_Waiting, list[Any]]] = field(default_factory=list)
    answers: list[tuple[_Waiting, Receipt | BaseException]] = field(
        default_factory=list
    )
    later: list[_Waiting] = field(default_factory=list)  # same key and request id
    touched: dict[UUID, Aggregate] = field(default_factory=dict)


class _HalfApplied(Exception):
    """A request was refused after it had changed a shared aggregate."""

    def __init__(self, waiting: _Waiting, error: BaseException) -> None:
        super().__init__(str(error))
        self.waiting = waiting
        self.error = error


class GroupCommitter:
    """Records the requests ``submit`` is given, gathered into groups."""

    def __init__(
        self,
        ledger: FundLedger,
        *,
        log: Log | None = None,
        max_group: int = MAX_GROUP,
        start: bool = True,
    ) -> None:
        self.ledger = ledger
        # With the log (and its key), receipts come proven, a group at a time.
        self.log = log
        self.max_group = max_group
        self._queue: queue.SimpleQueue[_Waiting | None] = queue.SimpleQueue()
        self._closed = False
        self._closing = threading.Lock()
        # Only the committing thread reads or changes these aggregates.
        self._cache: LRUCache[UUID, Any] = LRUCache(maxsize=CACHE_SIZE)
        # Counted by the one committing thread; read for reports and tests.
        self.groups = 0
        self.largest = 0
        self._thread = threading.Thread(
            target=self._run, name="group-commit", daemon=True
        )
        if start:
            self.start()

    def start(self) -> None:
        """Begin recording (``start=False`` lets requests queue up first)."""
        self._thread.start()

    def submit(self, signed: SignedRequest) -> Future[Receipt]:
        """Queue one request; the future answers with its receipt or refusal."""
        waiting = _Waiting(signed)
        with self._closing:
            if self._closed:
                waiting.answer.set_exception(CommitterClosed())
            else:
                self._queue.put(waiting)
        return waiting.answer

    def close(self) -> None:
        """Answer what is queued, then stop the thread."""
        with self._closing:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)  # nothing is queued after this
        if self._thread.ident is None:
            self._thread.start()
        self._thread.join()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                self._refuse_rest()
                return
            group = [first]
            stop = False
            while len(group) < self.max_group:
                try:
                    waiting = self._queue.get_nowait()
                except queue.Empty:
                    break
                if waiting is None:
                    stop = True
                    break
                group.append(waiting)
            try:
                self._commit(group)
            except BaseException as error:  # never leave a sender waiting
                logger.exception("group commit failed")
                for waiting in group:
                    if not waiting.answer.done():
                        waiting.answer.set_exception(error)
            if stop:
                self._refuse_rest()
                return

    def _refuse_rest(self) -> None:
        while True:
            try:
                waiting = self._queue.get_nowait()
            except queue.Empty:
                return
            if waiting is not None:
                waiting.answer.set_exception(CommitterClosed())

    def _commit(self, waiting: list[_Waiting]) -> None:
        """Work the group out, save it, answer everyone."""
        while True:
            try:
                group = self._work_out(waiting)
            except _HalfApplied as half:
                half.waiting.answer.set_exception(half.error)
                waiting = [w for w in waiting if w is not half.waiting]
                continue
            break
        self.groups += 1
        self.largest = max(self.largest, len(waiting))
        if group.saved:
            self._save(group)
        for one, answer in group.answers:
            _answer(one, answer)
        for one in group.later:
            self._commit([one])

    def _work_out(self, waiting: list[_Waiting]) -> _Group:
        """Check and apply each request in order, saving nothing."""
        group = _Group()
        accepted: set[tuple[str, str]] = set()
        records = {AcceptedRequest.create_id(*one.key) for one in waiting}
        absent = records - self.ledger.log_recorder.recorded_streams(list(records))
        with self.ledger.unsaved(group.touched, self._cache, absent) as loaded:
            for one in waiting:
                if one.key in accepted:  # its answer: a replay once saved
                    group.later.append(one)
                    continue
                before = {i: len(a.pending_events) for i, a in group.touched.items()}
                try:
                    applied = check_and_apply(self.ledger, one.signed)
                except Exception as error:  # noqa: BLE001 - the sender's answer
                    if any(
                        len(a.pending_events) != before[i]
                        for i, a in group.touched.items()
                    ):
                        self._forget({**loaded, **group.touched})
                        raise _HalfApplied(one, error) from None
                    changed = {
                        i: a
                        for i, a in loaded.items()
                        if i not in group.touched and a.pending_events
                    }
                    self._forget(changed)
                    for aggregate_id in changed:
                        del loaded[aggregate_id]
                    group.answers.append((one, error))
                    continue
                if isinstance(applied, Receipt):
                    group.answers.append((one, applied))
                    continue
                accepted.add(one.key)
                group.saved.append((one, list(_new_events(applied, before))))
                group.touched[applied.aggregate.id] = applied.aggregate
        return group

    def _save(self, group: _Group) -> None:
        """One transaction for every accepted request; their receipts."""
        events = [event for _, mine in group.saved for event in mine]
        try:
            recordings = self.ledger.save_events(events)
        except IntegrityError as error:
            self._forget(group.touched)
            if len(group.saved) == 1:  # lost alone: the sender may try again
                group.saved[0][0].answer.set_exception(error)
                return
            for one, _ in group.saved:
                self._commit([one])
            return
        except BaseException as error:  # noqa: BLE001 - every sender's answer
            self._forget(group.touched)
            for one, _ in group.saved:
                one.answer.set_exception(error)
            return
        for aggregate in group.touched.values():
            aggregate.collect_events()  # saved: the cache holds what is stored
        # One read for every entry; in one transaction, entries follow events.
        ids = [recording.notification.id for recording in recordings]
        positions = self.ledger.log_recorder.positions(ids)
        proven = self._prove(positions)
        entries = iter(positions)
        for one, mine in group.saved:
            own = [next(entries) for _ in mine]
            if proven is None:
                one.answer.set_result(Receipt(one.signed.digest, own, False))
                continue
            size, note, proofs = proven
            own_proofs = tuple(proofs[index] for index, _ in own)
            one.answer.set_result(
                ProvenReceipt(one.signed.digest, own, False, size, note, own_proofs)
            )

    def _prove(
        self, entries: list[tuple[int, str]]
    ) -> tuple[int, str, dict[int, InclusionProof]] | None:
        """One checkpoint and one read of the tree for the group's receipts.

        None without a log to sign with, or when proving fails: the receipts
        then go out unproven, and whoever answers proves them one by one.
        """
        if self.log is None or self.log.signer is None or not entries:
            return None
        indices = [index for index, _ in entries]
        try:
            size, note, proofs = self.log.proven(indices)
        except Exception:  # recorded anyway: proving can be done later
            logger.exception("could not prove a group's receipts")
            return None
        return size, note, dict(zip(indices, proofs, strict=True))

    def _forget(self, aggregates: dict[UUID, Aggregate]) -> None:
        """Evict aggregates whose cached state may not be what is stored."""
        for aggregate_id in aggregates:
            with suppress(KeyError):
                self._cache.get(aggregate_id, evict=True)


def _new_events(applied: Applied, before: dict[UUID, int]) -> Iterator[Any]:
    """The record's event, then what this request added to its aggregate."""
    yield from applied.record.pending_events
    yield from applied.aggregate.pending_events[before.get(applied.aggregate.id, 0) :]


def _answer(one: _Waiting, answer: Receipt | BaseException) -> None:
    if isinstance(answer, BaseException):
        one.answer.set_exception(answer)
    else:
        one.answer.set_result(answer)


__all__ = ["MAX_GROUP", "CommitterClosed", "GroupCommitter", "ProvenReceipt"]
