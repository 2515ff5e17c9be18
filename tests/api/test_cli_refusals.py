"""Every write the ``fundledger`` command refuses, refused the same way.

Each case starts from one small county ledger (officers of every role, an open
fund with money received, allocated and one payment proposed) on SQLite and on
PostgreSQL, and asks for one thing that must be refused. Whatever the reason
(a money rule, the maker-checker rule, role, jurisdiction, key, signature,
request shape, amount or key file), a refusal is a non-zero exit, one line on
stderr naming what was wrong and no traceback, and it records nothing: the log
keeps its size and root, ``fundledger verify`` still passes, and no officer key
file is left behind. Argument errors found by argparse exit 2 with its usage
text, which is longer than one line.

The ledger is built in process through ``api.commands.execute``, the path every
write takes, and only the command under test runs as a real process.

The last tests write events that bypass ``execute`` and check that verification
names the first entry no accepted request accounts for.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from api.app import FundLedger
from api.cli import main
from api.commands import execute
from api.requests import OfficerKey, parse_request
from api.verification import RequestCheck
from ledger.application import open_ledger
from ledger.log import Log
from ledger.storage import parse_url
from ledger.verify import FailureKind, verify_log
from tests.api.test_cli import Cli, assert_one_line_error

ORIGIN = "refusals.fundledger.example/log"
COUNTY = "422822"  # 建始县, Enshi prefecture
OTHER_COUNTY = "422823"  # 巴东县, Enshi prefecture; its fund is never opened
UNKNOWN_UNIT = "429999"
PREFECTURE = "422800"  # Enshi prefecture, above the counties
PROGRAMME = "HS_GRANT"
YEAR = "2026"
RECEIVED_FEN = 1_000_000
ALLOCATED_FEN = 600_000
PROPOSED_FEN = 200_000
POOL_LEFT_FEN = RECEIVED_FEN - ALLOCATED_FEN
BUDGET_LEFT_FEN = ALLOCATED_FEN - PROPOSED_FEN
BUDGET = f"budget:{COUNTY}:{PROGRAMME}:{YEAR}"
SCHOOLS = (f"{COUNTY}S0001", f"{COUNTY}S0002")  # 建始县第一、第二高级中学
UNREGISTERED_SCHOOL = f"{COUNTY}S0099"
ADMIN_KEY = "fundledger-admin.key"
REQUEST_FILE = "request.json"

Params = dict[str, Any]

# Who the scene enrols besides the administrator: (role, jurisdiction).
OFFICERS = {
    "recorder": ("recorder", COUNTY),
    "approver": ("approver", COUNTY),
    "stranger": ("recorder", OTHER_COUNTY),
    "auditor": ("auditor", "420000"),
}


@dataclass
class Scene:
    """A county ledger, its officers' key files and a way to write to it."""

    cli: Cli
    keys: dict[str, OfficerKey] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)  # what -> request digest

    def path(self, name: str) -> Path:
        """A file in the directory the command runs in."""
        return self.cli.cwd / name

    def open(self) -> tuple[FundLedger, Log]:
        """The ledger in this process; close it after use."""
        ledger, log = open_ledger(parse_url(self.cli.db), app_class=FundLedger)
        ledger.log_origin = log.origin
        return ledger, log

    def execute(self, who: str, command: str, params: Params) -> str:
        """Sign a request as ``who`` and record it; returns the request digest."""
        ledger, _ = self.open()
        try:
            signed = parse_request(self.keys[who].sign(command, params))
            return execute(ledger, signed).digest
        finally:
            ledger.close()

    def enrol(self, who: str, role: str, jurisdiction: str) -> None:
        """Enrol an officer and write their key file ``<who>.key``."""
        key = OfficerKey.generate(f"officer:{who}")
        self.execute(
            "admin",
            "officer.enrol",
            {
                "officer_id": key.officer_id,
                "name": who.title(),
                "role": role,
                "jurisdiction": jurisdiction,
                "public_key": key.public_key_hex,
            },
        )
        key.save(self.path(f"{who}.key"))
        self.keys[who] = key

    def sign(self, who: str, command: str, params: Params) -> Path:
        """``fundledger request sign`` as ``who``, saved to ``request.json``."""
        document = self.cli.ok(
            "request", "sign", "--key", f"{who}.key", command, json.dumps(params)
        )
        path = self.path(REQUEST_FILE)
        path.write_bytes(document)
        return path

    def verified_state(self) -> tuple[int, str]:
        """The log's size and root (base64), once verified as ``verify`` does."""
        ledger, log = self.open()
        try:
            report = verify_log(
                ledger.log_recorder,
                log.origin,
                log.verifier,
                entry_check=RequestCheck(),
            )
            size, root = log.size(), log.root()
        finally:
            ledger.close()
        assert report.failure is None, str(report.failure)
        assert (report.size, report.root) == (size, root)
        return size, base64.b64encode(root).decode("ascii")

    def key_files(self) -> set[str]:
        """The names of the key files in the working directory."""
        return {path.name for path in self.cli.cwd.glob("*.key")}


def receipt(transfer_id: str = "RECEIPT-1", amount_fen: int = RECEIVED_FEN) -> Params:
    """The parameters of ``fund.receive``."""
    return {
        "county": COUNTY,
        "transfer_id": transfer_id,
        "source_kind": "central",
        "source": "central-budget",
        "amount_fen": amount_fen,
        "reference": "财教[2026]1号",
        "earmark": None,
    }


def payment(payment_id: str = "PAY-1", payee: str = SCHOOLS[0]) -> Params:
    """The parameters of ``fund.propose_payment``."""
    return {
        "county": COUNTY,
        "payment_id": payment_id,
        "programme": PROGRAMME,
        "year": int(YEAR),
        "term": "autumn",
        "payee_kind": "school",
        "payee": payee,
        "amount_fen": PROPOSED_FEN,
    }


@pytest.fixture
def scene(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Scene:
    """A ledger with an open fund, money in it and one payment proposed."""
    cli = Cli(database_url, tmp_path / "log.key", tmp_path)

    # ``fundledger init`` in this process, saving a process start per test; its
    # other files go to the working directory, as when a user runs it.
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("FUNDLEDGER_") and not name.startswith("FUNDLEDGER_TEST"):
            monkeypatch.delenv(name)
    init = ["--db", cli.db, "--log-key", str(cli.key), "init", "--origin", ORIGIN]
    assert main(init) == 0

    scene = Scene(cli, {"admin": OfficerKey.load(tmp_path / ADMIN_KEY)})
    for who, (role, jurisdiction) in OFFICERS.items():
        scene.enrol(who, role, jurisdiction)

    scene.execute("recorder", "fund.open", {"county": COUNTY, "county_name": "建始县"})
    for number, school in enumerate(SCHOOLS, start=1):
        scene.execute(
            "recorder",
            "school.register",
            {
                "county": COUNTY,
                "code": school,
                "name": f"建始县第{number}高级中学",
                "stage": "high_school",
                "boarding": True,
                "rural": True,
            },
        )
    scene.digests["receipt"] = scene.execute("recorder", "fund.receive", receipt())
    scene.execute(
        "recorder",
        "fund.allocate",
        {
            "county": COUNTY,
            "transfer_id": "ALLOC-1",
            "programme": PROGRAMME,
            "year": int(YEAR),
            "amount_fen": ALLOCATED_FEN,
        },
    )
    scene.execute("recorder", "fund.propose_payment", payment())
    return scene


# Setups a case runs before the command under test ------------------------------


def _role_change(
    who: str, role: str, jurisdiction: str = COUNTY
) -> Callable[[Scene], None]:
    def prepare(scene: Scene) -> None:
        params = {"officer_id": f"officer:{who}", "role": role}
        scene.execute(
            "admin", "officer.change_role", {**params, "jurisdiction": jurisdiction}
        )

    return prepare


def _approve_first(scene: Scene) -> None:
    scene.execute(
        "approver", "fund.approve_payment", {"county": COUNTY, "payment_id": "PAY-1"}
    )


def _approver_proposes(scene: Scene) -> None:
    scene.execute("approver", "fund.propose_payment", payment("PAY-2", SCHOOLS[1]))


def _revoke_recorder(scene: Scene) -> None:
    scene.execute(
        "admin",
        "officer.revoke_key",
        {"key_id": scene.keys["recorder"].key_id, "reason": "laptop stolen"},
    )


def _rotate_recorder(scene: Scene) -> None:
    new_key = OfficerKey.generate("officer:recorder")
    scene.execute(
        "admin",
        "officer.rotate_key",
        {"officer_id": "officer:recorder", "public_key": new_key.public_key_hex},
    )
    new_key.save(scene.path("recorder-new.key"))


def _ghost_key(scene: Scene) -> None:
    OfficerKey.generate("officer:ghost").save(scene.path("ghost.key"))


def _signed(who: str, command: str, params: Params) -> Callable[[Scene], None]:
    def prepare(scene: Scene) -> None:
        scene.sign(who, command, params)

    return prepare


def _more_money(document: dict[str, Any]) -> None:
    document["request"]["params"]["amount_fen"] = 100_000_000


def _flipped_signature(document: dict[str, Any]) -> None:
    signature = bytearray(base64.b64decode(document["signature"]))
    signature[0] ^= 1
    document["signature"] = base64.b64encode(signature).decode("ascii")


def _signed_then_edited(
    edit: Callable[[dict[str, Any]], None], *, submitted: bool = False
) -> Callable[[Scene], None]:
    """Sign a receipt (and submit it once, if ``submitted``), then edit the file."""

    def prepare(scene: Scene) -> None:
        path = scene.sign("recorder", "fund.receive", receipt("RECEIPT-2", 100))
        if submitted:
            scene.cli.ok(*SUBMIT)
        document = json.loads(path.read_text(encoding="utf-8"))
        edit(document)
        path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")

    return prepare


def _reused_request_id(scene: Scene) -> None:
    """Submit a receipt, then sign different params under the same request id."""
    path = scene.sign("recorder", "fund.receive", receipt("RECEIPT-2", 100))
    scene.cli.ok(*SUBMIT)
    request = json.loads(path.read_text(encoding="utf-8"))["request"]
    key = OfficerKey.load(scene.path("recorder.key"))
    params = dict(request["params"], amount_fen=request["params"]["amount_fen"] + 1)
    document = key.sign(request["command"], params, request_id=request["request_id"])
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")


def _request_file(text: str) -> Callable[[Scene], None]:
    def prepare(scene: Scene) -> None:
        scene.path(REQUEST_FILE).write_text(text, encoding="utf-8")

    return prepare


def _too_open(scene: Scene) -> None:
    scene.path("recorder.key").chmod(0o644)


def _not_a_key(scene: Scene) -> None:
    path = scene.path("recorder.key")
    path.unlink()
    path.write_text("this is a shopping list, not a key\n", encoding="utf-8")
    path.chmod(0o600)


def _mismatched_key_id(scene: Scene) -> None:
    path = scene.path("recorder.key")
    document = json.loads(path.read_text(encoding="utf-8"))
    document["key_id"] = scene.keys["approver"].key_id
    path.unlink()
    path.write_text(json.dumps(document), encoding="utf-8")
    path.chmod(0o600)


# The cases ---------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """A command that must be refused, and the words its error must say."""

    args: tuple[str, ...]
    words: tuple[str, ...] = ()
    prepare: Callable[[Scene], None] | None = None
    usage: bool = False  # refused by argparse: exit 2, usage text on stderr


def _receipt_args(
    *amount: str,
    key: str = "recorder.key",
    county: str = COUNTY,
    transfer_id: str = "RECEIPT-2",
) -> tuple[str, ...]:
    return (
        "record", "receipt", "--key", key, "--county", county, "--id", transfer_id,
        "--source-kind", "donation", "--source", "org:foundation",
        "--reference", "捐赠协议 2026-7", *amount,
    )  # fmt: skip


def _payment_args(
    *amount: str,
    key: str = "recorder.key",
    term: str = "spring",
    kind: str = "school",
    payee: str = SCHOOLS[1],
) -> tuple[str, ...]:
    return (
        "record", "payment", "--key", key, "--county", COUNTY, "--id", "PAY-2",
        "--programme", PROGRAMME, "--year", YEAR, "--term", term,
        "--payee-kind", kind, "--payee", payee, *amount,
    )  # fmt: skip


def _allocation_args(*amount: str, programme: str = PROGRAMME) -> tuple[str, ...]:
    return (
        "record", "allocation", "--key", "recorder.key", "--county", COUNTY,
        "--id", "ALLOC-2", "--programme", programme, "--year", YEAR, *amount,
    )  # fmt: skip


def _decision(verb: str, target: str, key: str, *reason: str) -> tuple[str, ...]:
    return (verb, target, "--key", key, "--county", COUNTY, *reason)


def _enrol_args(key: str, jurisdiction: str, out: str = "new.key") -> tuple[str, ...]:
    return (
        "officer", "enrol", "--key", key, "--id", "officer:new", "--name", "New",
        "--role", "recorder", "--jurisdiction", jurisdiction, "--out", out,
    )  # fmt: skip


def _open_args(key: str, county: str, name: str) -> tuple[str, ...]:
    return ("fund", "open", "--key", key, "--county", county, "--name", name)


SUBMIT = ("request", "submit", REQUEST_FILE)
ADMIN_STEPS_DOWN = (
    "--id", "officer:admin", "--role", "auditor", "--jurisdiction", "420000",
)  # fmt: skip
TOO_LARGE_FEN = str(10**13 + 1)

REFUSALS = [
    # The fund's money rules.
    pytest.param(
        Refusal(
            _allocation_args("--amount-fen", str(POOL_LEFT_FEN + 1)),
            (f"pool:{COUNTY}", f"holds {POOL_LEFT_FEN} fen", str(POOL_LEFT_FEN + 1)),
        ),
        id="pool-overdrawn",
    ),
    pytest.param(
        Refusal(
            _payment_args("--amount-fen", str(BUDGET_LEFT_FEN + 1)),
            (BUDGET, f"has {BUDGET_LEFT_FEN} fen left", str(BUDGET_LEFT_FEN + 1)),
        ),
        id="budget-overdrawn",
    ),
    pytest.param(
        Refusal(
            _decision("reverse", "ALLOC-1", "approver.key", "--reason", "typo"),
            (BUDGET, f"has {BUDGET_LEFT_FEN} fen left"),
        ),
        id="reversal-of-promised-allocation",
    ),
    pytest.param(
        Refusal(
            _receipt_args("--amount", "10", transfer_id="RECEIPT-1"),
            ("RECEIPT-1", "already exists"),
        ),
        id="transfer-id-reused",
    ),
    pytest.param(
        Refusal(
            _allocation_args("--amount", "10", programme="PONY_CLUB"),
            ("no programme", "PONY_CLUB"),
        ),
        id="unknown-programme",
    ),
    # Maker and checker.
    pytest.param(
        Refusal(
            _decision("approve", "PAY-2", "approver.key"),
            ("PAY-2", "proposed by officer:approver", "different officer"),
            _approver_proposes,
        ),
        id="self-approval",
    ),
    pytest.param(
        Refusal(
            _decision("approve", "PAY-1", "recorder.key"),
            ("PAY-1", "proposed by officer:recorder", "different officer"),
            _role_change("recorder", "approver"),
        ),
        id="self-approval-after-role-change",
    ),
    pytest.param(
        Refusal(
            _decision("reject", "PAY-1", "recorder.key", "--reason", "mine"),
            ("PAY-1", "proposed by officer:recorder", "different officer"),
            _role_change("recorder", "approver"),
        ),
        id="self-rejection",
    ),
    pytest.param(
        Refusal(
            _decision("approve", "PAY-1", "approver.key"),
            ("PAY-1 is approved", "expected proposed"),
            _approve_first,
        ),
        id="approved-twice",
    ),
    pytest.param(
        Refusal(
            _decision("reject", "PAY-1", "approver.key", "--reason", "late"),
            ("PAY-1 is approved", "expected proposed"),
            _approve_first,
        ),
        id="rejected-after-approval",
    ),
    pytest.param(
        Refusal(
            _decision("approve", "PAY-404", "approver.key"),
            ("no payment PAY-404",),
        ),
        id="unknown-payment",
    ),
    pytest.param(
        Refusal(
            _decision("reverse", "PAY-1", "approver.key", "--reason", "undo"),
            ("payment PAY-1 is proposed",),
        ),
        id="reversal-of-unpaid-payment",
    ),
    # Roles and jurisdictions.
    pytest.param(
        Refusal(
            ("officer", "role", "--key", ADMIN_KEY, *ADMIN_STEPS_DOWN),
            ("officer:admin is the last active administrator",),
        ),
        id="last-administrator-steps-down",
    ),
    pytest.param(
        Refusal(
            _receipt_args("--amount", "10", key="stranger.key"),
            ("officer:stranger", f"acts for {OTHER_COUNTY}", f"{COUNTY} is not within"),
        ),
        id="outside-jurisdiction",
    ),
    pytest.param(
        Refusal(
            _decision("approve", "PAY-1", "recorder.key"),
            ("officer:recorder", "role recorder", "fund.approve_payment"),
        ),
        id="recorder-approves",
    ),
    pytest.param(
        Refusal(
            _receipt_args("--amount", "10", key="approver.key"),
            ("officer:approver", "role approver", "fund.receive"),
        ),
        id="approver-receives",
    ),
    pytest.param(
        Refusal(
            _payment_args("--amount", "10", key="auditor.key"),
            ("officer:auditor", "role auditor", "fund.propose_payment"),
        ),
        id="auditor-proposes",
    ),
    pytest.param(
        Refusal(
            _receipt_args("--amount", "10", key="auditor.key"),
            ("officer:auditor", "role auditor", "fund.receive"),
        ),
        id="auditor-records",
    ),
    pytest.param(
        Refusal(
            _enrol_args("recorder.key", COUNTY),
            ("officer:recorder", "role recorder", "officer.enrol"),
        ),
        id="recorder-enrols",
    ),
    pytest.param(
        Refusal(
            _decision("approve", "PAY-1", "fundledger-admin.key"),
            ("officer:admin", "role administrator", "fund.approve_payment"),
        ),
        id="administrator-approves",
    ),
    # Keys and signatures.
    pytest.param(
        Refusal(
            _receipt_args("--amount", "10"),
            ("of officer:recorder is revoked",),
            _revoke_recorder,
        ),
        id="revoked-key",
    ),
    pytest.param(
        Refusal(
            _receipt_args("--amount", "10"),
            ("of officer:recorder is rotated",),
            _rotate_recorder,
        ),
        id="rotated-key",
    ),
    pytest.param(
        Refusal(
            _receipt_args("--amount", "10", key="ghost.key"),
            ("no officer is enrolled with key",),
            _ghost_key,
        ),
        id="unknown-key",
    ),
    pytest.param(
        Refusal(
            SUBMIT,
            ("signature does not verify with key",),
            _signed_then_edited(_more_money),
        ),
        id="bad-signature",
    ),
    pytest.param(
        Refusal(
            SUBMIT,
            ("request id", "already used for a different request"),
            _reused_request_id,
        ),
        id="request-id-reused",
    ),
    pytest.param(
        Refusal(
            SUBMIT,
            ("signature does not verify with key",),
            _signed_then_edited(_flipped_signature, submitted=True),
        ),
        id="replay-with-bad-signature",
    ),
    # Units and funds.
    pytest.param(
        Refusal(
            _receipt_args("--amount", "10", county=UNKNOWN_UNIT),
            (f"no unit '{UNKNOWN_UNIT}'",),
        ),
        id="unknown-county",
    ),
    pytest.param(
        Refusal(_enrol_args(ADMIN_KEY, UNKNOWN_UNIT), (f"no unit '{UNKNOWN_UNIT}'",)),
        id="enrolment-in-unknown-unit",
    ),
    pytest.param(
        Refusal(
            _receipt_args("--amount", "10", key="stranger.key", county=OTHER_COUNTY),
            (f"fund of county {OTHER_COUNTY} is not open",),
        ),
        id="fund-not-open",
    ),
    pytest.param(
        Refusal(
            _payment_args("--amount", "10", payee=UNREGISTERED_SCHOOL),
            (f"no unit '{UNREGISTERED_SCHOOL}'",),
        ),
        id="unregistered-school",
    ),
    pytest.param(
        Refusal(
            _open_args("recorder.key", COUNTY, "建始县"),
            (f"fund of county {COUNTY} is already open",),
        ),
        id="fund-opened-twice",
    ),
    pytest.param(
        Refusal(
            _open_args("auditor.key", PREFECTURE, "恩施州"),
            (PREFECTURE, "county"),
            _role_change("auditor", "recorder", PREFECTURE),
        ),
        id="fund-for-a-prefecture",
    ),
    # Requests signed and submitted separately.
    pytest.param(
        Refusal(
            SUBMIT,
            ("unknown command 'fund.embezzle'",),
            _signed("recorder", "fund.embezzle", {"county": COUNTY}),
        ),
        id="unknown-command",
    ),
    pytest.param(
        Refusal(
            SUBMIT,
            ("fund.receive takes", "missing amount_fen"),
            _signed(
                "recorder",
                "fund.receive",
                {k: v for k, v in receipt("RECEIPT-2").items() if k != "amount_fen"},
            ),
        ),
        id="missing-param",
    ),
    pytest.param(
        Refusal(
            SUBMIT,
            ("fund.approve_payment takes", "unexpected amount_fen"),
            _signed(
                "approver",
                "fund.approve_payment",
                {"county": COUNTY, "payment_id": "PAY-1", "amount_fen": 1},
            ),
        ),
        id="extra-param",
    ),
    pytest.param(
        Refusal(
            SUBMIT,
            ("amount must be a whole number of fen", "'100'"),
            _signed(
                "recorder",
                "fund.receive",
                {**receipt("RECEIPT-2"), "amount_fen": "100"},
            ),
        ),
        id="amount-as-text",
    ),
    pytest.param(
        Refusal(
            SUBMIT,
            ("amount must be a whole number of fen", "1.5"),
            _signed(
                "recorder", "fund.receive", {**receipt("RECEIPT-2"), "amount_fen": 1.5}
            ),
        ),
        id="amount-as-fraction",
    ),
    pytest.param(
        Refusal(
            SUBMIT,
            ("expected an object with 'request' and 'signature'",),
            _request_file('{"hello": "world"}'),
        ),
        id="not-a-request",
    ),
    pytest.param(
        Refusal(SUBMIT, ("cannot read request", REQUEST_FILE), _request_file("{")),
        id="request-not-json",
    ),
    pytest.param(
        Refusal(("request", "submit", "nowhere.json"), ("cannot read request",)),
        id="request-file-missing",
    ),
    # Amounts.
    pytest.param(
        Refusal(_receipt_args("--amount", "0"), ("amount must be positive", "got 0")),
        id="zero-amount",
    ),
    pytest.param(
        Refusal(
            _receipt_args("--amount-fen", "0"), ("amount must be positive", "got 0")
        ),
        id="zero-fen",
    ),
    pytest.param(
        Refusal(
            _receipt_args("--amount", "-5"), ("amount must be positive", "got -500")
        ),
        id="negative-amount",
    ),
    pytest.param(
        Refusal(
            _receipt_args("--amount-fen", "-1"), ("amount must be positive", "got -1")
        ),
        id="negative-fen",
    ),
    pytest.param(
        Refusal(_receipt_args("--amount", "0.001"), ("whole number of fen", "'0.001'")),
        id="fraction-of-a-fen",
    ),
    pytest.param(
        Refusal(_receipt_args("--amount", "十块"), ("a number of yuan", "'十块'")),
        id="amount-not-a-number",
    ),
    pytest.param(
        Refusal(_receipt_args("--amount", "NaN"), ("finite number of yuan",)),
        id="amount-not-finite",
    ),
    pytest.param(
        Refusal(_receipt_args("--amount", "1e12"), ("amount must be at most", "yuan")),
        id="absurd-amount",
    ),
    pytest.param(
        Refusal(
            _receipt_args("--amount-fen", TOO_LARGE_FEN),
            ("amount must be at most", TOO_LARGE_FEN),
        ),
        id="absurd-fen",
    ),
    # Options argparse refuses.
    pytest.param(
        Refusal(_payment_args("--amount", "10", term="summer"), usage=True),
        id="invalid-term",
    ),
    pytest.param(
        Refusal(_payment_args("--amount", "10", kind="bank"), usage=True),
        id="invalid-payee-kind",
    ),
    pytest.param(
        Refusal(_receipt_args("--amount-fen", "1.5"), usage=True),
        id="fen-not-an-integer",
    ),
    pytest.param(
        Refusal(_receipt_args("--amount", "1", "--amount-fen", "100"), usage=True),
        id="two-amounts",
    ),
    pytest.param(Refusal(_receipt_args(), usage=True), id="no-amount"),
    # Key files.
    pytest.param(
        Refusal(
            _receipt_args("--amount", "10"),
            ("recorder.key", "mode 0644 is too open"),
            _too_open,
        ),
        id="key-file-too-open",
    ),
    pytest.param(
        Refusal(
            _receipt_args("--amount", "10"),
            ("recorder.key", "not an officer key file"),
            _not_a_key,
        ),
        id="key-file-not-a-key",
    ),
    pytest.param(
        Refusal(
            _receipt_args("--amount", "10"),
            ("recorder.key", "key_id does not match"),
            _mismatched_key_id,
        ),
        id="key-file-with-wrong-key-id",
    ),
    pytest.param(
        Refusal(
            _receipt_args("--amount", "10", key="nobody.key"),
            ("nobody.key", "no such file"),
        ),
        id="key-file-missing",
    ),
    pytest.param(
        Refusal(
            _enrol_args(ADMIN_KEY, COUNTY, out="approver.key"), ("already exists",)
        ),
        id="new-key-file-exists",
    ),
    # Known bugs: each of these ends in a traceback today.
    pytest.param(
        Refusal(_receipt_args("--amount", "1e5000"), ("amount must be at most",)),
        id="amount-of-5000-digits",
    ),
    pytest.param(
        Refusal(_receipt_args("--amount", "1e999999999"), ("amount must be",)),
        id="amount-overflowing-decimal",
    ),
    pytest.param(
        Refusal(
            SUBMIT,
            ("cannot read request",),
            _request_file('{"request": {"amount_fen": 1' + "0" * 5000 + "}}"),
        ),
        id="request-with-5000-digit-number",
    ),
    pytest.param(
        Refusal(SUBMIT, ("cannot read request",), _request_file("[" * 100_000)),
        id="request-nested-too-deep",
    ),
]


@pytest.mark.parametrize("case", REFUSALS)
def test_a_refused_write_is_one_line_and_records_nothing(
    scene: Scene, case: Refusal
) -> None:
    if case.prepare is not None:
        case.prepare(scene)
    before = scene.verified_state()
    keys = scene.key_files()

    result = scene.cli.run(*case.args)

    if case.usage:
        assert result.returncode == 2
        assert b"Traceback" not in result.stderr
        assert b"usage:" in result.stderr
    else:
        assert_one_line_error(result, *case.words)
    assert scene.key_files() == keys
    assert scene.verified_state() == before


def test_a_replayed_request_records_nothing_new(scene: Scene) -> None:
    scene.sign("recorder", "fund.receive", receipt("RECEIPT-2", 5_000))
    first = scene.cli.ok(*SUBMIT).decode()
    assert first.startswith("recorded 2 events"), first
    digest = re.search(r"request ([0-9a-f]{64})", first)
    assert digest is not None
    before = scene.verified_state()

    result = scene.cli.run(*SUBMIT)

    assert result.returncode == 0, result.stderr.decode()
    assert result.stderr == b""
    again = result.stdout.decode()
    assert f"already recorded: request {digest[1]} (nothing new)" in again
    assert scene.verified_state() == before
    size, root = before
    assert scene.cli.ok("verify").startswith(
        f"OK {size} entries, root {root},".encode()
    )


# Events that bypass execute ------------------------------------------------------

Forgery = Callable[[Scene], tuple[str, list[dict[str, str]]]]


def _never_accepted(scene: Scene) -> tuple[str, list[dict[str, str]]]:
    key_id = scene.keys["recorder"].key_id
    return "officer:recorder", [{"request": "0" * 64, "key_id": key_id}]


def _unsigned(scene: Scene) -> tuple[str, list[dict[str, str]]]:
    del scene
    return "officer:recorder", []


def _another_key(scene: Scene) -> tuple[str, list[dict[str, str]]]:
    key_id = scene.keys["approver"].key_id
    return "officer:recorder", [{"request": scene.digests["receipt"], "key_id": key_id}]


def _another_actor(scene: Scene) -> tuple[str, list[dict[str, str]]]:
    key_id = scene.keys["recorder"].key_id
    return "officer:approver", [{"request": scene.digests["receipt"], "key_id": key_id}]


@pytest.mark.parametrize(
    ("forge", "words"),
    [
        pytest.param(_never_accepted, "not accepted before it", id="never-accepted"),
        pytest.param(_unsigned, "not signed by any request", id="no-signatures"),
        pytest.param(_another_key, "names key", id="another-key"),
        pytest.param(
            _another_actor,
            "attributed to officer:approver, not officer:recorder",
            id="another-actor",
        ),
    ],
)
def test_verify_names_an_event_no_accepted_request_accounts_for(
    scene: Scene, forge: Forgery, words: str
) -> None:
    actor, signatures = forge(scene)
    ledger, log = scene.open()
    try:
        # A receipt saved straight through the application, as code that forgot
        # (or chose not) to go through execute would.
        position = log.size()
        fund = ledger.fund(COUNTY)
        params = {k: v for k, v in receipt("FORGED", 1).items() if k != "county"}
        fund.receive(**params, actor=actor, signatures=signatures)
        ledger.save(fund)
        report = verify_log(
            ledger.log_recorder, log.origin, log.verifier, entry_check=RequestCheck()
        )
    finally:
        ledger.close()

    assert report.failure is not None
    assert report.failure.position == position
    assert report.failure.kind is FailureKind.BAD_SIGNATURE
    assert words in report.failure.detail
    result = scene.cli.run("verify")
    assert result.returncode == 1
    assert f"FAILED entry {position}: bad signature: " in result.stderr.decode()
    assert b"Traceback" not in result.stderr
