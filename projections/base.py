"""Projections as pure state machines over the log, whose whole state is rows.

A projection (a disclosure view, the fraud rules) declares its tables and folds
``LoggedEvent``s into rows held in memory. Everything it needs to go on is in
those rows, so the runner (``projections.runner``) can write the rows a batch
changed in the same transaction as the position it reached, and a projection
restarted from its stored rows continues exactly as one that never stopped.

Invariants every projection keeps:

- ``apply`` is deterministic: the rows after a sequence of events depend only
  on that sequence, so views rebuilt from scratch equal views kept up to date
  step by step, and restoring stored rows mid-way changes nothing.
- A projection reads only ``LoggedEvent``s and its own rows: no clock, no
  randomness, no database.
- Rows of public tables hold no personal data (no name, ID number, bank
  account); ``evidence`` links a row to the log positions behind it.

Rows are tuples of plain values (str, int, bool, None) in the declared column
order; keys are tuples of the key columns' values.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from projections.feed import LoggedEvent

Value = str | int | bool | None
Key = tuple[Value, ...]
Row = tuple[Value, ...]


@dataclass(frozen=True)
class Column:
    """One column: a name and its SQL type, ``TEXT``, ``INTEGER`` or ``BOOLEAN``."""

    name: str
    type: str = "TEXT"


@dataclass(frozen=True)
class Table:
    """A projection's table: key columns first, then value columns.

    ``public`` tables may be served to anyone; private ones hold the state a
    projection needs to go on (which persons were already counted, say).
    """

    name: str
    key: tuple[Column, ...]
    values: tuple[Column, ...]
    public: bool = True

    @property
    def columns(self) -> tuple[Column, ...]:
        """Key columns, then value columns."""
        return self.key + self.values


@dataclass
class Changes:
    """What a batch of events changed: rows to upsert and evidence to add."""

    rows: dict[str, dict[Key, Row | None]] = field(default_factory=dict)
    evidence: list[tuple[str, Key, int]] = field(default_factory=list)


class Projection:
    """Base of every projection: rows in memory, what changed since the last flush.

    Subclasses set ``name`` and ``tables`` and implement ``apply``; they read and
    write rows only through ``get``, ``put``, ``delete`` and ``cite``.
    """

    name: ClassVar[str]
    tables: ClassVar[tuple[Table, ...]]
    # Raise it whenever ``apply`` changes what it makes of the same events: the
    # runner then refuses to continue the stored rows until they are rebuilt.
    version: ClassVar[int] = 1

    def __init__(self) -> None:
        self._rows: dict[str, dict[Key, Row]] = {t.name: {} for t in self.tables}
        self._changes = self._no_changes()
        self._evidence: dict[tuple[str, Key], list[int]] = {}

    def _no_changes(self) -> Changes:
        # A dict for every table up front: ``put`` is the hottest call there is.
        return Changes(rows={t.name: {} for t in self.tables})

    # What subclasses implement -----------------------------------------------

    def apply(self, event: LoggedEvent) -> None:
        """Fold one entry into the rows (ignore the names it does not follow)."""
        raise NotImplementedError

    # Row access for subclasses ------------------------------------------------

    def get(self, table: str, key: Key) -> Row | None:
        """The row with this key, or None."""
        return self._rows[table].get(key)

    def put(self, table: str, key: Key, row: Row) -> None:
        """Insert or replace a row (``row`` holds the value columns only)."""
        self._rows[table][key] = row
        self._changes.rows[table][key] = row

    def delete(self, table: str, key: Key) -> None:
        """Remove a row, if there is one."""
        if self._rows[table].pop(key, None) is not None:
            self._changes.rows[table][key] = None

    def cite(self, table: str, key: Key, seq: int) -> None:
        """Record that the entry at ``seq`` is behind this row."""
        # Kept sorted and without repeats, as the runner stores and restores
        # them, so a restarted projection cites exactly what a running one does.
        # Citing the entry being applied (the usual case) is an append.
        cited = self._evidence.get((table, key))
        if cited is None:
            self._evidence[table, key] = [seq]
        elif not cited or cited[-1] < seq:
            cited.append(seq)
        else:
            at = bisect_left(cited, seq)
            if at < len(cited) and cited[at] == seq:
                return
            cited.insert(at, seq)
        self._changes.evidence.append((table, key, seq))

    def evidence(self, table: str, key: Key) -> list[int]:
        """The log positions behind a row, in log order."""
        return list(self._evidence.get((table, key), ()))

    # For the runner and tests --------------------------------------------------

    def apply_all(self, events: Iterable[LoggedEvent]) -> None:
        """Fold many entries, in order."""
        for event in events:
            self.apply(event)

    def take_changes(self) -> Changes:
        """What changed since the last call; the runner writes it, then forgets."""
        changes, self._changes = self._changes, self._no_changes()
        return changes

    def restore(
        self,
        rows: dict[str, Iterable[tuple[Key, Row]]],
        evidence: Iterable[tuple[str, Key, int]],
    ) -> None:
        """Load stored rows and evidence (a restart); nothing counts as changed.

        Whatever the projection held before is forgotten, so restoring empty
        tables starts it again from the beginning of the log (a rebuild).
        """
        self._rows = {t.name: {} for t in self.tables}
        self._evidence = {}
        for table, stored in rows.items():
            self._rows[table] = dict(stored)
        for table, key, seq in evidence:
            self._evidence.setdefault((table, key), []).append(seq)
        for cited in self._evidence.values():
            cited[:] = sorted(set(cited))
        self._changes = self._no_changes()

    def rows(self, table: str) -> Iterator[tuple[Key, Row]]:
        """Every row of a table as (key, values), sorted by key."""
        yield from sorted(
            self._rows[table].items(), key=lambda item: _sort_key(item[0])
        )

    def snapshot(self) -> dict[str, list[tuple[Key, Row, list[int]]]]:
        """All tables with their evidence, for comparing two projections."""
        return {
            table.name: [
                (key, row, self.evidence(table.name, key))
                for key, row in self.rows(table.name)
            ]
            for table in self.tables
        }


def _sort_key(key: Key) -> tuple[tuple[int, str], ...]:
    # None sorts first, then by text, whatever the value's type.
    return tuple((0, "") if part is None else (1, f"{part}") for part in key)
