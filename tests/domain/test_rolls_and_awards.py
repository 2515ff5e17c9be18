"""A county's rolls, and the policy's rules for paying one person, as pure logic.

The rolls accept well-formed listings and statuses and refuse anything else
without changing or recording anything; rebuilt from their events they equal
the live rolls. A payment to a person is allowed only under a programme of the
packaged policy, to someone on the student-status roll at a stage the programme
covers (boarding where it pays boarders), on the registered-poor roll where it
requires that, and within the programme's per-term rate or above its floor.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.awards import check_person_payment
from domain.errors import (
    AboveRate,
    BelowFloor,
    DomainError,
    IneligibleStage,
    InvalidAmount,
    InvalidReference,
    NotBoarding,
    NotOnRoll,
    RateNotConfigured,
    UnknownProgramme,
)
from domain.policy import Policy, load_policy
from domain.rolls import CountyRolls
from domain.units import Stage

COUNTY = "422822"  # 建始县
SCHOOL = f"{COUNTY}S0001"
RECORDER = "officer:recorder"
YEAR = 2026
HS_GRANT_TERM_FEN = 125_000  # 2,500 yuan a year, paid in two terms
VOC_POOR_EXTRA_TERM_FEN = 150_000  # at least 3,000 yuan a year, two terms


def person(name: str) -> str:
    """A person_ref: the shape of an HMAC-SHA256 pseudonym."""
    return hashlib.sha256(name.encode()).hexdigest()


# Pupils of the county: who they are on the rolls.
HIGH_SCHOOL_POOR = person("high school, day pupil, registered poor")
HIGH_SCHOOL_NOT_POOR = person("high school, day pupil, not registered poor")
PRIMARY_DAY_POOR = person("primary, day pupil, registered poor")
VOCATIONAL_POOR = person("secondary vocational, registered poor")
POOR_NOT_AT_SCHOOL = person("registered poor, on no student roll")
STRANGER = person("on no roll at all")


def _rolls() -> CountyRolls:
    """The county's rolls with the pupils above, and no pending events."""
    rolls = CountyRolls.start(COUNTY, actor=RECORDER)
    for ref in (
        HIGH_SCHOOL_POOR,
        PRIMARY_DAY_POOR,
        VOCATIONAL_POOR,
        POOR_NOT_AT_SCHOOL,
    ):
        rolls.list_poor(
            person_ref=ref,
            household_ref=f"household-{ref[:8]}",
            listed_on="2016-03-01",
            actor=RECORDER,
        )
    for ref, stage, grade, boarding in (
        (HIGH_SCHOOL_POOR, Stage.HIGH_SCHOOL, 10, False),
        (HIGH_SCHOOL_NOT_POOR, Stage.HIGH_SCHOOL, 11, False),
        (PRIMARY_DAY_POOR, Stage.PRIMARY, 3, False),
        (VOCATIONAL_POOR, Stage.SECONDARY_VOCATIONAL, 10, False),
    ):
        rolls.record_status(
            person_ref=ref,
            school=SCHOOL,
            stage=stage.value,
            grade=grade,
            boarding=boarding,
            year=YEAR,
            actor=RECORDER,
        )
    rolls.collect_events()
    return rolls


def _state(rolls: CountyRolls) -> Any:
    return copy.deepcopy((rolls.poor, rolls.students, rolls.erased))


def _refused(
    rolls: CountyRolls, error: type[DomainError], command: Callable[[], object]
) -> Any:
    """Run ``command``, expect ``error``, and check that nothing changed."""
    rolls.collect_events()
    before = _state(rolls)
    with pytest.raises(error) as raised:
        command()
    assert _state(rolls) == before
    assert rolls.collect_events() == []
    return raised.value


# The rolls ---------------------------------------------------------------------------


def test_listing_delisting_and_recording_status() -> None:
    rolls = _rolls()
    ref = person("newcomer")
    rolls.list_poor(
        person_ref=ref, household_ref="h-1", listed_on="2017-01-05", actor=RECORDER
    )
    rolls.record_status(
        person_ref=ref,
        school=SCHOOL,
        stage="junior_secondary",
        grade=7,
        boarding=True,
        year=YEAR,
        actor=RECORDER,
    )
    assert rolls.poor[ref] == "h-1"
    status = rolls.students[ref]
    assert (status.stage, status.grade, status.boarding) == (
        Stage.JUNIOR_SECONDARY,
        7,
        True,
    )
    rolls.delist_poor(person_ref=ref, reason="household left poverty", actor=RECORDER)
    assert ref not in rolls.poor
    assert ref in rolls.students  # leaving poverty is not leaving school
    assert len(rolls.collect_events()) == 3


def test_listing_someone_already_listed_records_nothing() -> None:
    rolls = _rolls()
    rolls.collect_events()
    household = f"household-{HIGH_SCHOOL_POOR[:8]}"
    rolls.list_poor(
        person_ref=HIGH_SCHOOL_POOR,
        household_ref=household,
        listed_on="2018-01-01",
        actor=RECORDER,
    )
    assert rolls.collect_events() == []
    with pytest.raises(InvalidReference, match="already on the roll"):
        rolls.list_poor(
            person_ref=HIGH_SCHOOL_POOR,
            household_ref="another-household",
            listed_on="2018-01-01",
            actor=RECORDER,
        )
    assert rolls.collect_events() == []
    assert rolls.poor[HIGH_SCHOOL_POOR] == household


def test_a_new_status_replaces_the_old_one() -> None:
    rolls = _rolls()
    rolls.record_status(
        person_ref=PRIMARY_DAY_POOR,
        school=SCHOOL,
        stage="primary",
        grade=4,
        boarding=True,
        year=YEAR + 1,
        actor=RECORDER,
    )
    assert rolls.students[PRIMARY_DAY_POOR].boarding
    assert rolls.students[PRIMARY_DAY_POOR].year == YEAR + 1


def test_erasure_keeps_the_pseudonym_on_the_rolls() -> None:
    rolls = _rolls()
    rolls.erase_personal_data(
        person_ref=HIGH_SCHOOL_POOR, reason="PIPL request", actor=RECORDER
    )
    assert HIGH_SCHOOL_POOR in rolls.erased
    assert HIGH_SCHOOL_POOR in rolls.poor
    assert HIGH_SCHOOL_POOR in rolls.students


LISTING: dict[str, Any] = {
    "person_ref": person("someone"),
    "household_ref": "h-2",
    "listed_on": "2016-03-01",
}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("person_ref", "", id="empty-person"),
        pytest.param("person_ref", person("x").upper(), id="person-upper-case"),
        pytest.param("person_ref", person("x")[:63], id="person-too-short"),
        pytest.param("person_ref", "42282219900101123X", id="resident-id-number"),
        pytest.param("household_ref", " ", id="blank-household"),
        pytest.param("listed_on", "2016-3-1", id="short-date"),
        pytest.param("listed_on", 20160301, id="date-as-number"),
    ],
)
def test_bad_listings_are_refused(field: str, value: object) -> None:
    rolls = _rolls()
    arguments = {**LISTING, field: value}
    error = _refused(
        rolls, InvalidReference, lambda: rolls.list_poor(**arguments, actor=RECORDER)
    )
    assert (error.field, error.value) == (field, value)


@pytest.mark.parametrize(
    ("ref", "reason", "field"),
    [
        pytest.param(STRANGER, "left poverty", "person_ref", id="not-on-the-roll"),
        pytest.param(HIGH_SCHOOL_POOR, "", "reason", id="empty-reason"),
        pytest.param("nobody", "left poverty", "person_ref", id="malformed-person"),
    ],
)
def test_bad_delistings_are_refused(ref: str, reason: str, field: str) -> None:
    rolls = _rolls()
    error = _refused(
        rolls,
        InvalidReference,
        lambda: rolls.delist_poor(person_ref=ref, reason=reason, actor=RECORDER),
    )
    assert error.field == field


STATUS: dict[str, Any] = {
    "person_ref": person("pupil"),
    "school": SCHOOL,
    "stage": "primary",
    "grade": 2,
    "boarding": False,
    "year": YEAR,
}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("person_ref", "pupil", id="malformed-person"),
        pytest.param("school", "422823S0001", id="school-of-another-county"),
        pytest.param("school", None, id="no-school"),
        pytest.param("stage", "university", id="unknown-stage"),
        pytest.param("grade", 0, id="grade-zero"),
        pytest.param("grade", 13, id="grade-thirteen"),
        pytest.param("grade", True, id="grade-boolean"),
        pytest.param("grade", "2", id="grade-text"),
        pytest.param("boarding", "yes", id="boarding-text"),
        pytest.param("boarding", 1, id="boarding-number"),
        pytest.param("year", 1999, id="year-too-early"),
        pytest.param("year", 2101, id="year-too-late"),
        pytest.param("year", False, id="year-boolean"),
    ],
)
def test_bad_statuses_are_refused(field: str, value: object) -> None:
    rolls = _rolls()
    arguments = {**STATUS, field: value}
    error = _refused(
        rolls,
        InvalidReference,
        lambda: rolls.record_status(**arguments, actor=RECORDER),
    )
    assert (error.field, error.value) == (field, value)


@pytest.mark.parametrize(
    ("ref", "reason", "field"),
    [
        pytest.param(HIGH_SCHOOL_POOR, " ", "reason", id="blank-reason"),
        pytest.param("X" * 64, "PIPL request", "person_ref", id="malformed-person"),
    ],
)
def test_bad_erasures_are_refused(ref: str, reason: str, field: str) -> None:
    rolls = _rolls()
    error = _refused(
        rolls,
        InvalidReference,
        lambda: rolls.erase_personal_data(
            person_ref=ref, reason=reason, actor=RECORDER
        ),
    )
    assert error.field == field


def test_one_pair_of_rolls_per_county() -> None:
    assert CountyRolls.create_id(COUNTY) == _rolls().id
    assert CountyRolls.create_id("422823") != _rolls().id


PEOPLE = [person(f"p{number}") for number in range(4)]
roll_operations = st.one_of(
    st.tuples(st.just("list"), st.sampled_from(PEOPLE), st.sampled_from(["h", " "])),
    st.tuples(st.just("delist"), st.sampled_from(PEOPLE), st.sampled_from(["r", ""])),
    st.tuples(
        st.just("status"),
        st.sampled_from(PEOPLE),
        st.sampled_from([stage.value for stage in Stage] + ["university"]),
        st.integers(min_value=0, max_value=13),
        st.booleans(),
    ),
    st.tuples(st.just("erase"), st.sampled_from(PEOPLE), st.sampled_from(["r", ""])),
)


def _apply(rolls: CountyRolls, operation: tuple[Any, ...]) -> None:
    kind, ref = operation[0], operation[1]
    if kind == "list":
        rolls.list_poor(
            person_ref=ref,
            household_ref=operation[2],
            listed_on="2016-03-01",
            actor=RECORDER,
        )
    elif kind == "delist":
        rolls.delist_poor(person_ref=ref, reason=operation[2], actor=RECORDER)
    elif kind == "status":
        _, _, stage, grade, boarding = operation
        rolls.record_status(
            person_ref=ref,
            school=SCHOOL,
            stage=stage,
            grade=grade,
            boarding=boarding,
            year=YEAR,
            actor=RECORDER,
        )
    else:
        rolls.erase_personal_data(person_ref=ref, reason=operation[2], actor=RECORDER)


@settings(max_examples=100, deadline=None)
@given(st.lists(roll_operations, max_size=25))
def test_the_rolls_rebuilt_from_their_events_equal_the_live_ones(
    history: list[tuple[Any, ...]],
) -> None:
    rolls = CountyRolls.start(COUNTY, actor=RECORDER)
    events: list[Any] = list(rolls.collect_events())
    for operation in history:
        before = _state(rolls)
        try:
            _apply(rolls, operation)
        except DomainError:
            assert _state(rolls) == before
            assert rolls.collect_events() == []
        else:
            events.extend(rolls.collect_events())

    rebuilt: Any = None
    for domain_event in events:
        rebuilt = domain_event.mutate(rebuilt)
    assert isinstance(rebuilt, CountyRolls)
    assert _state(rebuilt) == _state(rolls)


# Paying a person under the packaged policy -----------------------------------------


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy()


def _check(
    policy: Policy,
    programme: str,
    ref: str,
    amount_fen: int,
    rolls: CountyRolls | None = None,
) -> None:
    check_person_payment(
        policy,
        _rolls() if rolls is None else rolls,
        programme=programme,
        person_ref=ref,
        amount_fen=amount_fen,
    )


@pytest.mark.parametrize(
    ("programme", "ref", "amount"),
    [
        pytest.param(
            "HS_GRANT", HIGH_SCHOOL_POOR, HS_GRANT_TERM_FEN, id="hs-full-rate"
        ),
        pytest.param("HS_GRANT", HIGH_SCHOOL_POOR, 1, id="hs-one-fen"),
        pytest.param(
            "VOC_POOR_EXTRA",
            VOCATIONAL_POOR,
            VOC_POOR_EXTRA_TERM_FEN,
            id="voc-extra-at-floor",
        ),
        pytest.param(
            "VOC_POOR_EXTRA", VOCATIONAL_POOR, 1_000_000, id="voc-extra-above-floor"
        ),
        pytest.param("SV_GRANT", VOCATIONAL_POOR, 100_000, id="sv-grant-full-rate"),
        pytest.param("HARDSHIP", HIGH_SCHOOL_NOT_POOR, 7_777_777, id="hardship-any"),
    ],
)
def test_allowed_payments(
    policy: Policy, programme: str, ref: str, amount: int
) -> None:
    _check(policy, programme, ref, amount)


def test_above_the_high_school_grant_is_refused(policy: Policy) -> None:
    with pytest.raises(AboveRate) as raised:
        _check(policy, "HS_GRANT", HIGH_SCHOOL_POOR, HS_GRANT_TERM_FEN + 1)
    assert (raised.value.code, raised.value.amount, raised.value.rate) == (
        "HS_GRANT",
        HS_GRANT_TERM_FEN + 1,
        HS_GRANT_TERM_FEN,
    )


@settings(max_examples=50, deadline=None)
@given(amount=st.integers(min_value=-(10**6), max_value=10**7))
def test_the_high_school_grant_holds_exactly_its_rate(amount: int) -> None:
    policy = load_policy()
    rolls = _rolls()
    if amount <= 0:
        expected: type[DomainError] | None = InvalidAmount
    elif amount > HS_GRANT_TERM_FEN:
        expected = AboveRate
    else:
        expected = None
    if expected is None:
        _check(policy, "HS_GRANT", HIGH_SCHOOL_POOR, amount, rolls)
    else:
        with pytest.raises(expected):
            _check(policy, "HS_GRANT", HIGH_SCHOOL_POOR, amount, rolls)


@pytest.mark.parametrize(
    ("programme", "ref", "amount", "expected"),
    [
        pytest.param(
            "BOARD_JUN",
            HIGH_SCHOOL_POOR,
            62_500,
            (IneligibleStage, {"code": "BOARD_JUN", "stage": Stage.HIGH_SCHOOL}),
            id="junior-boarding-for-high-school",
        ),
        pytest.param(
            "BOARD_PRI",
            PRIMARY_DAY_POOR,
            50_000,
            (NotBoarding, {"code": "BOARD_PRI"}),
            id="boarding-subsidy-for-day-pupil",
        ),
        pytest.param(
            "HS_GRANT",
            STRANGER,
            100,
            (NotOnRoll, {"person_ref": STRANGER, "roll": "student-status"}),
            id="not-on-any-roll",
        ),
        pytest.param(
            "HS_GRANT",
            POOR_NOT_AT_SCHOOL,
            100,
            (NotOnRoll, {"roll": "student-status"}),
            id="poor-but-not-at-school",
        ),
        pytest.param(
            "HS_GRANT",
            HIGH_SCHOOL_NOT_POOR,
            100,
            (
                NotOnRoll,
                {"person_ref": HIGH_SCHOOL_NOT_POOR, "roll": "registered-poor"},
            ),
            id="grant-for-the-registered-poor-to-someone-else",
        ),
        pytest.param(
            "VOC_POOR_EXTRA",
            VOCATIONAL_POOR,
            VOC_POOR_EXTRA_TERM_FEN - 1,
            (
                BelowFloor,
                {
                    "amount": VOC_POOR_EXTRA_TERM_FEN - 1,
                    "floor": VOC_POOR_EXTRA_TERM_FEN,
                },
            ),
            id="vocational-extra-below-floor",
        ),
        pytest.param(
            "SCHOLARSHIP",
            HIGH_SCHOOL_POOR,
            100,
            (UnknownProgramme, {"code": "SCHOLARSHIP"}),
            id="unknown-programme",
        ),
        pytest.param(
            "SCHOLARSHIP",
            STRANGER,
            100,
            (UnknownProgramme, {"code": "SCHOLARSHIP"}),
            id="unknown-programme-before-rolls",
        ),
        pytest.param(
            "HS_GRANT",
            HIGH_SCHOOL_POOR,
            0,
            (InvalidAmount, {"amount": 0}),
            id="zero",
        ),
        pytest.param(
            "HS_GRANT",
            HIGH_SCHOOL_POOR,
            -125_000,
            (InvalidAmount, {"amount": -125_000}),
            id="negative",
        ),
        pytest.param(
            "NUTRITION",
            PRIMARY_DAY_POOR,
            100,
            (RateNotConfigured, {"code": "NUTRITION"}),
            id="nutrition-without-configured-rate",
        ),
    ],
)
def test_refused_payments(
    policy: Policy,
    programme: str,
    ref: str,
    amount: int,
    expected: tuple[type[DomainError], dict[str, object]],
) -> None:
    error, attributes = expected
    with pytest.raises(error) as raised:
        _check(policy, programme, ref, amount)
    for name, value in attributes.items():
        assert getattr(raised.value, name) == value


def test_no_rolls_at_all_means_not_on_the_roll(policy: Policy) -> None:
    with pytest.raises(NotOnRoll) as raised:
        check_person_payment(
            policy,
            None,
            programme="HARDSHIP",
            person_ref=HIGH_SCHOOL_POOR,
            amount_fen=100,
        )
    assert raised.value.roll == "student-status"


def test_a_delisted_pupil_loses_the_grant(policy: Policy) -> None:
    rolls = _rolls()
    rolls.delist_poor(
        person_ref=HIGH_SCHOOL_POOR, reason="household left poverty", actor=RECORDER
    )
    with pytest.raises(NotOnRoll) as raised:
        _check(policy, "HS_GRANT", HIGH_SCHOOL_POOR, 100, rolls)
    assert raised.value.roll == "registered-poor"
    _check(policy, "HARDSHIP", HIGH_SCHOOL_POOR, 100, rolls)


def test_a_pupil_who_starts_boarding_may_get_the_boarding_subsidy(
    policy: Policy,
) -> None:
    rolls = _rolls()
    rolls.record_status(
        person_ref=PRIMARY_DAY_POOR,
        school=SCHOOL,
        stage="primary",
        grade=3,
        boarding=True,
        year=YEAR,
        actor=RECORDER,
    )
    _check(policy, "BOARD_PRI", PRIMARY_DAY_POOR, 50_000, rolls)
    with pytest.raises(AboveRate):
        _check(policy, "BOARD_PRI", PRIMARY_DAY_POOR, 50_001, rolls)


def test_nutrition_pays_the_configured_rate() -> None:
    policy = load_policy(configured_rates={"NUTRITION": 80_000})
    _check(policy, "NUTRITION", PRIMARY_DAY_POOR, 40_000)
    with pytest.raises(AboveRate):
        _check(policy, "NUTRITION", PRIMARY_DAY_POOR, 40_001)
    with pytest.raises(IneligibleStage):
        _check(policy, "NUTRITION", HIGH_SCHOOL_POOR, 100)
