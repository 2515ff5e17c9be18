"""Planted fraud cases R01 to R15, and the near misses that must not be flagged.

Each case is made of ordinary signed requests that the domain accepts, changed
the way a fraud would change them, and written down as ground truth: the rule,
its subject (person_ref, account_ref, school or transfer), the county and the
payment, transfer and project ids involved. Person rules are planted at
``PERSON_RATE`` of the beneficiaries, at least ``MINIMUM`` cases per rule; money
rules at one case per county, at least ``MINIMUM``.

Invariants:

- A person is the subject of at most one planted case, and a planted case
  changes nothing another case relies on: each triggers its own rule only,
  except where ``also`` in its record names another rule it cannot avoid.
- Near misses are listed apart from cases (``near_misses``), never as cases.
- Cases are chosen from the seed alone, so the same seed plants the same cases.

What the domain allows decides how each rule is planted (see ``RULES``).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from api.province_people import LISTED_BY, YEAR, Identities, Person
from api.province_plan import (
    MARGIN_FEN,
    CountyPlan,
    Payments,
    add_project,
    add_receipt,
    programmes_of,
    status_row,
)
from domain.units import Stage

PERSON_RATE = 0.001
MINIMUM = 3
YUAN = 100

# How each rule is planted, for the truth file's readers.
RULES = {
    "R01": "one person on two counties' rolls paid the same programme, year and "
    "term in both (one-county scales: a status change to another school within "
    "the autumn term, paid again there; also R13 then)",
    "R02": "HS_GRANT then, after a status change to a vocational school, SV_GRANT "
    "in the same autumn term",
    "R03": "a second HS_GRANT payment of a different amount (300 yuan) at the same "
    "school and term: 1,550 yuan against a 1,250 term rate; Policy.check_award "
    "refuses only single payments above the rate",
    "R04": "person-year: VOC_POOR_EXTRA paid in spring only (1,500 yuan in the year "
    "against the 3,000 floor) while SV_GRANT is paid in both terms; check_award "
    "refuses single person payments below the term floor. school-headcount: a "
    "school payment of VOC_POOR_EXTRA at 1,000 yuan per head (school payments "
    "are not checked against rates)",
    "R05": "proposed, then the person delisted from the poor roll, then approved",
    "R06": "the person's only student status is for school year 2025; paid 2026",
    "R07": "a primary boarder whose ID gives a 1996 birth date (30 years old); "
    "parse_resident_id checks only that the date is real, after 1900 and not "
    "in the future",
    "R08": "status boarding=true, BOARD_PRI/BOARD_JUN proposed, status "
    "re-recorded boarding=false, then approved (autumn)",
    "R09": "a resident ID whose region (county[:4] + '99') is no GB/T 2260 code; "
    "parse_resident_id checks only the province prefix unless asked "
    "(known_region), and the vault does not ask",
    "R10": "two people with one name and birth date and different IDs, both paid",
    "R11": "a person of another household paid into the account of a household",
    "R12": "not plantable: a budget never goes below zero (BudgetOverdrawn)",
    "R13": "one payment (county, payee, programme, year, term, amount) proposed "
    "and approved twice under two payment ids",
    "R14": "a donation earmarked for a school, then an allocation to another "
    "programme larger than the pool's unearmarked money",
    "R15": "two projects at one school in one year, each within 20% below a "
    "tendering threshold (works, goods or services), together above it",
}
THRESHOLDS = (  # category, keyword for the name, threshold in yuan
    ("works", "校舍维修改造", 4_000_000),
    ("goods", "教学设备采购", 2_000_000),
    ("services", "工程设计监理服务", 1_000_000),
)


@dataclass
class Truth:
    """The planted cases and near misses, in the order they were planted."""

    cases: list[dict[str, Any]] = field(default_factory=list)
    near_misses: list[dict[str, Any]] = field(default_factory=list)
    # Cases whose payment ids are every payment of these people in the county.
    _people: list[tuple[dict[str, Any], str, list[Person]]] = field(
        default_factory=list
    )

    def case(
        self, rule: str, county: str, subject: tuple[str, str], **more: Any
    ) -> dict[str, Any]:
        """Record a case; ``subject`` is (kind, ref)."""
        record = {
            "rule": rule,
            "county": county,
            "subject_kind": subject[0],
            "subject": subject[1],
            "person_refs": [],
            "payment_ids": [],
            "transfer_ids": [],
            "project_ids": [],
        } | more
        self.cases.append(record)
        return record

    def paid(self, record: dict[str, Any], county: str, people: list[Person]) -> None:
        """Fill the case's payment ids with every payment to ``people``."""
        record["person_refs"] = [person.ref for person in people]
        self._people.append((record, county, people))

    def resolve(self, plans: dict[str, CountyPlan]) -> None:
        """Once every payment exists, list those of the cases' people."""
        for record, county, people in self._people:
            refs = {person.ref for person in people}
            record["payment_ids"] = sorted(
                row["payment_id"]
                for row in plans[county].all_payments()
                if row["payee"] in refs
            )


class Planter:
    """Chooses subjects from the seed and changes the plans for each case.

    ``before_payments`` runs before any payment is planned (it changes people,
    rolls and which payments are skipped); ``after_payments`` adds the extra
    payments, status changes, projects and money movements of the cases.
    """

    def __init__(
        self,
        plans: list[CountyPlan],
        rng: random.Random,
        identities: Identities,
        ref_of: Callable[[str], str],
    ) -> None:
        self.plans = plans
        self.rng = rng
        self.identities = identities
        self.ref_of = ref_of
        self.truth = Truth()
        self.used: set[int] = set()
        self.order: dict[str, list[Person]] = {}
        for plan in plans:
            persons = list(plan.people.persons)
            rng.shuffle(persons)
            self.order[plan.code] = persons
        total = sum(len(plan.people.persons) for plan in plans)
        self.person_counties = self._counties(max(MINIMUM, round(total * PERSON_RATE)))
        self.money_counties = self._counties(max(MINIMUM, len(plans)))
        self.moves: list[tuple[CountyPlan, Person, str]] = []
        self.accounts: list[tuple[dict[str, Any], Person]] = []
        self.voc: list[tuple[dict[str, Any], CountyPlan, Person]] = []

    # Choosing ---------------------------------------------------------------------

    def _counties(self, count: int) -> list[CountyPlan]:
        order = list(self.plans)
        self.rng.shuffle(order)
        return [order[i % len(order)] for i in range(count)]

    def take(
        self, plan: CountyPlan, wanted: Callable[[Person], bool] | None = None
    ) -> Person | None:
        """An unused person of the county for whom ``wanted(person)`` holds
        (by default: one whom some stage programme pays)."""
        wanted = wanted or _paid
        for person in self.order[plan.code]:
            if id(person) not in self.used and wanted(person):
                self.used.add(id(person))
                return person
        return None

    def reidentify(self, person: Person, *, region: str, birth: date) -> None:
        """Give a person a new resident ID (and so a new person_ref)."""
        person.birth = birth
        person.id_number = self.identities.resident_id(
            region, birth, self.rng.random() < 0.5
        )
        person.ref = self.ref_of(person.id_number)

    def _person_case(
        self, rule: str, plan: CountyPlan, person: Person, **more: Any
    ) -> None:
        record = self.truth.case(rule, plan.code, ("person", person.ref), **more)
        self.truth.paid(record, plan.code, [person])

    # Before the payments: people, rolls and skipped payments ----------------------

    def before_payments(self) -> None:
        """R04, R06, R07, R09, R10, R11 and the mid-year transfers (near misses)."""
        for plan in self.person_counties:
            if person := self.take(plan):
                person.status_year = YEAR - 1
                self._person_case("R06", plan, person, status_year=YEAR - 1)
            if person := self.take(plan, _primary_boarder):
                birth = date(1996, 1, 1) + timedelta(days=self.rng.randrange(365))
                person.name = self.identities.name(person.name[0], birth)
                self.reidentify(person, region=plan.code, birth=birth)
                self._person_case("R07", plan, person, age_on_1_september=30)
            if person := self.take(plan):
                self.reidentify(person, region=plan.code[:4] + "99", birth=person.birth)
                self._person_case("R09", plan, person, id_problem="unknown-region")
            self._r10(plan)
            self._r11(plan)
            if person := self.take(plan, _vocational):
                plan.skip.add((person.ref, "VOC_POOR_EXTRA", "autumn"))
                record = self.truth.case(
                    "R04", plan.code, ("person", person.ref), variant="person-year"
                )
                record["person_refs"] = [person.ref]
                self.voc.append((record, plan, person))
            self._transfer(plan)

    def _r10(self, plan: CountyPlan) -> None:
        first = self.take(plan)
        if first is None:
            return
        second = self.take(
            plan,
            lambda p: (
                (p.stage, p.grade) == (first.stage, first.grade)
                and p.household != first.household
            ),
        )
        if second is None:
            return
        second.name = first.name
        self.reidentify(second, region=plan.code, birth=first.birth)
        # Listed once born: a listing before birth would be R09's case.
        second.listed_on = min(
            max(second.listed_on, first.birth + timedelta(days=30)), LISTED_BY
        )
        record = self.truth.case(
            "R10", plan.code, ("name-and-birth", f"{first.ref}+{second.ref}")
        )
        self.truth.paid(record, plan.code, [first, second])

    def _r11(self, plan: CountyPlan) -> None:
        owner = self.take(plan)
        if owner is None:
            return
        other = self.take(plan, lambda p: _paid(p) and p.household != owner.household)
        if other is None:
            return
        other.bank_account = owner.bank_account
        record = self.truth.case(
            "R11",
            plan.code,
            ("account", ""),
            households=[owner.household, other.household],
        )
        self.truth.paid(record, plan.code, [owner, other])
        self.accounts.append((record, owner))

    def _transfer(self, plan: CountyPlan) -> None:
        person = self.take(plan, lambda p: bool(programmes_of(p) and _others(plan, p)))
        if person is not None:
            self.moves.append((plan, person, self.rng.choice(_others(plan, person))))

    def move_schools(self) -> None:
        """Between the terms: the transferred pupils change school (near misses)."""
        for plan, person, school in self.moves:
            self.truth.near_misses.append(
                {
                    "rule": "R01",
                    "what": "moved school mid-year: spring paid at one, autumn at "
                    "the other",
                    "county": plan.code,
                    "person_refs": [person.ref],
                    "schools": [person.school, school],
                }
            )
            person.school = school
            plan.midyear_status.append(status_row(person))

    # After the payments: extra payments, steps, projects, money -------------------

    def after_payments(self, payments: Payments) -> None:
        """R01, R02, R03, R05, R08, R13, R04 (school), R14, R15; near misses."""
        for plan in self.person_counties:
            self._r01(plan, payments)
            self._r02(plan, payments)
            self._r03_r13(plan, payments)
            if person := self.take(plan):
                plan.delist.append(person.ref)
                self._autumn_case("R05", plan, person)
            if person := self.take(plan, _board):
                plan.before_approval_status.append(status_row(person, boarding=False))
                self._autumn_case("R08", plan, person)
        for record, owner in self.accounts:
            record["subject"] = payments.account_ref_of(owner.bank_account)
        for record, plan, person in self.voc:
            record["payment_ids"] = [
                row["payment_id"]
                for row in plan.payments["spring"]
                if row["payee"] == person.ref and row["programme"] == "VOC_POOR_EXTRA"
            ]
        for number, plan in enumerate(self.money_counties):
            self._r04_school(plan, payments, number)
            self._r15(plan, number)
        for plan in self.plans:
            self._near_misses(plan)

    def plant_money(self) -> None:
        """R14, once every county's money is planned (they spend its margin)."""
        for number, plan in enumerate(self.money_counties):
            self._r14(plan, number)

    def _autumn_case(self, rule: str, plan: CountyPlan, person: Person) -> None:
        record = self.truth.case(rule, plan.code, ("person", person.ref))
        record["person_refs"] = [person.ref]
        record["payment_ids"] = [
            row["payment_id"]
            for row in plan.payments["autumn"]
            if row["payee"] == person.ref
            and (rule != "R08" or row["programme"].startswith("BOARD_"))
        ]

    def _r01(self, plan: CountyPlan, payments: Payments) -> None:
        others = [other for other in self.plans if other is not plan]

        def fitting(person: Person) -> list[CountyPlan]:
            # Counties with a school of the person's kind (not every county
            # has a vocational school, nor a boarding school of every stage).
            return [
                other
                for other in others
                if other.people.schools_of(person.stage, boarding=person.boarding)
            ]

        person = self.take(
            plan,
            lambda p: (
                bool(programmes_of(p)) and (bool(fitting(p)) or bool(_others(plan, p)))
            ),
        )
        if person is None:
            return
        others = fitting(person)
        programme = programmes_of(person)[0]
        first = next(
            row
            for row in plan.payments["autumn"]
            if row["payee"] == person.ref and row["programme"] == programme
        )
        if others:
            other = self.rng.choice(others)
            schools = other.people.schools_of(person.stage, boarding=person.boarding)
            copy = replace(
                person,
                county=other.code,
                household=f"{other.code}-X{len(other.foreign) + 1:05d}",
                school=schools[0].code,
            )
            other.foreign.append(copy)
            second = payments.person(
                other.code,
                copy,
                programme,
                "autumn",
                account=self.identities.bank_account(),
            )
            other.payments["autumn"].append(second)
            record = self.truth.case(
                "R01",
                plan.code,
                ("person", person.ref),
                counties=[plan.code, other.code],
                variant="two-counties",
            )
        else:
            school = _others(plan, person)[0]
            second = payments.person(
                plan.code, person, programme, "autumn", school=school
            )
            plan.late.append(([status_row(person, school=school)], [second]))
            record = self.truth.case(
                "R01",
                plan.code,
                ("person", person.ref),
                counties=[plan.code],
                variant="status-change",
                also=["R13"],
            )
        record["person_refs"] = [person.ref]
        record["payment_ids"] = [first["payment_id"], second["payment_id"]]

    def _r02(self, plan: CountyPlan, payments: Payments) -> None:
        vocational = plan.people.schools_of(Stage.SECONDARY_VOCATIONAL)
        person = self.take(plan, lambda p: p.stage is Stage.HIGH_SCHOOL)
        if person is None or not vocational:
            return
        first = next(
            row
            for row in plan.payments["autumn"]
            if row["payee"] == person.ref and row["programme"] == "HS_GRANT"
        )
        moved = status_row(
            person, school=vocational[0].code, stage=Stage.SECONDARY_VOCATIONAL.value
        )
        second = payments.person(
            plan.code, person, "SV_GRANT", "autumn", school=vocational[0].code
        )
        plan.late.append(([moved], [second]))
        record = self.truth.case(
            "R02",
            plan.code,
            ("person", person.ref),
            programmes=["HS_GRANT", "SV_GRANT"],
        )
        record["person_refs"] = [person.ref]
        record["payment_ids"] = [first["payment_id"], second["payment_id"]]

    def _r03_r13(self, plan: CountyPlan, payments: Payments) -> None:
        for rule in ("R03", "R13"):
            wanted = _high_school if rule == "R03" else _paid
            person = self.take(plan, wanted)
            if person is None:
                continue
            programme = "HS_GRANT" if rule == "R03" else programmes_of(person)[0]
            first = next(
                row
                for row in plan.payments["autumn"]
                if row["payee"] == person.ref and row["programme"] == programme
            )
            amount = 300 * YUAN if rule == "R03" else first["amount_fen"]
            second = payments.person(
                plan.code, person, programme, "autumn", amount_fen=amount
            )
            plan.payments["autumn"].append(second)
            record = self.truth.case(rule, plan.code, ("person", person.ref))
            record["person_refs"] = [person.ref]
            record["payment_ids"] = [first["payment_id"], second["payment_id"]]
            if rule == "R03":
                record["total_fen"] = first["amount_fen"] + amount
                record["term_rate_fen"] = payments.rate(programme)

    def _r04_school(self, plan: CountyPlan, payments: Payments, number: int) -> None:
        schools = plan.people.schools_of(Stage.SECONDARY_VOCATIONAL)
        if not schools:  # one of the three poor counties without one
            return
        headcount = 20 + number  # never the same payment twice (that is R13)
        row = payments.school(
            plan.code,
            schools[0].code,
            "VOC_POOR_EXTRA",
            "autumn",
            amount_fen=headcount * 1_000 * YUAN,
            headcount=headcount,
        )
        plan.payments["autumn"].append(row)
        self.truth.case(
            "R04",
            plan.code,
            ("school", schools[0].code),
            variant="school-headcount",
            payment_ids=[row["payment_id"]],
            per_head_fen=1_000 * YUAN,
            floor_per_term_fen=payments.rate("VOC_POOR_EXTRA"),
        )

    def _r15(self, plan: CountyPlan, number: int) -> None:
        category, keyword, threshold = THRESHOLDS[number % len(THRESHOLDS)]
        schools = plan.people.schools_of(Stage.PRIMARY)
        school = schools[(number // len(THRESHOLDS)) % len(schools)]
        projects = []
        for part in ("一期", "二期"):
            share = self.rng.randrange(85, 99)  # percent of the threshold
            projects.append(
                add_project(
                    plan,
                    school.code,
                    f"{school.name}{keyword}{part}",
                    threshold * share // 100 * YUAN,
                    self.rng.randrange(10, 101),
                )
            )
        self.truth.case(
            "R15",
            plan.code,
            ("school", school.code),
            category=category,
            threshold_fen=threshold * YUAN,
            project_ids=[project["project_id"] for project in projects],
            transfer_ids=[project["transfer_id"] for project in projects],
        )

    def _r14(self, plan: CountyPlan, number: int) -> None:
        """A school's donation, an allocation elsewhere bigger than the pool's
        unearmarked money, then the rest of the donation spent at the school.

        The pool holds only ``MARGIN_FEN`` of unearmarked money when this runs
        (or none, after an earlier case), so each misuse names one donation.
        """
        school = plan.people.schools_of(Stage.PRIMARY)[0]
        margin = (
            MARGIN_FEN
            if not any(command == "fund.allocate" for command, _ in plan.end_money)
            else 0
        )
        gift = 200_000 * YUAN
        receipt = add_receipt(
            plan,
            "donation",
            f"org:donor-r14-{number + 1:03d}",
            gift,
            school.code,
            tag=f"gift-{number + 1:03d}",
        )
        plan.receipts.remove(receipt)
        allocation = {
            "transfer_id": f"{plan.code}-alloc-extra-{YEAR}-{number + 1:03d}",
            "programme": "BOARD_JUN",
            "year": YEAR,
            "amount_fen": margin + gift // 2,
        }
        project = {
            "transfer_id": f"{plan.code}-project-gift-{YEAR}-{number + 1:03d}",
            "project_id": f"{plan.code}-G{YEAR}-{number + 1:03d}",
            "name": f"捐赠: {school.name}图书角",
            "school": school.code,
            "amount_fen": gift // 2,
            "percent": 100,
        }
        plan.end_money += [
            ("fund.receive", receipt),
            ("fund.allocate", allocation),
            ("fund.fund_project", project),
        ]
        self.truth.case(
            "R14",
            plan.code,
            ("transfer", receipt["transfer_id"]),
            earmark=school.code,
            transfer_ids=[receipt["transfer_id"], allocation["transfer_id"]],
            unearmarked_before_fen=margin,
        )

    def _near_misses(self, plan: CountyPlan) -> None:
        schools = plan.people.schools_of(Stage.JUNIOR_SECONDARY)
        project = add_project(
            plan,
            schools[0].code,
            f"{schools[0].name}教学楼维修",
            3_900_000 * YUAN,
            self.rng.randrange(10, 101),
        )
        self.truth.near_misses.append(
            {
                "rule": "R15",
                "what": "one works project just below the 4,000,000 threshold",
                "county": plan.code,
                "project_ids": [project["project_id"]],
            }
        )
        households: dict[str, list[Person]] = {}
        for person in plan.people.persons:
            households.setdefault(person.household, []).append(person)
        siblings = [
            people
            for people in households.values()
            if len(people) > 1 and all(programmes_of(p) for p in people)
        ]
        for people in siblings[:MINIMUM]:
            self.truth.near_misses.append(
                {
                    "rule": "R11",
                    "what": "siblings of one household paid into its one account",
                    "county": plan.code,
                    "person_refs": [person.ref for person in people],
                }
            )
        vocational = [
            p for p in plan.people.persons if p.stage is Stage.SECONDARY_VOCATIONAL
        ]
        for person in vocational[:MINIMUM]:
            self.truth.near_misses.append(
                {
                    "rule": "R02",
                    "what": "SV_GRANT with VOC_POOR_EXTRA, which stack",
                    "county": plan.code,
                    "person_refs": [person.ref],
                }
            )


def same_name_pairs(plans: list[CountyPlan], limit: int) -> list[dict[str, Any]]:
    """Near misses of R10 the generator made by chance: one name, two births."""
    seen: dict[str, Person] = {}
    found = []
    for plan in plans:
        for person in plan.people.persons:
            other = seen.setdefault(person.name, person)
            if other is not person and other.birth != person.birth:
                found.append(
                    {
                        "rule": "R10",
                        "what": "same name, different birth dates",
                        "county": person.county,
                        "person_refs": [other.ref, person.ref],
                    }
                )
                if len(found) >= limit:
                    return found
    return found


def _others(plan: CountyPlan, person: Person) -> list[str]:
    """Other schools of the person's stage (taking boarders, for a boarder)."""
    return [
        school.code
        for school in plan.people.schools_of(person.stage, boarding=person.boarding)
        if school.code != person.school
    ]


def _paid(person: Person) -> bool:
    return bool(programmes_of(person))


def _primary_boarder(person: Person) -> bool:
    return person.stage is Stage.PRIMARY and person.boarding


def _board(person: Person) -> bool:
    return person.boarding and person.stage in (
        Stage.PRIMARY,
        Stage.JUNIOR_SECONDARY,
    )


def _vocational(person: Person) -> bool:
    return person.stage is Stage.SECONDARY_VOCATIONAL


def _high_school(person: Person) -> bool:
    return person.stage is Stage.HIGH_SCHOOL
