"""The synthetic province's schools, households and beneficiaries, from a seed.

Everything here is a pure function of the seed and the scale: the same seed
gives the same schools, the same people with the same names, resident IDs,
birth dates and bank accounts, so the same ``person_ref`` under the same
deployment secret. Nobody real is described: names are drawn from common
surnames and given-name characters, ID sequences are made up.

Invariants of what ``populate`` returns:

- every resident ID is well formed: region = the county's GB/T 2260 code,
  a birth date that puts the pupil at a usual age for the stage and grade on
  1 September of the school year, a unique sequence (odd for boys, even for
  girls) and the ISO 7064 MOD 11-2 check character;
- no two people share a resident ID, and no two share both name and birth date
  (so a planted R10 pair is the only one; same-name pairs with different birth
  dates are common and legitimate);
- siblings share a household and its bank account; no account serves two
  households;
- boarders attend schools that take boarders; teaching points have none.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from api.province_scale import (
    BOARDING_SHARES,
    GRADES,
    STAGE_SHARES,
    Scale,
    county_weights,
    school_counts,
    split,
)
from domain.resident_id import check_character
from domain.units import Stage

YEAR = 2026  # the school year paid: spring and autumn terms of 2026
SCHOOL_YEAR_START = date(YEAR, 9, 1)  # ages are counted on this day
LISTED_BY = date(YEAR, 3, 1)  # everyone is on the poor roll before spring pays

SURNAMES = (
    "王李张刘陈杨黄赵周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭"
    "吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱"
    "秦江史顾侯邵孟龙万段覃向冉"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志红玉梅春晓燕丹宇浩"
    "鹏飞婷雪琳欣怡子涵轩梓萱宸睿泽雨思佳俊豪博文慧颖嘉鑫瑶琪航旭阳凯诗晨逸安然"
)
SCHOOL_NAMES = {
    Stage.KINDERGARTEN: "第{n}幼儿园",
    Stage.PRIMARY: "第{n}小学",
    Stage.TEACHING_POINT: "第{n}教学点",
    Stage.JUNIOR_SECONDARY: "第{n}初级中学",
    Stage.HIGH_SCHOOL: "第{n}高级中学",
    Stage.SECONDARY_VOCATIONAL: "第{n}职业技术学校",
    Stage.SPECIAL_EDUCATION: "特殊教育学校",
}
# Stages whose schools take boarders; a share of primary schools do.
BOARDING_SCHOOLS = {
    Stage.JUNIOR_SECONDARY,
    Stage.HIGH_SCHOOL,
    Stage.SECONDARY_VOCATIONAL,
    Stage.SPECIAL_EDUCATION,
}
PRIMARY_BOARDING_SHARE = 0.6


@dataclass(frozen=True)
class SchoolPlan:
    """A school to register."""

    code: str
    name: str
    stage: Stage
    boarding: bool


@dataclass
class Person:
    """One beneficiary as the generator made them (personal data included).

    The planting step may change a person (their status year, boarding flag,
    birth date); the personal data never leaves the vault and this process.
    """

    county: str
    household: str
    name: str
    birth: date
    id_number: str
    stage: Stage
    grade: int
    school: str
    boarding: bool
    bank_account: str
    listed_on: date
    status_year: int = YEAR
    ref: str = ""


@dataclass
class CountyPeople:
    """A county's schools and beneficiaries."""

    code: str
    name: str
    schools: list[SchoolPlan]
    persons: list[Person] = field(default_factory=list)
    _by_stage: dict[tuple[Stage, bool], list[SchoolPlan]] = field(
        default_factory=dict, repr=False
    )

    def schools_of(self, stage: Stage, *, boarding: bool = False) -> list[SchoolPlan]:
        """The county's schools of a stage (that take boarders, if asked)."""
        key = (stage, boarding)
        if key not in self._by_stage:
            self._by_stage[key] = [
                school
                for school in self.schools
                if school.stage is stage and (school.boarding or not boarding)
            ]
        return self._by_stage[key]


class Identities:
    """Resident IDs, names and accounts, each handed out once per province."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.numbers: set[str] = set()
        self.name_births: set[tuple[str, date]] = set()
        self.accounts: set[str] = set()

    def resident_id(self, region: str, birth: date, male: bool) -> str:
        """A new, valid 18-character ID for ``region`` and ``birth``."""
        while True:
            sequence = self.rng.randrange(0, 500) * 2 + (1 if male else 0)
            if sequence == 0:
                continue
            first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
            number = first17 + check_character(first17)
            if number not in self.numbers:
                self.numbers.add(number)
                return number

    def name(self, surname: str, birth: date) -> str:
        """A name with ``surname`` that nobody born on ``birth`` has yet."""
        while True:
            given = "".join(
                self.rng.choice(GIVEN) for _ in range(self.rng.choice((1, 2, 2)))
            )
            name = surname + given
            if (name, birth) not in self.name_births:
                self.name_births.add((name, birth))
                return name

    def bank_account(self) -> str:
        """A new 19-digit debit-card number."""
        while True:
            number = f"6217{self.rng.randrange(10**15):015d}"
            if number not in self.accounts:
                self.accounts.add(number)
                return number


def birth_for(rng: random.Random, stage: Stage, grade: int) -> date:
    """A birth date that makes a pupil of ``grade`` a usual age for ``stage``."""
    base = {Stage.KINDERGARTEN: 2, Stage.SPECIAL_EDUCATION: 6}.get(stage, 5)
    age = base + grade + (1 if rng.random() < 0.1 else 0)
    latest = date(YEAR - age, 8, 31)  # turns ``age`` by 1 September
    return latest - timedelta(days=rng.randrange(0, 365))


def populate(
    scale: Scale,
    counties: list[tuple[str, str]],
    rng: random.Random,
    identities: Identities,
) -> list[CountyPeople]:
    """The schools and beneficiaries of every county of the scale."""
    weights = county_weights(rng, len(counties))
    beneficiaries = split(scale.beneficiaries, weights)
    schools = school_counts(scale, weights)
    result = []
    for (code, name), count, per_stage in zip(
        counties, beneficiaries, schools, strict=True
    ):
        # A county without a school of some stage has no pupils at that stage.
        stages = [stage for stage in STAGE_SHARES if per_stage.get(stage, 0) > 0]
        shares = [STAGE_SHARES[stage] for stage in stages]
        county = CountyPeople(code, name, _schools(rng, code, name, per_stage))
        number = 0
        while len(county.persons) < count:
            number += 1
            children = min(rng.choice((1, 1, 1, 2, 2, 3)), count - len(county.persons))
            household = f"{code}-H{number:06d}"
            surname = rng.choice(SURNAMES)
            account = identities.bank_account()
            listed = date(2016, 1, 1) + timedelta(days=rng.randrange(0, 3650))
            for _ in range(children):
                stage = rng.choices(stages, shares)[0]
                county.persons.append(
                    _child(
                        rng,
                        identities,
                        county=county,
                        stage=stage,
                        household=household,
                        surname=surname,
                    )
                )
                county.persons[-1].bank_account = account
                county.persons[-1].listed_on = min(
                    max(listed, county.persons[-1].birth + timedelta(days=30)),
                    LISTED_BY,
                )
        result.append(county)
    return result


def _child(
    rng: random.Random,
    identities: Identities,
    *,
    county: CountyPeople,
    stage: Stage,
    household: str,
    surname: str,
) -> Person:
    """A child of a household; its account and listing date are the household's."""
    low, high = GRADES[stage]
    grade = rng.randint(low, high)
    birth = birth_for(rng, stage, grade)
    boarding = rng.random() < BOARDING_SHARES[stage]
    choices = county.schools_of(stage, boarding=boarding) or county.schools_of(stage)
    school = rng.choice(choices)
    return Person(
        county.code,
        household,
        identities.name(surname, birth),
        birth,
        identities.resident_id(county.code, birth, rng.random() < 0.5),
        stage,
        grade,
        school.code,
        boarding and school.boarding,
        bank_account="",
        listed_on=LISTED_BY,
    )


def _schools(
    rng: random.Random, code: str, county_name: str, per_stage: dict[Stage, int]
) -> list[SchoolPlan]:
    schools: list[SchoolPlan] = []
    for stage in STAGE_SHARES:
        for n in range(1, per_stage.get(stage, 0) + 1):
            boarding = stage in BOARDING_SCHOOLS or (
                stage is Stage.PRIMARY
                and (n == 1 or rng.random() < PRIMARY_BOARDING_SHARE)
            )
            schools.append(
                SchoolPlan(
                    f"{code}S{len(schools) + 1:04d}",
                    county_name + SCHOOL_NAMES[stage].format(n=n),
                    stage,
                    boarding,
                )
            )
    return schools
