"""The policy table: the plan's rates as data, award checks, stacking, strict loads."""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import (
    AboveRate,
    BelowFloor,
    ConfiguredRateInvalid,
    DomainError,
    IneligibleStage,
    InvalidAmount,
    InvalidTermCount,
    NotBoarding,
    NotRegisteredPoor,
    NotRural,
    PolicyFileInvalid,
    RateNotConfigured,
    UnknownPolicyProject,
    UnknownProgramme,
)
from domain.policy import (
    DEFAULT_POLICY,
    Policy,
    RateKind,
    load_policy,
    load_policy_file,
)
from domain.units import Stage

NUTRITION_FEN = 80_000  # a deployment's yearly nutrition rate, for the tests only
POLICY = load_policy(configured_rates={"NUTRITION": NUTRITION_FEN})
CODES = [programme.code for programme in POLICY.programmes]


def _packaged_document() -> dict[str, Any]:
    data = resources.files("domain").joinpath("data", DEFAULT_POLICY)
    document: dict[str, Any] = json.loads(data.read_bytes())
    return document


# --- the table holds design.md §5 -------------------------------------------------


@pytest.mark.parametrize(
    ("code", "annual_fen", "kind"),
    [
        pytest.param("PRE_LIVING", 100_000, RateKind.FIXED, id="PRE_LIVING"),
        pytest.param("BOARD_PRI", 100_000, RateKind.FIXED, id="BOARD_PRI"),
        pytest.param("BOARD_JUN", 125_000, RateKind.FIXED, id="BOARD_JUN"),
        pytest.param("HS_GRANT", 250_000, RateKind.FIXED, id="HS_GRANT"),
        pytest.param("SV_GRANT", 200_000, RateKind.FIXED, id="SV_GRANT"),
        pytest.param("VOC_POOR_EXTRA", 300_000, RateKind.FLOOR, id="VOC_POOR_EXTRA"),
        pytest.param("HARDSHIP", None, RateKind.DISCRETIONARY, id="HARDSHIP"),
        pytest.param("NUTRITION", NUTRITION_FEN, RateKind.CONFIGURED, id="NUTRITION"),
    ],
)
def test_every_design_programme_has_its_rate(
    code: str, annual_fen: int | None, kind: RateKind
) -> None:
    programme = POLICY.programme(code)

    assert programme.annual_fen == annual_fen
    assert programme.kind is kind
    assert programme.notes  # each cites the plan


def test_the_table_names_its_version_and_source() -> None:
    assert POLICY.version == "hubei-2016.1"
    assert POLICY.source == "湖北省精准扶贫实施方案"
    assert len(POLICY.programmes) == 8


@pytest.mark.parametrize(
    ("code", "term_fen"),
    [
        pytest.param("PRE_LIVING", 50_000, id="PRE_LIVING"),
        pytest.param("BOARD_PRI", 50_000, id="BOARD_PRI"),
        pytest.param("BOARD_JUN", 62_500, id="BOARD_JUN"),
        pytest.param("HS_GRANT", 125_000, id="HS_GRANT"),
        pytest.param("SV_GRANT", 100_000, id="SV_GRANT"),
        pytest.param("VOC_POOR_EXTRA", 150_000, id="VOC_POOR_EXTRA"),
        pytest.param("HARDSHIP", None, id="HARDSHIP"),
        pytest.param("NUTRITION", NUTRITION_FEN // 2, id="NUTRITION"),
    ],
)
def test_term_amounts_split_the_yearly_rate(code: str, term_fen: int | None) -> None:
    assert POLICY.term_amount(code) == term_fen


def test_an_unconfigured_rate_has_no_term_amount_and_refuses_awards() -> None:
    policy = load_policy()

    assert policy.term_amount("NUTRITION") is None
    with pytest.raises(RateNotConfigured) as raised:
        policy.check_award(
            "NUTRITION",
            Stage.PRIMARY,
            boarding=False,
            registered_poor=False,
            amount_fen=100,
        )
    assert raised.value.code == "NUTRITION"


def test_boarding_programmes_are_for_boarders_and_voc_extra_for_rural_poor() -> None:
    assert POLICY.programme("BOARD_PRI").requires_boarding
    assert POLICY.programme("BOARD_JUN").requires_boarding
    voc = POLICY.programme("VOC_POOR_EXTRA")
    assert voc.rural_only
    assert voc.requires_registered_poor
    assert voc.stages == {Stage.SECONDARY_VOCATIONAL}


def test_the_plans_project_targets_are_present() -> None:
    targets = {project.code: project for project in POLICY.projects}

    assert targets["SCHOOL_RENOVATION"].target == 3861
    assert targets["KINDERGARTEN_BUILDING"].target == 945
    assert (
        sum(step.count for step in targets["KINDERGARTEN_BUILDING"].milestones) == 945
    )
    assert targets["VOCATIONAL_SCHOOL"].target == 34
    assert targets["VOCATIONAL_SCHOOL"].funding_fen == 10_000_000 * 100
    assert targets["RESOURCE_ROOMS"].target == 40
    assert targets["SPECIAL_SCHOOL_FUNDING"].funding_fen == 6_000 * 100
    assert targets["SPECIAL_SCHOOL_FUNDING"].funding_per == "student-year"
    assert targets["TEACHER_TRAINING"].target == 263_000
    high_schools = targets["HIGH_SCHOOL_RENOVATION"]
    assert (high_schools.target, high_schools.per_year, high_schools.approximate) == (
        16,
        True,
        True,
    )


def test_an_unknown_project_is_refused() -> None:
    with pytest.raises(UnknownPolicyProject) as raised:
        POLICY.project("STADIUMS")

    assert raised.value.code == "STADIUMS"


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda policy: policy.programme("BOARD_SEN"), id="programme"),
        pytest.param(lambda policy: policy.term_amount("BOARD_SEN"), id="term-amount"),
        pytest.param(
            lambda policy: policy.may_stack("BOARD_SEN", "HARDSHIP"), id="may-stack"
        ),
        pytest.param(
            lambda policy: policy.check_award(
                "BOARD_SEN",
                Stage.HIGH_SCHOOL,
                boarding=True,
                registered_poor=True,
                amount_fen=1,
            ),
            id="check-award",
        ),
    ],
)
def test_an_unknown_programme_is_refused(call: Callable[[Policy], object]) -> None:
    with pytest.raises(UnknownProgramme) as raised:
        call(POLICY)

    assert raised.value.code == "BOARD_SEN"


# --- stacking -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second", "allowed"),
    [
        pytest.param("VOC_POOR_EXTRA", "SV_GRANT", True, id="voc-extra+sv-grant"),
        pytest.param("HS_GRANT", "SV_GRANT", False, id="hs-grant+sv-grant"),
        pytest.param("BOARD_PRI", "BOARD_JUN", False, id="board-pri+board-jun"),
        pytest.param("PRE_LIVING", "BOARD_PRI", False, id="pre-living+board-pri"),
        pytest.param("HS_GRANT", "VOC_POOR_EXTRA", False, id="hs-grant+voc-extra"),
        pytest.param("NUTRITION", "BOARD_JUN", True, id="nutrition+board-jun"),
    ],
)
def test_stacking_pairs(first: str, second: str, allowed: bool) -> None:
    assert POLICY.may_stack(first, second) is allowed


@pytest.mark.parametrize("other", [code for code in CODES if code != "HARDSHIP"])
def test_hardship_stacks_with_every_other_programme(other: str) -> None:
    assert POLICY.may_stack("HARDSHIP", other)


@pytest.mark.parametrize(
    "other", [code for code in CODES if code not in {"HARDSHIP", "PRE_LIVING"}]
)
def test_pre_living_stacks_only_with_hardship(other: str) -> None:
    assert not POLICY.may_stack("PRE_LIVING", other)


@given(st.sampled_from(CODES), st.sampled_from(CODES))
def test_stacking_is_symmetric_and_never_reflexive(first: str, second: str) -> None:
    assert POLICY.may_stack(first, second) == POLICY.may_stack(second, first)
    if first == second:
        assert not POLICY.may_stack(first, second)


# --- award checks ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "stage", "amount_fen", "terms"),
    [
        pytest.param("BOARD_JUN", Stage.JUNIOR_SECONDARY, 62_500, 1, id="board-jun"),
        pytest.param("BOARD_JUN", Stage.JUNIOR_SECONDARY, 125_000, 2, id="two-terms"),
        pytest.param("BOARD_PRI", Stage.TEACHING_POINT, 50_000, 1, id="teaching-pt"),
        pytest.param(
            "VOC_POOR_EXTRA", Stage.SECONDARY_VOCATIONAL, 150_000, 1, id="voc-floor"
        ),
        pytest.param(
            "VOC_POOR_EXTRA", Stage.SECONDARY_VOCATIONAL, 400_000, 1, id="voc-above"
        ),
        pytest.param(
            "HARDSHIP", Stage.SPECIAL_EDUCATION, 9_999_999, 1, id="hardship-any"
        ),
        pytest.param("NUTRITION", Stage.PRIMARY, 40_000, 1, id="nutrition"),
    ],
)
def test_awards_within_the_rules_pass(
    code: str, stage: Stage, amount_fen: int, terms: int
) -> None:
    POLICY.check_award(
        code,
        stage,
        boarding=True,
        registered_poor=True,
        amount_fen=amount_fen,
        terms=terms,
        rural=True,
    )


def _award(
    code: str,
    stage: Stage = Stage.JUNIOR_SECONDARY,
    *,
    boarding: bool = True,
    registered_poor: bool = True,
    amount_fen: object = 1,
    terms: object = 1,
    rural: bool | None = True,
) -> Callable[[], None]:
    def check() -> None:
        POLICY.check_award(
            code,
            stage,
            boarding=boarding,
            registered_poor=registered_poor,
            amount_fen=amount_fen,  # type: ignore[arg-type]
            terms=terms,  # type: ignore[arg-type]
            rural=rural,
        )

    return check


@pytest.mark.parametrize(
    ("award", "error", "values"),
    [
        pytest.param(
            _award("HS_GRANT", Stage.SECONDARY_VOCATIONAL),
            IneligibleStage,
            {"code": "HS_GRANT", "stage": Stage.SECONDARY_VOCATIONAL},
            id="ineligible-stage",
        ),
        pytest.param(
            _award("BOARD_JUN", boarding=False),
            NotBoarding,
            {"code": "BOARD_JUN"},
            id="day-pupil",
        ),
        pytest.param(
            _award("BOARD_JUN", registered_poor=False),
            NotRegisteredPoor,
            {"code": "BOARD_JUN"},
            id="not-registered-poor",
        ),
        pytest.param(
            _award("VOC_POOR_EXTRA", Stage.SECONDARY_VOCATIONAL, rural=False),
            NotRural,
            {"code": "VOC_POOR_EXTRA"},
            id="not-rural",
        ),
        pytest.param(
            _award("BOARD_JUN", amount_fen=62_501),
            AboveRate,
            {"code": "BOARD_JUN", "amount": 62_501, "rate": 62_500},
            id="above-rate",
        ),
        pytest.param(
            _award("BOARD_JUN", amount_fen=125_001, terms=2),
            AboveRate,
            {"code": "BOARD_JUN", "amount": 125_001, "rate": 125_000},
            id="above-rate-two-terms",
        ),
        pytest.param(
            _award("BOARD_JUN", amount_fen=125_000),
            AboveRate,
            {"code": "BOARD_JUN", "amount": 125_000, "rate": 62_500},
            id="yearly-rate-in-one-term",
        ),
        pytest.param(
            _award("VOC_POOR_EXTRA", Stage.SECONDARY_VOCATIONAL, amount_fen=149_999),
            BelowFloor,
            {"code": "VOC_POOR_EXTRA", "amount": 149_999, "floor": 150_000},
            id="below-floor",
        ),
        pytest.param(
            _award(
                "VOC_POOR_EXTRA",
                Stage.SECONDARY_VOCATIONAL,
                amount_fen=150_000,
                terms=2,
            ),
            BelowFloor,
            {"code": "VOC_POOR_EXTRA", "amount": 150_000, "floor": 300_000},
            id="below-yearly-floor",
        ),
        pytest.param(
            _award("NUTRITION", Stage.PRIMARY, amount_fen=40_001),
            AboveRate,
            {"code": "NUTRITION", "amount": 40_001, "rate": 40_000},
            id="above-configured-rate",
        ),
        pytest.param(
            _award("BOARD_JUN", amount_fen=0),
            InvalidAmount,
            {"amount": 0},
            id="zero-amount",
        ),
        pytest.param(
            _award("BOARD_JUN", amount_fen=625.0),
            InvalidAmount,
            {"amount": 625.0},
            id="float-amount",
        ),
        pytest.param(
            _award("BOARD_JUN", amount_fen=True),
            InvalidAmount,
            {"amount": True},
            id="boolean-amount",
        ),
        pytest.param(
            _award("BOARD_JUN", terms=0),
            InvalidTermCount,
            {"terms": 0},
            id="zero-terms",
        ),
    ],
)
def test_awards_breaking_a_rule_are_refused_with_the_values(
    award: Callable[[], None], error: type[DomainError], values: dict[str, object]
) -> None:
    with pytest.raises(error) as raised:
        award()

    for name, value in values.items():
        assert getattr(raised.value, name) == value


def test_rural_is_not_checked_when_not_given() -> None:
    _award(
        "VOC_POOR_EXTRA", Stage.SECONDARY_VOCATIONAL, amount_fen=150_000, rural=None
    )()


@given(
    code=st.sampled_from(["PRE_LIVING", "BOARD_PRI", "BOARD_JUN", "HS_GRANT"]),
    terms=st.integers(1, 6),
    data=st.data(),
)
def test_fixed_rates_allow_up_to_the_rate_and_not_a_fen_more(
    code: str, terms: int, data: st.DataObject
) -> None:
    programme = POLICY.programme(code)
    stage = min(programme.stages)
    term_fen = POLICY.term_amount(code)
    assert term_fen is not None
    limit = term_fen * terms
    amount = data.draw(st.integers(1, limit))

    _award(code, stage, amount_fen=amount, terms=terms)()
    with pytest.raises(AboveRate):
        _award(code, stage, amount_fen=limit + 1, terms=terms)()


@given(terms=st.integers(1, 6), shortfall=st.integers(1, 10**6))
def test_the_vocational_floor_refuses_any_shortfall(terms: int, shortfall: int) -> None:
    floor = 150_000 * terms
    stage = Stage.SECONDARY_VOCATIONAL

    _award("VOC_POOR_EXTRA", stage, amount_fen=floor, terms=terms)()
    if shortfall < floor:
        with pytest.raises(BelowFloor):
            _award("VOC_POOR_EXTRA", stage, amount_fen=floor - shortfall, terms=terms)()


# --- configured rates -----------------------------------------------------------


@pytest.mark.parametrize(
    ("rates", "code"),
    [
        pytest.param({"MILK": 100}, "MILK", id="unknown-programme"),
        pytest.param({"HS_GRANT": 100}, "HS_GRANT", id="not-a-configured-programme"),
        pytest.param({"NUTRITION": -2}, "NUTRITION", id="negative"),
        pytest.param({"NUTRITION": 800.0}, "NUTRITION", id="float"),
        pytest.param({"NUTRITION": 80_001}, "NUTRITION", id="uneven-split"),
    ],
)
def test_bad_configured_rates_are_refused(rates: dict[str, int], code: str) -> None:
    with pytest.raises(ConfiguredRateInvalid) as raised:
        load_policy(configured_rates=rates)

    assert raised.value.code == code
    assert raised.value.value == rates[code]


# --- broken policy files --------------------------------------------------------

Mutation = Callable[[dict[str, Any]], None]


def _programme(document: dict[str, Any], code: str) -> dict[str, Any]:
    found: dict[str, Any] = next(
        entry for entry in document["programmes"] if entry["code"] == code
    )
    return found


def _set(code: str, key: str, value: object) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        _programme(document, code)[key] = value

    return mutate


def _drop(code: str, key: str) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        del _programme(document, code)[key]

    return mutate


def _add_pair(first: str, second: str) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        pair = {"programmes": [first, second], "notes": "test"}
        document["stacking"]["allowed"].append(pair)

    return mutate


def _top(key: str, value: object) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        document[key] = value

    return mutate


def _repeat_programme(document: dict[str, Any]) -> None:
    document["programmes"].append(dict(_programme(document, "HS_GRANT")))


def _drop_top(document: dict[str, Any]) -> None:
    del document["stacking"]


def _bad_milestone(document: dict[str, Any]) -> None:
    document["projects"][0]["milestones"][0]["count"] = 0


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        pytest.param(
            _top("signed_by", "x"), "unknown keys ['signed_by']", id="unknown-key"
        ),
        pytest.param(_drop_top, "missing keys ['stacking']", id="missing-section"),
        pytest.param(
            _drop("HS_GRANT", "terms_per_year"),
            "missing keys ['terms_per_year']",
            id="missing-field",
        ),
        pytest.param(
            _set("HS_GRANT", "rate", 1),
            "unknown keys ['rate']",
            id="unknown-programme-key",
        ),
        pytest.param(
            _set("HS_GRANT", "annual_fen", 2500.0),
            "annual_fen must be a whole number of fen",
            id="float-fen",
        ),
        pytest.param(
            _set("HS_GRANT", "annual_fen", -250_000),
            "annual_fen must be a whole number of fen of at least 0",
            id="negative-fen",
        ),
        pytest.param(
            _set("HS_GRANT", "annual_fen", "250000"),
            "annual_fen must be a whole number of fen",
            id="text-fen",
        ),
        pytest.param(
            _set("HS_GRANT", "annual_fen", True),
            "annual_fen must be a whole number of fen",
            id="boolean-fen",
        ),
        pytest.param(
            _set("HS_GRANT", "annual_fen", None),
            "annual_fen is required for a fixed rate",
            id="fixed-without-rate",
        ),
        pytest.param(
            _set("HARDSHIP", "annual_fen", 100),
            "annual_fen must be null for a discretionary rate",
            id="discretionary-with-rate",
        ),
        pytest.param(
            _set("BOARD_JUN", "annual_fen", 125_001),
            "must split evenly into 2 terms",
            id="uneven-term-split",
        ),
        pytest.param(
            _set("HS_GRANT", "terms_per_year", 0),
            "terms_per_year must be a whole number of at least 1",
            id="zero-terms-per-year",
        ),
        pytest.param(
            _set("HS_GRANT", "stages", ["high_school", "university"]),
            "names an unknown stage, got 'university'",
            id="unknown-stage",
        ),
        pytest.param(
            _set("HS_GRANT", "stages", []),
            "stages must be a non-empty list",
            id="no-stages",
        ),
        pytest.param(
            _set("HS_GRANT", "stages", ["high_school", "high_school"]),
            "repeats a stage",
            id="repeated-stage",
        ),
        pytest.param(
            _set("HS_GRANT", "kind", "generous"),
            "kind must be one of",
            id="unknown-kind",
        ),
        pytest.param(
            _set("HS_GRANT", "requires_boarding", "no"),
            "requires_boarding must be true or false",
            id="text-flag",
        ),
        pytest.param(
            _set("HS_GRANT", "code", "hs grant"),
            "must be an upper-case code",
            id="bad-code",
        ),
        pytest.param(
            _repeat_programme, "HS_GRANT is repeated", id="repeated-programme"
        ),
        pytest.param(
            _add_pair("HS_GRANT", "MILK"),
            "names an unknown programme, got 'MILK'",
            id="stacking-unknown-programme",
        ),
        pytest.param(
            _add_pair("HS_GRANT", "HS_GRANT"),
            "pairs a programme with itself",
            id="stacking-self",
        ),
        pytest.param(
            _add_pair("SV_GRANT", "VOC_POOR_EXTRA"),
            "repeats an earlier pair",
            id="stacking-repeated-pair",
        ),
        pytest.param(
            _top("effective_from", "2016-13-01"),
            "effective_from must be a YYYY-MM-DD date",
            id="impossible-date",
        ),
        pytest.param(
            _top("effective_from", "20160101"),
            "effective_from must be a YYYY-MM-DD date",
            id="compact-date",
        ),
        pytest.param(
            _bad_milestone, "count must be a whole number", id="zero-milestone"
        ),
    ],
)
def test_broken_policy_files_are_refused_with_the_reason(
    tmp_path: Path, mutate: Mutation, reason: str
) -> None:
    document = _packaged_document()
    mutate(document)
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")

    with pytest.raises(PolicyFileInvalid) as raised:
        load_policy_file(path)

    assert raised.value.path == str(path)
    assert reason in raised.value.reason


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param('{"version": 1', "not valid JSON", id="truncated"),
        pytest.param('{"a": 1, "a": 2}', "duplicate key 'a'", id="duplicate-key"),
        pytest.param('{"annual_fen": NaN}', "NaN is not a number", id="nan"),
        pytest.param("[]", "policy must be an object", id="not-an-object"),
    ],
)
def test_malformed_json_is_refused(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "policy.json"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(PolicyFileInvalid) as raised:
        load_policy_file(path)

    assert reason in raised.value.reason


def test_a_copy_of_the_packaged_file_loads_the_same(tmp_path: Path) -> None:
    path = tmp_path / "copy.json"
    path.write_text(json.dumps(_packaged_document()), encoding="utf-8")

    policy = load_policy_file(path, configured_rates={"NUTRITION": NUTRITION_FEN})

    assert policy.programmes == POLICY.programmes
    assert policy.allowed_pairs == POLICY.allowed_pairs
    assert policy.projects == POLICY.projects


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("../units.py", id="path-outside-data"),
        pytest.param("policy-hubei-1999.json", id="no-such-file"),
        pytest.param("", id="empty"),
    ],
)
def test_only_packaged_policy_names_load(name: str) -> None:
    with pytest.raises(PolicyFileInvalid) as raised:
        load_policy(name)

    assert raised.value.path == name
