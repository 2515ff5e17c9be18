"""Application recorders that write the log in the same transaction as the events.

The ``eventsourcing`` library stores each save's events in one transaction. Our
recorders subclass its SQLite and PostgreSQL application recorders and, inside
that transaction and after the events have their notification ids, append one
log entry per event: its canonical bytes, its leaf hash, and the hashes of the
Merkle subtrees that the new leaf completes. So there is never an event without
its entry, never an entry without its event, and the log order is the
notification order.

Writers are serialised before the log's head is read: PostgreSQL by the library's
``LOCK TABLE ... IN EXCLUSIVE MODE``, taken before the events are inserted;
SQLite because the first statement of the transaction is the event insert, which
takes the database's single write lock. Two writers can therefore never read the
same head, and ``seq`` is the primary key, so a fork could not be stored even if
they did.

Stored Merkle nodes: the row of entry ``seq`` keeps, in ``nodes``, the hashes of
every perfect subtree of level >= 1 that ends at that leaf, lowest level first.
The node (level, index) with level >= 1 therefore lives in the row of entry
``(index + 1) * 2**level - 1`` at byte offset ``32 * (level - 1)``; level-0
nodes are the ``leaf`` column. Proofs read O(log n) rows and never the whole log.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

import psycopg
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import retry
from psycopg import InterfaceError, OperationalError
from psycopg.sql import SQL, Identifier

from ledger.entry import GENESIS_PREV, entry_bytes, timestamp
from ledger.merkle import HASH_SIZE, CompactRange, NodeId, leaf_hash, root_nodes
from ledger.storage import Storage

logger = logging.getLogger(__name__)

ENTRIES = "log_entries"
CHECKPOINTS = "log_checkpoints"
META = "log_meta"


class Cursor(Protocol):
    """The part of a DB-API cursor that both backends' cursors share."""

    def execute(self, query: Any, params: Any = ..., /) -> Any: ...
    def executemany(self, query: Any, params_seq: Any, /) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> Any: ...


VerificationRow = Sequence[Any]
"""seq, notification_id, leaf, nodes, entry, originator_id, version, topic, state"""


def node_location(node: NodeId) -> tuple[int, int]:
    """Return (seq of the row holding the node, byte offset in its nodes column).

    An offset of -1 means the node is the row's leaf hash.
    """
    level, index = node
    seq = ((index + 1) << level) - 1
    return seq, (level - 1) * HASH_SIZE if level else -1


def _log_tables(*, integer: str, blob: str, text: str) -> list[str]:
    """The log's DDL in one back end's column types.

    NOTE: the tables live in the connection's default schema (PostgreSQL's
    ``public``); the library's POSTGRES_SCHEMA setting is not supported.
    """
    return [
        (
            f"CREATE TABLE IF NOT EXISTS {ENTRIES} (seq {integer} PRIMARY KEY, "
            f"notification_id {integer} NOT NULL, leaf {blob} NOT NULL, "
            f"nodes {blob} NOT NULL, entry {blob} NOT NULL)"
        ),
        # A request's receipt looks its entries up by notification id; without
        # the index every receipt scans the whole log.
        (
            f"CREATE INDEX IF NOT EXISTS {ENTRIES}_notification_id "
            f"ON {ENTRIES} (notification_id)"
        ),
        (
            f"CREATE TABLE IF NOT EXISTS {CHECKPOINTS} (size {integer} NOT NULL, "
            f"root {blob} NOT NULL, note {text} NOT NULL UNIQUE, "
            f"issued_at {text} NOT NULL)"
        ),
        (
            f"CREATE TABLE IF NOT EXISTS {META} (name {text} PRIMARY KEY, "
            f"value {text} NOT NULL)"
        ),
    ]


class LogRecorder:
    """Log reading and writing shared by the SQLite and PostgreSQL recorders.

    Subclasses supply ``_sql`` (the placeholder style), ``_cursor`` (a
    transaction), the events table join and the DDL.
    """

    _events_table: str
    _join_on: str

    if TYPE_CHECKING:  # provided by the library's recorder beside this mixin

        def max_notification_id(self) -> Any: ...

    def __init_log__(self) -> None:
        self._tree_lock = threading.Lock()
        self._tree: tuple[CompactRange, bytes] | None = None

    blob_type = "BLOB"

    # Writing ----------------------------------------------------------------

    def _sql(self, statement: str) -> str:
        return statement

    def _transaction(self, *, commit: bool) -> AbstractContextManager[Cursor]:
        raise NotImplementedError

    def side_table(self, *, commit: bool) -> AbstractContextManager[Cursor]:
        """A transaction for tables beside the log (never the log's own).

        Statements use ``?`` placeholders; ``sql`` turns them into the back
        end's style. For data that must not be in the log, such as the
        personal-data vault.
        """
        return self._transaction(commit=commit)

    def sql(self, statement: str) -> str:
        """``statement`` with ``?`` placeholders in this back end's style."""
        return self._sql(statement)

    def stream_of(self, originator_id: UUID | str) -> str:
        return str(originator_id)

    def _append_log(
        self,
        cursor: Cursor,
        stored_events: Sequence[StoredEvent],
        notification_ids: Sequence[int],
    ) -> None:
        """Append one entry per stored event; the caller holds the write lock."""
        # 1. Read the head. Everything after this point relies on no other
        #    writer being able to append until our transaction ends.
        cursor.execute(
            self._sql(f"SELECT seq, leaf FROM {ENTRIES} ORDER BY seq DESC LIMIT 1")
        )
        head = cursor.fetchone()
        size = 0 if head is None else head["seq"] + 1
        last_leaf = b"" if head is None else bytes(head["leaf"])

        # 2. Continue the Merkle tree from its right edge: from the cache when it
        #    still describes the head, else from the stored frontier nodes.
        tree = self._cached_tree(size, last_leaf)
        if tree is None:
            frontier_ids = root_nodes(size)
            stored = self._read_nodes(cursor, frontier_ids)
            tree = CompactRange(size, [stored[node] for node in frontier_ids])

        # 3. Build and hash each entry, chaining it to the one before.
        prev = last_leaf.hex() if last_leaf else GENESIS_PREV
        recorded_at = timestamp()
        stream_of = self.stream_of
        rows = []
        seq = tree.size
        for stored_event, notification_id in zip(
            stored_events, notification_ids, strict=True
        ):
            data = entry_bytes(
                seq=seq,
                prev=prev,
                recorded_at=recorded_at,
                stream=stream_of(stored_event.originator_id),
                version=stored_event.originator_version,
                type=stored_event.topic,
                state=stored_event.state,
            )
            leaf = leaf_hash(data)
            rows.append((seq, notification_id, leaf, tree.append_packed(leaf), data))
            prev = leaf.hex()
            seq += 1

        # 4. Store them. A primary-key violation here would mean a fork; it
        #    aborts the whole transaction, events included.
        cursor.executemany(
            self._sql(
                f"INSERT INTO {ENTRIES} (seq, notification_id, leaf, nodes, entry) "
                "VALUES (?, ?, ?, ?, ?)"
            ),
            rows,
        )
        with self._tree_lock:
            self._tree = (tree, rows[-1][2]) if rows else self._tree

    def _cached_tree(self, size: int, last_leaf: bytes) -> CompactRange | None:
        with self._tree_lock:
            if self._tree is None:
                return None
            tree, leaf = self._tree
            if tree.size != size or leaf != last_leaf:
                return None
            return CompactRange(tree.size, tree.frontier)

    # Reading ----------------------------------------------------------------

    def _read_nodes(
        self, cursor: Cursor, node_ids: Iterable[NodeId]
    ) -> dict[NodeId, bytes]:
        wanted = {node: node_location(node) for node in node_ids}
        if not wanted:
            return {}
        seqs = sorted({seq for seq, _ in wanted.values()})
        marks = ", ".join("?" * len(seqs))
        cursor.execute(
            self._sql(f"SELECT seq, leaf, nodes FROM {ENTRIES} WHERE seq IN ({marks})"),
            seqs,
        )
        rows = {row["seq"]: row for row in cursor.fetchall()}
        found: dict[NodeId, bytes] = {}
        for node, (seq, offset) in wanted.items():
            row = rows.get(seq)
            if row is None:
                continue
            if offset < 0:
                found[node] = bytes(row["leaf"])
            else:
                value = bytes(row["nodes"])[offset : offset + HASH_SIZE]
                if len(value) == HASH_SIZE:
                    found[node] = value
        return found

    def read_nodes(self, node_ids: Iterable[NodeId]) -> dict[NodeId, bytes]:
        """Fetch stored Merkle nodes in one query; absent nodes are left out."""
        with self._transaction(commit=False) as cursor:
            return self._read_nodes(cursor, node_ids)

    def positions(self, notification_ids: Sequence[int]) -> list[tuple[int, str]]:
        """(log position, hex leaf hash) of the entries recording these events."""
        if not notification_ids:
            return []
        marks = ", ".join("?" * len(notification_ids))
        with self._transaction(commit=False) as cursor:
            cursor.execute(
                self._sql(
                    f"SELECT seq, leaf FROM {ENTRIES} "
                    f"WHERE notification_id IN ({marks}) ORDER BY seq"
                ),
                list(notification_ids),
            )
            return [
                (int(row["seq"]), bytes(row["leaf"]).hex()) for row in cursor.fetchall()
            ]

    def first_entry_of(self, originator_id: UUID) -> list[tuple[int, str]]:
        """(position, leaf hash) of the entry recording a stream's first event."""
        with self._transaction(commit=False) as cursor:
            cursor.execute(
                self._sql(
                    f"SELECT e.seq AS seq, e.leaf AS leaf FROM {ENTRIES} e "
                    f"JOIN {self._events_table} s ON {self._join_on} "
                    "WHERE s.originator_id = ? AND s.originator_version = 1"
                ),
                [self._stored_id(originator_id)],
            )
            return [
                (int(row["seq"]), bytes(row["leaf"]).hex()) for row in cursor.fetchall()
            ]

    def recorded_streams(self, originator_ids: Sequence[UUID]) -> set[UUID]:
        """Which of these streams have at least one stored event: one query."""
        if not originator_ids:
            return set()
        stored = {self._stored_id(i): i for i in originator_ids}
        marks = ", ".join("?" * len(stored))
        with self._transaction(commit=False) as cursor:
            cursor.execute(
                self._sql(
                    f"SELECT DISTINCT originator_id FROM {self._events_table} "
                    f"WHERE originator_id IN ({marks})"
                ),
                list(stored),
            )
            return {stored[row["originator_id"]] for row in cursor.fetchall()}

    def _stored_id(self, originator_id: UUID) -> Any:
        return originator_id

    def log_size(self) -> int:
        """Number of entries in the log."""
        with self._transaction(commit=False) as cursor:
            cursor.execute(self._sql(f"SELECT MAX(seq) AS top FROM {ENTRIES}"))
            row = cursor.fetchone()
            top = None if row is None else row["top"]
            return 0 if top is None else int(top) + 1

    def read_entry(self, seq: int) -> bytes | None:
        """The exact stored bytes of entry ``seq``, or None if there is none."""
        with self._transaction(commit=False) as cursor:
            cursor.execute(
                self._sql(f"SELECT entry FROM {ENTRIES} WHERE seq = ?"), [seq]
            )
            row = cursor.fetchone()
            return None if row is None else bytes(row["entry"])

    def read_leaves(self, start: int, stop: int) -> list[tuple[int, bytes]]:
        """(seq, leaf hash) for entries with start <= seq < stop, in order."""
        with self._transaction(commit=False) as cursor:
            cursor.execute(
                self._sql(
                    f"SELECT seq, leaf FROM {ENTRIES} WHERE seq >= ? AND seq < ? "
                    "ORDER BY seq"
                ),
                [start, stop],
            )
            return [(row["seq"], bytes(row["leaf"])) for row in cursor.fetchall()]

    def verification_rows(
        self, stop: int, batch_size: int = 5000, start: int = 0
    ) -> Iterator[list[VerificationRow]]:
        """Entries below ``stop`` with the stored events they name, in batches.

        Each row is a sequence of seq, notification_id, leaf, nodes, entry and,
        from the events table (None where the event is gone), originator_id,
        originator_version, topic and state.
        """
        query = self._sql(
            "SELECT e.seq AS seq, e.notification_id AS notification_id, "
            "e.leaf AS leaf, e.nodes AS nodes, e.entry AS entry, "
            "s.originator_id AS originator_id, "
            "s.originator_version AS originator_version, "
            "s.topic AS topic, s.state AS state "
            f"FROM {ENTRIES} e LEFT JOIN {self._events_table} s "
            f"ON {self._join_on} "
            "WHERE e.seq >= ? AND e.seq < ? ORDER BY e.seq LIMIT ?"
        )
        while start < stop:
            with self._transaction(commit=False) as cursor:
                cursor.execute(query, [start, stop, batch_size])
                rows = self._as_tuples(cursor.fetchall())
            if not rows:
                return
            yield rows
            start = rows[-1][0] + 1

    def _as_tuples(self, rows: list[Any]) -> list[Any]:
        return rows

    def stored_stream(self, originator_id: Any) -> str:
        """The entry's ``stream`` for an originator id as the events table has it."""
        return str(originator_id)

    def count_events(self) -> int:
        """Number of stored events, whether or not they have entries."""
        with self._transaction(commit=False) as cursor:
            cursor.execute(self._sql(f"SELECT COUNT(*) AS n FROM {self._events_table}"))
            return int(cursor.fetchone()["n"])

    def event_ids(self, after: int, up_to: int, limit: int) -> list[int]:
        """Notification ids of stored events in (after, up_to], ascending."""
        with self._transaction(commit=False) as cursor:
            cursor.execute(self._sql(self._event_ids_query), [after, up_to, limit])
            return [int(row["notification_id"]) for row in cursor.fetchall()]

    _event_ids_query: str

    # Checkpoints and metadata -------------------------------------------------

    def store_checkpoint(
        self, size: int, root: bytes, note: str, issued_at: str
    ) -> None:
        """Keep a checkpoint that was issued, once, so verify re-checks it."""
        with self._transaction(commit=True) as cursor:
            cursor.execute(
                self._sql(
                    f"INSERT INTO {CHECKPOINTS} (size, root, note, issued_at) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"
                ),
                [size, root, note, issued_at],
            )

    def read_checkpoints(self) -> list[tuple[int, bytes, str, str]]:
        """Every stored checkpoint: (size, root, note, issued_at), by size."""
        with self._transaction(commit=False) as cursor:
            cursor.execute(
                self._sql(
                    f"SELECT size, root, note, issued_at FROM {CHECKPOINTS} "
                    "ORDER BY size, issued_at"
                )
            )
            return [
                (
                    int(row["size"]),
                    bytes(row["root"]),
                    str(row["note"]),
                    str(row["issued_at"]),
                )
                for row in cursor.fetchall()
            ]

    def read_meta(self) -> dict[str, str]:
        """The log's settings: origin, verifier key, creation time."""
        with self._transaction(commit=False) as cursor:
            cursor.execute(self._sql(f"SELECT name, value FROM {META}"))
            return {str(row["name"]): str(row["value"]) for row in cursor.fetchall()}

    def write_meta(self, values: dict[str, str]) -> None:
        """Insert settings, all or none; setting one twice is an IntegrityError."""
        with self._transaction(commit=True) as cursor:
            cursor.executemany(
                self._sql(f"INSERT INTO {META} (name, value) VALUES (?, ?)"),
                list(values.items()),
            )


class SQLiteLogRecorder(LogRecorder, SQLiteApplicationRecorder):
    """SQLite application recorder that appends the log with the events."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.__init_log__()
        self._events_table = self.events_table_name
        self._join_on = "s.rowid = e.notification_id"
        self._event_ids_query = (
            f"SELECT rowid AS notification_id FROM {self._events_table} "
            "WHERE rowid > ? AND rowid <= ? ORDER BY rowid LIMIT ?"
        )

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            *_log_tables(integer="INTEGER", blob="BLOB", text="TEXT"),
        ]

    def _transaction(self, *, commit: bool) -> AbstractContextManager[Cursor]:
        return self.datastore.transaction(commit=commit)

    def _stored_id(self, originator_id: UUID) -> Any:
        return originator_id.hex

    def stored_stream(self, originator_id: Any) -> str:
        # The library stores UUIDs as 32 hex digits; entries use the 8-4-4-4-12
        # form. Slicing is several times faster than a UUID round trip.
        h = originator_id
        if self.datastore.originator_id_type == "uuid" and len(h) == 32:
            return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
        return str(h)

    def stream_of(self, originator_id: UUID | str) -> str:
        if isinstance(originator_id, UUID):
            return str(originator_id)
        return str(self.convert_originator_id(originator_id))

    def _insert_events(
        self, c: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if not stored_events:
            return []

        # 1. The events, in one statement. It comes first: it takes SQLite's
        #    write lock, so neither the rowids nor the head read by _append_log
        #    can move until we commit. (The library inserts one row per call to
        #    learn each rowid; under the lock they are consecutive, so the last
        #    one gives them all.)
        c.executemany(
            self.insert_events_statement,
            [
                (
                    event.originator_id.hex
                    if isinstance(event.originator_id, UUID)
                    else event.originator_id,
                    event.originator_version,
                    event.topic,
                    event.state,
                )
                for event in stored_events
            ],
        )
        c.execute("SELECT last_insert_rowid() AS last")
        last = int(c.fetchone()["last"])
        notification_ids = range(last - len(stored_events) + 1, last + 1)

        # 2. Their log entries, in the same transaction.
        self._append_log(c, stored_events, notification_ids)
        return list(notification_ids)


class PostgresLogRecorder(LogRecorder, PostgresApplicationRecorder):
    """PostgreSQL application recorder that appends the log with the events."""

    blob_type = "bytea"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.__init_log__()
        schema = self.datastore.schema
        self._join_on = "s.notification_id = e.notification_id"
        self._events_table = f"{schema}.{self.events_table_name}"
        self._event_ids_query = (
            f"SELECT notification_id FROM {self._events_table} "
            "WHERE notification_id > ? AND notification_id <= ? "
            "ORDER BY notification_id LIMIT ?"
        )
        self.sql_create_statements.extend(
            SQL(statement).format()
            for statement in _log_tables(integer="bigint", blob="bytea", text="text")
        )
        self._insert_columns_statement = SQL(
            "INSERT INTO {schema}.{table} "
            "(originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%b::{id_type}[], %b::bigint[], %b::text[], "
            "%b::bytea[]) RETURNING notification_id"
        ).format(
            schema=Identifier(schema),
            table=Identifier(self.events_table_name),
            id_type=Identifier(self.datastore.originator_id_type),
        )

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s")

    # NOTE: the library sends every save through psycopg's pipeline mode, and
    # psycopg 3.3 there stalls for good (client and server both waiting to
    # read) once one statement's data passes roughly 8 MB: a save of about
    # 10,000 events, such as one full ``MAX_BATCH`` request. Saves that large
    # go without the pipeline, in the same single transaction; the few round
    # trips it saves matter only for small saves.
    PIPELINE_LIMIT = 4_000_000  # bytes of event state

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if sum(len(event.state) for event in stored_events) < self.PIPELINE_LIMIT:
            ids: Sequence[int] | None = super().insert_events(stored_events, **kwargs)
            return ids
        with (
            self.datastore.get_connection() as conn,
            conn.transaction(),
            conn.cursor() as cursor,
        ):
            self._insert_stored_events(cursor, stored_events, **kwargs)
            return self._fetch_ids_after_insert_events(cursor, stored_events, **kwargs)

    def _insert_stored_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        # The library sends the events as one array of a composite type, which
        # psycopg writes out as text in Python (about 4 s for 100,000 events);
        # one array per column goes in binary (about 1 s). Same lock, same
        # notification, same order of rows and of the ids returned.
        self._lock_table(curs)
        self._notify_channel(curs)
        curs.execute(
            self._insert_columns_statement,
            [
                [event.originator_id for event in stored_events],
                [event.originator_version for event in stored_events],
                [event.topic for event in stored_events],
                [event.state for event in stored_events],
            ],
        )

    def _as_tuples(self, rows: list[Any]) -> list[Any]:
        # psycopg rows are dicts here; verification unpacks them positionally.
        return [tuple(row.values()) for row in rows]

    def _transaction(self, *, commit: bool) -> AbstractContextManager[Cursor]:
        return self.datastore.transaction(commit=commit)

    def _fetch_ids_after_insert_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        # Called inside the transaction, after the library locked the events
        # table and inserted the events: the head cannot move until commit.
        notification_ids = super()._fetch_ids_after_insert_events(
            curs, stored_events, **kwargs
        )
        assert notification_ids is not None  # noqa: S101 - the library's contract
        self._append_log(curs, stored_events, notification_ids)
        return notification_ids


class AppendListener:
    """Wakes a follower of the log when a writer appends, on PostgreSQL.

    The event-store library sends ``NOTIFY`` on its channel in every transaction
    that inserts events; this holds a connection that ``LISTEN``s to it. It is a
    hint, never the truth: a follower still reads the log to learn what is new,
    and still polls, so a notification lost with a dropped connection delays
    nothing beyond the poll. Notifications that arrive while the follower works
    wait on the connection, so none falls between a read and the next wait.
    """

    def __init__(self, storage: Storage, channel: str) -> None:
        self._storage = storage
        self._channel = channel
        self._connection: psycopg.Connection[Any] | None = None
        self._connect()

    def _connect(self) -> None:
        storage = self._storage
        try:
            connection = psycopg.connect(
                host=storage.host,
                port=storage.port,
                user=storage.user,
                password=storage.password,
                dbname=storage.dbname,
                autocommit=True,
                connect_timeout=10,
            )
            connection.execute(SQL("LISTEN {}").format(Identifier(self._channel)))
        except psycopg.Error as error:
            logger.warning("cannot listen for appends, polling only: %s", error)
            return
        self._connection = connection

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds; whether a writer appended meanwhile
        (or since the last wait). Without a connection, sleeps and reconnects."""
        if self._connection is None:
            time.sleep(timeout)
            self._connect()
            return False
        try:
            return any(True for _ in self._connection.notifies(timeout=timeout))
        except psycopg.Error as error:
            logger.warning("stopped listening for appends, polling: %s", error)
            self.close()
            return False

    def close(self) -> None:
        """Stop listening."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None


@contextmanager
def append_waits(
    recorder: LogRecorder, storage: Storage
) -> Iterator[Callable[[float], bool] | None]:
    """Within: ``AppendListener.wait`` for ``recorder``'s appends where the
    database can notify, else None (poll only); the listener closes on exit."""
    if not isinstance(recorder, PostgresLogRecorder):
        yield None
        return
    listener = AppendListener(storage, recorder.channel_name)
    try:
        yield listener.wait
    finally:
        listener.close()
