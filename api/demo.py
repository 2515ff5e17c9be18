"""A sample set of signed requests for trying the ledger: three Enshi counties.

An administrator enrols a recorder and an approver for Enshi prefecture (their
keys are written beside the administrator's), then every change is a request
signed by one of them: each county's fund is opened, money arrives from every
kind of source, is allocated to the plan's programmes, and leaves as payments
that the recorder proposes and the approver approves; one payment is rejected
and one reversed, as corrections are.

Request ids are fixed, so running the demo twice records nothing new the second
time: the requests are replays.

The administrator also enrols the rules engine's own officer (role
``monitor``, the administrator's jurisdiction, key ``demo-demo-monitor.key``,
``enrol_monitor``). ``raise_found_alerts`` (``fundledger demo --raise-alerts``)
then brings the views up to date and lets the monitor raise every alert the
fraud rules found as an ``alert.raise`` event of the log. It is not the default:
views, like rules, follow the log after the fact, and a worker may be following
this very ledger.

``run_synthetic`` dispatches to the synthetic province (``api.province``),
which ``fundledger demo --scale`` builds instead of this sample.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from api.alert_raiser import Raised, raise_alerts, unraised_in
from api.app import FundLedger
from api.commands import execute
from api.province import run_province
from api.requests import OfficerKey, parse_request
from api.vault_store import DeploymentSecrets, Vault
from api.views import ViewsReader, build_projections
from domain.resident_id import check_character
from domain.vault import PersonalData
from projections.rules import FraudRules
from projections.runner import ProjectionRunner
from projections.store import ViewStore

YEAR = 2026
PREFECTURE = "422800"  # Enshi Tujia and Miao Autonomous Prefecture
SIGNED_AT = f"{YEAR}-09-01T08:00:00.000000Z"

# GB/T 2260 codes of three of its counties.
COUNTIES = (
    ("422822", "建始县"),
    ("422823", "巴东县"),
    ("422828", "鹤峰县"),
)
SOURCES = (
    ("central", "central-budget", 48_000_000_00, None),
    ("provincial", "hubei-provincial-budget", 12_000_000_00, None),
    ("pairing", "pairing-aid-partner", 3_000_000_00, None),
    ("donation", "org:hubei-education-foundation", 500_000_00, "HARDSHIP"),
)
SCHOOLS = (
    ("primary", "第一小学"),
    ("junior_secondary", "第一初级中学"),
    ("high_school", "第一高级中学"),
)
# Programme, per-term amount in fen (the plan's annual rate halved).
PROGRAMMES = (
    ("PRE_LIVING", 500_00),
    ("BOARD_PRI", 500_00),
    ("BOARD_JUN", 625_00),
    ("HS_GRANT", 1_250_00),
)


def _officer_key(directory: Path, officer_id: str) -> OfficerKey:
    path = directory / f"demo-{officer_id.removeprefix('officer:')}.key"
    if path.exists():
        return OfficerKey.load(path)
    key = OfficerKey.generate(officer_id)
    key.save(path)
    return key


# Students per county: (name, birth date, stage, grade, school number, boarding).
STUDENTS = (
    ("向晓燕", "20100314", "high_school", 10, 3, False),
    ("田志强", "20090921", "high_school", 11, 3, True),
    ("谭春梅", "20130502", "junior_secondary", 7, 2, True),
    ("覃小军", "20120817", "junior_secondary", 8, 2, True),
    ("黄丽", "20170226", "primary", 3, 1, True),
    ("杨明亮", "20160711", "primary", 4, 1, False),
)
# The programme each stage's students get, per term, in fen.
STUDENT_PROGRAMMES = {
    ("high_school", False): ("HS_GRANT", 1_250_00),
    ("high_school", True): ("HS_GRANT", 1_250_00),
    ("junior_secondary", True): ("BOARD_JUN", 625_00),
    ("primary", True): ("BOARD_PRI", 500_00),
}


def demo_resident_id(county: str, birth: str, sequence: int) -> str:
    """A synthetic, well-formed resident ID (nobody's: the sequence is made up)."""
    first17 = f"{county}{birth}{sequence:03d}"
    return first17 + check_character(first17)


def run_demo(
    ledger: FundLedger,
    admin: OfficerKey,
    key_directory: Path,
    secrets: DeploymentSecrets | None = None,
) -> int:
    """Record the sample requests; returns how many events were recorded.

    With the deployment's ``secrets`` the demo also vaults a few synthetic
    students, imports them onto the rolls and pays their subsidies.
    """
    before = ledger.log_recorder.log_size()
    recorder = _officer_key(key_directory, "officer:demo-recorder")
    approver = _officer_key(key_directory, "officer:demo-approver")

    def send(key: OfficerKey, request_id: str, command: str, **params: Any) -> None:
        document = key.sign(command, params, request_id=request_id, signed_at=SIGNED_AT)
        execute(ledger, parse_request(document))

    for key, role, name in (
        (recorder, "recorder", "王经办"),
        (approver, "approver", "李审核"),
    ):
        send(
            admin,
            f"demo-enrol-{role}",
            "officer.enrol",
            officer_id=key.officer_id,
            name=name,
            role=role,
            jurisdiction=PREFECTURE,
            public_key=key.public_key_hex,
        )

    for code, county_name in COUNTIES:
        send(
            recorder,
            f"demo-open-{code}",
            "fund.open",
            county=code,
            county_name=county_name,
        )
        for school, (stage, name) in enumerate(SCHOOLS, start=1):
            send(
                recorder,
                f"demo-school-{code}-{school}",
                "school.register",
                county=code,
                code=f"{code}S{school:04d}",
                name=f"{county_name}{name}",
                stage=stage,
                boarding=True,
                rural=True,
            )
        for kind, source, amount, earmark in SOURCES:
            send(
                recorder,
                f"demo-in-{code}-{source}",
                "fund.receive",
                county=code,
                transfer_id=f"{code}-in-{source}-{YEAR}",
                source_kind=kind,
                source=source,
                amount_fen=amount,
                reference=f"{source} {YEAR} education poverty alleviation",
                earmark=earmark,
            )
        for programme, per_term in PROGRAMMES:
            send(
                recorder,
                f"demo-alloc-{code}-{programme}",
                "fund.allocate",
                county=code,
                transfer_id=f"{code}-alloc-{programme}-{YEAR}",
                programme=programme,
                year=YEAR,
                amount_fen=per_term * 2 * 400,
            )
        for school in range(1, 4):
            for programme, per_term in PROGRAMMES:
                payment_id = f"{code}-pay-{programme}-{school:03d}-{YEAR}-autumn"
                send(
                    recorder,
                    f"demo-{payment_id}",
                    "fund.propose_payment",
                    county=code,
                    payment_id=payment_id,
                    programme=programme,
                    year=YEAR,
                    term="autumn",
                    payee_kind="school",
                    payee=f"{code}S{school:04d}",
                    amount_fen=per_term * 40 * school,
                    details={"headcount": 40 * school},
                )
                if (school, programme) == (3, "HS_GRANT"):
                    send(
                        approver,
                        f"demo-reject-{payment_id}",
                        "fund.reject_payment",
                        county=code,
                        payment_id=payment_id,
                        reason="headcount not confirmed by the school",
                    )
                else:
                    send(
                        approver,
                        f"demo-approve-{payment_id}",
                        "fund.approve_payment",
                        county=code,
                        payment_id=payment_id,
                    )
        send(
            recorder,
            f"demo-project-{code}",
            "fund.fund_project",
            county=code,
            transfer_id=f"{code}-project-renovation-{YEAR}",
            project_id=f"{code}-GAIBO-{YEAR}",
            name="全面改薄: 第一小学校舍改造",
            school=f"{code}S0001",
            amount_fen=1_200_000_00,
        )
        send(
            recorder,
            f"demo-progress-{code}",
            "fund.report_progress",
            county=code,
            project_id=f"{code}-GAIBO-{YEAR}",
            percent=40,
            note="主体结构完工",
        )
        if secrets is not None:
            _students(
                ledger,
                secrets,
                send=send,
                recorder=recorder,
                approver=approver,
                code=code,
            )
        send(
            approver,
            f"demo-reverse-{code}",
            "fund.reverse",
            county=code,
            transfer_id=f"{code}-pay-PRE_LIVING-002-{YEAR}-autumn",
            reason="paid to the wrong school account; to be paid again",
        )
    return ledger.log_recorder.log_size() - before


def enrol_monitor(
    ledger: FundLedger, admin: OfficerKey, key_directory: Path
) -> OfficerKey:
    """The demo's monitor, enrolled once for the administrator's jurisdiction."""
    monitor = _officer_key(key_directory, "officer:demo-monitor")
    officer, _ = ledger.registry().officer_of_key(admin.key_id)
    document = admin.sign(
        "officer.enrol",
        {
            "officer_id": monitor.officer_id,
            "name": "规则监测",
            "role": "monitor",
            "jurisdiction": officer.jurisdiction,
            "public_key": monitor.public_key_hex,
        },
        request_id="demo-enrol-monitor",
        signed_at=SIGNED_AT,
    )
    execute(ledger, parse_request(document))
    return monitor


def raise_found_alerts(
    ledger: FundLedger, secrets: DeploymentSecrets, monitor: OfficerKey
) -> Raised:
    """Bring every view up to date, raise what the rules found, update again.

    The second update lets the alerts table show where each alert was raised.
    """
    reader = ViewsReader(Vault(ledger.log_recorder, secrets))
    with ViewStore(ledger.storage) as store:
        runner = ProjectionRunner(
            store, build_projections(ledger, reader), before_batch=reader.prefetch
        )
        runner.update()
        rules = runner.projection(FraudRules.name)
        assert isinstance(rules, FraudRules)  # noqa: S101 - build_projections
        raised = raise_alerts(ledger, monitor, unraised_in(rules))
        runner.update()
    return raised


def run_synthetic(
    ledger: FundLedger,
    admin: OfficerKey,
    key_directory: Path,
    secrets: DeploymentSecrets,
    *,
    scale: str,
    seed: int,
    truth: Path,
) -> str:
    """The synthetic province at ``scale`` (``api.province``); one summary line."""
    summary = run_province(
        ledger,
        admin,
        key_directory,
        secrets,
        scale_name=scale,
        seed=seed,
        truth_path=truth,
    )
    return (
        f"{summary.scale} (seed {summary.seed}): {summary.counties} counties, "
        f"{sum(summary.schools.values())} schools, {summary.beneficiaries} "
        f"beneficiaries, {summary.payments} payments, {summary.projects} projects, "
        f"{sum(summary.cases.values())} planted cases in {truth}; "
        f"{summary.events} events in {summary.requests} requests, "
        f"{summary.seconds:.1f} s ({summary.events_per_second:.0f} events/s)"
    )


def _students(
    ledger: FundLedger,
    secrets: DeploymentSecrets,
    *,
    send: Callable[..., None],
    recorder: OfficerKey,
    approver: OfficerKey,
    code: str,
) -> None:
    vault = Vault(ledger.log_recorder, secrets)
    poor, statuses, payments = [], [], []
    for number, (name, birth, stage, grade, school, boarding) in enumerate(STUDENTS):
        id_number = demo_resident_id(code, birth, 2 * number + 11)
        ref, _ = vault.put(PersonalData(name, id_number, None))
        poor.append(
            {
                "person_ref": ref,
                "household_ref": f"{code}-H{number:04d}",
                "listed_on": "2026-03-01",
            }
        )
        statuses.append(
            {
                "person_ref": ref,
                "school": f"{code}S{school:04d}",
                "stage": stage,
                "grade": grade,
                "boarding": boarding,
                "year": YEAR,
            }
        )
        if (stage, boarding) in STUDENT_PROGRAMMES:
            payments.append((ref, *STUDENT_PROGRAMMES[(stage, boarding)]))
    send(
        recorder,
        f"demo-roll-{code}",
        "roll.import",
        county=code,
        poor=poor,
        students=statuses,
    )
    for number, (ref, programme, amount) in enumerate(payments):
        payment_id = f"{code}-award-{programme}-{number:03d}-{YEAR}-autumn"
        send(
            recorder,
            f"demo-{payment_id}",
            "fund.propose_payment",
            county=code,
            payment_id=payment_id,
            programme=programme,
            year=YEAR,
            term="autumn",
            payee_kind="person",
            payee=ref,
            amount_fen=amount,
        )
        send(
            approver,
            f"demo-approve-{payment_id}",
            "fund.approve_payment",
            county=code,
            payment_id=payment_id,
        )
