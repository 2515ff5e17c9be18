"""The composition root: the fund domain saved through the verifiable log.

``FundLedger`` is the one place where ``domain`` aggregates meet the ``ledger``
application. A command loads the county's fund, asks it to change (the domain
refuses what its rules forbid, and then nothing is saved), and saves every
resulting event in one transaction with its log entries. When another writer
changed the same fund first, the command is applied again to the fresh state.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, LRUCache, Repository
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from domain.errors import FundNotOpen, UnknownUnit
from domain.funds import CountyFund, Signatures
from domain.officers import REGISTRY_ID, OfficerRegistry
from domain.policy import Policy, load_policy
from domain.requests import AcceptedRequest
from domain.rolls import CountyRolls
from domain.schools import CountySchools
from domain.units import Registry, load_hubei
from ledger.application import LedgerApplication, LedgerRepository
from ledger.errors import LedgerMisuse

RETRIES = 5


class FundLedger(LedgerApplication):
    """Fund commands over the log."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._unsaved = threading.local()
        super().__init__(*args, **kwargs)
        threshold = os.environ.get("FUNDLEDGER_APPROVAL_THRESHOLD_FEN", "").strip()
        if threshold:
            if not threshold.isdigit():
                raise LedgerMisuse(
                    "FUNDLEDGER_APPROVAL_THRESHOLD_FEN must be a whole number of "
                    f"fen, got {threshold!r}"
                )
            self.approval_threshold_fen = int(threshold)

    # Payments at or below this many fen need no second officer; None: all do.
    # Set by FUNDLEDGER_APPROVAL_THRESHOLD_FEN; unset means every payment waits.
    approval_threshold_fen: int | None = None
    log_origin = "fundledger"

    def approval_needed(self, amount_fen: object) -> bool:
        """Whether a payment of this amount waits for an approver."""
        if self.approval_threshold_fen is None or not isinstance(amount_fen, int):
            return True
        return amount_fen > self.approval_threshold_fen

    @cached_property
    def policy(self) -> Policy:
        """The programmes' rates and rules this deployment pays by."""
        return load_policy(configured_rates=self.configured_rates)

    configured_rates: dict[str, int] | None = None

    @cached_property
    def units(self) -> Registry:
        """The administrative units officers and funds belong to."""
        return load_hubei()

    @property
    def repository(self) -> Repository[UUID]:
        """The repository; inside ``unsaved``, one that sees those aggregates."""
        overlay: Repository[UUID] | None = getattr(self._unsaved, "repository", None)
        return overlay if overlay is not None else self._repository

    @contextmanager
    def unsaved(
        self,
        aggregates: dict[UUID, Aggregate],
        cache: LRUCache[UUID, Any],
        absent: set[UUID] | None = None,
    ) -> Iterator[dict[UUID, Aggregate]]:
        """Within: this thread loads these unsaved aggregates, not stored ones.

        Group commit (``api.group_commit``) applies several requests before
        saving any: each must see what the ones before it changed. The dict is
        read at each load, so aggregates added to it later are seen too. Other
        aggregates come from ``cache``, fast-forwarded from the store at each
        load and handed out as they are, not copied: the caller owns the cache
        and evicts what a refused request may have changed. Yields every
        aggregate loaded from the cache or the store meanwhile, each brought up
        to date once: a later load within gives the same object (the caller
        drops from it what it evicts). Ids in ``absent``, known not to be
        stored, are not looked for. Other threads see the stored aggregates
        only.
        """
        repository = _UnsavedFirst(self._repository, aggregates, cache, absent)
        self._unsaved.repository = repository
        try:
            yield repository.loaded
        finally:
            del self._unsaved.repository

    def rolls_or_none(self, county_code: str) -> CountyRolls | None:
        """The county's rolls, or None before anything was put on them."""
        rolls: CountyRolls | None = self._get_or_none(
            CountyRolls.create_id(county_code)
        )
        return rolls

    def schools_or_none(self, county_code: str) -> CountySchools | None:
        """The county's registered schools, or None before the first."""
        schools: CountySchools | None = self._get_or_none(
            CountySchools.create_id(county_code)
        )
        return schools

    def _get_or_none(self, aggregate_id: UUID) -> Any:
        """The aggregate, or None if it has no events: one replay, where
        ``in`` and then ``get`` would replay it twice without a cache."""
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def school(self, county_code: str, code: str) -> None:
        """Refuse (``UnknownUnit``) a school the county did not register."""
        schools = self.schools_or_none(county_code)
        if schools is None:
            raise UnknownUnit(code)
        schools.school(code)

    def registry_or_none(self) -> OfficerRegistry | None:
        """The officer registry, or None before the first officer is enrolled."""
        registry: OfficerRegistry | None = self._get_or_none(REGISTRY_ID)
        return registry

    def registry(self) -> OfficerRegistry:
        """The officer registry as its events make it now."""
        registry: OfficerRegistry = self.repository.get(REGISTRY_ID)
        return registry

    def accepted_request(self, key_id: str, request_id: str) -> AcceptedRequest | None:
        """The accepted request with this key and request id, if there is one."""
        record: AcceptedRequest | None = self._get_or_none(
            AcceptedRequest.create_id(key_id, request_id)
        )
        return record

    def request_entry(self, key_id: str, request_id: str) -> list[tuple[int, str]]:
        """The log entry that recorded an accepted request."""
        record_id = AcceptedRequest.create_id(key_id, request_id)
        return self.log_recorder.first_entry_of(record_id)

    def open_fund(
        self,
        county_code: str,
        county_name: str,
        *,
        actor: str,
        signatures: Signatures | None = None,
    ) -> UUID:
        """Open the county's fund (once; a second opening is refused by the store)."""
        fund = CountyFund.open(
            county_code, county_name, actor=actor, signatures=signatures
        )
        self.save(fund)
        return fund.id

    def fund(self, county_code: str) -> CountyFund:
        """The county's fund as its events make it now."""
        try:
            aggregate: CountyFund = self.repository.get(
                CountyFund.create_id(str(county_code))
            )
        except AggregateNotFoundError:
            raise FundNotOpen(str(county_code)) from None
        return aggregate

    def has_fund(self, county_code: str) -> bool:
        """Whether the county's fund was opened."""
        return CountyFund.create_id(str(county_code)) in self.repository

    def change(self, county_code: str, command: Callable[[CountyFund], None]) -> None:
        """Apply ``command`` to the county's fund and save what it recorded."""
        for attempt in range(RETRIES):
            fund = self.fund(county_code)
            command(fund)
            try:
                self.save(fund)
            except IntegrityError:
                if attempt == RETRIES - 1:
                    raise
                continue
            return


class _UnsavedFirst(LedgerRepository):
    """A repository that answers from unsaved aggregates before the store.

    It shares the wrapped repository's event store and locks; ``get`` (and so
    ``in``) answer from ``unsaved`` first, then from what they loaded before
    (brought up to date once, not at every load), then from its own cache,
    which is fast-forwarded and not copied from.
    """

    def __init__(
        self,
        stored: Repository[UUID],
        unsaved: dict[UUID, Aggregate],
        cache: LRUCache[UUID, Any],
        absent: set[UUID] | None = None,
    ) -> None:
        super().__init__(stored)
        self.absent = absent or set()
        self.cache = cache
        self.fastforward = True
        self.deepcopy_from_cache = False
        self.unsaved = unsaved
        self.loaded: dict[UUID, Aggregate] = {}

    def get(self, aggregate_id: UUID, **kwargs: Any) -> Any:
        """The unsaved aggregate with this id, or the stored one."""
        if kwargs.get("version") is not None:
            return super().get(aggregate_id, **kwargs)
        aggregate = self.unsaved.get(aggregate_id) or self.loaded.get(aggregate_id)
        if aggregate is None and aggregate_id in self.absent:
            raise AggregateNotFoundError(aggregate_id)
        if aggregate is None:
            aggregate = super().get(aggregate_id, **kwargs)
            self.loaded[aggregate_id] = aggregate
        return aggregate
