"""The verifiable log of one ledger: entries, roots, proofs and checkpoints.

Reads go through the recorder's stored Merkle nodes, so a root, an inclusion
proof or a consistency proof costs one query of O(log n) rows whatever the size
of the log. Checkpoints are signed with the log's Ed25519 key and every one
issued is stored, so that ``verify`` can later prove that the log still extends
each of them.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from ledger.checkpoint import Checkpoint, sign_checkpoint
from ledger.entry import timestamp
from ledger.errors import LedgerMisuse, OutOfRange
from ledger.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    consistency_ranges,
    inclusion_proof,
    inclusion_ranges,
    nodes_for_ranges,
    range_hash,
    root_nodes,
)
from ledger.note import NoteSigner, NoteVerifier
from ledger.recorder import LogRecorder


class NoSigningKey(LedgerMisuse):
    """A checkpoint was asked for without the log's signer key."""

    def __init__(self) -> None:
        super().__init__("signing a checkpoint needs the log's key (--log-key)")


class MissingTreeNode(LedgerMisuse):
    """The stored tree lacks a node that the log's size says must be there."""

    def __init__(self, size: int) -> None:
        super().__init__(
            f"stored Merkle nodes are incomplete for size {size}: run 'verify'"
        )
        self.size = size


def _b64(hashes: list[bytes]) -> list[str]:
    return [base64.b64encode(value).decode("ascii") for value in hashes]


@dataclass(frozen=True)
class InclusionProof:
    """RFC 9162 inclusion proof of entry ``index`` in the tree of ``size``."""

    index: int
    size: int
    hashes: list[bytes]

    def to_json(self) -> str:
        """The CLI's and API's form: index, size and base64 hashes."""
        value = {"index": self.index, "size": self.size, "hashes": _b64(self.hashes)}
        return json.dumps(value)


@dataclass(frozen=True)
class ConsistencyProof:
    """RFC 9162 consistency proof between tree sizes ``old`` and ``new``."""

    old: int
    new: int
    hashes: list[bytes]

    def to_json(self) -> str:
        """The CLI's and API's form: old, new and base64 hashes."""
        value = {"old": self.old, "new": self.new, "hashes": _b64(self.hashes)}
        return json.dumps(value)


class Log:
    """Read access to one ledger's log, and checkpoint signing when keyed."""

    def __init__(
        self,
        recorder: LogRecorder,
        origin: str,
        verifier: NoteVerifier,
        signer: NoteSigner | None = None,
    ) -> None:
        self.recorder = recorder
        self.origin = origin
        self.verifier = verifier
        self.signer = signer
        self._latest: tuple[int, str] | None = None  # (size, note) signed last
        self._known_size = 0  # the largest size read: the log is at least this
        self._signing = threading.Lock()

    def size(self) -> int:
        """Number of entries now."""
        size = self.recorder.log_size()
        self._known_size = max(self._known_size, size)
        return size

    def _check_size(self, size: int | None) -> int:
        if size is not None and 0 <= size <= self._known_size:
            return size  # the log never shrinks: no need to ask again
        current = self.size()
        if size is None:
            return current
        if not 0 <= size <= current:
            raise OutOfRange("size", size, current)
        return size

    def root(self, size: int | None = None) -> bytes:
        """The Merkle tree hash of the first ``size`` entries (default: all)."""
        size = self._check_size(size)
        if size == 0:
            return EMPTY_ROOT
        wanted = root_nodes(size)
        nodes = self.recorder.read_nodes(wanted)
        if len(nodes) != len(wanted):
            raise MissingTreeNode(size)
        return range_hash(0, size, nodes)

    def entry(self, index: int) -> bytes:
        """The exact stored bytes of entry ``index``."""
        size = self.size()
        if not 0 <= index < size:
            raise OutOfRange("index", index, size - 1)
        data = self.recorder.read_entry(index)
        if data is None:
            raise MissingTreeNode(size)
        return data

    def inclusion_proof(self, index: int, size: int | None = None) -> InclusionProof:
        """Prove entry ``index`` is in the tree of ``size`` (default: all)."""
        size = self._check_size(size)
        if not 0 <= index < size:
            raise OutOfRange("index", index, size - 1)
        wanted = nodes_for_ranges(inclusion_ranges(index, size))
        nodes = self.recorder.read_nodes(wanted)
        if len(nodes) != len(wanted):
            raise MissingTreeNode(size)
        return InclusionProof(index, size, inclusion_proof(index, size, nodes))

    def inclusion_proofs(
        self, indices: Sequence[int], size: int
    ) -> list[InclusionProof]:
        """``inclusion_proof`` for several entries of one tree: one read."""
        size = self._check_size(size)
        for index in indices:
            if not 0 <= index < size:
                raise OutOfRange("index", index, size - 1)
        ranges = [inclusion_ranges(index, size) for index in indices]
        wanted = nodes_for_ranges([r for rs in ranges for r in rs])
        nodes = self.recorder.read_nodes(wanted)
        if len(nodes) != len(wanted):
            raise MissingTreeNode(size)
        return [
            InclusionProof(index, size, inclusion_proof(index, size, nodes))
            for index in indices
        ]

    def consistency_proof(self, old: int, new: int) -> ConsistencyProof:
        """Prove the tree of size ``new`` extends the tree of size ``old``."""
        new = self._check_size(new)
        if not 1 <= old <= new:
            # RFC 9162 proves consistency only from a non-empty tree.
            raise OutOfRange("old size", old, new, low=1)
        wanted = nodes_for_ranges(consistency_ranges(old, new))
        nodes = self.recorder.read_nodes(wanted)
        if len(nodes) != len(wanted):
            raise MissingTreeNode(new)
        return ConsistencyProof(old, new, consistency_proof(old, new, nodes))

    def checkpoint_covering(self, entries: int) -> tuple[int, str]:
        """A signed checkpoint of at least the first ``entries`` entries.

        The one this object signed last when it covers them, else a new one of
        the log as it is now: receipts written at the same moment share one
        signature and one stored checkpoint, not one each. Thread-safe.
        """
        with self._signing:
            latest = self._latest
            if latest is None or latest[0] < entries:
                size = self.size()
                latest = (size, self.checkpoint(size))
            return latest

    def proven(self, indices: Sequence[int]) -> tuple[int, str, list[InclusionProof]]:
        """A signed checkpoint covering these entries, and each one's proof in it.

        ``checkpoint_covering`` and ``inclusion_proofs``: what a receipt needs.
        """
        size, note = self.checkpoint_covering(max(indices) + 1)
        return size, note, self.inclusion_proofs(indices, size)

    def checkpoint(self, size: int | None = None) -> str:
        """Sign, store and return the checkpoint note for ``size`` (default: now)."""
        if self.signer is None:
            raise NoSigningKey
        size = self._check_size(size)
        root = self.root(size)
        note = sign_checkpoint(Checkpoint(self.origin, size, root), self.signer)
        self.recorder.store_checkpoint(size, root, note, timestamp())
        if self._latest is None or self._latest[0] < size:
            self._latest = (size, note)
        return note
