"""RFC 9162 Merkle trees: known answers, shared vectors, references, tampering.

Proofs are built the way the log serves them, from a mapping of stored perfect
subtree hashes holding only the nodes ``nodes_for_ranges`` asked for, and are
compared with a recursive reference written here straight from RFC 9162 §2.1.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from ledger.errors import InvalidProof, LedgerMisuse, OutOfRange
from ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    CompactRange,
    NodeId,
    consistency_proof,
    consistency_ranges,
    inclusion_proof,
    inclusion_ranges,
    leaf_hash,
    node_hash,
    nodes_for_ranges,
    perfect_subtrees,
    range_hash,
    root_nodes,
    root_of,
    verify_consistency,
    verify_inclusion,
)

# --- The RFC 6962 test tree (certificate-transparency's reference test data) ---

RFC6962_INPUTS = [
    bytes.fromhex(text)
    for text in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
RFC6962_LEAVES = [leaf_hash(data) for data in RFC6962_INPUTS]

# MTH of the first n inputs, n = 1..8, as published with the CT reference tests.
RFC6962_ROOTS = {
    1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    2: "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    3: "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    4: "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    5: "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    6: "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    7: "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}

# Published proofs over the same tree.
RFC6962_INCLUSION_PROOFS = {
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}
RFC6962_CONSISTENCY_PROOFS = {
    (1, 1): [],
    (1, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 5): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
}


# --- Building trees the way the log does ---


def build_nodes(leaves: Sequence[bytes]) -> dict[NodeId, bytes]:
    """Every perfect subtree hash of the tree, as the log would have stored it."""
    nodes: dict[NodeId, bytes] = {}
    tree = CompactRange()
    for index, leaf in enumerate(leaves):
        nodes[(0, index)] = leaf
        nodes.update(tree.append(leaf))
    return nodes


def complete_at(nodes: dict[NodeId, bytes], size: int) -> dict[NodeId, bytes]:
    """The nodes that exist once the tree has ``size`` leaves."""
    return {
        (level, index): value
        for (level, index), value in nodes.items()
        if (index + 1) << level <= size
    }


def fetch(nodes: dict[NodeId, bytes], wanted: set[NodeId]) -> dict[NodeId, bytes]:
    """What one database query for ``wanted`` returns: those nodes and no others."""
    return {node: nodes[node] for node in wanted}


RFC6962_NODES = build_nodes(RFC6962_LEAVES)

# A larger tree for the exhaustive and property tests; sizes below are prefixes.
TREE_SIZE = 160
LEAVES = [leaf_hash(f"entry {index}".encode()) for index in range(TREE_SIZE)]
NODES = build_nodes(LEAVES)
ROOTS = [root_of(LEAVES[:size]) for size in range(TREE_SIZE + 1)]


# --- Reference proofs, straight from RFC 9162 §2.1.3.1 and §2.1.4.1 ---


def largest_power_of_two_below(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def reference_path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n])."""
    n = len(leaves)
    if n == 1:
        return []
    k = largest_power_of_two_below(n)
    if m < k:
        return [*reference_path(m, leaves[:k]), root_of(leaves[k:])]
    return [*reference_path(m - k, leaves[k:]), root_of(leaves[:k])]


def reference_subproof(m: int, leaves: Sequence[bytes], whole: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b)."""
    n = len(leaves)
    if m == n:
        return [] if whole else [root_of(leaves)]
    k = largest_power_of_two_below(n)
    if m <= k:
        return [*reference_subproof(m, leaves[:k], whole), root_of(leaves[k:])]
    return [*reference_subproof(m - k, leaves[k:], False), root_of(leaves[:k])]


# --- Known answers ---


def test_empty_tree_root_is_sha256_of_nothing() -> None:
    expected = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert EMPTY_ROOT.hex() == expected
    assert root_of([]) == EMPTY_ROOT
    assert CompactRange().root() == EMPTY_ROOT
    assert range_hash(0, 0, {}) == EMPTY_ROOT


@pytest.mark.parametrize("size", sorted(RFC6962_ROOTS))
def test_rfc6962_roots(size: int) -> None:
    expected = bytes.fromhex(RFC6962_ROOTS[size])
    assert root_of(RFC6962_LEAVES[:size]) == expected
    assert range_hash(0, size, RFC6962_NODES) == expected
    tree = CompactRange()
    for leaf in RFC6962_LEAVES[:size]:
        tree.append(leaf)
    assert tree.root() == expected


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    # A one-leaf tree's root is its leaf hash, SHA-256(0x00), not SHA-256("").
    assert leaf_hash(b"").hex() == RFC6962_ROOTS[1]
    assert node_hash(RFC6962_LEAVES[0], RFC6962_LEAVES[1]).hex() == RFC6962_ROOTS[2]
    assert len(leaf_hash(b"x")) == HASH_SIZE


@pytest.mark.parametrize(
    ("index", "size"),
    sorted(RFC6962_INCLUSION_PROOFS),
    ids=[f"{index}-of-{size}" for index, size in sorted(RFC6962_INCLUSION_PROOFS)],
)
def test_rfc6962_inclusion_proofs(index: int, size: int) -> None:
    expected = [bytes.fromhex(text) for text in RFC6962_INCLUSION_PROOFS[index, size]]
    assert inclusion_proof(index, size, RFC6962_NODES) == expected
    root = bytes.fromhex(RFC6962_ROOTS[size])
    verify_inclusion(RFC6962_LEAVES[index], index, size, expected, root)


@pytest.mark.parametrize(
    ("old", "new"),
    sorted(RFC6962_CONSISTENCY_PROOFS),
    ids=[f"{old}-to-{new}" for old, new in sorted(RFC6962_CONSISTENCY_PROOFS)],
)
def test_rfc6962_consistency_proofs(old: int, new: int) -> None:
    expected = [bytes.fromhex(text) for text in RFC6962_CONSISTENCY_PROOFS[old, new]]
    assert consistency_proof(old, new, RFC6962_NODES) == expected
    old_root = bytes.fromhex(RFC6962_ROOTS[old])
    new_root = bytes.fromhex(RFC6962_ROOTS[new])
    verify_consistency(old, new, old_root, new_root, expected)


# --- transparency-dev/merkle vectors, read in place from the shared folder ---

VECTORS = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "testdata"
    / "transparency-dev-merkle"
)
VECTOR_COUNT = 196


def vector_params(kind: str) -> list[object]:
    """One parameter per vector file of ``kind``, identified by its relative path.

    When the folder is absent a single placeholder stands in, so that the test
    reports a skip naming the folder rather than silently collecting nothing.
    """
    if not VECTORS.is_dir():
        return [pytest.param(None, id=f"{kind}-vectors-missing")]
    return [
        pytest.param(path, id=path.relative_to(VECTORS).as_posix())
        for path in sorted((VECTORS / kind).rglob("*.json"))
    ]


def load_vector(path: Path | None) -> dict[str, object]:
    if path is None:
        pytest.skip(f"transparency-dev/merkle vectors not found at {VECTORS}")
    loaded = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def as_int(value: object) -> int:
    assert isinstance(value, int)
    return value


def as_bytes(value: object) -> bytes:
    assert isinstance(value, str)
    return base64.b64decode(value, validate=True)


def as_proof(value: object) -> list[bytes]:
    if value is None:
        return []
    assert isinstance(value, list)
    return [as_bytes(item) for item in value]


def test_vector_files_add_up() -> None:
    if not VECTORS.is_dir():
        pytest.skip(f"transparency-dev/merkle vectors not found at {VECTORS}")
    inclusion = list((VECTORS / "inclusion").rglob("*.json"))
    consistency = list((VECTORS / "consistency").rglob("*.json"))
    assert len(inclusion) + len(consistency) == VECTOR_COUNT
    assert len(list(VECTORS.rglob("*.json"))) == VECTOR_COUNT


@pytest.mark.parametrize("path", vector_params("inclusion"))
def test_inclusion_vector(path: Path | None) -> None:
    vector = load_vector(path)
    index = as_int(vector["leafIdx"])
    size = as_int(vector["treeSize"])
    leaf = as_bytes(vector["leafHash"])
    root = as_bytes(vector["root"])
    proof = as_proof(vector["proof"])

    if vector["wantErr"]:
        with pytest.raises(InvalidProof):
            verify_inclusion(leaf, index, size, proof, root)
    else:
        verify_inclusion(leaf, index, size, proof, root)
        # The vectors' tree is the RFC 6962 one: we must serve the same proof.
        assert inclusion_proof(index, size, RFC6962_NODES) == proof


@pytest.mark.parametrize("path", vector_params("consistency"))
def test_consistency_vector(path: Path | None) -> None:
    vector = load_vector(path)
    old = as_int(vector["size1"])
    new = as_int(vector["size2"])
    old_root = as_bytes(vector["root1"])
    new_root = as_bytes(vector["root2"])
    proof = as_proof(vector["proof"])

    if vector["wantErr"]:
        with pytest.raises(InvalidProof):
            verify_consistency(old, new, old_root, new_root, proof)
    else:
        verify_consistency(old, new, old_root, new_root, proof)
        assert consistency_proof(old, new, RFC6962_NODES) == proof


# --- Exhaustive agreement with the reference, from fetched nodes only ---

EXHAUSTIVE_SIZES = range(1, 71)


@pytest.mark.parametrize("size", EXHAUSTIVE_SIZES)
def test_inclusion_proofs_match_reference(size: int) -> None:
    stored = complete_at(NODES, size)
    for index in range(size):
        fetched = fetch(stored, nodes_for_ranges(inclusion_ranges(index, size)))
        proof = inclusion_proof(index, size, fetched)
        assert proof == reference_path(index, LEAVES[:size]), (index, size)
        verify_inclusion(LEAVES[index], index, size, proof, ROOTS[size])


@pytest.mark.parametrize("new", EXHAUSTIVE_SIZES)
def test_consistency_proofs_match_reference(new: int) -> None:
    stored = complete_at(NODES, new)
    for old in range(1, new + 1):
        fetched = fetch(stored, nodes_for_ranges(consistency_ranges(old, new)))
        proof = consistency_proof(old, new, fetched)
        assert proof == reference_subproof(old, LEAVES[:new], True), (old, new)
        verify_consistency(old, new, ROOTS[old], ROOTS[new], proof)


def test_ranges_hash_to_the_mth_of_their_leaves() -> None:
    for size in EXHAUSTIVE_SIZES:
        stored = complete_at(NODES, size)
        ranges = {r for index in range(size) for r in inclusion_ranges(index, size)}
        ranges |= {r for old in range(1, size) for r in consistency_ranges(old, size)}
        for start, end in ranges:
            assert range_hash(start, end, stored) == root_of(LEAVES[start:end])


# --- Stored nodes and the compact range ---


def test_stored_nodes_are_exactly_the_perfect_subtrees() -> None:
    expected = {
        (level, index)
        for level in range(TREE_SIZE.bit_length())
        for index in range(TREE_SIZE >> level)
    }
    assert set(NODES) == expected
    for (level, index), value in NODES.items():
        start, end = index << level, (index + 1) << level
        assert value == root_of(LEAVES[start:end])


def test_compact_range_root_matches_every_prefix() -> None:
    tree = CompactRange()
    assert tree.size == 0
    for size, leaf in enumerate(LEAVES, start=1):
        completed = tree.append(leaf)
        levels = [level for (level, _index), _value in completed]
        assert levels == list(range(1, len(completed) + 1))
        assert tree.size == size
        assert tree.root() == ROOTS[size]
        assert tree.frontier == [NODES[node] for node in root_nodes(size)]


def test_compact_range_resumed_from_frontier_continues_identically() -> None:
    original = CompactRange()
    appended = [original.append(leaf) for leaf in LEAVES]
    for size in range(TREE_SIZE + 1):
        frontier = [NODES[node] for node in root_nodes(size)]
        resumed = CompactRange(size, frontier)
        assert resumed.root() == ROOTS[size]
        for position in range(size, TREE_SIZE):
            assert resumed.append(LEAVES[position]) == appended[position]
        assert resumed.root() == original.root()
        assert resumed.frontier == original.frontier


@pytest.mark.parametrize(
    ("size", "frontier"),
    [
        pytest.param(3, [b"\x00" * 32], id="too-few-hashes"),
        pytest.param(4, [b"\x00" * 32] * 2, id="too-many-hashes"),
        pytest.param(1, [b"\x00" * 31], id="short-hash"),
    ],
)
def test_compact_range_rejects_a_malformed_frontier(
    size: int, frontier: list[bytes]
) -> None:
    with pytest.raises(LedgerMisuse):
        CompactRange(size, frontier)


def test_compact_range_rejects_bad_input() -> None:
    with pytest.raises(OutOfRange):
        CompactRange(-1)
    with pytest.raises(LedgerMisuse, match="32 bytes"):
        CompactRange().append(b"not a hash")


def test_compact_range_stops_at_the_largest_checkpoint_size() -> None:
    largest = 2**64 - 1
    full = CompactRange(largest, [LEAVES[0]] * 64)
    with pytest.raises(OutOfRange, match=f"got {largest + 1}"):
        full.append(LEAVES[1])
    assert full.size == largest


# --- Decomposition and misuse ---


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        pytest.param(0, 0, [], id="empty"),
        pytest.param(0, 1, [(0, 0)], id="one-leaf"),
        pytest.param(0, 7, [(2, 0), (1, 2), (0, 6)], id="whole-tree-of-7"),
        pytest.param(8, 11, [(1, 4), (0, 10)], id="right-part"),
        pytest.param(4, 8, [(2, 1)], id="perfect"),
        pytest.param(2, 5, [(1, 1), (0, 4)], id="aligned-to-largest-part"),
    ],
)
def test_perfect_subtrees(start: int, end: int, expected: list[NodeId]) -> None:
    assert perfect_subtrees(start, end) == expected


@pytest.mark.parametrize(
    ("start", "end"),
    [
        pytest.param(2, 6, id="straddles-a-boundary"),
        pytest.param(1, 3, id="odd-start"),
        pytest.param(3, 1, id="end-before-start"),
        pytest.param(-1, 1, id="negative-start"),
        pytest.param(0, 2**64, id="beyond-uint64"),
    ],
)
def test_perfect_subtrees_rejects_ranges_no_stored_nodes_can_hash(
    start: int, end: int
) -> None:
    with pytest.raises(OutOfRange):
        perfect_subtrees(start, end)


@pytest.mark.parametrize(
    ("index", "size"),
    [
        pytest.param(5, 5, id="index-equals-size"),
        pytest.param(0, 0, id="empty-tree"),
        pytest.param(-1, 5, id="negative-index"),
        pytest.param(0, -3, id="negative-size"),
    ],
)
def test_inclusion_of_a_missing_leaf_is_misuse(index: int, size: int) -> None:
    with pytest.raises(OutOfRange):
        inclusion_ranges(index, size)
    with pytest.raises(OutOfRange):
        inclusion_proof(index, size, NODES)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param(0, 5, id="from-empty-tree"),
        pytest.param(0, 0, id="empty-to-empty"),
        pytest.param(6, 5, id="old-after-new"),
        pytest.param(-1, 5, id="negative-old"),
    ],
)
def test_consistency_that_proves_nothing_is_misuse(old: int, new: int) -> None:
    with pytest.raises(OutOfRange):
        consistency_ranges(old, new)
    with pytest.raises(OutOfRange):
        consistency_proof(old, new, NODES)


def test_root_nodes_rejects_a_negative_size() -> None:
    with pytest.raises(OutOfRange):
        root_nodes(-1)


def test_a_node_missing_from_the_fetch_is_named() -> None:
    with pytest.raises(KeyError, match=r"\(2, 1\)"):
        inclusion_proof(0, 8, {(0, 1): LEAVES[1], (1, 1): LEAVES[2]})


def test_proofs_at_a_million_entries_need_few_nodes() -> None:
    size = 10**6
    bound = 2 * size.bit_length()
    for index in [0, 1, 2**19 - 1, 2**19, size // 2, size - 2, size - 1]:
        assert len(nodes_for_ranges(inclusion_ranges(index, size))) <= bound
    for old in [1, 2, 3, 2**19 - 1, 2**19, 2**19 + 1, size - 1, size]:
        assert len(nodes_for_ranges(consistency_ranges(old, size))) <= bound


@given(index=st.integers(0, 10**6 - 1), old=st.integers(1, 10**6))
def test_any_proof_at_a_million_entries_needs_few_nodes(index: int, old: int) -> None:
    size = 10**6
    bound = 2 * size.bit_length()
    assert len(nodes_for_ranges(inclusion_ranges(index, size))) <= bound
    assert len(nodes_for_ranges(consistency_ranges(old, size))) <= bound


# --- Verification edge cases ---


@dataclass(frozen=True)
class InclusionClaim:
    leaf: bytes
    index: int
    size: int
    proof: list[bytes]
    root: bytes

    def verify(self) -> None:
        verify_inclusion(self.leaf, self.index, self.size, self.proof, self.root)


@dataclass(frozen=True)
class ConsistencyClaim:
    old: int
    new: int
    old_root: bytes
    new_root: bytes
    proof: list[bytes]

    def verify(self) -> None:
        verify_consistency(self.old, self.new, self.old_root, self.new_root, self.proof)


LEAF_0_OF_8 = InclusionClaim(LEAVES[0], 0, 8, inclusion_proof(0, 8, NODES), ROOTS[8])
FROM_3_TO_8 = ConsistencyClaim(3, 8, ROOTS[3], ROOTS[8], consistency_proof(3, 8, NODES))


def test_the_claims_tampered_with_below_verify() -> None:
    LEAF_0_OF_8.verify()
    FROM_3_TO_8.verify()


@pytest.mark.parametrize(
    ("claim", "reason"),
    [
        pytest.param(
            replace(LEAF_0_OF_8, index=8),
            "leaf index 8 is not below tree size 8",
            id="index-equals-size",
        ),
        pytest.param(
            replace(LEAF_0_OF_8, size=0, proof=[], root=EMPTY_ROOT),
            "leaf index 0 is not below tree size 0",
            id="empty-tree",
        ),
        pytest.param(
            replace(LEAF_0_OF_8, index=-1),
            "leaf index must not be negative, got -1",
            id="negative-index",
        ),
        pytest.param(
            replace(LEAF_0_OF_8, size=-8),
            r"tree size must be in \[0, 18446744073709551615\], got -8",
            id="negative-size",
        ),
        pytest.param(
            replace(LEAF_0_OF_8, size=2**64),
            "got 18446744073709551616",
            id="size-beyond-uint64",
        ),
        pytest.param(
            replace(LEAF_0_OF_8, leaf=LEAVES[0][:31]),
            "leaf hash must be 32 bytes, got 31",
            id="short-leaf-hash",
        ),
        pytest.param(
            replace(LEAF_0_OF_8, root=ROOTS[8] + b"\x00"),
            "root must be 32 bytes, got 33",
            id="long-root",
        ),
        pytest.param(
            replace(LEAF_0_OF_8, proof=[*LEAF_0_OF_8.proof[:2], b"\x00" * 33]),
            "proof hash 2 must be 32 bytes, got 33",
            id="long-proof-hash",
        ),
        pytest.param(
            replace(LEAF_0_OF_8, proof=LEAF_0_OF_8.proof[:2]),
            "must have 3 hashes, got 2",
            id="truncated",
        ),
        pytest.param(
            replace(LEAF_0_OF_8, proof=[]),
            "must have 3 hashes, got 0",
            id="empty-proof",
        ),
        pytest.param(
            replace(LEAF_0_OF_8, index=1),
            "leaf 1 with this proof gives root",
            id="wrong-index",
        ),
    ],
)
def test_verify_inclusion_rejects(claim: InclusionClaim, reason: str) -> None:
    with pytest.raises(InvalidProof, match=reason):
        claim.verify()


@pytest.mark.parametrize(
    ("claim", "reason"),
    [
        pytest.param(
            ConsistencyClaim(8, 3, ROOTS[8], ROOTS[3], []),
            "old tree size 8 is larger than new tree size 3",
            id="old-after-new",
        ),
        pytest.param(
            ConsistencyClaim(0, 8, EMPTY_ROOT, ROOTS[8], []),
            "must start from a non-empty tree, got size 0",
            id="from-empty-tree",
        ),
        pytest.param(
            ConsistencyClaim(0, 0, EMPTY_ROOT, EMPTY_ROOT, []),
            "must start from a non-empty tree, got size 0",
            id="empty-to-empty",
        ),
        pytest.param(
            ConsistencyClaim(-1, 8, EMPTY_ROOT, ROOTS[8], []),
            "must start from a non-empty tree, got size -1",
            id="negative-old",
        ),
        pytest.param(
            replace(FROM_3_TO_8, new=2**64),
            "got 18446744073709551616",
            id="new-beyond-uint64",
        ),
        pytest.param(
            ConsistencyClaim(3, 3, ROOTS[3], ROOTS[3], [ROOTS[3]]),
            "trees of equal size 3 need an empty proof, got 1 hashes",
            id="equal-sizes-proof-not-empty",
        ),
        pytest.param(
            ConsistencyClaim(3, 3, ROOTS[3], ROOTS[4], []),
            "trees of equal size 3 have different roots",
            id="equal-sizes-different-roots",
        ),
        pytest.param(
            replace(FROM_3_TO_8, proof=[]),
            "must have 4 hashes, got 0",
            id="empty-proof",
        ),
        pytest.param(
            replace(FROM_3_TO_8, proof=FROM_3_TO_8.proof[1:]),
            "must have 4 hashes, got 3",
            id="truncated",
        ),
        pytest.param(
            replace(FROM_3_TO_8, old_root=ROOTS[3][:31]),
            "old root must be 32 bytes, got 31",
            id="short-old-root",
        ),
        pytest.param(
            replace(FROM_3_TO_8, new_root=b""),
            "new root must be 32 bytes, got 0",
            id="empty-new-root",
        ),
        pytest.param(
            replace(FROM_3_TO_8, proof=[b"\x00" * 31, *FROM_3_TO_8.proof[1:]]),
            "proof hash 0 must be 32 bytes, got 31",
            id="short-proof-hash",
        ),
        pytest.param(
            replace(FROM_3_TO_8, old_root=ROOTS[8], new_root=ROOTS[3]),
            "proof gives old root",
            id="swapped-roots",
        ),
        pytest.param(
            replace(FROM_3_TO_8, new_root=ROOTS[7]),
            "proof gives new root",
            id="wrong-new-root",
        ),
    ],
)
def test_verify_consistency_rejects(claim: ConsistencyClaim, reason: str) -> None:
    with pytest.raises(InvalidProof, match=reason):
        claim.verify()


def test_invalid_proof_carries_its_reason() -> None:
    with pytest.raises(InvalidProof) as caught:
        replace(LEAF_0_OF_8, proof=[]).verify()
    assert caught.value.reason == (
        "inclusion proof for leaf 0 in a tree of size 8 must have 3 hashes, got 0"
    )


# --- Tampering: any change to a proof or its claims is caught ---

hashes = st.binary(min_size=HASH_SIZE, max_size=HASH_SIZE)


@st.composite
def leaf_positions(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(st.integers(1, TREE_SIZE))
    return draw(st.integers(0, size - 1)), size


@st.composite
def size_pairs(draw: st.DrawFn) -> tuple[int, int]:
    new = draw(st.integers(1, TREE_SIZE))
    return draw(st.integers(1, new)), new


def flip_bit(value: bytes, bit: int) -> bytes:
    bit %= len(value) * 8
    flipped = bytearray(value)
    flipped[bit // 8] ^= 1 << (bit % 8)
    return bytes(flipped)


@given(position=leaf_positions(), choice=st.integers(0), bit=st.integers(0))
def test_inclusion_rejects_a_flipped_bit(
    position: tuple[int, int], choice: int, bit: int
) -> None:
    index, size = position
    leaf, root = LEAVES[index], ROOTS[size]
    proof = inclusion_proof(index, size, NODES)
    target = choice % (len(proof) + 2)
    if target < len(proof):
        proof[target] = flip_bit(proof[target], bit)
    elif target == len(proof):
        leaf = flip_bit(leaf, bit)
    else:
        root = flip_bit(root, bit)
    with pytest.raises(InvalidProof):
        verify_inclusion(leaf, index, size, proof, root)


@given(position=leaf_positions(), claimed=st.integers(0, 2 * TREE_SIZE))
def test_inclusion_rejects_a_wrong_index(
    position: tuple[int, int], claimed: int
) -> None:
    index, size = position
    assume(claimed != index)
    proof = inclusion_proof(index, size, NODES)
    with pytest.raises(InvalidProof):
        verify_inclusion(LEAVES[index], claimed, size, proof, ROOTS[size])


@given(position=leaf_positions(), claimed=st.integers(1, TREE_SIZE))
def test_inclusion_rejects_a_wrong_size(
    position: tuple[int, int], claimed: int
) -> None:
    # The claimed size comes with its true root, as from a checkpoint. A proof
    # for another size can only pass if it is also the proof for the claimed one
    # (the path to the leaf has the same siblings in both trees).
    index, size = position
    assume(claimed != size and index < claimed)
    proof = inclusion_proof(index, size, NODES)
    if proof == inclusion_proof(index, claimed, NODES):
        verify_inclusion(LEAVES[index], index, claimed, proof, ROOTS[claimed])
    else:
        with pytest.raises(InvalidProof):
            verify_inclusion(LEAVES[index], index, claimed, proof, ROOTS[claimed])


@given(position=leaf_positions(), data=st.data())
def test_inclusion_rejects_a_truncated_proof(
    position: tuple[int, int], data: st.DataObject
) -> None:
    index, size = position
    proof = inclusion_proof(index, size, NODES)
    assume(proof)
    start = data.draw(st.integers(0, len(proof) - 1))
    stop = data.draw(st.integers(start + 1, len(proof)))
    del proof[start:stop]
    with pytest.raises(InvalidProof):
        verify_inclusion(LEAVES[index], index, size, proof, ROOTS[size])


@given(position=leaf_positions(), extra=hashes, data=st.data())
def test_inclusion_rejects_an_extended_proof(
    position: tuple[int, int], extra: bytes, data: st.DataObject
) -> None:
    index, size = position
    proof = inclusion_proof(index, size, NODES)
    proof.insert(data.draw(st.integers(0, len(proof))), extra)
    with pytest.raises(InvalidProof):
        verify_inclusion(LEAVES[index], index, size, proof, ROOTS[size])


@given(sizes=size_pairs(), choice=st.integers(0), bit=st.integers(0))
def test_consistency_rejects_a_flipped_bit(
    sizes: tuple[int, int], choice: int, bit: int
) -> None:
    old, new = sizes
    old_root, new_root = ROOTS[old], ROOTS[new]
    proof = consistency_proof(old, new, NODES)
    target = choice % (len(proof) + 2)
    if target < len(proof):
        proof[target] = flip_bit(proof[target], bit)
    elif target == len(proof):
        old_root = flip_bit(old_root, bit)
    else:
        new_root = flip_bit(new_root, bit)
    with pytest.raises(InvalidProof):
        verify_consistency(old, new, old_root, new_root, proof)


@given(sizes=size_pairs(), claimed=size_pairs())
def test_consistency_rejects_wrong_sizes(
    sizes: tuple[int, int], claimed: tuple[int, int]
) -> None:
    # As for inclusion: the claimed sizes come with their true roots, and only a
    # proof that is also the proof for the claimed sizes may pass.
    assume(claimed != sizes)
    proof = consistency_proof(*sizes, NODES)
    old, new = claimed
    if proof == consistency_proof(old, new, NODES):
        verify_consistency(old, new, ROOTS[old], ROOTS[new], proof)
    else:
        with pytest.raises(InvalidProof):
            verify_consistency(old, new, ROOTS[old], ROOTS[new], proof)


@given(sizes=size_pairs(), data=st.data())
def test_consistency_rejects_a_truncated_proof(
    sizes: tuple[int, int], data: st.DataObject
) -> None:
    old, new = sizes
    proof = consistency_proof(old, new, NODES)
    assume(proof)
    start = data.draw(st.integers(0, len(proof) - 1))
    stop = data.draw(st.integers(start + 1, len(proof)))
    del proof[start:stop]
    with pytest.raises(InvalidProof):
        verify_consistency(old, new, ROOTS[old], ROOTS[new], proof)


@given(sizes=size_pairs(), extra=hashes, data=st.data())
def test_consistency_rejects_an_extended_proof(
    sizes: tuple[int, int], extra: bytes, data: st.DataObject
) -> None:
    old, new = sizes
    proof = consistency_proof(old, new, NODES)
    proof.insert(data.draw(st.integers(0, len(proof))), extra)
    with pytest.raises(InvalidProof):
        verify_consistency(old, new, ROOTS[old], ROOTS[new], proof)
