"""RFC 9162 §2.1 Merkle trees over the log's leaf hashes, built from stored nodes.

The log never rereads its leaves to prove something. Whenever a leaf completes a
perfect subtree (one covering ``2**level`` leaves starting at a multiple of
``2**level``), the subtree's hash is stored under its address ``(level, index)``:
it covers leaves ``[index * 2**level, (index + 1) * 2**level)``. Level 0 holds the
leaf hashes. Such a subtree never changes once complete, so its stored hash stays
valid for every later tree size. Any range the RFC's recursion produces is a run
of these subtrees, largest first, so its hash is a right-to-left fold of at most
64 stored hashes. Serving a proof therefore takes three steps: ask which ranges
the proof covers (``inclusion_ranges``, ``consistency_ranges``), fetch the nodes
they need in one query (``nodes_for_ranges``), then build the proof from those
nodes (``inclusion_proof``, ``consistency_proof``).

Invariants:

- Hashes are raw 32-byte SHA-256 digests. A leaf hash is SHA-256(0x00 || data), an
  interior node SHA-256(0x01 || left || right), and the empty tree's root
  SHA-256 of nothing, so a leaf can never be passed off as an interior node.
- Proofs list hashes bottom-up, in the order of RFC 9162 (and RFC 6962).
- Tree sizes are at most 2**64 - 1, the range of a checkpoint's size, so a tree
  has at most 64 perfect subtrees along its right edge.
- The module is pure: no I/O, no logging, no clock. Data that fails to verify
  raises ``InvalidProof``; a caller asking for a proof or node that cannot exist
  gets ``OutOfRange`` (or ``LedgerMisuse`` for a malformed ``CompactRange``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import TypeAlias

from ledger.errors import InvalidProof, LedgerMisuse, OutOfRange

HASH_SIZE = 32

EMPTY_ROOT: bytes = hashlib.sha256(b"").digest()

NodeId: TypeAlias = tuple[int, int]
"""A perfect subtree's address, ``(level, index)``; it covers
``[index * 2**level, (index + 1) * 2**level)``."""

# Checkpoints carry the tree size as an unsigned 64-bit number (C2SP
# tlog-checkpoint); no larger tree can be published, so none is built or verified.
_MAX_TREE_SIZE = 2**64 - 1

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    """Hash one entry's bytes as a leaf (RFC 9162 §2.1.1)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash two subtree hashes into their parent (RFC 9162 §2.1.1)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n``, where RFC 9162 splits ``n > 1``."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of a list of leaf hashes, by the RFC's recursive definition.

    This is the reference the stored-node machinery is tested against, so it
    follows RFC 9162 §2.1.1 line by line rather than being fast: it reads every
    leaf hash.
    """
    n = len(leaf_hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hashes[0]
    k = _split(n)
    return node_hash(root_of(leaf_hashes[:k]), root_of(leaf_hashes[k:]))


def _decompose(start: int, end: int) -> list[NodeId]:
    """Split an aligned ``[start, end)`` into perfect subtrees, largest first.

    Each set bit of the range's length is one subtree; because ``start`` is
    aligned to the largest of them, every subtree lands on a multiple of its size.
    """
    subtrees: list[NodeId] = []
    position = start
    remaining = end - start
    while remaining:
        level = remaining.bit_length() - 1
        subtrees.append((level, position >> level))
        position += 1 << level
        remaining -= 1 << level
    return subtrees


def perfect_subtrees(start: int, end: int) -> list[NodeId]:
    """The perfect subtrees making up ``[start, end)``, left to right, largest first.

    The range must be one whose MTH the log can compute from stored nodes:
    ``start`` a multiple of the largest power of two not above ``end - start``.
    Every range RFC 9162's recursion produces is of this kind (the whole tree,
    and each left or right part of a split). For such a range the MTH splits off
    the largest subtree on the left at every step, which is why it equals the
    right-to-left fold of the subtrees listed here.
    """
    if not 0 <= start <= end:
        raise OutOfRange("start", start, end)
    if end > _MAX_TREE_SIZE:
        raise OutOfRange("end", end, _MAX_TREE_SIZE)
    if start and end - start >= 2 * (start & -start):
        # The largest subtree would straddle a boundary of its own size.
        raise OutOfRange("end", end, start + 2 * (start & -start) - 1)
    return _decompose(start, end)


def root_nodes(size: int) -> list[NodeId]:
    """The perfect subtrees of a tree of ``size`` leaves: its right edge."""
    if not 0 <= size <= _MAX_TREE_SIZE:
        raise OutOfRange("size", size, _MAX_TREE_SIZE)
    return _decompose(0, size)


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The ranges whose MTH make up PATH(index, D[0:size]), bottom-up.

    Walks RFC 9162 §2.1.3.1 from the root down, keeping the sibling of the half
    holding ``index`` at each split, then reverses: the RFC lists the deepest
    sibling first.
    """
    if size > _MAX_TREE_SIZE:
        raise OutOfRange("size", size, _MAX_TREE_SIZE)
    if not 0 <= index < size:
        raise OutOfRange("index", index, size - 1)

    ranges: list[tuple[int, int]] = []
    low, high = 0, size
    while high - low > 1:
        middle = low + _split(high - low)
        if index < middle:
            ranges.append((middle, high))
            high = middle
        else:
            ranges.append((low, middle))
            low = middle
    ranges.reverse()
    return ranges


def consistency_ranges(old: int, new: int) -> list[tuple[int, int]]:
    """The ranges whose MTH make up SUBPROOF(old, D[0:new], true), in proof order.

    Walks RFC 9162 §2.1.4.1 from the root down. While the old tree's last leaf
    lies in the left half, the right half is new and its hash is needed; once it
    lies in the right half, the left half is shared and its hash is needed, and
    the subtree where the walk ends is no longer the whole old tree, so its own
    hash must be in the proof too (the RFC's ``b = false``). Consistency from an
    empty tree is refused: it proves nothing, and verifiers reject it.
    """
    if new > _MAX_TREE_SIZE:
        raise OutOfRange("new", new, _MAX_TREE_SIZE)
    if not 1 <= old <= new:
        raise OutOfRange("old", old, new, low=1)

    ranges: list[tuple[int, int]] = []
    low, high = 0, new
    whole_old_tree = True
    # Invariant: low < old <= high, so high - low > 1 whenever old != high.
    while old != high:
        middle = low + _split(high - low)
        if old <= middle:
            ranges.append((middle, high))
            high = middle
        else:
            ranges.append((low, middle))
            low = middle
            whole_old_tree = False
    if not whole_old_tree:
        ranges.append((low, high))
    ranges.reverse()
    return ranges


def nodes_for_ranges(ranges: Iterable[tuple[int, int]]) -> set[NodeId]:
    """Every stored node needed to hash the given ranges: one query's worth."""
    needed: set[NodeId] = set()
    for start, end in ranges:
        needed.update(perfect_subtrees(start, end))
    return needed


def _fold(subtrees: list[NodeId], nodes: Mapping[NodeId, bytes]) -> bytes:
    """MTH of consecutive perfect subtrees, largest first: fold from the right."""
    if not subtrees:
        return EMPTY_ROOT
    result = nodes[subtrees[-1]]
    for subtree in reversed(subtrees[:-1]):
        result = node_hash(nodes[subtree], result)
    return result


def range_hash(start: int, end: int, nodes: Mapping[NodeId, bytes]) -> bytes:
    """MTH of leaves ``[start, end)`` from the stored hashes of its subtrees.

    ``nodes`` must hold every node of ``perfect_subtrees(start, end)``; a missing
    one raises ``KeyError`` naming it.
    """
    return _fold(perfect_subtrees(start, end), nodes)


def inclusion_proof(
    index: int, size: int, nodes: Mapping[NodeId, bytes]
) -> list[bytes]:
    """The RFC 9162 inclusion proof of leaf ``index`` in the tree of ``size``.

    ``nodes`` must hold ``nodes_for_ranges(inclusion_ranges(index, size))``.
    """
    return [
        _fold(_decompose(start, end), nodes)
        for start, end in inclusion_ranges(index, size)
    ]


def consistency_proof(old: int, new: int, nodes: Mapping[NodeId, bytes]) -> list[bytes]:
    """The RFC 9162 consistency proof from the tree of ``old`` to that of ``new``.

    ``nodes`` must hold ``nodes_for_ranges(consistency_ranges(old, new))``.
    """
    return [
        _fold(_decompose(start, end), nodes)
        for start, end in consistency_ranges(old, new)
    ]


def _require_hash(what: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise InvalidProof(f"{what} must be {HASH_SIZE} bytes, got {len(value)}")


def _inclusion_path_length(index: int, size: int) -> int:
    """How many hashes PATH(index, D[0:size]) has, for ``0 <= index < size``.

    Below the level where the paths to ``index`` and to the last leaf part, every
    level has a full sibling. Above it the path runs along the tree's right edge,
    where a level has a sibling only if ``index``'s ancestor there is a right
    child.
    """
    below = (index ^ (size - 1)).bit_length()
    return below + (index >> below).bit_count()


def _consistency_path_length(old: int, new: int) -> int:
    """How many hashes SUBPROOF(old, D[0:new], true) has, for ``0 < old < new``.

    It is the inclusion path of leaf ``old - 1`` without the levels inside the
    largest perfect subtree ending at ``old`` (whose hash stands in for them),
    plus that subtree's hash unless it is the whole old tree, which the verifier
    already holds as the old root.
    """
    levels_inside = (old & -old).bit_length() - 1
    length = _inclusion_path_length(old - 1, new) - levels_inside
    if old & (old - 1):
        length += 1
    return length


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf`` (a leaf hash) is at ``index`` in the tree of ``root``.

    Follows RFC 9162 §2.1.3.2. Raises ``InvalidProof`` saying what failed.

    NOTE: the root commits to the size only through the signed checkpoint that
    carries both. Two sizes whose paths to ``index`` have the same shape run the
    same computation, so ``size`` must come from that checkpoint, never from the
    party supplying the proof.
    """
    if not 0 <= size <= _MAX_TREE_SIZE:
        raise InvalidProof(f"tree size must be in [0, {_MAX_TREE_SIZE}], got {size}")
    if index < 0:
        raise InvalidProof(f"leaf index must not be negative, got {index}")
    _require_hash("leaf hash", leaf)
    _require_hash("root", root)
    for position, item in enumerate(proof):
        _require_hash(f"proof hash {position}", item)

    # 1. The leaf must be inside the tree.
    if index >= size:
        raise InvalidProof(f"leaf index {index} is not below tree size {size}")
    # The RFC's loop catches a wrong length too (steps 4.a and 5); checking it
    # first lets the error say which length was expected.
    expected = _inclusion_path_length(index, size)
    if len(proof) != expected:
        raise InvalidProof(
            f"inclusion proof for leaf {index} in a tree of size {size} must have "
            f"{expected} hashes, got {len(proof)}"
        )

    # 2. and 3.
    fn, sn = index, size - 1
    r = leaf

    # 4. Climb one proof hash at a time; fn and sn are the positions of the
    # leaf's and the last leaf's ancestors at the current level.
    for p in proof:
        # 4.a
        if sn == 0:
            raise InvalidProof(f"inclusion proof is longer than {expected} hashes")
        # 4.b: the sibling is on the left, or the path is on the right edge.
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            # Skip the levels where the right edge has no sibling.
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        # 4.c
        fn >>= 1
        sn >>= 1

    # 5.
    if sn != 0:
        raise InvalidProof(f"inclusion proof is shorter than {expected} hashes")
    if r != root:
        raise InvalidProof(
            f"leaf {index} with this proof gives root {r.hex()}, expected {root.hex()}"
        )


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree of ``new_root`` extends the tree of ``old_root``.

    Follows RFC 9162 §2.1.4.2, with the edge cases the transparency-dev/merkle
    test vectors pin down. Two trees of equal size are consistent exactly when
    their roots are equal, with an empty proof; the roots are then only compared,
    not length-checked, as those vectors require. A proof from the empty tree is
    refused whatever it holds, again as the vectors require: every tree extends
    the empty one, so accepting it would tell the caller nothing while looking
    like a check. Raises ``InvalidProof`` saying what failed.
    """
    if not 0 <= new <= _MAX_TREE_SIZE:
        raise InvalidProof(f"new tree size must be in [0, {_MAX_TREE_SIZE}], got {new}")
    if old > new:
        raise InvalidProof(f"old tree size {old} is larger than new tree size {new}")
    if old <= 0:
        raise InvalidProof(
            f"a consistency proof must start from a non-empty tree, got size {old}"
        )
    if old == new:
        if proof:
            raise InvalidProof(
                f"trees of equal size {old} need an empty proof, "
                f"got {len(proof)} hashes"
            )
        if old_root != new_root:
            raise InvalidProof(
                f"trees of equal size {old} have different roots "
                f"{old_root.hex()} and {new_root.hex()}"
            )
        return
    _require_hash("old root", old_root)
    _require_hash("new root", new_root)
    for position, item in enumerate(proof):
        _require_hash(f"proof hash {position}", item)

    # 1. (An empty proof fails this length check too.)
    expected = _consistency_path_length(old, new)
    if len(proof) != expected:
        raise InvalidProof(
            f"consistency proof from size {old} to size {new} must have "
            f"{expected} hashes, got {len(proof)}"
        )

    # 2. When the old tree is itself a perfect subtree, the proof omits its
    # hash: the verifier holds it already as the old root.
    hashes = iter(proof)
    seed = old_root if old & (old - 1) == 0 else next(hashes)

    # 3. and 4.: start at the level of the largest perfect subtree ending at old.
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1

    # 5. fr rebuilds the old root, sr the new one, from the same hashes.
    fr = sr = seed

    # 6.
    for c in hashes:
        # 6.a
        if sn == 0:
            raise InvalidProof(f"consistency proof is longer than {expected} hashes")
        # 6.b: a hash on the left belongs to both trees; one on the right only to
        # the new tree.
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        # 6.c
        fn >>= 1
        sn >>= 1

    # 7.
    if sn != 0:
        raise InvalidProof(f"consistency proof is shorter than {expected} hashes")
    if fr != old_root:
        raise InvalidProof(
            f"proof gives old root {fr.hex()} for size {old}, expected {old_root.hex()}"
        )
    if sr != new_root:
        raise InvalidProof(
            f"proof gives new root {sr.hex()} for size {new}, expected {new_root.hex()}"
        )


class CompactRange:
    """The right edge of a growing tree over leaves ``[0, size)``.

    Holds only the hashes of ``root_nodes(size)``, at most 64, which is all an
    appender needs: a new leaf can only merge with subtrees on the right edge.
    Each ``append`` returns the nodes it completes so that the caller can store
    them in the same transaction as the leaf, which keeps the node table complete
    for proof serving. The state round-trips through ``(size, frontier)``, so an
    appender can resume from the database without reading any leaf.
    """

    def __init__(self, size: int = 0, frontier: Sequence[bytes] = ()) -> None:
        expected = len(root_nodes(size))
        if len(frontier) != expected:
            raise LedgerMisuse(
                f"a tree of size {size} has {expected} right-edge subtrees, "
                f"got {len(frontier)} frontier hashes"
            )
        for position, item in enumerate(frontier):
            if len(item) != HASH_SIZE:
                raise LedgerMisuse(
                    f"frontier hash {position} must be {HASH_SIZE} bytes, "
                    f"got {len(item)}"
                )
        self._size = size
        self._frontier = list(frontier)

    @property
    def size(self) -> int:
        """How many leaves have been appended."""
        return self._size

    @property
    def frontier(self) -> list[bytes]:
        """Hashes of ``root_nodes(size)``, left to right (a copy)."""
        return list(self._frontier)

    def append(self, leaf: bytes) -> list[tuple[NodeId, bytes]]:
        """Add a leaf hash; return the level >= 1 nodes it completes, lowest first.

        The leaf at position ``size`` completes one subtree per trailing 1 bit of
        ``size``: each merges the right edge's smallest subtree with the one
        before it.
        """
        if len(leaf) != HASH_SIZE:
            raise LedgerMisuse(f"leaf hash must be {HASH_SIZE} bytes, got {len(leaf)}")
        if self._size >= _MAX_TREE_SIZE:
            raise OutOfRange("size", self._size + 1, _MAX_TREE_SIZE)

        completed: list[tuple[NodeId, bytes]] = []
        frontier = self._frontier
        frontier.append(leaf)
        position = self._size
        level = 0
        while position & 1:
            right = frontier.pop()
            frontier[-1] = node_hash(frontier[-1], right)
            position >>= 1
            level += 1
            completed.append(((level, position), frontier[-1]))
        self._size += 1
        return completed

    def append_packed(self, leaf: bytes) -> bytes:
        """``append`` for the hot paths: the completed hashes concatenated.

        This is the form the log stores beside each entry. The caller
        guarantees a 32-byte leaf hash (it has just computed it).
        """
        frontier = self._frontier
        frontier.append(leaf)
        position = self._size
        self._size = position + 1
        if not position & 1:
            return b""
        completed = []
        while position & 1:
            right = frontier.pop()
            merged = _sha256(_NODE_PREFIX + frontier[-1] + right).digest()
            frontier[-1] = merged
            completed.append(merged)
            position >>= 1
        return b"".join(completed)

    def root(self) -> bytes:
        """The tree's MTH: the right edge folded from the right."""
        if not self._frontier:
            return EMPTY_ROOT
        result = self._frontier[-1]
        for subtree in reversed(self._frontier[:-1]):
            result = node_hash(subtree, result)
        return result
