"""Who may do what over HTTP: every identity by every write command.

Identities: an officer of each role acting for Enshi prefecture (which holds
the county every request changes); a document without a signature; one with a
garbage signature; a revoked key; and, for each command, an officer of another
prefecture whose role would allow it. Only the cells that
``domain.officers.PERMISSIONS`` allows are recorded (201); every other cell is a
problem document and leaves the log exactly as long as it was.

Each command's parameters are valid for the demo ledger plus a few things set
up first (pending payments, listed persons, officers to change, an alert the
demo's monitor raised), so that an allowed cell fails only if authorisation is
wrong.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

from api.commands import COMMANDS
from api.requests import OfficerKey
from domain.alerts import alert_id_of
from domain.officers import PERMISSIONS
from tests.api.http.support import COUNTY, Served, assert_problem

PREFECTURE = "422800"
ELSEWHERE = "420100"  # Wuhan: outside Enshi
ROLES = ("recorder", "approver", "auditor", "administrator", "monitor")

Params = Callable[[int], dict[str, Any]]


def person(tag: str) -> str:
    """A well-formed pseudonym (64 lowercase hex) nobody else uses."""
    return hashlib.sha256(tag.encode()).hexdigest()


class World:
    """The served demo ledger with the officers and state the matrix needs."""

    def __init__(self, served: Served) -> None:
        self.served = served
        self.admin = served.key("admin")
        self.keys: dict[str, OfficerKey] = {
            "recorder": served.key("demo-recorder"),
            "approver": served.key("demo-approver"),
        }
        self.elsewhere: dict[str, OfficerKey] = {}
        self.targets: dict[str, OfficerKey] = {}
        self.revoked = OfficerKey.generate("officer:authz-revoked")
        self.raised_alert = ""

    def send(self, key: OfficerKey, command: str, **params: Any) -> None:
        response = self.served.post(key.sign(command, params))
        assert response.status_code == 201, response.text

    def enrol(self, officer_id: str, role: str, unit: str) -> OfficerKey:
        key = OfficerKey.generate(officer_id)
        self.send(
            self.admin,
            "officer.enrol",
            officer_id=officer_id,
            name=officer_id,
            role=role,
            jurisdiction=unit,
            public_key=key.public_key_hex,
        )
        return key

    def set_up(self) -> None:
        for role in ("auditor", "administrator", "monitor"):
            self.keys[role] = self.enrol(f"officer:authz-{role}", role, PREFECTURE)
        for role in ROLES:
            self.elsewhere[role] = self.enrol(f"officer:far-{role}", role, ELSEWHERE)
        for name in ("change", "rotate", "revoke"):
            self.targets[name] = self.enrol(
                f"officer:target-{name}", "recorder", COUNTY
            )
        key = self.enrol("officer:authz-revoked", "administrator", PREFECTURE)
        self.revoked = key
        self.send(self.admin, "officer.revoke_key", key_id=key.key_id, reason="left")

        alerts = self.served.client.get("/audit/alerts").json()["alerts"]
        self.raised_alert = next(
            a["alert_id"] for a in alerts if a["raised_seq"] is not None
        )

        recorder = self.keys["recorder"]
        for payment_id in ("authz-approve", "authz-approve-batch", "authz-reject"):
            self.send(recorder, "fund.propose_payment", **self.payment(payment_id))
        for tag in ("delist", "status", "erase"):
            self.send(
                recorder,
                "roll.list_poor",
                county=COUNTY,
                person_ref=person(tag),
                household_ref=f"authz-{tag}",
                listed_on="2026-03-01",
            )

    @staticmethod
    def payment(payment_id: str) -> dict[str, Any]:
        return {
            "county": COUNTY,
            "payment_id": payment_id,
            "programme": "HS_GRANT",
            "year": 2026,
            "term": "autumn",
            "payee_kind": "school",
            "payee": f"{COUNTY}S0003",
            "amount_fen": 100,
        }

    def params(self) -> dict[str, Params]:
        """For each command, parameters that are valid in this world (fresh
        ids for attempt ``n``, so that two allowed roles both succeed)."""
        county = {"county": COUNTY}
        row = self.payment
        return {
            "fund.open": lambda n: {"county": "422825", "county_name": "宣恩县"},
            "fund.receive": lambda n: (
                county
                | {
                    "transfer_id": f"authz-in-{n}",
                    "source_kind": "county",
                    "source": "county-budget",
                    "reference": "authz",
                    "amount_fen": 100,
                }
            ),
            "fund.allocate": lambda n: (
                county
                | {
                    "transfer_id": f"authz-alloc-{n}",
                    "programme": "HS_GRANT",
                    "year": 2026,
                    "amount_fen": 100,
                }
            ),
            "fund.fund_project": lambda n: (
                county
                | {
                    "transfer_id": f"authz-project-{n}",
                    "project_id": f"authz-project-{n}",
                    "name": "authz",
                    "school": None,
                    "amount_fen": 100,
                }
            ),
            "fund.report_progress": lambda n: (
                county
                | {"project_id": f"{COUNTY}-GAIBO-2026", "percent": 50, "note": "authz"}
            ),
            "fund.propose_payment": lambda n: row(f"authz-pay-{n}"),
            "fund.approve_payment": lambda n: county | {"payment_id": "authz-approve"},
            "fund.propose_payments": lambda n: (
                county
                | {
                    "payments": [
                        {
                            k: v
                            for k, v in row(f"authz-batch-{n}").items()
                            if k != "county"
                        }
                    ]
                }
            ),
            "fund.approve_payments": lambda n: (
                county | {"payment_ids": ["authz-approve-batch"]}
            ),
            "fund.reject_payment": lambda n: (
                county | {"payment_id": "authz-reject", "reason": "authz"}
            ),
            "fund.reverse": lambda n: (
                county
                | {
                    "transfer_id": f"{COUNTY}-pay-PRE_LIVING-001-2026-autumn",
                    "reason": "x",
                }
            ),
            "school.register": lambda n: (
                county
                | {
                    "code": f"{COUNTY}S{9000 + n:04d}",
                    "name": f"authz school {n}",
                    "stage": "primary",
                    "boarding": True,
                    "rural": True,
                }
            ),
            "roll.list_poor": lambda n: (
                county
                | {
                    "person_ref": person(f"list-{n}"),
                    "household_ref": f"authz-list-{n}",
                    "listed_on": "2026-03-01",
                }
            ),
            "roll.import": lambda n: (
                county
                | {
                    "poor": [
                        {
                            "person_ref": person(f"import-{n}"),
                            "household_ref": f"authz-import-{n}",
                            "listed_on": "2026-03-01",
                        }
                    ]
                }
            ),
            "roll.delist_poor": lambda n: (
                county | {"person_ref": person("delist"), "reason": "authz"}
            ),
            "roll.record_status": lambda n: (
                county
                | {
                    "person_ref": person("status"),
                    "school": f"{COUNTY}S0001",
                    "stage": "primary",
                    "grade": 3,
                    "boarding": True,
                    "year": 2026,
                }
            ),
            "roll.erase_personal_data": lambda n: (
                county | {"person_ref": person("erase"), "reason": "authz"}
            ),
            "alert.raise": lambda n: (
                county
                | {
                    "alert_id": alert_id_of("R13", "duplicate", f"authz-{n}"),
                    "rule": "R13",
                    "subject_kind": "duplicate",
                    "subject_ref": f"authz-{n}",
                    "summary": "authz",
                    "evidence": [0, n],
                }
            ),
            "alert.resolve": lambda n: (
                county
                | {
                    "alert_id": self.raised_alert,
                    "outcome": "dismissed",
                    "reason": f"authz {n}",
                }
            ),
            "officer.enrol": lambda n: {
                "officer_id": f"officer:new-{n}",
                "name": "new",
                "role": "recorder",
                "jurisdiction": COUNTY,
                "public_key": OfficerKey.generate("x").public_key_hex,
            },
            "officer.change_role": lambda n: {
                "officer_id": "officer:target-change",
                "role": "approver",
                "jurisdiction": COUNTY,
            },
            "officer.rotate_key": lambda n: {
                "officer_id": "officer:target-rotate",
                "public_key": OfficerKey.generate("x").public_key_hex,
            },
            "officer.revoke_key": lambda n: {
                "key_id": self.targets["revoke"].key_id,
                "reason": "authz",
            },
        }


def _unsigned(key: OfficerKey, command: str, params: dict[str, Any]) -> Any:
    return {"request": key.sign(command, params)["request"]}


def _garbage(key: OfficerKey, command: str, params: dict[str, Any]) -> Any:
    document = key.sign(command, params)
    document["signature"] = base64.b64encode(bytes(range(64))).decode()
    return document


def test_only_permitted_cells_are_recorded(served: Served) -> None:
    world = World(served)
    world.set_up()
    builders = world.params()
    assert set(builders) == set(COMMANDS)  # a new command needs its row here
    attempt = 0
    recorded: set[tuple[str, str]] = set()

    def refused(document: Any, status: int, kind: str) -> None:
        size = served.size()
        assert_problem(served.post(document), status, kind)
        assert served.size() == size

    for command, build in sorted(builders.items()):
        allowed = {role.value for role in PERMISSIONS[command]}
        some_role = sorted(allowed)[0]

        # Identities that are never allowed, whatever the command.
        attempt += 1
        key = world.keys[some_role]
        refused(_unsigned(key, command, build(attempt)), 400, "invalid-request")
        refused(_garbage(key, command, build(attempt)), 401, "bad-signature")
        refused(world.revoked.sign(command, build(attempt)), 401, "revoked-key")
        far = world.elsewhere[some_role].sign(command, build(attempt))
        refused(far, 403, "outside-jurisdiction")

        # Each role: the permitted ones succeed, the others are refused.
        for role in ROLES:
            attempt += 1
            document = world.keys[role].sign(command, build(attempt))
            if role in allowed:
                response = served.post(document)
                assert response.status_code == 201, (command, role, response.text)
                recorded.add((command, role))
            else:
                refused(document, 403, "wrong-role")

    expected = {
        (command, role.value)
        for command, roles in PERMISSIONS.items()
        for role in roles
    }
    assert recorded == expected
