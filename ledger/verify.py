"""Full verification of a stored log.

Everything is recomputed from the stored entry bytes; nothing stored is taken
on trust. In order, for every position i of the log:

1. the row for position i exists (no gap in ``seq``);
2. SHA-256(0x00 || bytes) equals the leaf hash stored with the entry
   (the entry's bytes are unchanged);
3. the bytes decode to an envelope whose ``seq`` is i (no reordering,
   insertion or deletion that renumbered the rest);
4. its ``prev`` is the leaf hash of entry i - 1 (the hash chain);
5. the entry records a stored event, later in notification order than the
   previous entry's, and that event still says what the entry says
   (stream, version, type, actor, body, signatures);
6. the Merkle nodes stored with it equal the ones recomputed from the leaves;
7. the caller's ``entry_check`` (signed requests, added by the fund domain)
   accepts it.

Then: every stored event has an entry; every checkpoint ever issued (stored, and
any the caller kept elsewhere) carries a valid signature of the log's key, lies
within the log (else the log was truncated behind it) and has the root the
entries give at its size (else the log forked after it was signed).

The first failing position is reported with the kind of failure. Verification
never changes the database.
"""

from __future__ import annotations

import hashlib
import json
import time
from array import array
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

from ledger.checkpoint import Checkpoint, open_checkpoint
from ledger.entry import (
    ENVELOPE_KEYS,
    GENESIS_PREV,
    Entry,
    MalformedEntry,
    decode_state,
    parse_entry,
    split_state,
)
from ledger.errors import InvalidNote
from ledger.merkle import EMPTY_ROOT, CompactRange
from ledger.note import NoteVerifier
from ledger.recorder import LogRecorder


class FailureKind(StrEnum):
    """What verification found wrong, from the auditor's point of view."""

    CHANGED_BYTES = "changed bytes"
    BROKEN_LINK = "broken link"
    REORDERED = "reordering"
    MISSING_ENTRY = "missing entry"
    INSERTED_ENTRY = "inserted entry"
    CHANGED_EVENT = "changed event"
    CHANGED_NODE = "changed tree node"
    TRUNCATED = "truncation"
    FORK = "fork"
    BAD_SIGNATURE = "bad signature"


@dataclass(frozen=True)
class Failure:
    """The first thing that failed: where, what kind, and the evidence."""

    position: int
    kind: FailureKind
    detail: str

    def __str__(self) -> str:
        return f"entry {self.position}: {self.kind}: {self.detail}"


@dataclass(frozen=True)
class Report:
    """The outcome of one verification run."""

    size: int
    root: bytes
    checkpoints: int
    seconds: float
    failure: Failure | None

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return self.failure is None


EntryCheck = Callable[[int, dict[str, Any]], str | None]
"""Extra per-entry check: (position, envelope) -> None if fine, else why not."""

_LEAF_PREFIX = b"\x00"


class _Stop(Exception):
    """Internal control flow: the first failure ends the pass; never escapes."""

    def __init__(self, failure: Failure) -> None:
        self.failure = failure


def verify_log(
    recorder: LogRecorder,
    origin: str,
    verifier: NoteVerifier,
    *,
    extra_checkpoints: Sequence[str] = (),
    entry_check: EntryCheck | None = None,
    batch_size: int = 5000,
) -> Report:
    """Verify the whole log at ``recorder`` against its key and checkpoints."""
    started = time.perf_counter()
    # The newest event first, then the size: every event up to that one was
    # committed with its entry, so both readings describe one consistent log
    # even while others keep appending.
    newest_event = recorder.max_notification_id() or 0
    size = recorder.log_size()
    failures: list[Failure] = []

    # Checkpoints first: they name the sizes whose roots the stream must keep.
    sources: list[tuple[str, str, tuple[int, bytes] | None]] = [
        (note, f"the checkpoint stored at {issued}", (cp_size, root))
        for cp_size, root, note, issued in recorder.read_checkpoints()
    ]
    sources += [(note, "a checkpoint kept outside", None) for note in extra_checkpoints]
    opened: list[tuple[Checkpoint, str]] = []
    for note, source, columns in sources:
        try:
            checkpoint = open_checkpoint(note, [verifier], origin=origin)
        except InvalidNote as error:
            failures.append(_checkpoint_failure(note, source, error))
            continue
        if columns is not None and columns != (checkpoint.size, checkpoint.root):
            failures.append(
                Failure(
                    checkpoint.size,
                    FailureKind.CHANGED_BYTES,
                    f"the size or root stored beside {source} differ from the note",
                )
            )
        opened.append((checkpoint, source))

    # Then every entry, in order.
    tree = CompactRange()
    roots: dict[int, bytes] = {0: EMPTY_ROOT}
    wanted = {checkpoint.size for checkpoint, _ in opened}
    stream_failed = False
    try:
        nids = _verify_entries(
            recorder,
            size,
            tree=tree,
            roots=roots,
            wanted_sizes=wanted,
            entry_check=entry_check,
            batch_size=batch_size,
        )
        _verify_no_orphans(recorder, nids, newest_event)
    except _Stop as stop:
        failures.append(stop.failure)
        stream_failed = True

    # Each valid checkpoint must lie within the log and match its root there.
    # After a failure in the stream only the verified prefix can be judged.
    for checkpoint, source in opened:
        if checkpoint.size in roots:
            if roots[checkpoint.size] != checkpoint.root:
                failures.append(
                    Failure(
                        checkpoint.size,
                        FailureKind.FORK,
                        f"the first {checkpoint.size} entries no longer hash to "
                        f"the root signed in {source}: the log was rewritten",
                    )
                )
        elif checkpoint.size > size and not stream_failed:
            failures.append(
                Failure(
                    size,
                    FailureKind.TRUNCATED,
                    f"{source} was signed at size {checkpoint.size} but the log "
                    f"has only {size} entries",
                )
            )

    first = min(failures, key=lambda f: f.position) if failures else None
    return Report(
        size=tree.size,
        root=tree.root(),
        checkpoints=len(opened),
        seconds=time.perf_counter() - started,
        failure=first,
    )


def _checkpoint_failure(note: str, source: str, error: InvalidNote) -> Failure:
    position = 0
    lines = note.split("\n")
    if len(lines) > 1 and lines[1].isdigit():
        position = int(lines[1])
    return Failure(position, FailureKind.BAD_SIGNATURE, f"{error.reason} ({source})")


def _verify_entries(
    recorder: LogRecorder,
    size: int,
    *,
    tree: CompactRange,
    roots: dict[int, bytes],
    wanted_sizes: set[int],
    entry_check: EntryCheck | None,
    batch_size: int,
) -> array[int]:
    """Steps 1-7 over every entry; returns the notification ids in log order.

    The loop only asks whether everything holds; when something does not,
    ``_diagnose`` goes through the steps one by one to say what.
    """
    sha256 = hashlib.sha256
    loads = orjson.loads
    stream_of = recorder.stored_stream
    keys = ENVELOPE_KEYS
    nids = array("q")
    prev = GENESIS_PREV
    last_nid = -1
    position = 0
    for batch in recorder.verification_rows(size, batch_size):
        for row in batch:
            seq, nid, stored_leaf, stored_nodes, raw, stream, version, topic, state = (
                row
            )
            leaf = sha256(_LEAF_PREFIX + raw).digest()
            nodes = tree.append_packed(leaf)
            try:
                envelope = loads(raw)
                event = loads(state)
                actor = event.pop("actor", None)
                signatures = event.pop("signatures", None)
                holds = (
                    seq == position
                    and leaf == stored_leaf
                    and envelope.keys() == keys
                    and envelope["seq"] == position
                    and envelope["prev"] == prev
                    and nid > last_nid
                    and envelope["body"] == event
                    and envelope["actor"] == actor
                    and envelope["signatures"]
                    == ([] if signatures is None else signatures)
                    and envelope["version"] == version
                    and envelope["type"] == topic
                    and envelope["stream"] == stream_of(stream)
                    and nodes == stored_nodes
                    and type(envelope["seq"]) is int
                )
            except (ValueError, TypeError, AttributeError):
                holds = False
            if not holds:
                raise _Stop(
                    _diagnose(
                        recorder,
                        size,
                        position,
                        row=row,
                        prev=prev,
                        last_nid=last_nid,
                        nodes=nodes,
                    )
                )

            # 7. Whatever the caller checks (signed requests).
            if entry_check is not None:
                problem = entry_check(position, envelope)
                if problem:
                    raise _Stop(Failure(position, FailureKind.BAD_SIGNATURE, problem))

            prev = leaf.hex()
            last_nid = nid
            nids.append(nid)
            position += 1
            if position in wanted_sizes:
                roots[position] = tree.root()
    if position != size:
        raise _Stop(
            Failure(
                position,
                FailureKind.MISSING_ENTRY,
                f"the log should have {size} entries but only {position} are stored",
            )
        )
    return nids


def _diagnose(
    recorder: LogRecorder,
    size: int,
    position: int,
    *,
    row: Sequence[Any],
    prev: str,
    last_nid: int,
    nodes: bytes,
) -> Failure:
    """Name the first of steps 1-6 that entry ``position`` fails."""
    seq, nid, stored_leaf, stored_nodes, raw, stream, version, topic, state = row

    # 1. No gap.
    if seq != position:
        return Failure(
            position,
            FailureKind.MISSING_ENTRY,
            f"there is no entry {position}; the next stored one is {seq}",
        )

    # 2. Bytes unchanged.
    leaf = hashlib.sha256(_LEAF_PREFIX + raw).digest()
    if leaf != stored_leaf:
        return Failure(
            position,
            FailureKind.CHANGED_BYTES,
            f"the entry hashes to {leaf.hex()} but was recorded with leaf hash "
            f"{bytes(stored_leaf).hex()}",
        )
    try:
        envelope = parse_entry(raw)
    except MalformedEntry as error:
        return Failure(position, FailureKind.CHANGED_BYTES, error.reason)

    # 3. In its place.
    if envelope.seq != position:
        return _misplaced(recorder, position, envelope.seq, size)

    # 4. Chained to its predecessor.
    if envelope.prev != prev:
        return Failure(
            position,
            FailureKind.BROKEN_LINK,
            f"prev is {envelope.prev} but entry {position - 1} hashes to {prev}",
        )

    # 5. Its event is there, in order, and unchanged.
    if nid <= last_nid:
        return Failure(
            position,
            FailureKind.REORDERED,
            f"records event {nid}, not after the previous entry's event {last_nid}",
        )
    if state is None:
        return Failure(
            position,
            FailureKind.INSERTED_ENTRY,
            f"no stored event has notification id {nid}: the entry was inserted "
            "or its event deleted",
        )
    mismatch = _event_mismatch(
        envelope, recorder.stored_stream(stream), version, topic, state
    )
    if mismatch:
        return Failure(position, FailureKind.CHANGED_EVENT, mismatch)

    # 6. Stored tree nodes agree with the leaves.
    if nodes != stored_nodes:
        return Failure(
            position,
            FailureKind.CHANGED_NODE,
            "the Merkle nodes stored with this entry differ from the ones its "
            "leaves give",
        )
    return Failure(position, FailureKind.CHANGED_BYTES, "the entry does not verify")


def _event_mismatch(
    envelope: Entry, stream: str, version: int, topic: str, state: bytes
) -> str | None:
    try:
        value = decode_state(bytes(state))
    except MalformedEntry as error:
        return f"the stored event's {error.reason}"
    actor, signatures, body = split_state(value)
    compared = (
        ("stream", envelope.stream, stream),
        ("version", envelope.version, version),
        ("type", envelope.type, topic),
        ("actor", envelope.actor, actor),
        ("signatures", envelope.signatures, signatures),
        ("body", envelope.body, body),
    )
    for field, recorded, stored in compared:
        if recorded != stored:
            return f"the stored event's {field} differs from the entry's"
    return None


def _misplaced(
    recorder: LogRecorder, position: int, claimed: Any, size: int
) -> Failure:
    """Name what happened when entry ``position`` claims another position."""
    if not isinstance(claimed, int) or isinstance(claimed, bool):
        return Failure(position, FailureKind.CHANGED_BYTES, "seq is not an integer")
    later = _later_claimant(recorder, position, size)
    if later is not None:
        return Failure(
            position,
            FailureKind.REORDERED,
            f"entry {position} is stored at position {later} and the entry "
            f"stored here says it is entry {claimed}",
        )
    if claimed > position:
        return Failure(
            position,
            FailureKind.MISSING_ENTRY,
            f"the entry stored here says it is entry {claimed}: "
            f"{claimed - position} entries before it are gone",
        )
    return Failure(
        claimed,
        FailureKind.INSERTED_ENTRY,
        f"the entry stored at {position} says it is entry {claimed}: "
        f"{position - claimed} entries were inserted before it",
    )


def _later_claimant(recorder: LogRecorder, position: int, size: int) -> int | None:
    """The later position whose entry says it is entry ``position``, if any."""
    for batch in recorder.verification_rows(size, start=position + 1):
        for row in batch:
            try:
                claimed = json.loads(bytes(row[4])).get("seq")
            except (ValueError, AttributeError):
                continue
            if claimed == position:
                return int(row[0])
    return None


def _verify_no_orphans(recorder: LogRecorder, nids: array[int], up_to: int) -> None:
    """Every stored event up to ``up_to`` must have an entry."""
    after = -1
    while ids := recorder.event_ids(after, up_to, 10_000):
        for nid in ids:
            where = bisect_left(nids, nid)
            if where == len(nids) or nids[where] != nid:
                raise _Stop(
                    Failure(
                        where,
                        FailureKind.MISSING_ENTRY,
                        f"stored event {nid} has no entry: its entry was deleted",
                    )
                )
        after = ids[-1]
