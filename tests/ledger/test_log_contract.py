"""The log's contract, run against SQLite and PostgreSQL alike.

Appends verify, proofs check against signed checkpoints with the RFC 9162
verifier, and every kind of tampering with the stored data is caught at the
position where it happened.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any
from uuid import uuid4

import pytest

from ledger.application import LedgerApplication
from ledger.checkpoint import open_checkpoint
from ledger.entry import GENESIS_PREV, parse_entry
from ledger.errors import LedgerExists, LedgerMisuse, LedgerNotFound, OutOfRange
from ledger.log import Log, NoSigningKey
from ledger.merkle import (
    CompactRange,
    leaf_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)
from ledger.note import NoteSigner
from ledger.verify import FailureKind
from tests.ledger.support import (
    append_notes,
    new_ledger,
    raw_sql,
    reopen,
    verify,
)


@pytest.fixture
def ledger(database_url: str) -> Any:
    app, log = new_ledger(database_url)
    yield app, log
    app.close()


def _entries(log: Log) -> list[bytes]:
    return [log.entry(i) for i in range(log.size())]


def test_empty_log_verifies_and_has_the_empty_root(ledger: Any) -> None:
    app, log = ledger
    report = verify(app, log)
    assert report.ok
    assert report.size == 0
    assert log.root() == root_of([])


def test_entries_chain_and_hash_to_the_root(ledger: Any) -> None:
    app, log = ledger
    append_notes(app, [1, 3, 2, 5])

    entries = _entries(log)
    assert len(entries) == 11
    prev = GENESIS_PREV
    for seq, raw in enumerate(entries):
        entry = parse_entry(raw)
        assert entry.seq == seq
        assert entry.prev == prev
        prev = leaf_hash(raw).hex()
    assert log.root() == root_of([leaf_hash(raw) for raw in entries])
    assert verify(app, log).ok


def test_one_save_is_one_recorded_at_and_entries_name_their_events(
    ledger: Any,
) -> None:
    app, log = ledger
    (note_id,) = append_notes(app, [4])

    entries = [parse_entry(raw) for raw in _entries(log)]
    assert {entry.recorded_at for entry in entries} == {entries[0].recorded_at}
    assert [entry.version for entry in entries] == [1, 2, 3, 4]
    assert {entry.stream for entry in entries} == {str(note_id)}
    assert entries[0].type == "tests:Note.Created@1"
    assert entries[1].actor == "tester"
    assert entries[1].body["amount"] == 0
    assert entries[2].body["text"] == "line 1 中文 ☃"


def test_every_inclusion_and_consistency_proof_verifies(ledger: Any) -> None:
    app, log = ledger
    append_notes(app, [3, 1, 7, 2, 4, 1, 5])
    size = log.size()
    leaves = [leaf_hash(raw) for raw in _entries(log)]
    roots = {s: log.root(s) for s in range(size + 1)}
    for s in range(size + 1):
        assert roots[s] == root_of(leaves[:s])

    for s in range(1, size + 1):
        for index in range(s):
            proof = log.inclusion_proof(index, s)
            verify_inclusion(leaves[index], index, s, proof.hashes, roots[s])
        indices = list(range(s))[::-2]
        assert log.inclusion_proofs(indices, s) == [
            log.inclusion_proof(index, s) for index in indices
        ]
    for new in range(1, size + 1):
        for old in range(1, new + 1):
            proof = log.consistency_proof(old, new)
            verify_consistency(old, new, roots[old], roots[new], proof.hashes)


def test_recorded_streams_names_the_streams_with_events(ledger: Any) -> None:
    app, _ = ledger
    first, second = append_notes(app, [1, 3])
    unknown = uuid4()
    recorder = app.log_recorder
    assert recorder.recorded_streams([first, unknown, second]) == {first, second}
    assert recorder.recorded_streams([unknown]) == set()
    assert recorder.recorded_streams([]) == set()


def test_a_covering_checkpoint_is_reused_until_more_is_asked(ledger: Any) -> None:
    app, log = ledger
    append_notes(app, [2, 2])
    size, note = log.checkpoint_covering(3)
    assert size == 4
    assert log.checkpoint_covering(4) == (4, note)
    append_notes(app, [1])
    assert log.checkpoint_covering(4) == (4, note)
    newer, newer_note = log.checkpoint_covering(5)
    assert newer == log.size() > 4
    assert open_checkpoint(newer_note, [log.verifier]).root == log.root()
    assert len(app.log_recorder.read_checkpoints()) == 2


def test_checkpoints_are_signed_stored_and_cover_earlier_sizes(ledger: Any) -> None:
    app, log = ledger
    append_notes(app, [2, 2])
    note = log.checkpoint()
    earlier = log.checkpoint(2)

    opened = open_checkpoint(note, [log.verifier], origin=log.origin)
    assert (opened.size, opened.root) == (4, log.root())
    assert open_checkpoint(earlier, [log.verifier]).root == log.root(2)
    stored = app.log_recorder.read_checkpoints()
    assert [(size, note) for size, _, note, _ in stored] == [(2, earlier), (4, note)]
    assert verify(app, log).checkpoints == 2


def test_reopened_ledger_continues_the_same_chain(database_url: str) -> None:
    app, _ = new_ledger(database_url)
    append_notes(app, [3])
    app.close()

    app2, log2 = reopen(database_url)
    append_notes(app2, [2])
    entries = _entries(log2)
    assert parse_entry(entries[3]).prev == leaf_hash(entries[2]).hex()
    assert verify(app2, log2).ok
    app2.close()


def test_misuse_is_refused(database_url: str) -> None:
    with pytest.raises(LedgerNotFound):
        reopen(database_url)
    app, log = new_ledger(database_url)
    append_notes(app, [2])
    with pytest.raises(LedgerExists):
        new_ledger(database_url)
    with pytest.raises(OutOfRange):
        log.entry(2)
    with pytest.raises(OutOfRange):
        log.inclusion_proof(0, 3)
    with pytest.raises(OutOfRange):
        log.consistency_proof(2, 1)
    with pytest.raises(OutOfRange):
        log.consistency_proof(0, 2)
    with pytest.raises(NoSigningKey):
        reopen(database_url)[1].checkpoint()
    app.close()


def test_a_key_named_otherwise_than_the_origin_is_refused(tmp_path: Any) -> None:
    with pytest.raises(LedgerMisuse, match="origin"):
        new_ledger(f"sqlite:///{tmp_path}/l.db", NoteSigner.generate("other/log"))
    assert not (tmp_path / "l.db").exists()


# Tampering ------------------------------------------------------------------


def _flip_entry_byte(sql: Any, seq: int) -> None:
    (row,) = sql.execute("SELECT entry FROM log_entries WHERE seq = ?", [seq])
    data = bytearray(bytes(row["entry"]))
    data[len(data) // 2] ^= 0x01
    sql.execute("UPDATE log_entries SET entry = ? WHERE seq = ?", [bytes(data), seq])


def _swap_rows(sql: Any, first: int, second: int) -> None:
    rows = {
        row["seq"]: row
        for row in sql.execute(
            "SELECT seq, notification_id, leaf, nodes, entry FROM log_entries "
            "WHERE seq IN (?, ?)",
            [first, second],
        )
    }
    for target, source in ((first, second), (second, first)):
        row = rows[source]
        sql.execute(
            "UPDATE log_entries SET notification_id = ?, leaf = ?, nodes = ?, "
            "entry = ? WHERE seq = ?",
            [
                row["notification_id"],
                bytes(row["leaf"]),
                bytes(row["nodes"]),
                bytes(row["entry"]),
                target,
            ],
        )


def _shift(sql: Any, start: int, by: int) -> None:
    # Renumber in two passes so that the primary key never collides.
    sql.execute("UPDATE log_entries SET seq = -seq - 1 WHERE seq >= ?", [start])
    sql.execute("UPDATE log_entries SET seq = -seq - 1 + ? WHERE seq < 0", [by])


def _delete_renumbered(sql: Any, seq: int) -> None:
    sql.execute("DELETE FROM log_entries WHERE seq = ?", [seq])
    _shift(sql, seq + 1, -1)


def _insert_forged(sql: Any, seq: int) -> None:
    (prev,) = sql.execute("SELECT leaf FROM log_entries WHERE seq = ?", [seq - 1])
    _shift(sql, seq, 1)
    forged = json.dumps(
        {
            "actor": "intruder",
            "body": {"amount": 10**6},
            "prev": bytes(prev["leaf"]).hex(),
            "recorded_at": "2026-01-01T00:00:00.000000Z",
            "seq": seq,
            "signatures": [],
            "stream": "00000000-0000-0000-0000-000000000000",
            "type": "tests:Note.LineAdded@1",
            "version": 1,
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    sql.execute(
        "INSERT INTO log_entries (seq, notification_id, leaf, nodes, entry) "
        "VALUES (?, ?, ?, ?, ?)",
        [seq, 10**9, leaf_hash(forged), b"", forged],
    )


def _relink(sql: Any, seq: int) -> None:
    (row,) = sql.execute("SELECT entry FROM log_entries WHERE seq = ?", [seq])
    value = json.loads(bytes(row["entry"]))
    value["prev"] = "ab" * 32
    data = json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()
    sql.execute(
        "UPDATE log_entries SET entry = ?, leaf = ? WHERE seq = ?",
        [data, leaf_hash(data), seq],
    )


def _change_event(sql: Any, seq: int) -> None:
    (row,) = sql.execute("SELECT notification_id FROM log_entries WHERE seq = ?", [seq])
    column = (
        "rowid" if "stored_events" in sql.recorder._events_table else "notification_id"
    )
    (event,) = sql.execute(
        f"SELECT state FROM {{events}} WHERE {column} = ?", [row["notification_id"]]
    )
    state = json.loads(bytes(event["state"]))
    state["amount"] = state.get("amount", 0) + 1
    sql.execute(
        f"UPDATE {{events}} SET state = ? WHERE {column} = ?",
        [json.dumps(state).encode(), row["notification_id"]],
    )


def _delete_event(sql: Any, seq: int) -> None:
    (row,) = sql.execute("SELECT notification_id FROM log_entries WHERE seq = ?", [seq])
    column = (
        "rowid" if "stored_events" in sql.recorder._events_table else "notification_id"
    )
    sql.execute(f"DELETE FROM {{events}} WHERE {column} = ?", [row["notification_id"]])


def _flip_node(sql: Any, seq: int) -> None:
    (row,) = sql.execute("SELECT nodes FROM log_entries WHERE seq = ?", [seq])
    nodes = bytearray(bytes(row["nodes"]))
    nodes[0] ^= 0x80
    sql.execute("UPDATE log_entries SET nodes = ? WHERE seq = ?", [bytes(nodes), seq])


Tamper = Callable[[Any], None]
TAMPER_CASES = [
    pytest.param(
        lambda sql: _flip_entry_byte(sql, 5),
        5,
        FailureKind.CHANGED_BYTES,
        id="flipped-byte",
    ),
    pytest.param(
        lambda sql: _swap_rows(sql, 4, 9), 4, FailureKind.REORDERED, id="swapped-pair"
    ),
    pytest.param(
        lambda sql: _swap_rows(sql, 6, 7),
        6,
        FailureKind.REORDERED,
        id="swapped-neighbours",
    ),
    pytest.param(
        lambda sql: sql.execute("DELETE FROM log_entries WHERE seq = 8"),
        8,
        FailureKind.MISSING_ENTRY,
        id="deleted-row",
    ),
    pytest.param(
        lambda sql: _delete_renumbered(sql, 3),
        3,
        FailureKind.MISSING_ENTRY,
        id="deleted-row-renumbered",
    ),
    pytest.param(
        lambda sql: _insert_forged(sql, 7),
        7,
        FailureKind.INSERTED_ENTRY,
        id="inserted-row",
    ),
    pytest.param(
        lambda sql: _relink(sql, 10), 10, FailureKind.BROKEN_LINK, id="broken-link"
    ),
    pytest.param(
        lambda sql: _change_event(sql, 2),
        2,
        FailureKind.CHANGED_EVENT,
        id="changed-event",
    ),
    pytest.param(
        lambda sql: _delete_event(sql, 11),
        11,
        FailureKind.INSERTED_ENTRY,
        id="deleted-event",
    ),
    pytest.param(
        lambda sql: _flip_node(sql, 7),
        7,
        FailureKind.CHANGED_NODE,
        id="changed-tree-node",
    ),
    pytest.param(
        lambda sql: sql.execute("DELETE FROM log_entries WHERE seq = 13"),
        13,
        FailureKind.MISSING_ENTRY,
        id="deleted-entry-event-kept",
    ),
]


@pytest.mark.parametrize(("tamper", "position", "kind"), TAMPER_CASES)
def test_tampering_is_caught_where_it_happened(
    ledger: Any, tamper: Tamper, position: int, kind: FailureKind
) -> None:
    app, log = ledger
    append_notes(app, [4, 4, 3, 2, 1, 2])
    assert verify(app, log).ok

    with raw_sql(app.log_recorder) as sql:
        tamper(sql)
    report = verify(app, log)

    assert report.failure is not None
    assert (report.failure.position, report.failure.kind) == (position, kind), (
        report.failure
    )


def test_truncation_behind_a_checkpoint_is_caught(ledger: Any) -> None:
    app, log = ledger
    append_notes(app, [5, 5])
    log.checkpoint()
    with raw_sql(app.log_recorder) as sql:
        column = (
            "rowid"
            if "stored_events" in sql.recorder._events_table
            else "notification_id"
        )
        sql.execute(
            f"DELETE FROM {{events}} WHERE {column} IN "
            "(SELECT notification_id FROM log_entries WHERE seq >= 7)"
        )
        sql.execute("DELETE FROM log_entries WHERE seq >= 7")
    report = verify(app, log)
    assert report.failure is not None
    assert (report.failure.position, report.failure.kind) == (7, FailureKind.TRUNCATED)


def test_truncation_behind_a_checkpoint_kept_elsewhere_is_caught(ledger: Any) -> None:
    app, log = ledger
    append_notes(app, [5, 5])
    kept = log.checkpoint()
    with raw_sql(app.log_recorder) as sql:
        sql.execute("DELETE FROM log_checkpoints")
        column = (
            "rowid"
            if "stored_events" in sql.recorder._events_table
            else "notification_id"
        )
        sql.execute(
            f"DELETE FROM {{events}} WHERE {column} IN "
            "(SELECT notification_id FROM log_entries WHERE seq >= 9)"
        )
        sql.execute("DELETE FROM log_entries WHERE seq >= 9")
    assert verify(app, log).ok  # without the auditor's copy nothing shows
    report = verify(app, log, [kept])
    assert report.failure is not None
    assert (report.failure.position, report.failure.kind) == (9, FailureKind.TRUNCATED)


def _rewrite_from(app: LedgerApplication, sql: Any, start: int) -> None:
    """The strongest insider: change entry ``start`` and rechain everything after."""
    rows = sql.execute(
        "SELECT seq, notification_id, entry FROM log_entries ORDER BY seq"
    )
    tree = CompactRange()
    prev = GENESIS_PREV
    for row in rows:
        value = json.loads(bytes(row["entry"]))
        if row["seq"] == start:
            value["actor"] = "rewritten"
        if row["seq"] >= start:
            value["prev"] = prev
            data = json.dumps(
                value, sort_keys=True, separators=(",", ":"), ensure_ascii=False
            ).encode()
        else:
            data = bytes(row["entry"])
        leaf = leaf_hash(data)
        nodes = b"".join(h for _, h in tree.append(leaf))
        sql.execute(
            "UPDATE log_entries SET entry = ?, leaf = ?, nodes = ? WHERE seq = ?",
            [data, leaf, nodes, row["seq"]],
        )
        if row["seq"] == start:
            column = (
                "rowid"
                if "stored_events" in sql.recorder._events_table
                else "notification_id"
            )
            (event,) = sql.execute(
                f"SELECT state FROM {{events}} WHERE {column} = ?",
                [row["notification_id"]],
            )
            state = json.loads(bytes(event["state"]))
            state["actor"] = "rewritten"
            sql.execute(
                f"UPDATE {{events}} SET state = ? WHERE {column} = ?",
                [json.dumps(state).encode(), row["notification_id"]],
            )
        prev = leaf.hex()


def test_rewritten_history_is_a_fork_from_the_signed_checkpoint(ledger: Any) -> None:
    app, log = ledger
    append_notes(app, [4, 4, 4])
    log.checkpoint(6)
    log.checkpoint()
    with raw_sql(app.log_recorder) as sql:
        _rewrite_from(app, sql, 4)
    report = verify(app, log)
    assert report.failure is not None
    assert (report.failure.position, report.failure.kind) == (6, FailureKind.FORK)


def test_forged_checkpoint_signature_is_caught(ledger: Any) -> None:
    app, log = ledger
    append_notes(app, [3])
    note = log.checkpoint()
    body, _, signature = note.rpartition("— ")
    name, sig = signature.split(" ")
    raw = bytearray(base64.b64decode(sig))
    raw[-1] ^= 0x01
    forged = f"{body}— {name} {base64.b64encode(bytes(raw)).decode()}\n"
    with raw_sql(app.log_recorder) as sql:
        sql.execute("UPDATE log_checkpoints SET note = ?", [forged])
    report = verify(app, log)
    assert report.failure is not None
    assert (report.failure.position, report.failure.kind) == (
        3,
        FailureKind.BAD_SIGNATURE,
    )


def test_event_without_entry_is_caught(ledger: Any) -> None:
    app, log = ledger
    append_notes(app, [3, 3])
    with raw_sql(app.log_recorder) as sql:
        sql.execute("DELETE FROM log_entries WHERE seq = 5")
    report = verify(app, log)
    assert report.failure is not None
    assert (report.failure.position, report.failure.kind) == (
        5,
        FailureKind.MISSING_ENTRY,
    )
