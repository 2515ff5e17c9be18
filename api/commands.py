"""Signed requests in, recorded events out: the one path every write takes.

For each request, in this order and before anything is saved:

1. the request names a key the registry knows (``UnknownKey``), and the
   signature verifies with it (``BadSignature``);
2. the command exists and its parameters are exactly the ones it takes;
3. the key is active (``RevokedKey``), the officer's role may ask for the
   command (``WrongRole``) and the unit it changes lies within the officer's
   jurisdiction (``OutsideJurisdiction``, ``UnknownUnit``);
4. the domain applies the command and refuses what its rules forbid.

Then the accepted request and every event it caused are saved in one
transaction, with their log entries. A request that was accepted before records
nothing new and answers with the original receipt. Nothing is ever half
recorded: any refusal above leaves the database as it was.

``execute_together`` records several requests for one aggregate in one
transaction, each checked as above: all of them, or none. ``execute_each`` does
the same for several requests that each change an aggregate of their own (the
monitor's raised alerts, one ``Alert`` each).

The first administrator is the one exception to step 1: on a ledger without any
officer, ``officer.enrol`` may be signed by the very key it enrols.
"""

from __future__ import annotations

import base64
import functools
import inspect
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from api.alerts import (
    alert_target,
    apply_raise,
    apply_resolution,
    raise_signature,
    resolve_signature,
)
from api.app import FundLedger
from api.requests import InvalidRequest, SignedRequest
from domain.awards import check_person_payment
from domain.errors import FundAlreadyOpen, InvalidReference, UnknownUnit, WrongLevel
from domain.funds import CountyFund, payment_rows
from domain.officers import REGISTRY_ID, OfficerRegistry, key_id_of
from domain.requests import AcceptedRequest
from domain.rolls import CountyRolls
from domain.schools import CountySchools
from domain.units import Level, Registry

RETRIES = 5


@dataclass(frozen=True)
class Receipt:
    """What a write answers: the request and the log entries it produced."""

    digest: str
    entries: list[tuple[int, str]]  # (log position, hex leaf hash)
    replayed: bool

    def summary(self) -> str:
        """One line for people."""
        if self.replayed:
            return f"already recorded: request {self.digest} (nothing new)"
        first, last = self.entries[0][0], self.entries[-1][0]
        return (
            f"recorded {len(self.entries)} events at entries {first}..{last} "
            f"(request {self.digest})"
        )


Signatures = list[dict[str, str]]
Loader = Callable[[FundLedger, dict[str, Any], str, Signatures], Aggregate]
Check = Callable[[FundLedger, dict[str, Any]], dict[str, Any] | None]
Continuation = Callable[[Aggregate, FundLedger, dict[str, Any], str, Signatures], None]


@dataclass(frozen=True)
class Command:
    """How one command is authorised and applied."""

    name: str
    method: Callable[..., Any]
    target: Callable[[FundLedger, dict[str, Any]], tuple[str, ...]]  # units it changes
    apply: Callable[[FundLedger, dict[str, Any], str, list[dict[str, str]]], Aggregate]
    # Applies the command to an aggregate already loaded (``execute_together``);
    # None for commands that create their aggregate.
    apply_to: Continuation | None = None

    def parameters(self) -> set[str]:
        """The parameters a request must give (all of the method's keywords)."""
        names, _ = _keywords(self.method)
        names -= {"self", "actor", "signatures", "approval_needed"}
        scoped = self.name.startswith(("fund.", "roll.", "school."))
        return set(names) | ({"county"} if scoped else set())

    def required(self) -> set[str]:
        """Parameters without a default value."""
        _, defaults = _keywords(self.method)
        return self.parameters() - defaults


@functools.cache
def _keywords(method: Callable[..., Any]) -> tuple[frozenset[str], frozenset[str]]:
    """A method's parameter names, and those with a default: read once each,
    not for every request (``inspect.signature`` is slow)."""
    parameters = inspect.signature(method).parameters
    defaults = {
        name
        for name, parameter in parameters.items()
        if parameter.default is not inspect.Parameter.empty
    }
    return frozenset(parameters), frozenset(defaults)


def _county(_: FundLedger, params: dict[str, Any]) -> tuple[str, ...]:
    county = params["county"]
    if not isinstance(county, str):
        raise InvalidReference("county", county, "a county code as text")
    return (county,)


def _new_jurisdiction(_: FundLedger, params: dict[str, Any]) -> tuple[str, ...]:
    return (str(params["jurisdiction"]),)


def _command(
    name: str,
    method: Callable[..., Any],
    load: Loader,
    *,
    target: Callable[[FundLedger, dict[str, Any]], tuple[str, ...]] = _county,
    check: Check | None = None,
) -> Command:
    """A command that loads one aggregate and calls ``method`` on it.

    ``check`` runs first with what only the ledger knows (the policy, the rolls,
    the registered schools) and may add arguments for the method.
    """

    def call(
        aggregate: Aggregate,
        params: dict[str, Any],
        extra: dict[str, Any] | None,
        actor: str,
        signatures: Signatures,
    ) -> None:
        arguments = {k: v for k, v in params.items() if k != "county"} | (extra or {})
        getattr(aggregate, method.__name__)(
            **arguments, actor=actor, signatures=signatures
        )

    def apply(
        ledger: FundLedger,
        params: dict[str, Any],
        actor: str,
        signatures: Signatures,
    ) -> Aggregate:
        extra = check(ledger, params) if check is not None else None
        aggregate = load(ledger, params, actor, signatures)
        call(aggregate, params, extra, actor, signatures)
        return aggregate

    def apply_to(
        aggregate: Aggregate,
        ledger: FundLedger,
        params: dict[str, Any],
        actor: str,
        signatures: Signatures,
    ) -> None:
        extra = check(ledger, params) if check is not None else None
        call(aggregate, params, extra, actor, signatures)

    return Command(name, method, target, apply, apply_to)


def _fund(ledger: FundLedger, params: dict[str, Any], *_: Any) -> Aggregate:
    return ledger.fund(str(params["county"]))


def _rolls(
    ledger: FundLedger, params: dict[str, Any], actor: str, signatures: Signatures
) -> Aggregate:
    county = str(params["county"])
    return ledger.rolls_or_none(county) or CountyRolls.start(
        county, actor=actor, signatures=signatures
    )


def _schools(
    ledger: FundLedger, params: dict[str, Any], actor: str, signatures: Signatures
) -> Aggregate:
    county = str(params["county"])
    return ledger.schools_or_none(county) or CountySchools.start(
        county, actor=actor, signatures=signatures
    )


def _registry(
    ledger: FundLedger, params: dict[str, Any], actor: str, signatures: Signatures
) -> Aggregate:
    del params
    return ledger.registry_or_none() or OfficerRegistry.start(
        ledger.log_origin, actor=actor, signatures=signatures
    )


def _check_payment(ledger: FundLedger, params: dict[str, Any]) -> dict[str, Any]:
    """The policy's rules for the payee: programme, school or rolls, stage, rate."""
    programme = str(params["programme"])
    needed = {"approval_needed": ledger.approval_needed(params["amount_fen"])}
    if params.get("payee_kind") != "person":
        ledger.policy.programme(programme)
        ledger.school(str(params["county"]), str(params["payee"]))
        return needed
    amount = params["amount_fen"]
    if not isinstance(amount, int) or isinstance(amount, bool):
        return needed  # the fund refuses it with InvalidAmount
    check_person_payment(
        ledger.policy,
        ledger.rolls_or_none(str(params["county"])),
        programme=programme,
        person_ref=str(params["payee"]),
        amount_fen=amount,
    )
    return needed


def _check_payments(ledger: FundLedger, params: dict[str, Any]) -> dict[str, Any]:
    """``_check_payment`` for every row of a batch, reading the rolls once.

    Loading the county's rolls and schools per row would replay them per row.
    """
    county = str(params["county"])
    rows = payment_rows(params["payments"])
    rolls = ledger.rolls_or_none(county)
    schools = ledger.schools_or_none(county)
    needed = []
    for row in rows:
        programme = str(row["programme"])
        amount = row["amount_fen"]
        needed.append(ledger.approval_needed(amount))
        if row.get("payee_kind") != "person":
            ledger.policy.programme(programme)
            if schools is None:
                raise UnknownUnit(str(row["payee"]))
            schools.school(str(row["payee"]))
        elif isinstance(amount, int) and not isinstance(amount, bool):
            check_person_payment(
                ledger.policy,
                rolls,
                programme=programme,
                person_ref=str(row["payee"]),
                amount_fen=amount,
            )
    return {"approval_needed": needed}


def _check_programme(ledger: FundLedger, params: dict[str, Any]) -> None:
    ledger.policy.programme(str(params["programme"]))


def _check_project_school(ledger: FundLedger, params: dict[str, Any]) -> None:
    if params.get("school") is not None:
        ledger.school(str(params["county"]), str(params["school"]))


def _check_status_school(ledger: FundLedger, params: dict[str, Any]) -> None:
    ledger.school(str(params["county"]), str(params["school"]))


def _check_import_schools(ledger: FundLedger, params: dict[str, Any]) -> None:
    rows = params.get("students") or []
    if not rows:
        return
    schools = ledger.schools_or_none(str(params["county"]))  # once, not per row
    for row in rows:
        school = str(row.get("school") if isinstance(row, dict) else row)
        if schools is None:
            raise UnknownUnit(school)
        schools.school(school)


def _open_fund(
    ledger: FundLedger,
    params: dict[str, Any],
    actor: str,
    signatures: Signatures,
) -> Aggregate:
    county = str(params["county"])
    level = ledger.units.get(county).level
    if level is not Level.COUNTY:
        raise WrongLevel(county, expected=(Level.COUNTY,), found=level)
    if ledger.has_fund(county):
        raise FundAlreadyOpen(county)
    return CountyFund.open(
        params["county"], params["county_name"], actor=actor, signatures=signatures
    )


def _open_fund_signature(county_name: str) -> None:
    """The parameters of fund.open besides the county."""


def _both_jurisdictions(ledger: FundLedger, params: dict[str, Any]) -> tuple[str, ...]:
    """A role change needs both the officer's unit and the new one in reach."""
    return (*_officer_jurisdiction(ledger, params), str(params["jurisdiction"]))


def _officer_jurisdiction(
    ledger: FundLedger, params: dict[str, Any]
) -> tuple[str, ...]:
    registry = ledger.registry()
    if "officer_id" in params:
        return (registry._officer(str(params["officer_id"])).jurisdiction,)
    officer, _ = registry.officer_of_key(str(params["key_id"]))
    return (officer.jurisdiction,)


COMMANDS: dict[str, Command] = {
    command.name: command
    for command in (
        Command("fund.open", _open_fund_signature, _county, _open_fund),
        _command("fund.receive", CountyFund.receive, _fund),
        _command("fund.allocate", CountyFund.allocate, _fund, check=_check_programme),
        _command(
            "fund.fund_project",
            CountyFund.fund_project,
            _fund,
            check=_check_project_school,
        ),
        _command("fund.report_progress", CountyFund.report_progress, _fund),
        _command(
            "fund.propose_payment",
            CountyFund.propose_payment,
            _fund,
            check=_check_payment,
        ),
        _command("fund.approve_payment", CountyFund.approve_payment, _fund),
        _command(
            "fund.propose_payments",
            CountyFund.propose_payments,
            _fund,
            check=_check_payments,
        ),
        _command("fund.approve_payments", CountyFund.approve_payments, _fund),
        _command("fund.reject_payment", CountyFund.reject_payment, _fund),
        _command("fund.reverse", CountyFund.reverse, _fund),
        _command("school.register", CountySchools.register, _schools),
        _command("roll.list_poor", CountyRolls.list_poor, _rolls),
        _command(
            "roll.import", CountyRolls.import_roll, _rolls, check=_check_import_schools
        ),
        _command("roll.delist_poor", CountyRolls.delist_poor, _rolls),
        _command(
            "roll.record_status",
            CountyRolls.record_status,
            _rolls,
            check=_check_status_school,
        ),
        _command("roll.erase_personal_data", CountyRolls.erase_personal_data, _rolls),
        Command("alert.raise", raise_signature, alert_target, apply_raise),
        Command("alert.resolve", resolve_signature, alert_target, apply_resolution),
        _command(
            "officer.enrol",
            OfficerRegistry.enrol,
            _registry,
            target=_new_jurisdiction,
        ),
        _command(
            "officer.change_role",
            OfficerRegistry.change_role,
            _registry,
            target=_both_jurisdictions,
        ),
        _command(
            "officer.rotate_key",
            OfficerRegistry.rotate_key,
            _registry,
            target=_officer_jurisdiction,
        ),
        _command(
            "officer.revoke_key",
            OfficerRegistry.revoke_key,
            _registry,
            target=_officer_jurisdiction,
        ),
    )
}


class RequestIdReused(InvalidRequest):
    """A request id that this key already used for a different request."""

    def __init__(self, key_id: str, request_id: str) -> None:
        super().__init__(
            f"request id {request_id!r} of key {key_id} was already used for a "
            "different request; use a new request id"
        )
        self.key_id = key_id
        self.request_id = request_id


class UnknownCommand(InvalidRequest):
    """A request for a command that does not exist."""

    def __init__(self, command: str) -> None:
        super().__init__(
            f"unknown command {command!r}; known: {', '.join(sorted(COMMANDS))}"
        )
        self.command = command


@dataclass(frozen=True)
class Applied:
    """A request checked and applied to its aggregate, not saved yet."""

    record: AcceptedRequest
    aggregate: Aggregate


def check_and_apply(
    ledger: FundLedger, signed: SignedRequest, units: Registry | None = None
) -> Receipt | Applied:
    """Steps 1 to 4 of the module docstring for one request, saving nothing.

    The original receipt when the request was accepted before; otherwise the
    record of its acceptance and the aggregate it changed, both to be saved
    together (``execute`` saves them at once, ``api.group_commit`` with others).
    """
    previous = _replayed(ledger, signed)
    if previous is not None:
        return previous
    aggregate, actor = _check_and_apply(ledger, signed, units or ledger.units)
    request_id = str(signed.request["request_id"])
    return Applied(_accepted(signed, request_id, actor), aggregate)


def execute(
    ledger: FundLedger, signed: SignedRequest, units: Registry | None = None
) -> Receipt:
    """Check, apply and record one signed request (see the module docstring)."""
    for attempt in range(RETRIES):
        applied = check_and_apply(ledger, signed, units)
        if isinstance(applied, Receipt):
            return applied
        try:
            recordings = ledger.save(applied.record, applied.aggregate)
        except IntegrityError:
            if attempt == RETRIES - 1:
                raise
            continue
        ids = [recording.notification.id for recording in recordings]
        return Receipt(signed.digest, ledger.log_recorder.positions(ids), False)
    raise AssertionError("unreachable")  # pragma: no cover


def execute_together(
    ledger: FundLedger,
    requests: Sequence[SignedRequest],
    units: Registry | None = None,
) -> list[Receipt]:
    """Check and apply several signed requests, then record all in one transaction.

    For work larger than one request may be (a spreadsheet of more than
    ``MAX_BATCH`` payments): each request keeps its own limits and is checked
    exactly as ``execute`` checks it, in order, each seeing what the ones before
    it changed; then every request and every event is saved in one transaction,
    so all are recorded or none is. They must be one command on one county, so
    that they change one aggregate. A set recorded before answers with its
    original receipts; a set of which only some were recorded is refused.
    """
    units = units or ledger.units
    if not requests:
        raise InvalidRequest("nothing to execute: no requests")
    ids = [str(signed.request["request_id"]) for signed in requests]
    if len(set(ids)) != len(ids):
        raise InvalidRequest("requests executed together need distinct request ids")
    shapes = {(signed.command, str(signed.params.get("county"))) for signed in requests}
    if len(shapes) != 1:
        raise InvalidRequest(
            "requests executed together must be one command on one county"
        )
    known = COMMANDS.get(requests[0].command)
    if known is not None and known.apply_to is None:
        raise InvalidRequest(f"{known.name} cannot be executed together with others")
    for attempt in range(RETRIES):
        replays = [_replayed(ledger, signed) for signed in requests]
        done = [receipt for receipt in replays if receipt is not None]
        if len(done) == len(requests):
            return done
        if done:
            raise InvalidRequest(
                f"{len(done)} of these {len(requests)} requests were recorded before "
                "and the others not; they can only be recorded together"
            )

        # Each request continues the aggregate the first one loaded.
        aggregate: Aggregate | None = None
        records: list[AcceptedRequest] = []
        counts: list[int] = []
        try:
            for signed in requests:
                command, actor = _authorise(ledger, signed, units)
                assert command.apply_to is not None  # noqa: S101 - checked above
                digest = signed.digest  # canonical bytes of a large request: once
                signatures = [{"request": digest, "key_id": signed.key_id}]
                before = 0 if aggregate is None else len(aggregate.pending_events)
                if aggregate is None:
                    aggregate = command.apply(ledger, signed.params, actor, signatures)
                else:
                    command.apply_to(
                        aggregate, ledger, signed.params, actor, signatures
                    )
                counts.append(len(aggregate.pending_events) - before)
                request_id = str(signed.request["request_id"])
                records.append(_accepted(signed, request_id, actor, digest))
            recordings = ledger.save(*records, aggregate)
        except IntegrityError:
            _uncache(ledger, aggregate)
            if attempt == RETRIES - 1:
                raise
            continue
        except BaseException:
            _uncache(ledger, aggregate)
            raise

        # The records' events come first, in order, then the aggregate's.
        notification_ids = [recording.notification.id for recording in recordings]
        events = iter(notification_ids[len(records) :])
        receipts = []
        for record, own, count in zip(
            records, notification_ids[: len(records)], counts, strict=True
        ):
            mine = [own, *(next(events) for _ in range(count))]
            positions = ledger.log_recorder.positions(mine)
            receipts.append(Receipt(record.digest, positions, False))
        return receipts
    raise AssertionError("unreachable")  # pragma: no cover


def _uncache(ledger: FundLedger, aggregate: Aggregate | None) -> None:
    """Drop an aggregate that was changed but not saved from the ledger's cache.

    A cache that hands out its own objects rather than copies (the synthetic
    province's, the import's) would otherwise keep the unsaved changes, and a
    retry would apply the requests a second time on top of them.
    """
    cache = ledger.repository.cache
    if aggregate is not None and cache is not None:
        with suppress(KeyError):
            cache.get(aggregate.id, evict=True)


def execute_each(
    ledger: FundLedger,
    requests: Sequence[SignedRequest],
    units: Registry | None = None,
) -> list[Receipt]:
    """Check and apply requests that change an aggregate each; record them at once.

    For many small requests whose aggregates differ (the monitor's raised
    alerts): each request is checked exactly as ``execute`` checks it, in order,
    then every new request and its events are saved in one transaction, each
    request followed by its own events, so all are recorded or none is. A
    request recorded before answers with its original receipt and is not saved
    again. Two requests that would change one aggregate are refused: each would
    change its own copy, and only one could be saved.
    """
    units = units or ledger.units
    for attempt in range(RETRIES):
        receipts: list[Receipt | None] = []
        pending: list[tuple[AcceptedRequest, Aggregate]] = []
        changed: set[UUID] = set()
        for signed in requests:
            previous = _replayed(ledger, signed)
            receipts.append(previous)
            if previous is not None:
                continue
            aggregate, actor = _check_and_apply(ledger, signed, units)
            if aggregate.id in changed:
                raise InvalidRequest(
                    "requests executed each on its own must change different "
                    f"aggregates; two change {aggregate.id}"
                )
            changed.add(aggregate.id)
            request_id = str(signed.request["request_id"])
            pending.append((_accepted(signed, request_id, actor), aggregate))
        if not pending:
            return [receipt for receipt in receipts if receipt is not None]

        # Each request's record, then its aggregate's events, request by request.
        counts = [len(aggregate.pending_events) for _, aggregate in pending]
        try:
            recordings = ledger.save(*(item for pair in pending for item in pair))
        except IntegrityError:
            if attempt == RETRIES - 1:
                raise
            continue
        ids = iter(recording.notification.id for recording in recordings)
        new = iter(
            Receipt(
                record.digest,
                ledger.log_recorder.positions([next(ids) for _ in range(1 + count)]),
                False,
            )
            for (record, _), count in zip(pending, counts, strict=True)
        )
        return [receipt or next(new) for receipt in receipts]
    raise AssertionError("unreachable")  # pragma: no cover


def _replayed(ledger: FundLedger, signed: SignedRequest) -> Receipt | None:
    """The original receipt if this request was accepted before, else None."""
    request_id = str(signed.request["request_id"])
    previous = ledger.accepted_request(signed.key_id, request_id)
    if previous is None:
        return None
    # A replay answers with the original receipt, but only once its
    # signature checks: an unverified document is never "accepted".
    registry = ledger.registry()
    _, key = registry.officer_of_key(signed.key_id)
    signed.check_signature(key.public_key)
    # Signed again later, the same request differs only in signed_at.
    same = (previous.request["command"], previous.request["params"])
    if same != (signed.command, signed.params):
        raise RequestIdReused(signed.key_id, request_id)
    entry = ledger.request_entry(signed.key_id, request_id)
    return Receipt(previous.digest, entry, True)


def _accepted(
    signed: SignedRequest, request_id: str, actor: str, digest: str | None = None
) -> AcceptedRequest:
    return AcceptedRequest(
        key_id=signed.key_id,
        request_id=request_id,
        digest=digest or signed.digest,
        request=signed.request,
        signature=_b64(signed.signature),
        actor=actor,
    )


def _check_and_apply(
    ledger: FundLedger, signed: SignedRequest, units: Registry
) -> tuple[Aggregate, str]:
    command, actor = _authorise(ledger, signed, units)

    # 4. The domain's own rules.
    signatures = [{"request": signed.digest, "key_id": signed.key_id}]
    return command.apply(ledger, signed.params, actor, signatures), actor


def _authorise(
    ledger: FundLedger, signed: SignedRequest, units: Registry
) -> tuple[Command, str]:
    """Steps 1 to 3 of the module docstring: the command and the acting officer."""
    registry = ledger.registry_or_none()
    command = COMMANDS.get(signed.command)

    # 1. Known key, good signature (the first administrator signs their own).
    bootstrap = registry is None or not registry.officers
    if bootstrap:
        public_key = signed.params.get("public_key")
        if (
            signed.command != "officer.enrol"
            or not isinstance(public_key, str)
            or key_id_of_or_none(public_key) != signed.key_id
            or signed.params.get("role") != "administrator"
        ):
            raise InvalidRequest(
                "this ledger has no officers yet: the first request must enrol an "
                "administrator, signed with the key it enrols"
            )
        signed.check_signature(public_key)
    else:
        assert registry is not None  # noqa: S101 - bootstrap covers None
        officer, key = registry.officer_of_key(signed.key_id)
        signed.check_signature(key.public_key)

    # 2. A command we know, with exactly its parameters.
    if command is None:
        raise UnknownCommand(signed.command)
    given = set(signed.params)
    if not command.required() <= given <= command.parameters():
        missing = sorted(command.required() - given)
        extra = sorted(given - command.parameters())
        raise InvalidRequest(
            f"{command.name} takes {', '.join(sorted(command.parameters()))}"
            + (f"; missing {', '.join(missing)}" if missing else "")
            + (f"; unexpected {', '.join(extra)}" if extra else "")
        )

    # 3. Role and jurisdiction.
    if bootstrap:
        units.get(str(signed.params["jurisdiction"]))
        actor = str(signed.params["officer_id"])
    else:
        assert registry is not None  # noqa: S101
        for unit in command.target(ledger, signed.params):
            officer = registry.authorize(
                signed.key_id, command.name, unit, units.contains
            )
        actor = officer.officer_id

    return command, actor


def key_id_of_or_none(public_key: str) -> str | None:
    """The key id of a hex public key, or None if it is not hex."""
    try:
        return key_id_of(public_key)
    except ValueError:
        return None


def _b64(signature: bytes) -> str:
    return base64.b64encode(signature).decode("ascii")


__all__ = [
    "COMMANDS",
    "REGISTRY_ID",
    "Applied",
    "Receipt",
    "check_and_apply",
    "execute",
    "execute_together",
]
