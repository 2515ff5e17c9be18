"""Random sequences of signed requests through ``execute`` into a real ledger.

A hypothesis state machine sends requests, valid and invalid, the way officers
would: money received, allocated, paid to schools and pupils, approved,
rejected and reversed, by the right officers and by the wrong ones, inside and
outside their jurisdiction, with good, zero, negative, huge and ill-typed
amounts, with tampered signatures or parameters, from unknown, rotated and
revoked keys, as replays of earlier documents (as sent, signed again, or with
their request id reused), while an administrator rotates and revokes keys and
changes roles.

A small model of the funds, officers and keys predicts each request's outcome:
recorded, answered with an earlier receipt, or refused with the rule's own
error. After every step:

(a) money is conserved: every fund's balances sum to zero;
(b) no pool, budget, project or payee balance is below zero, and no budget has
    promised more than it holds;
(c) a refused request or a replay leaves every stored entry byte for byte as it
    was and stores no event; an accepted one only appends, at the positions its
    receipt names;
(d) a fresh application opened on the same database rebuilds the same funds and
    registry as the live one, and both equal the model;

and at teardown (e) the whole log verifies, every request re-checked.

The machine runs on SQLite, and with fewer examples on PostgreSQL when
``FUNDLEDGER_TEST_POSTGRES`` is set. Single scenes at the end reuse its set-up
for rules it reaches rarely and for known bugs.
"""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from api.app import FundLedger
from api.commands import RequestIdReused, execute
from api.requests import (
    BadSignature,
    InvalidRequest,
    OfficerKey,
    SignedRequest,
    parse_request,
)
from api.verification import RequestCheck
from domain.errors import (
    AboveRate,
    BudgetOverdrawn,
    DomainError,
    DuplicatePayment,
    FundAlreadyOpen,
    FundNotOpen,
    IneligibleStage,
    InvalidAmount,
    InvalidReference,
    NotOnRoll,
    PaymentNotPending,
    PoolOverdrawn,
    SelfApproval,
    UnknownPayment,
    UnknownProgramme,
    UnknownUnit,
)
from domain.funds import (
    MAX_AMOUNT_FEN,
    SOURCE_KINDS,
    budget_account,
    payee_account,
    pool_account,
    project_account,
    source_account,
)
from domain.officers import (
    PERMISSIONS,
    DuplicateOfficer,
    LastAdministrator,
    OutsideJurisdiction,
    RevokedKey,
    Role,
    UnknownKey,
    WrongRole,
)
from domain.units import Registry, load_hubei
from ledger.application import create_ledger, open_ledger
from ledger.errors import FundLedgerError
from ledger.note import NoteSigner
from ledger.recorder import ENTRIES
from ledger.storage import parse_url
from ledger.verify import verify_log
from tests.conftest import POSTGRES_URL_VARIABLE, fresh_database

ORIGIN = "machine.fundledger.example/log"
PROVINCE = "420000"
COUNTY = "422822"  # 建始县: its fund is opened and funded at set-up
OTHER_COUNTY = "422823"  # 巴东县: its fund may be opened by a rule
UNKNOWN_UNIT = "429999"
SCHOOL = f"{COUNTY}S0001"  # a registered high school
UNREGISTERED_SCHOOL = f"{COUNTY}S0999"
PROGRAMMES = ("HS_GRANT", "BOARD_JUN")  # what the model knows of the policy
YEAR = 2026
HS_GRANT_TERM_FEN = 125_000
THRESHOLD_FEN = 1_000  # when drawn: payments up to this need no approver
SIGNED_LATER = "2027-01-01T00:00:00.000000Z"

UNITS: Registry = load_hubei()
T = TypeVar("T")


def person(name: str) -> str:
    """A person_ref: the shape of an HMAC-SHA256 pseudonym."""
    return hashlib.sha256(name.encode()).hexdigest()


PUPIL = person("registered-poor high-school day pupil of 422822")
STRANGER = person("on no roll")


def officer_key(officer_id: str, generation: int = 0) -> OfficerKey:
    """A deterministic key, so that a failing example replays exactly."""
    seed = hashlib.sha256(f"{officer_id}#{generation}".encode()).digest()
    return OfficerKey(officer_id, Ed25519PrivateKey.from_private_bytes(seed))


# The officers set-up enrols, by short name: (role, jurisdiction).
OFFICERS: dict[str, tuple[str, str]] = {
    "admin": ("administrator", PROVINCE),
    "recorder": ("recorder", COUNTY),
    "approver": ("approver", COUNTY),
    "recorder-b": ("recorder", OTHER_COUNTY),
    "approver-b": ("approver", OTHER_COUNTY),
}


def receipt_params(transfer_id: str, amount: object, **more: Any) -> dict[str, Any]:
    """``fund.receive`` of ``amount`` from the central budget into the county."""
    return {
        "county": COUNTY,
        "transfer_id": transfer_id,
        "source_kind": "central",
        "source": "central-budget",
        "amount_fen": amount,
        "reference": "2026 education transfer",
        **more,
    }


def payment_params(payment_id: str, amount: object, **more: Any) -> dict[str, Any]:
    """``fund.propose_payment`` of a high-school grant to the registered school."""
    return {
        "county": COUNTY,
        "payment_id": payment_id,
        "programme": "HS_GRANT",
        "year": YEAR,
        "term": "autumn",
        "payee_kind": "school",
        "payee": SCHOOL,
        "amount_fen": amount,
        **more,
    }


# The model ----------------------------------------------------------------------------

Refusal = tuple[type[Exception], ...]


@dataclass
class FundModel:
    """What one county's fund must hold, by the test's own arithmetic."""

    county: str
    balances: dict[str, int] = field(default_factory=dict)
    pending: dict[str, int] = field(default_factory=dict)
    # transfer id -> [debit, credit, amount, reversed]
    transfers: dict[str, list[Any]] = field(default_factory=dict)
    # payment id -> [budget, payee account, amount, proposer, status]
    payments: dict[str, list[Any]] = field(default_factory=dict)

    def balance(self, account: str) -> int:
        return self.balances.get(account, 0)

    def available(self, account: str) -> int:
        return self.balance(account) - self.pending.get(account, 0)

    def used(self, transfer_id: str) -> bool:
        return transfer_id in self.transfers or transfer_id in self.payments

    def move(self, transfer_id: str, debit: str, credit: str, amount: int) -> None:
        self.balances[debit] = self.balance(debit) - amount
        self.balances[credit] = self.balance(credit) + amount
        self.transfers[transfer_id] = [debit, credit, amount, False]

    def approve(self, payment_id: str) -> None:
        budget, payee, amount, _, _ = self.payments[payment_id]
        self.pending[budget] -= amount
        self.payments[payment_id][4] = "approved"
        self.move(payment_id, budget, payee, amount)

    def state(self) -> Any:
        return (
            {k: v for k, v in self.balances.items() if v},
            {k: v for k, v in self.pending.items() if v},
            {k: (p[2], p[3], p[4]) for k, p in self.payments.items()},
            {k: t[3] for k, t in self.transfers.items()},
        )


@dataclass
class Officer:
    """An enrolled officer as the model knows them."""

    officer_id: str
    role: str
    jurisdiction: str
    key: OfficerKey
    generation: int = 0  # of the newest key made for them


@dataclass(frozen=True)
class Sent:
    """A request document as sent, and whether the test broke it on purpose."""

    document: dict[str, Any]
    forged: bool = False  # its signature does not cover what it says
    malformed: bool = False  # not a command, or not the command's parameters

    @property
    def signed(self) -> SignedRequest:
        return parse_request(self.document)

    @property
    def request_id(self) -> str:
        return str(self.document["request"]["request_id"])


@dataclass
class Accepted:
    """The prediction that a request is recorded, and how the model changes."""

    apply: Callable[[], None]


@dataclass(frozen=True)
class Replay:
    """The prediction that a request is answered with an earlier receipt."""

    digest: str  # of the request as first accepted


Outcome = Accepted | Replay | Refusal


def _valid_amount(amount: object) -> bool:
    if not isinstance(amount, int) or isinstance(amount, bool):
        return False
    return 0 < amount <= MAX_AMOUNT_FEN


class Model:
    """Predicts each request's outcome from the rules as the design states them."""

    def __init__(self, threshold: int | None) -> None:
        self.threshold = threshold
        self.officers: dict[str, Officer] = {}
        self.keys: dict[str, tuple[str, str]] = {}  # key id -> officer name, status
        self.funds: dict[str, FundModel] = {}
        self.schools = {COUNTY: {SCHOOL}}
        self.poor_pupils = {COUNTY: {PUPIL}}  # registered poor, high school, day
        # (key id, request id) -> command, params and digest as first accepted
        self.accepted: dict[tuple[str, str], tuple[str, dict[str, Any], str]] = {}
        stranger = officer_key("officer:stranger")  # never enrolled
        self.signing_keys: dict[str, OfficerKey] = {stranger.key_id: stranger}
        self.spare_keys: dict[str, OfficerKey] = {}  # by public key: rotations

    def enrol(self, name: str, role: str, jurisdiction: str) -> None:
        key = officer_key(f"officer:{name}")
        self.officers[name] = Officer(key.officer_id, role, jurisdiction, key)
        self.keys[key.key_id] = (name, "active")
        self.signing_keys[key.key_id] = key

    def accept(self, sent: Sent) -> None:
        signed = sent.signed
        entry = (signed.command, signed.params, signed.digest)
        self.accepted[signed.key_id, sent.request_id] = entry

    # 1. The request id (a key's idempotency key), the key, the signature, the
    # shape, the role and the jurisdiction, in execute's order.
    def predict(self, sent: Sent) -> Outcome:
        signed = sent.signed
        previous = self.accepted.get((signed.key_id, sent.request_id))
        if previous is not None:
            if sent.forged:  # a replay is answered only once its signature checks
                return (BadSignature,)
            if previous[:2] == (signed.command, signed.params):
                return Replay(previous[2])
            return (RequestIdReused,)
        if signed.key_id not in self.keys:
            return (UnknownKey,)
        if sent.forged:
            return (BadSignature,)
        if sent.malformed:
            return (InvalidRequest,)
        name, status = self.keys[signed.key_id]
        officer = self.officers[name]
        if status != "active":
            return (RevokedKey,)
        if officer.role not in PERMISSIONS[signed.command]:
            return (WrongRole,)
        unit = self._target(signed.command, signed.params)
        if unit not in UNITS:
            return (UnknownUnit,)
        if not UNITS.contains(officer.jurisdiction, unit):
            return (OutsideJurisdiction,)
        if signed.command.startswith("officer."):
            return self._officer_command(signed.command, signed.params)
        return self._fund_command(officer, signed.command, signed.params)

    def _target(self, command: str, params: dict[str, Any]) -> str:
        if command == "officer.rotate_key":
            return self.officers[_name(params["officer_id"])].jurisdiction
        if command == "officer.revoke_key":
            return self.officers[self.keys[params["key_id"]][0]].jurisdiction
        if command == "officer.change_role":
            return str(params["jurisdiction"])
        return str(params["county"])

    # 2. The registry's rules.
    def _officer_command(self, command: str, params: dict[str, Any]) -> Outcome:
        if command == "officer.rotate_key":
            name, new = (
                _name(params["officer_id"]),
                self.spare_keys[params["public_key"]],
            )
            if new.key_id in self.keys:
                return (DuplicateOfficer,)

            def rotate() -> None:
                for key_id, (owner, status) in list(self.keys.items()):
                    if owner == name and status == "active":
                        self.keys[key_id] = (owner, "rotated")
                self.officers[name].key = new
                self.keys[new.key_id] = (name, "active")

            return Accepted(rotate)
        if command == "officer.revoke_key":
            key_id = params["key_id"]
            name, status = self.keys[key_id]
            if status == "revoked":
                return (RevokedKey,)
            if self.officers[name].role == "administrator" and status == "active":
                # The set-up enrols only one, with one active key at a time; a
                # key it rotated away may go.
                return (LastAdministrator,)
            return Accepted(lambda: self.keys.update({key_id: (name, "revoked")}))
        officer = self.officers[_name(params["officer_id"])]
        if officer.role == "administrator" and params["role"] != "administrator":
            return (LastAdministrator,)

        def change() -> None:
            officer.role = params["role"]
            officer.jurisdiction = params["jurisdiction"]

        return Accepted(change)

    # 3. The fund's rules, and the policy's for payments. Which rule a request
    # that breaks several is refused by is the implementation's choice: any of
    # them will do, but one of them it must be.
    def _fund_command(
        self, officer: Officer, command: str, params: dict[str, Any]
    ) -> Outcome:
        county = params["county"]
        fund = self.funds.get(county)
        if command == "fund.open":
            if fund is not None:
                return (FundAlreadyOpen,)
            return Accepted(lambda: self.funds.update({county: FundModel(county)}))
        if command in ("fund.approve_payment", "fund.reject_payment"):
            return self._decide(fund, officer, command, params)
        if command == "fund.reverse":
            return self._reverse(fund, params)

        # Money moving in, out of the pool, or promised to a payee.
        proposal = command == "fund.propose_payment"
        transfer_id: str = params["payment_id" if proposal else "transfer_id"]
        amount = params["amount_fen"]
        broken: list[type[Exception]] = []
        if fund is None:
            broken.append(FundNotOpen)
        elif fund.used(transfer_id):
            broken.append(DuplicatePayment)
        if not _valid_amount(amount):
            broken.append(InvalidAmount)
        if command == "fund.receive":
            if params["source_kind"] not in SOURCE_KINDS:
                broken.append(InvalidReference)
            debit = source_account(params["source_kind"], params["source"])
            credit = pool_account(county)
        elif proposal:
            broken += self._payee_problems(county, params)
            debit = budget_account(county, params["programme"], params["year"])
            credit = payee_account(params["payee_kind"], params["payee"])
        else:
            debit = pool_account(county)
            if command == "fund.allocate":
                credit = budget_account(county, params["programme"], params["year"])
                if params["programme"] not in PROGRAMMES:
                    broken.append(UnknownProgramme)
            else:
                credit = project_account(county, params["project_id"])
                school = params["school"]
                if school is not None and school not in self.schools.get(county, ()):
                    broken.append(UnknownUnit)
        if (
            fund is not None
            and command != "fund.receive"
            and _valid_amount(amount)
            and fund.available(debit) < amount
        ):
            broken.append(
                PoolOverdrawn if debit.startswith("pool:") else BudgetOverdrawn
            )
        if broken:
            return tuple(broken)
        assert fund is not None
        if not proposal:
            return Accepted(lambda: fund.move(transfer_id, debit, credit, amount))
        at_once = self.threshold is not None and amount <= self.threshold

        def propose() -> None:
            payment = [debit, credit, amount, officer.officer_id, "proposed"]
            fund.payments[transfer_id] = payment
            fund.pending[debit] = fund.pending.get(debit, 0) + amount
            if at_once:
                fund.approve(transfer_id)

        return Accepted(propose)

    def _payee_problems(
        self, county: str, params: dict[str, Any]
    ) -> list[type[Exception]]:
        """The policy: a school must be registered, a person eligible."""
        programme, payee, amount = (
            params["programme"],
            params["payee"],
            params["amount_fen"],
        )
        broken: list[type[Exception]] = []
        if programme not in PROGRAMMES:
            broken.append(UnknownProgramme)
        if params["payee_kind"] == "school":
            if payee not in self.schools.get(county, ()):
                broken.append(UnknownUnit)
            return broken
        if payee not in self.poor_pupils.get(county, ()):
            broken.append(NotOnRoll)
        whole = isinstance(amount, int) and not isinstance(amount, bool)
        if programme == "BOARD_JUN":
            broken.append(IneligibleStage)  # the pupil is at high school
        elif programme == "HS_GRANT" and whole and amount > HS_GRANT_TERM_FEN:
            broken.append(AboveRate)
        return broken

    def _decide(
        self,
        fund: FundModel | None,
        officer: Officer,
        command: str,
        params: dict[str, Any],
    ) -> Outcome:
        if fund is None:
            return (FundNotOpen,)
        payment_id = params["payment_id"]
        payment = fund.payments.get(payment_id)
        if payment is None:
            return (UnknownPayment,)
        if payment[4] != "proposed":
            return (PaymentNotPending,)
        if payment[3] == officer.officer_id:
            return (SelfApproval,)
        if command == "fund.approve_payment":
            return Accepted(lambda: fund.approve(payment_id))

        def reject() -> None:
            fund.pending[payment[0]] -= payment[2]
            payment[4] = "rejected"

        return Accepted(reject)

    def _reverse(self, fund: FundModel | None, params: dict[str, Any]) -> Outcome:
        if fund is None:
            return (FundNotOpen,)
        transfer_id = params["transfer_id"]
        transfer = fund.transfers.get(transfer_id)
        if transfer is None:
            if transfer_id in fund.payments:  # proposed or rejected: never paid
                return (PaymentNotPending,)
            return (UnknownPayment,)
        debit, credit, amount, reversed_already = transfer
        if reversed_already:
            return (PaymentNotPending,)
        if not credit.startswith("source:") and fund.available(credit) < amount:
            return (
                (PoolOverdrawn,) if credit.startswith("pool:") else (BudgetOverdrawn,)
            )

        def reverse() -> None:
            transfer[3] = True
            fund.balances[credit] = fund.balance(credit) - amount
            fund.balances[debit] = fund.balance(debit) + amount
            if transfer_id in fund.payments:
                fund.payments[transfer_id][4] = "reversed"

        return Accepted(reverse)


def _name(officer_id: str) -> str:
    return officer_id.removeprefix("officer:")


# Reading the ledger -----------------------------------------------------------------


def _entries(ledger: FundLedger) -> list[bytes]:
    """Every stored entry's exact bytes, in log order, in one query."""
    recorder = ledger.log_recorder
    with recorder._transaction(commit=False) as cursor:
        cursor.execute(recorder.sql(f"SELECT seq, entry FROM {ENTRIES} ORDER BY seq"))
        rows = cursor.fetchall()
    assert [row["seq"] for row in rows] == list(range(len(rows)))
    return [bytes(row["entry"]) for row in rows]


def _fund_state(ledger: FundLedger, county: str) -> Any:
    fund = ledger.fund(county)
    return (
        {k: v for k, v in fund.balances.items() if v},
        {k: v for k, v in fund.pending_fen.items() if v},
        {k: (p.amount_fen, p.proposed_by, p.status) for k, p in fund.payments.items()},
        {k: t.reversed for k, t in fund.transfers.items()},
    )


def _registry_state(ledger: FundLedger) -> Any:
    registry = ledger.registry()
    return (registry.officers, registry.keys)


def _flip_signature(document: dict[str, Any]) -> None:
    raw = bytearray(base64.b64decode(document["signature"]))
    raw[7] ^= 0x01
    document["signature"] = base64.b64encode(bytes(raw)).decode()


def _change_amount(document: dict[str, Any]) -> None:
    params = document["request"]["params"]
    document["request"]["params"] = {**params, "amount_fen": 9_000_000}


# Strategies -------------------------------------------------------------------------


def mostly(
    usual: st.SearchStrategy[T], other: st.SearchStrategy[T]
) -> st.SearchStrategy[T]:
    """``usual`` about four times in five, so that money gets somewhere."""
    return st.one_of(usual, usual, usual, usual, other)


amounts = mostly(
    st.integers(min_value=1, max_value=400_000),
    st.sampled_from(
        [0, -1, -HS_GRANT_TERM_FEN, MAX_AMOUNT_FEN + 1, 10**15, 12.5, "100", True, None]
    ),
)
counties = mostly(st.just(COUNTY), st.sampled_from([OTHER_COUNTY, UNKNOWN_UNIT]))
programmes = mostly(st.just("HS_GRANT"), st.sampled_from(["BOARD_JUN", "SCHOLARSHIP"]))


def signers(usual: str) -> st.SearchStrategy[str]:
    """Usually the officer whose job it is; sometimes anyone else."""
    return mostly(st.just(usual), st.sampled_from(sorted(OFFICERS)))


@contextmanager
def sqlite_database() -> Iterator[str]:
    """A ledger location in a directory of its own, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="fundledger-machine-") as directory:
        yield f"sqlite:///{directory}/ledger.db"


# The machine ------------------------------------------------------------------------


class CommandMachine(RuleBasedStateMachine):
    """Signed requests, valid and not, sent through ``execute`` to one ledger."""

    def database(self) -> AbstractContextManager[str]:
        return sqlite_database()

    @initialize(threshold=st.sampled_from([None, THRESHOLD_FEN]))
    def set_up(self, threshold: int | None) -> None:
        self.resources = ExitStack()
        self.url = self.resources.enter_context(self.database())
        self.model = Model(threshold)
        self.sent: list[Sent] = []
        self.counter = 0
        self.entries: list[bytes] = []
        self.events = 0

        # 1. The ledger, as ``fundledger init`` makes it.
        self.ledger, self.log = create_ledger(
            parse_url(self.url),
            ORIGIN,
            NoteSigner.generate(ORIGIN),
            app_class=FundLedger,
        )
        self.resources.callback(self.ledger.close)
        self.ledger.log_origin = ORIGIN
        self.ledger.approval_threshold_fen = threshold

        # 2. The first administrator enrols themself, signing with the key
        # enrolled; then the other officers.
        for name, (role, jurisdiction) in OFFICERS.items():
            key = officer_key(f"officer:{name}")
            params = {
                "officer_id": key.officer_id,
                "name": name,
                "role": role,
                "jurisdiction": jurisdiction,
                "public_key": key.public_key_hex,
            }
            self.record(key if name == "admin" else "admin", "officer.enrol", params)
            self.model.enrol(name, role, jurisdiction)

        # 3. The school, the pupil on both rolls, and the county's funded budget.
        school = {
            "county": COUNTY,
            "code": SCHOOL,
            "name": "建始一中",
            "stage": "high_school",
            "boarding": False,
            "rural": True,
        }
        self.record("recorder", "school.register", school)
        listing = {
            "county": COUNTY,
            "person_ref": PUPIL,
            "household_ref": "household-1",
            "listed_on": "2016-03-01",
        }
        self.record("recorder", "roll.list_poor", listing)
        status = {
            "county": COUNTY,
            "person_ref": PUPIL,
            "school": SCHOOL,
            "stage": "high_school",
            "grade": 10,
            "boarding": False,
            "year": YEAR,
        }
        self.record("recorder", "roll.record_status", status)
        self.send("recorder", "fund.open", {"county": COUNTY, "county_name": "建始县"})
        self.send("recorder", "fund.receive", receipt_params("in-0", 5_000_000))
        allocation = {
            "county": COUNTY,
            "transfer_id": "alloc-0",
            "programme": "HS_GRANT",
            "year": YEAR,
            "amount_fen": 3_000_000,
        }
        self.send("recorder", "fund.allocate", allocation)
        assert self.model.funds[COUNTY].balance(pool_account(COUNTY)) == 2_000_000

    def teardown(self) -> None:
        resources = getattr(self, "resources", None)
        if resources is None:
            return
        with resources:
            if hasattr(self, "log"):
                self._verify_at_the_end()

    def _verify_at_the_end(self) -> None:
        # (e) The whole log verifies, every request re-checked in log order.
        report = verify_log(
            self.ledger.log_recorder,
            self.log.origin,
            self.log.verifier,
            entry_check=RequestCheck(),
        )
        assert report.ok, report.failure
        assert report.size == len(self.entries)
        # The bulk read agrees with the log's own reader, entry by entry.
        for index, entry in enumerate(self.entries):
            assert self.log.entry(index) == entry

    # Sending ------------------------------------------------------------------------

    def _new_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter}"

    def _key(self, signer: str | OfficerKey) -> OfficerKey:
        if isinstance(signer, OfficerKey):
            return signer
        if signer == "stranger":
            return officer_key("officer:stranger")
        return self.model.officers[signer].key

    def sign(
        self, signer: str | OfficerKey, command: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        key = self._key(signer)
        return key.sign(command, params, request_id=self._new_id("request"))

    def record(
        self, signer: str | OfficerKey, command: str, params: dict[str, Any]
    ) -> Sent:
        """A set-up request outside the model's rules: it must be recorded."""
        sent = Sent(self.sign(signer, command, params))
        receipt = execute(self.ledger, sent.signed, UNITS)
        assert not receipt.replayed
        self.sent.append(sent)
        self.model.accept(sent)
        self._check_appended(receipt.entries)
        return sent

    def send(
        self,
        signer: str,
        command: str,
        params: dict[str, Any],
        *,
        tamper: Callable[[dict[str, Any]], None] | None = None,
        malformed: bool = False,
    ) -> None:
        """Sign and send a request; check the outcome the model predicts."""
        document = self.sign(signer, command, params)
        if tamper is not None:
            tamper(document)
        self.resend(Sent(document, forged=tamper is not None, malformed=malformed))

    def resend(self, sent: Sent) -> None:
        self.sent.append(sent)
        expected = self.model.predict(sent)
        signed = sent.signed
        what = f"{signed.command} {signed.params}"
        try:
            receipt = execute(self.ledger, signed, UNITS)
        except (DomainError, FundLedgerError) as error:
            refusal: Exception | None = error
        else:
            refusal = None
        if refusal is not None:
            assert isinstance(expected, tuple), f"{what}: {refusal!r}, not {expected}"
            assert isinstance(refusal, expected), f"{what}: {refusal!r}, not {expected}"
            self._check_unchanged()
        elif isinstance(expected, Replay):
            assert receipt.replayed
            assert receipt.digest == expected.digest
            self._check_unchanged()
        else:
            assert isinstance(expected, Accepted), f"{what} recorded, not {expected}"
            assert not receipt.replayed
            assert receipt.digest == signed.digest
            expected.apply()
            self.model.accept(sent)
            self._check_appended(receipt.entries)

    def _check_unchanged(self) -> None:
        # (c) Nothing stored, nothing changed: every entry as it was, no event.
        assert _entries(self.ledger) == self.entries
        assert self.ledger.log_recorder.count_events() == self.events

    def _check_appended(self, receipt_entries: list[tuple[int, str]]) -> None:
        # (c) An accepted request appends at the positions its receipt names.
        entries = _entries(self.ledger)
        old = len(self.entries)
        assert entries[:old] == self.entries
        assert receipt_entries == [
            (position, hashlib.sha256(b"\x00" + entries[position]).hexdigest())
            for position in range(old, len(entries))
        ]
        self.events += len(entries) - old
        self.entries = entries
        assert self.ledger.log_recorder.count_events() == self.events

    def _ids(self, *, transfers: bool = True, payments: bool = True) -> list[str]:
        found = {"never-recorded"}
        for fund in self.model.funds.values():
            found.update(fund.transfers if transfers else ())
            found.update(fund.payments if payments else ())
        return sorted(found)

    # Money in, allocated, set aside ---------------------------------------------------

    @rule(
        signer=signers("recorder"),
        county=counties,
        amount=amounts,
        kind=mostly(st.just("central"), st.sampled_from(["donation", "lottery"])),
        earmark=st.sampled_from([None, "HARDSHIP"]),
    )
    def receive(
        self, signer: str, county: str, amount: Any, kind: str, earmark: str | None
    ) -> None:
        params = receipt_params(self._new_id("in"), amount, county=county)
        params |= {"source_kind": kind, "source": f"{kind}-budget"}
        if earmark is not None:
            params["earmark"] = earmark
        self.send(signer, "fund.receive", params)

    @rule(
        signer=signers("recorder"),
        county=counties,
        programme=programmes,
        amount=amounts,
    )
    def allocate(self, signer: str, county: str, programme: str, amount: Any) -> None:
        params = {
            "county": county,
            "transfer_id": self._new_id("alloc"),
            "programme": programme,
            "year": YEAR,
            "amount_fen": amount,
        }
        self.send(signer, "fund.allocate", params)

    @rule(
        signer=signers("recorder"),
        county=counties,
        amount=amounts,
        school=st.sampled_from([None, SCHOOL, UNREGISTERED_SCHOOL]),
    )
    def fund_project(
        self, signer: str, county: str, amount: Any, school: str | None
    ) -> None:
        params = {
            "county": county,
            "transfer_id": self._new_id("project"),
            "project_id": "renovation-1",
            "name": "全面改薄",
            "school": school,
            "amount_fen": amount,
        }
        self.send(signer, "fund.fund_project", params)

    @rule(signer=signers("recorder-b"), county=counties)
    def open_fund(self, signer: str, county: str) -> None:
        self.send(signer, "fund.open", {"county": county, "county_name": "县"})

    # Payments: maker and checker ------------------------------------------------------

    @rule(
        signer=signers("recorder"),
        county=counties,
        programme=programmes,
        amount=amounts,
        to=mostly(st.just(("school", SCHOOL)), st.just(("school", UNREGISTERED_SCHOOL)))
        | st.sampled_from([("person", PUPIL), ("person", STRANGER)]),
    )
    def propose(
        self, signer: str, county: str, programme: str, amount: Any, to: Any
    ) -> None:
        payee_kind, payee = to
        params = payment_params(self._new_id("pay"), amount, county=county)
        params |= {"programme": programme, "payee_kind": payee_kind, "payee": payee}
        self.send(signer, "fund.propose_payment", params | {"details": {"n": 40}})

    @rule(
        data=st.data(),
        signer=signers("approver"),
        county=counties,
        approve=st.booleans(),
    )
    def decide(self, data: Any, signer: str, county: str, approve: bool) -> None:
        pending = [
            payment_id
            for fund in self.model.funds.values()
            for payment_id, payment in fund.payments.items()
            if payment[4] == "proposed"
        ]
        choice = st.sampled_from(self._ids(transfers=False))
        if pending:
            choice = mostly(st.sampled_from(sorted(pending)), choice)
        params = {"county": county, "payment_id": data.draw(choice, label="payment")}
        if approve:
            self.send(signer, "fund.approve_payment", params)
        else:
            self.send(signer, "fund.reject_payment", params | {"reason": "no"})

    @rule(
        amount=st.integers(min_value=1, max_value=HS_GRANT_TERM_FEN),
        to_pupil=st.booleans(),
        approve=mostly(st.just(True), st.just(False)),
    )
    def pay(self, amount: int, to_pupil: bool, approve: bool) -> None:
        """The usual path: the recorder proposes, the approver decides."""
        payment_id = self._new_id("pay")
        params = payment_params(payment_id, amount)
        if to_pupil:
            params |= {"payee_kind": "person", "payee": PUPIL}
        self.send("recorder", "fund.propose_payment", params)
        decision = {"county": COUNTY, "payment_id": payment_id}
        if approve:
            self.send("approver", "fund.approve_payment", decision)
        else:
            decision["reason"] = "pupil left the school"
            self.send("approver", "fund.reject_payment", decision)

    @rule(data=st.data(), signer=signers("approver"), county=counties)
    def reverse(self, data: Any, signer: str, county: str) -> None:
        transfer_id = data.draw(st.sampled_from(self._ids()), label="transfer")
        params = {"county": county, "transfer_id": transfer_id, "reason": "mistake"}
        self.send(signer, "fund.reverse", params)

    @rule(data=st.data())
    def reuse_an_id(self, data: Any) -> None:
        transfer_id = data.draw(st.sampled_from(self._ids()), label="transfer")
        self.send("recorder", "fund.receive", receipt_params(transfer_id, 100))

    # Requests that are not what they claim --------------------------------------------

    @rule(
        signer=signers("recorder"),
        how=st.sampled_from(
            [
                "flipped-signature",
                "changed-amount",
                "swapped-key",
                "unknown-key",
                "unknown-command",
                "missing-parameter",
                "unexpected-parameter",
            ]
        ),
    )
    def not_what_it_claims(self, signer: str, how: str) -> None:
        params = receipt_params(self._new_id(how), 1_000)
        if how == "unknown-key":
            self.send("stranger", "fund.receive", params)
        elif how == "unknown-command":
            self.send(signer, "fund.embezzle", params, malformed=True)
        elif how == "missing-parameter":
            del params["reference"]
            self.send(signer, "fund.receive", params, malformed=True)
        elif how == "unexpected-parameter":
            params["memo"] = "not a parameter of fund.receive"
            self.send(signer, "fund.receive", params, malformed=True)
        elif how == "swapped-key":
            # Signed by one officer, presented as another's.
            other = self._key("recorder" if signer == "approver" else "approver")
            document = self.sign(signer, "fund.receive", params)
            document["request"]["key_id"] = other.key_id
            self.resend(Sent(document, forged=True))
        else:
            tamper = _change_amount if how == "changed-amount" else _flip_signature
            self.send(signer, "fund.receive", params, tamper=tamper)

    @precondition(lambda self: self.sent)
    @rule(
        data=st.data(),
        how=mostly(
            st.just("same-document"), st.sampled_from(["signed-again", "id-reused"])
        ),
    )
    def replay(self, data: Any, how: str) -> None:
        """An earlier document again, the same request signed again later, or its
        request id reused for another request."""
        recent = st.sampled_from(self.sent[-10:])
        earlier = data.draw(mostly(recent, st.sampled_from(self.sent)), label="sent")
        if how == "same-document":
            self.resend(earlier)
            return
        signed = earlier.signed
        command, params = signed.command, signed.params
        if how == "id-reused":
            command, params = "fund.receive", receipt_params(self._new_id("re"), 100)
        document = self.model.signing_keys[signed.key_id].sign(
            command, params, request_id=earlier.request_id, signed_at=SIGNED_LATER
        )
        self.resend(Sent(document, malformed=earlier.malformed and how != "id-reused"))

    # Keys and roles -------------------------------------------------------------------

    @rule(
        data=st.data(),
        signer=signers("admin"),
        action=mostly(st.just("rotate"), st.sampled_from(["revoke", "change-role"])),
        name=st.sampled_from(sorted(OFFICERS)),
        swap_role=mostly(st.just(False), st.just(True)),
    )
    def manage_officers(
        self, data: Any, signer: str, action: str, name: str, swap_role: bool
    ) -> None:
        """Rotations mostly; revocations; role changes, usually back to the
        officer's first role, so that the machine does not run out of staff."""
        officer = self.model.officers[name]
        if action == "rotate":
            officer.generation += 1  # a new key for every request, recorded or not
            new = officer_key(officer.officer_id, officer.generation)
            self.model.spare_keys[new.public_key_hex] = new
            self.model.signing_keys[new.key_id] = new
            params = {
                "officer_id": officer.officer_id,
                "public_key": new.public_key_hex,
            }
            self.send(signer, "officer.rotate_key", params)
        elif action == "revoke":
            theirs = sorted(k for k, (n, _) in self.model.keys.items() if n == name)
            key_id = data.draw(st.sampled_from(theirs), label="key")
            self.send(
                signer, "officer.revoke_key", {"key_id": key_id, "reason": "lost"}
            )
        else:
            role = OFFICERS[name][0]
            if swap_role:
                role = "approver" if role == "recorder" else "recorder"
            params = {
                "officer_id": officer.officer_id,
                "role": role,
                "jurisdiction": officer.jurisdiction,
            }
            self.send(signer, "officer.change_role", params)

    # Invariants -----------------------------------------------------------------------

    @invariant()
    def money_is_conserved(self) -> None:
        # (a) Every transfer debits what it credits.
        for county in self.model.funds:
            assert sum(self.ledger.fund(county).balances.values()) == 0

    @invariant()
    def nothing_that_holds_money_goes_below_zero(self) -> None:
        # (b) Only sources give more than they got.
        for county in self.model.funds:
            fund = self.ledger.fund(county)
            for account, balance in fund.balances.items():
                assert balance >= 0 or account.startswith("source:"), account
            for budget, pending in fund.pending_fen.items():
                assert 0 <= pending <= fund.balance(budget), budget

    @invariant()
    def a_fresh_application_rebuilds_the_same_state(self) -> None:
        # (d) Rebuilt from the database by another application, equal to the
        # live one, and both equal to the model's own arithmetic.
        fresh, _ = open_ledger(parse_url(self.url), app_class=FundLedger)
        try:
            for county, model in self.model.funds.items():
                live = _fund_state(self.ledger, county)
                assert _fund_state(fresh, county) == live
                assert live == model.state()
            assert fresh.has_fund(OTHER_COUNTY) == (OTHER_COUNTY in self.model.funds)
            assert _registry_state(fresh) == _registry_state(self.ledger)
            registry = self.ledger.registry()
            for key_id, (name, status) in self.model.keys.items():
                assert registry.keys[key_id].status == status
                officer = self.model.officers[name]
                assert registry.officers[officer.officer_id].role == officer.role
        finally:
            fresh.close()


CommandMachine.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
test_commands_on_sqlite = CommandMachine.TestCase


class PostgresCommandMachine(CommandMachine):
    """The same machine on a fresh PostgreSQL database per example."""

    def database(self) -> AbstractContextManager[str]:
        return fresh_database(os.environ[POSTGRES_URL_VARIABLE])


PostgresCommandMachine.TestCase.settings = settings(
    max_examples=8,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
test_commands_on_postgres = pytest.mark.postgres(
    pytest.mark.skipif(
        not os.environ.get(POSTGRES_URL_VARIABLE),
        reason=f"{POSTGRES_URL_VARIABLE} not set: no PostgreSQL to run against",
    )(PostgresCommandMachine.TestCase)
)


# Single scenes: rules the machine reaches rarely, and known bugs ----------------------


class Scene(CommandMachine):
    """The machine's set-up on the ``database_url`` fixture's database, plus an
    Enshi prefecture administrator and a Wuhan recorder."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.fixture_url = url
        self.set_up(threshold=None)
        for name, role, unit in (
            ("enshi-admin", "administrator", "422800"),
            ("wuhan-recorder", "recorder", "420100"),
        ):
            key = officer_key(f"officer:{name}")
            params = {"officer_id": key.officer_id, "name": name, "role": role}
            params |= {"jurisdiction": unit, "public_key": key.public_key_hex}
            self.record("admin", "officer.enrol", params)
            self.model.enrol(name, role, unit)

    def database(self) -> AbstractContextManager[str]:
        return nullcontext(self.fixture_url)

    def refused(
        self,
        error: type[Exception] | tuple[type[Exception], ...],
        signer: str,
        command: str,
        params: dict[str, Any],
    ) -> Any:
        """Send a request that must be refused with ``error`` and record nothing."""
        signed = parse_request(self.sign(signer, command, params))
        with pytest.raises(error) as raised:
            execute(self.ledger, signed, UNITS)
        self._check_unchanged()
        return raised.value


@pytest.fixture
def scene(database_url: str) -> Iterator[Scene]:
    scene = Scene(database_url)
    yield scene
    # Whatever a known bug let through, the log must still verify.
    scene.entries = _entries(scene.ledger)
    scene.teardown()


def test_a_proposer_never_approves_their_own_payment(scene: Scene) -> None:
    # An approver may propose, but not approve what they proposed.
    scene.record("approver", "fund.propose_payment", payment_params("p-1", 100))
    decision = {"county": COUNTY, "payment_id": "p-1"}
    error = scene.refused(SelfApproval, "approver", "fund.approve_payment", decision)
    assert error.officer == "officer:approver"

    # A recorder who becomes an approver is still the maker of their proposal.
    scene.record("recorder", "fund.propose_payment", payment_params("p-2", 100))
    change = {"officer_id": "officer:recorder", "role": "approver"}
    scene.record("admin", "officer.change_role", change | {"jurisdiction": COUNTY})
    decision = {"county": COUNTY, "payment_id": "p-2", "reason": "mine"}
    scene.refused(SelfApproval, "recorder", "fund.reject_payment", decision)


def test_reversing_an_unpaid_payment_names_the_rule(scene: Scene) -> None:
    scene.record("recorder", "fund.propose_payment", payment_params("p-1", 100))
    params = {"county": COUNTY, "transfer_id": "p-1", "reason": "never paid"}
    error = scene.refused(PaymentNotPending, "approver", "fund.reverse", params)
    assert (error.payment_id, error.status) == ("p-1", "proposed")


def test_a_forged_copy_of_an_accepted_request_is_refused(scene: Scene) -> None:
    # The copy is not answered with the original's receipt, as if it were signed.
    sent = scene.record("recorder", "fund.receive", receipt_params("in-9", 500))
    _flip_signature(sent.document)
    with pytest.raises(BadSignature):
        execute(scene.ledger, sent.signed, UNITS)
    scene._check_unchanged()


@pytest.mark.parametrize(
    "officer",
    [
        pytest.param("officer:admin", id="demote-the-province-admin"),
        pytest.param("officer:wuhan-recorder", id="take-wuhans-recorder"),
    ],
)
def test_an_administrator_cannot_change_an_officer_outside_their_unit(
    scene: Scene, officer: str
) -> None:
    params = {"officer_id": officer, "role": "recorder", "jurisdiction": "422800"}
    error = scene.refused(
        OutsideJurisdiction, "enshi-admin", "officer.change_role", params
    )
    assert error.officer_id == "officer:enshi-admin"


def test_a_role_change_to_a_unit_that_is_not_text_is_refused(scene: Scene) -> None:
    params = {"officer_id": "officer:recorder", "role": "recorder"}
    scene.refused(
        (InvalidReference, UnknownUnit),
        "admin",
        "officer.change_role",
        params | {"jurisdiction": int(COUNTY)},
    )


@pytest.mark.parametrize(
    ("command", "params"),
    [
        pytest.param(
            "fund.approve_payment",
            {"county": COUNTY, "payment_id": ["p-1"]},
            id="payment-id-array",
        ),
        pytest.param(
            "fund.reject_payment",
            {"county": COUNTY, "payment_id": {"id": "p-1"}, "reason": "no"},
            id="payment-id-object",
        ),
        pytest.param(
            "fund.reverse",
            {"county": COUNTY, "transfer_id": ["in-0"], "reason": "no"},
            id="transfer-id-array",
        ),
        pytest.param(
            "fund.report_progress",
            {"county": COUNTY, "project_id": ["x"], "percent": 5, "note": "n"},
            id="project-id-array",
        ),
        pytest.param(
            "fund.propose_payment",
            payment_params("p-9", 100, details=[1, 2]),
            id="details-array",
        ),
    ],
)
def test_ill_typed_ids_are_refused_not_crashed_on(
    scene: Scene, command: str, params: dict[str, Any]
) -> None:
    scene.record("recorder", "fund.propose_payment", payment_params("p-1", 100))
    signer = "recorder" if Role.RECORDER in PERMISSIONS[command] else "approver"
    scene.refused((DomainError, FundLedgerError), signer, command, params)
