"""The synthetic province: ``fundledger demo --scale NAME --seed N [--truth FILE]``.

Builds, from the seed alone, a province of poor counties with their schools,
beneficiaries, money from every kind of source, allocations, one school year
of awards and payments for every programme and the plan's projects with their
progress, with fraud cases R01 to R15 planted at known rates
(``api.province_plant``). Every change is a signed request executed by
``api.commands.execute``, the path officers use: a recorder proposes, an
approver approves. The ground truth (every planted case and near miss) is
written as JSON beside the ledger.

Invariants:

- The same seed and scale give the same requests, the same ground truth and,
  under the same deployment secrets, the same person_refs and account_refs.
- Personal data (names, resident IDs, bank accounts) goes only to the vault;
  the log and the truth file hold pseudonyms, codes and ids.
- Speed comes from more events per request, never from another path: payments
  are proposed and approved in batches (``fund.propose_payments``,
  ``fund.approve_payments``), rolls imported a thousand people a request, and
  aggregates are kept in the library's cache between requests (fast-forwarded
  from the store on every read, so nothing is served stale).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from eventsourcing.application import LRUCache

from api.app import FundLedger
from api.commands import execute
from api.province_people import YEAR, Identities, Person, populate
from api.province_plan import (
    TERMS,
    CountyPlan,
    Payments,
    Row,
    add_hardship,
    add_legitimate_projects,
    add_money,
    add_term_payments,
    poor_row,
    status_row,
)
from api.province_plant import RULES, Planter, same_name_pairs
from api.province_scale import POOR_COUNTIES, SCALES, counties_of
from api.requests import OfficerKey, parse_request
from api.vault_store import BEIJING, TABLE, DeploymentSecrets, Vault
from domain.policy import load_policy
from domain.pseudonyms import person_ref
from domain.resident_id import parse_resident_id
from domain.vault import PersonalData, new_person_key, seal, wrap_key
from ledger.application import open_ledger
from ledger.storage import APP_NAME

PAYMENT_BATCH = 2_000
APPROVAL_BATCH = 5_000
ROLL_BATCH = 1_000
CACHE_SIZE = 64
SIGNED_AT = f"{YEAR}-09-01T08:00:00.000000Z"
PREFECTURE_OF_OFFICERS = "420000"


class CachedFundLedger(FundLedger):
    """The fund ledger with the library's aggregate cache on.

    A county's fund holds a year of payments; replaying it on every request
    would cost more than the request. Cached aggregates are fast-forwarded
    from the store on each read, so another writer's events are never missed.
    They are not copied out of the cache (a deep copy of a county's fund costs
    as much as a replay), so a refused request must evict them: ``Sender``
    does. Snapshots stay off: they are not evidence.
    """

    name = APP_NAME  # the library names a subclass after itself otherwise
    env: ClassVar[dict[str, str]] = {
        "AGGREGATE_CACHE_MAXSIZE": str(CACHE_SIZE),
        "AGGREGATE_CACHE_FASTFORWARD": "y",
        "DEEPCOPY_FROM_AGGREGATE_CACHE": "n",
    }


@dataclass
class Summary:
    """What a run recorded, for people and tests."""

    scale: str
    seed: int
    counties: int
    county_codes: list[str]
    schools: dict[str, int]
    beneficiaries: int
    payments: int
    projects: int
    requests: int
    events: int
    seconds: float
    cases: dict[str, int]

    @property
    def events_per_second(self) -> float:
        """Events recorded per second of the whole run."""
        return self.events / self.seconds if self.seconds else 0.0


class Sender:
    """Signs and executes the run's requests, with ids fixed by the seed."""

    def __init__(self, ledger: CachedFundLedger, prefix: str) -> None:
        self.ledger = ledger
        self.prefix = prefix
        self.requests = 0

    def send(self, key: OfficerKey, command: str, **params: Any) -> None:
        """One signed request; refused ones evict the cache and are raised."""
        self.requests += 1
        request_id = f"{self.prefix}-{self.requests:07d}"
        document = key.sign(command, params, request_id=request_id, signed_at=SIGNED_AT)
        try:
            execute(self.ledger, parse_request(document))
        except Exception:
            self.ledger.repository.cache = LRUCache(maxsize=CACHE_SIZE)
            raise


def run_province(
    ledger: FundLedger,
    admin: OfficerKey,
    key_directory: Path,
    secrets: DeploymentSecrets,
    *,
    scale_name: str,
    seed: int,
    truth_path: Path,
) -> Summary:
    """Build the synthetic province in ``ledger`` and write its ground truth."""
    started = time.monotonic()
    scale = SCALES[scale_name]
    plans, truth, document = plan_province(ledger, secrets, scale_name, seed)
    fast, _ = open_ledger(ledger.storage, app_class=CachedFundLedger)
    fast.log_origin = ledger.log_origin
    fast.approval_threshold_fen = ledger.approval_threshold_fen
    fast.configured_rates = ledger.configured_rates
    before = fast.log_recorder.log_size()
    try:
        sender = Sender(fast, f"province-{scale_name}-{seed}")
        recorder, approver = _officers(sender, admin, key_directory, scale_name)
        vault = Vault(fast.log_recorder, secrets)
        for plan in plans:
            seal_people(vault, plan.people.persons)
            _record_county(sender, plan, recorder, approver)
        events = fast.log_recorder.log_size() - before
    finally:
        fast.close()
    del truth
    seconds = time.monotonic() - started
    summary = Summary(
        scale=scale.name,
        seed=seed,
        counties=len(plans),
        county_codes=[plan.code for plan in plans],
        schools=_school_counts(plans),
        beneficiaries=sum(len(plan.people.persons) for plan in plans),
        payments=sum(len(plan.all_payments()) for plan in plans),
        projects=sum(len(plan.projects) for plan in plans),
        requests=sender.requests,
        events=events,
        seconds=seconds,
        cases=document["counts"],
    )
    document["summary"] = {
        key: value for key, value in vars(summary).items() if key != "seconds"
    } | {"events": events}
    truth_path.write_text(
        json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    return summary


def plan_province(
    ledger: FundLedger, secrets: DeploymentSecrets, scale_name: str, seed: int
) -> tuple[list[CountyPlan], Planter, dict[str, Any]]:
    """Every county's plan and the ground truth, from the seed alone."""
    scale = SCALES[scale_name]
    rng = random.Random(seed)  # noqa: S311 - reproducible from the seed, not secret
    identities = Identities(rng)
    counties = counties_of(scale, ledger.units)
    plans = [
        CountyPlan(people) for people in populate(scale, counties, rng, identities)
    ]
    today = datetime.now(BEIJING).date()

    def ref_of(id_number: str) -> str:
        return person_ref(
            secrets.person_secret, parse_resident_id(id_number, today=today)
        )

    for plan in plans:
        for person in plan.people.persons:
            person.ref = ref_of(person.id_number)
    planter = Planter(plans, rng, identities, ref_of)
    payments = Payments(secrets.person_secret, load_policy())
    planter.before_payments()
    for plan in plans:
        add_term_payments(plan, payments, "spring")
    for plan in plans:  # the rolls as they stand before anyone moves school
        plan.roll = [(poor_row(p), status_row(p)) for p in plan.people.persons]
    planter.move_schools()
    for plan in plans:
        add_term_payments(plan, payments, "autumn")
        add_hardship(plan, payments, rng)
    planter.after_payments(payments)
    share = len(plans) / POOR_COUNTIES
    for plan in plans:
        add_legitimate_projects(plan, rng, share)
        add_money(plan, rng)
    planter.plant_money()
    truth = planter.truth
    truth.resolve({plan.code: plan for plan in plans})
    near_misses = truth.near_misses + same_name_pairs(plans, 3 * len(plans))
    for plan in plans:
        near_misses += plan.near_misses
    counts = dict.fromkeys(RULES, 0)
    for case in truth.cases:
        counts[case["rule"]] += 1
    document = {
        "format": "fundledger-province-truth@1",
        "scale": scale_name,
        "seed": seed,
        "year": YEAR,
        "rules": {
            rule: {"planted": how, "cases": counts[rule], "plantable": rule != "R12"}
            for rule, how in RULES.items()
        },
        "counts": counts,
        "cases": truth.cases,
        "near_misses": near_misses,
    }
    return plans, planter, document


def seal_people(vault: Vault, persons: Sequence[Person]) -> None:
    """Seal many people's personal data in the vault in one transaction.

    ``Vault.put`` commits once a person; a province has 766,000 of them. Each
    person still gets a key of their own, wrapped under the master key.
    """
    rows = []
    for person in persons:
        data = PersonalData(person.name, person.id_number, person.bank_account)
        key = new_person_key()
        sealed = seal(key, person.ref, data)
        wrapped = wrap_key(vault.secrets.vault_master, person.ref, key)
        rows.append((person.ref, wrapped, sealed.nonce, sealed.ciphertext))
    recorder = vault.recorder
    with recorder.side_table(commit=True) as cursor:
        cursor.executemany(
            recorder.sql(
                f"INSERT INTO {TABLE} (person_ref, wrapped_key, nonce, ciphertext) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (person_ref) DO NOTHING"
            ),
            rows,
        )


def _officers(
    sender: Sender, admin: OfficerKey, directory: Path, scale_name: str
) -> tuple[OfficerKey, OfficerKey]:
    keys = []
    for role, name in (("recorder", "省级经办"), ("approver", "省级审核")):
        officer_id = f"officer:province-{scale_name}-{role}"
        path = directory / f"{officer_id.removeprefix('officer:')}.key"
        if path.exists():
            key = OfficerKey.load(path)
        else:
            key = OfficerKey.generate(officer_id)
            key.save(path)
        sender.send(
            admin,
            "officer.enrol",
            officer_id=officer_id,
            name=name,
            role=role,
            jurisdiction=PREFECTURE_OF_OFFICERS,
            public_key=key.public_key_hex,
        )
        keys.append(key)
    return keys[0], keys[1]


def _record_county(
    sender: Sender, plan: CountyPlan, recorder: OfficerKey, approver: OfficerKey
) -> None:
    """The county's year in the order officers would record it."""
    send = sender.send
    code = plan.code
    send(recorder, "fund.open", county=code, county_name=plan.people.name)
    for school in plan.people.schools:
        send(
            recorder,
            "school.register",
            county=code,
            code=school.code,
            name=school.name,
            stage=school.stage.value,
            boarding=school.boarding,
            rural=True,
        )
    for receipt in plan.receipts:
        send(recorder, "fund.receive", county=code, **receipt)
    for allocation in plan.allocations:
        send(recorder, "fund.allocate", county=code, **allocation)
    roll = plan.roll + [(poor_row(p), status_row(p)) for p in plan.foreign]
    for chunk in _chunks(roll, ROLL_BATCH):
        send(
            recorder,
            "roll.import",
            county=code,
            poor=[poor for poor, _ in chunk],
            students=[status for _, status in chunk],
        )
    for term in TERMS:
        if term == "autumn":
            _statuses(sender, recorder, code, plan.midyear_status)
        ids = _propose(sender, recorder, code, plan.payments[term])
        if term == "autumn":
            for ref in plan.delist:
                send(
                    recorder,
                    "roll.delist_poor",
                    county=code,
                    person_ref=ref,
                    reason="household no longer registered poor (脱贫)",
                )
            _statuses(sender, recorder, code, plan.before_approval_status)
        _approve(sender, approver, code, ids)
    for statuses, rows in plan.late:
        _statuses(sender, recorder, code, statuses)
        _approve(sender, approver, code, _propose(sender, recorder, code, rows))
    for project in plan.projects:
        _project(sender, recorder, code, project)
    for command, params in plan.end_money:
        if command == "fund.fund_project":
            _project(sender, recorder, code, params)
        else:
            send(recorder, command, county=code, **params)


def _project(sender: Sender, recorder: OfficerKey, code: str, project: Row) -> None:
    fields = {key: value for key, value in project.items() if key != "percent"}
    sender.send(recorder, "fund.fund_project", county=code, **fields)
    sender.send(
        recorder,
        "fund.report_progress",
        county=code,
        project_id=project["project_id"],
        percent=project["percent"],
        note=f"完成 {project['percent']}%",
    )


def _statuses(sender: Sender, key: OfficerKey, code: str, rows: list[Row]) -> None:
    for chunk in _chunks(rows, ROLL_BATCH):
        sender.send(key, "roll.import", county=code, poor=[], students=chunk)


def _propose(sender: Sender, key: OfficerKey, code: str, rows: list[Row]) -> list[str]:
    for chunk in _chunks(rows, PAYMENT_BATCH):
        sender.send(key, "fund.propose_payments", county=code, payments=chunk)
    return [row["payment_id"] for row in rows]


def _approve(sender: Sender, key: OfficerKey, code: str, ids: list[str]) -> None:
    for chunk in _chunks(ids, APPROVAL_BATCH):
        sender.send(key, "fund.approve_payments", county=code, payment_ids=chunk)


def _chunks(rows: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(rows), size):
        yield list(rows[start : start + size])


def _school_counts(plans: list[CountyPlan]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for plan in plans:
        for school in plan.people.schools:
            counts[school.stage.value] = counts.get(school.stage.value, 0) + 1
    return counts
