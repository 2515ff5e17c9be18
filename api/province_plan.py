"""What each county of the synthetic province records, in order, as plain data.

A ``CountyPlan`` is the county's school year written down before anything is
sent: its roll rows, its payments term by term, the status changes between
them, its projects and where its money comes from. ``api.province`` turns it
into signed requests; ``api.province_plant`` adds the planted fraud cases to it
before the money is sized, so that budgets cover planted payments too.

Invariants:

- Legitimate payments respect the policy table exactly: the term rate of each
  fixed programme, the floor of VOC_POOR_EXTRA, one stage programme per person
  and term (plus the allowed stacking: SV_GRANT with VOC_POOR_EXTRA, HARDSHIP
  with anything), each to a person on both rolls, with the household's
  ``account_ref`` in ``details``.
- Every budget is allocated its payments plus 2%, and the pool receives exactly
  what it allocates and spends plus a margin (``MARGIN_FEN``): no pool or budget
  can go below zero, and unearmarked money always covers unearmarked spending.
- Earmarked donations (HARDSHIP, one school) are spent on their earmark.
- No two legitimate projects of one school and category lie in the 20% band
  below a tendering threshold (R15's near band).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from api.province_people import YEAR, CountyPeople, Person
from api.province_scale import POOR_COUNTIES
from domain.policy import Policy
from domain.pseudonyms import account_ref
from domain.units import Stage

MARGIN_FEN = 100_000_00  # unearmarked money left in each pool at the end
HARDSHIP_SHARE = 0.03  # of beneficiaries, relieved once in the autumn term
NUTRITION_TERM_FEN = 400_00  # 4 yuan a school day, 100 days a term, per pupil
YUAN = 100

# The programme a person of a stage is paid each term; boarders only where
# the programme pays boarders (None: nothing from a stage programme).
STAGE_PROGRAMMES: dict[tuple[Stage, bool], tuple[str, ...]] = {
    (Stage.KINDERGARTEN, False): ("PRE_LIVING",),
    (Stage.KINDERGARTEN, True): ("PRE_LIVING",),
    (Stage.PRIMARY, True): ("BOARD_PRI",),
    (Stage.TEACHING_POINT, True): ("BOARD_PRI",),
    (Stage.JUNIOR_SECONDARY, True): ("BOARD_JUN",),
    (Stage.HIGH_SCHOOL, False): ("HS_GRANT",),
    (Stage.HIGH_SCHOOL, True): ("HS_GRANT",),
    (Stage.SECONDARY_VOCATIONAL, False): ("SV_GRANT", "VOC_POOR_EXTRA"),
    (Stage.SECONDARY_VOCATIONAL, True): ("SV_GRANT", "VOC_POOR_EXTRA"),
}
NUTRITION_STAGES = (Stage.PRIMARY, Stage.TEACHING_POINT, Stage.JUNIOR_SECONDARY)
TERMS = ("spring", "autumn")
# Unearmarked sources and their shares of what the pool needs.
SOURCES = (
    ("central", "central-budget", 0.55),
    ("provincial", "hubei-provincial-budget", 0.20),
    ("prefecture", "prefecture-budget", 0.05),
    ("county", "county-budget", 0.05),
    ("pairing", "pairing-aid-partner", 0.08),
    ("donation", "org:中国扶贫基金会", 0.04),
    ("donation", "org:enterprise-donors", 0.02),
    ("donation", "individual:donor-0002", 0.01),
)

Row = dict[str, Any]


@dataclass
class CountyPlan:
    """One county's school year as data (see the module docstring)."""

    people: CountyPeople
    foreign: list[Person] = field(default_factory=list)  # also on another roll
    roll: list[tuple[Row, Row]] = field(default_factory=list)  # poor, status
    payments: dict[str, list[Row]] = field(
        default_factory=lambda: {term: [] for term in TERMS}
    )
    midyear_status: list[Row] = field(default_factory=list)
    delist: list[str] = field(default_factory=list)  # between autumn propose/approve
    before_approval_status: list[Row] = field(default_factory=list)
    late: list[tuple[list[Row], list[Row]]] = field(default_factory=list)
    projects: list[Row] = field(default_factory=list)
    receipts: list[Row] = field(default_factory=list)
    allocations: list[Row] = field(default_factory=list)
    end_money: list[tuple[str, Row]] = field(default_factory=list)
    skip: set[tuple[str, str, str]] = field(default_factory=set)  # ref, prog, term
    near_misses: list[Row] = field(default_factory=list)

    @property
    def code(self) -> str:
        """The county's code."""
        return self.people.code

    def all_payments(self) -> list[Row]:
        """Every payment row of the year, in the order it is proposed."""
        rows = [*self.payments["spring"], *self.payments["autumn"]]
        return rows + [row for _, late in self.late for row in late]


def status_row(person: Person, **changes: Any) -> Row:
    """The person's student-status roll row (with ``changes`` applied)."""
    row = {
        "person_ref": person.ref,
        "school": person.school,
        "stage": person.stage.value,
        "grade": person.grade,
        "boarding": person.boarding,
        "year": person.status_year,
    }
    return row | changes


def poor_row(person: Person) -> Row:
    """The person's registered-poor roll row."""
    return {
        "person_ref": person.ref,
        "household_ref": person.household,
        "listed_on": person.listed_on.isoformat(),
    }


def programmes_of(person: Person) -> tuple[str, ...]:
    """What the person's stage and boarding flag entitle them to each term."""
    return STAGE_PROGRAMMES.get((person.stage, person.boarding), ())


class Payments:
    """Payment rows with ids unique in the province, and the accounts' refs."""

    def __init__(self, secret: bytes, policy: Policy) -> None:
        self.secret = secret
        self.policy = policy
        self.count = 0
        self._accounts: dict[str, str] = {}

    def account_ref_of(self, bank_account: str) -> str:
        """The account's pseudonym (computed once per account)."""
        ref = self._accounts.get(bank_account)
        if ref is None:
            ref = self._accounts[bank_account] = account_ref(self.secret, bank_account)
        return ref

    def rate(self, programme: str) -> int:
        """The programme's term rate in fen."""
        rate = self.policy.term_amount(programme)
        assert rate is not None  # noqa: S101 - only rated programmes are paid by rate
        return rate

    def person(
        self,
        county: str,
        person: Person,
        programme: str,
        term: str,
        *,
        amount_fen: int | None = None,
        account: str | None = None,
        school: str | None = None,
    ) -> Row:
        """A payment to a person at the term rate (or ``amount_fen``)."""
        self.count += 1
        return {
            "payment_id": f"{county}-{YEAR}-{term}-{programme}-{self.count:07d}",
            "programme": programme,
            "year": YEAR,
            "term": term,
            "payee_kind": "person",
            "payee": person.ref,
            "amount_fen": self.rate(programme) if amount_fen is None else amount_fen,
            "details": {
                "school": school or person.school,
                "account_ref": self.account_ref_of(account or person.bank_account),
            },
        }

    def school(
        self, county: str, school: str, programme: str, term: str, **amounts: int
    ) -> Row:
        """A payment to a school for ``headcount`` pupils."""
        self.count += 1
        return {
            "payment_id": f"{county}-{YEAR}-{term}-{programme}-{self.count:07d}",
            "programme": programme,
            "year": YEAR,
            "term": term,
            "payee_kind": "school",
            "payee": school,
            "amount_fen": amounts["amount_fen"],
            "details": {"headcount": amounts["headcount"]},
        }


def add_term_payments(plan: CountyPlan, payments: Payments, term: str) -> None:
    """Every person's programmes for one term, and NUTRITION to the schools.

    Payments name the school the person attends when the term's payments are
    made, so a pupil who moved school mid-year is paid at each in turn.
    """
    code = plan.code
    rows = plan.payments[term]
    headcounts: dict[str, int] = {}
    for person in plan.people.persons:
        for programme in programmes_of(person):
            if (person.ref, programme, term) not in plan.skip:
                rows.append(payments.person(code, person, programme, term))
        if person.stage in NUTRITION_STAGES:
            headcounts[person.school] = headcounts.get(person.school, 0) + 1
    for school, headcount in sorted(headcounts.items()):
        rows.append(
            payments.school(
                code,
                school,
                "NUTRITION",
                term,
                amount_fen=headcount * NUTRITION_TERM_FEN,
                headcount=headcount,
            )
        )


def add_hardship(plan: CountyPlan, payments: Payments, rng: random.Random) -> None:
    """Relief from the special-hardship fund, once a year, in the autumn term."""
    for person in plan.people.persons:
        special = person.stage is Stage.SPECIAL_EDUCATION and rng.random() < 0.5
        if special or rng.random() < HARDSHIP_SHARE:
            amount = rng.randrange(3, 21) * 100 * YUAN
            plan.payments["autumn"].append(
                payments.person(
                    plan.code, person, "HARDSHIP", "autumn", amount_fen=amount
                )
            )


def add_legitimate_projects(plan: CountyPlan, rng: random.Random, scale: float) -> None:
    """Renovation of every compulsory school, kindergartens, vocational
    schools, some high schools, resource rooms and teacher training.

    Amounts stay below 80% of the works threshold (3.2 million yuan) except
    the vocational schools' 10 million, which are single tendered contracts.
    """
    code = plan.code
    ranges = {
        Stage.TEACHING_POINT: (100_000, 600_000),
        Stage.PRIMARY: (500_000, 2_500_000),
        Stage.JUNIOR_SECONDARY: (1_000_000, 3_000_000),
        Stage.KINDERGARTEN: (800_000, 2_000_000),
    }
    names = {
        Stage.TEACHING_POINT: "全面改薄: {name}校舍改造",
        Stage.PRIMARY: "全面改薄: {name}校舍改造",
        Stage.JUNIOR_SECONDARY: "全面改薄: {name}校舍改造",
        Stage.KINDERGARTEN: "学前教育: {name}建设",
    }
    high_schools = 0
    for school in plan.people.schools:
        if school.stage in ranges:
            low, high = ranges[school.stage]
            amount = rng.randrange(low // 1000, high // 1000) * 1000 * YUAN
            name = names[school.stage].format(name=school.name)
        elif school.stage is Stage.SECONDARY_VOCATIONAL:
            amount, name = 10_000_000 * YUAN, f"职业教育: {school.name}建设"
        elif school.stage is Stage.HIGH_SCHOOL and (
            high_schools == 0 or rng.random() < 16 / 79
        ):
            high_schools += 1
            amount = rng.randrange(5_000, 15_000) * 1000 * YUAN
            name = f"普通高中改造: {school.name}"
        else:
            continue
        add_project(plan, school.code, name, amount, rng.randrange(10, 101))
    primaries = plan.people.schools_of(Stage.PRIMARY)
    for number in range(max(1, round(40 / POOR_COUNTIES * scale))):
        school = primaries[number % len(primaries)]
        add_project(
            plan,
            school.code,
            f"特殊教育资源教室: {school.name}",
            rng.randrange(300, 500) * 1000 * YUAN,
            rng.randrange(10, 101),
        )
    for number in range(1, max(2, round(12 * scale)) + 1):
        add_project(
            plan,
            None,
            f"教师培训 {YEAR} 第{number}期",
            rng.randrange(300, 780) * 1000 * YUAN,
            rng.randrange(10, 101),
        )
    del code


def add_project(
    plan: CountyPlan, school: str | None, name: str, amount_fen: int, percent: int
) -> Row:
    """A project funded from the pool, with its progress so far."""
    number = len(plan.projects) + 1
    project = {
        "transfer_id": f"{plan.code}-project-{YEAR}-{number:05d}",
        "project_id": f"{plan.code}-P{YEAR}-{number:05d}",
        "name": name,
        "school": school,
        "amount_fen": amount_fen,
        "percent": percent,
    }
    plan.projects.append(project)
    return project


def budget_totals(plan: CountyPlan) -> dict[str, int]:
    """What each programme pays in the year, planted payments included."""
    totals: dict[str, int] = {}
    for row in plan.all_payments():
        totals[row["programme"]] = totals.get(row["programme"], 0) + row["amount_fen"]
    return totals


def add_money(plan: CountyPlan, rng: random.Random) -> None:
    """Allocations for every budget, and receipts from every kind of source.

    Receipts come first, so unearmarked money covers every allocation and
    project that is not an earmark's; earmarked donations (HARDSHIP, and one
    school whose project they pay) are spent on their earmark.
    """
    code = plan.code
    for programme, total in sorted(budget_totals(plan).items()):
        amount = -(-total * 102 // 100 // (100 * YUAN)) * 100 * YUAN
        plan.allocations.append(
            {
                "transfer_id": f"{code}-alloc-{programme}-{YEAR}",
                "programme": programme,
                "year": YEAR,
                "amount_fen": amount,
            }
        )
    school_gift = _school_gift(plan, rng)  # adds its project: count it as spent
    spent = sum(row["amount_fen"] for row in plan.allocations)
    spent += sum(row["amount_fen"] for row in plan.projects)
    hardship = next(
        (r["amount_fen"] for r in plan.allocations if r["programme"] == "HARDSHIP"), 0
    )
    earmarked = [
        ("org:湖北省教育基金会", hardship // 2, "HARDSHIP", "hardship-org"),
        ("individual:donor-0001", hardship // 10, "HARDSHIP", "hardship-individual"),
    ]
    if school_gift is not None:
        earmarked.append((*school_gift, "school-gift"))
    unearmarked = spent - sum(gift[1] for gift in earmarked) + MARGIN_FEN
    parts = [int(unearmarked * share) for _, _, share in SOURCES]
    parts[0] += unearmarked - sum(parts)
    for number, ((kind, source, _), amount) in enumerate(
        zip(SOURCES, parts, strict=True), start=1
    ):
        add_receipt(plan, kind, source, amount, None, tag=f"source-{number}")
    for source, amount, earmark, tag in earmarked:
        if amount > 0:
            add_receipt(plan, "donation", source, amount, earmark, tag=tag)


def add_receipt(
    plan: CountyPlan,
    kind: str,
    source: str,
    amount_fen: int,
    earmark: str | None,
    *,
    tag: str,
) -> Row:
    """Money into the pool; ``tag`` names it among the county's receipts."""
    row = {
        "transfer_id": f"{plan.code}-in-{YEAR}-{tag}",
        "source_kind": kind,
        "source": source,
        "amount_fen": amount_fen,
        "reference": f"{source} {YEAR} 教育扶贫",
        "earmark": earmark,
    }
    plan.receipts.append(row)
    return row


def _school_gift(plan: CountyPlan, rng: random.Random) -> tuple[str, int, str] | None:
    """A donation for one school, and the project at that school it pays."""
    schools = plan.people.schools_of(Stage.JUNIOR_SECONDARY)
    if not schools:
        return None
    school = schools[-1]
    amount = rng.randrange(100, 200) * 1000 * YUAN
    project = add_project(
        plan,
        school.code,
        f"捐赠: {school.name}图书室建设",
        amount + 50_000 * YUAN,
        100,
    )
    plan.near_misses.append(
        {
            "rule": "R14",
            "what": "a donation earmarked for a school, spent on a project there",
            "county": plan.code,
            "school": school.code,
            "transfer_ids": [f"{plan.code}-in-{YEAR}-school-gift"],
            "project_ids": [project["project_id"]],
        }
    )
    return ("org:湖北省慈善总会", amount, school.code)
