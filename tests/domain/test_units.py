"""Administrative units: the tree's rules, jurisdiction, and the packaged Hubei list."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import (
    DuplicateUnit,
    InvalidUnit,
    UnknownUnit,
    WrongLevel,
)
from domain.units import Level, Registry, School, Stage, Unit, load_hubei

PROVINCE = Unit("420000", "湖北省", Level.PROVINCE, None)
ENSHI = Unit("422800", "恩施土家族苗族自治州", Level.PREFECTURE, "420000")
JIANSHI = Unit("422822", "建始县", Level.COUNTY, "422800")
HEFENG = Unit("422828", "鹤峰县", Level.COUNTY, "422800")
TOWNSHIP = Unit("422822100", "业州镇", Level.TOWNSHIP, "422822")


def _school(code: str, parent: str, county: str | None = None) -> School:
    return School(
        code,
        f"学校{code}",
        Level.SCHOOL,
        parent,
        stage=Stage.PRIMARY,
        county=county if county is not None else code[:6],
        boarding=True,
        rural=True,
    )


def _enshi() -> Registry:
    return Registry([PROVINCE, ENSHI, JIANSHI, HEFENG, TOWNSHIP])


# --- the packaged Hubei units ---------------------------------------------------


def test_hubei_loads_with_province_prefectures_and_poor_counties() -> None:
    registry = load_hubei()

    assert registry.get("420000").name == "湖北省"
    prefectures = registry.children("420000")
    assert {unit.level for unit in prefectures} == {Level.PREFECTURE}
    assert "422800" in {unit.code for unit in prefectures}
    counties = [unit for unit in registry if unit.level is Level.COUNTY]
    assert len(counties) == 37  # the plan's 37 poor counties (一、(三))
    assert all(registry.contains("420000", unit.code) for unit in counties)


def test_hubei_holds_the_nine_provincially_designated_poor_counties() -> None:
    registry = load_hubei()

    provincial = {
        "420302": ("茅箭区", "420300"),
        "420303": ("张湾区", "420300"),
        "420525": ("远安县", "420500"),
        "420526": ("兴山县", "420500"),
        "420624": ("南漳县", "420600"),
        "420625": ("谷城县", "420600"),
        "421222": ("通城县", "421200"),
        "421223": ("崇阳县", "421200"),
        "421224": ("通山县", "421200"),
    }

    for code, (name, prefecture) in provincial.items():
        unit = registry.get(code)
        assert (unit.name, unit.level, unit.parent) == (name, Level.COUNTY, prefecture)


def test_hubei_holds_all_eight_enshi_counties() -> None:
    registry = load_hubei()

    names = {unit.code: unit.name for unit in registry.children("422800")}

    assert names == {
        "422801": "恩施市",
        "422802": "利川市",
        "422822": "建始县",
        "422823": "巴东县",
        "422825": "宣恩县",
        "422826": "咸丰县",
        "422827": "来凤县",
        "422828": "鹤峰县",
    }


# --- jurisdiction ---------------------------------------------------------------


def test_province_contains_a_school_in_one_of_its_counties() -> None:
    registry = load_hubei()
    registry.add(TOWNSHIP)
    registry.add(_school("422822S0001", "422822100"))

    assert registry.contains("420000", "422822S0001")
    assert registry.contains("422800", "422822S0001")
    assert registry.contains("422822", "422822S0001")
    assert registry.county_of("422822S0001") == "422822"


def test_a_county_does_not_contain_another_countys_school() -> None:
    registry = _enshi()
    registry.add(_school("422828S0001", "422828"))

    assert not registry.contains("422822", "422828S0001")
    assert not registry.contains("422822100", "422828S0001")
    assert registry.contains("422828", "422828S0001")


def test_a_unit_contains_itself_but_not_its_parent() -> None:
    registry = _enshi()

    assert registry.contains("422822", "422822")
    assert not registry.contains("422822", "422800")


def test_county_of_a_prefecture_is_refused_with_its_level() -> None:
    registry = _enshi()

    with pytest.raises(WrongLevel) as raised:
        registry.county_of("422800")

    assert raised.value.code == "422800"
    assert raised.value.found == Level.PREFECTURE


@pytest.mark.parametrize(
    ("ancestor", "code"),
    [
        pytest.param("429999", "422822", id="unknown-ancestor"),
        pytest.param("420000", "422899", id="unknown-unit"),
        pytest.param("422899", "422899", id="unknown-both-equal"),
    ],
)
def test_containment_of_unknown_units_is_refused(ancestor: str, code: str) -> None:
    with pytest.raises(UnknownUnit):
        _enshi().contains(ancestor, code)


# --- refusals -------------------------------------------------------------------


def test_duplicate_code_is_refused() -> None:
    registry = _enshi()

    with pytest.raises(DuplicateUnit) as raised:
        registry.add(Unit("422822", "建始县", Level.COUNTY, "422800"))

    assert raised.value.code == "422822"


def test_unknown_parent_is_refused() -> None:
    with pytest.raises(UnknownUnit) as raised:
        _enshi().add(Unit("420302", "茅箭区", Level.COUNTY, "420300"))

    assert raised.value.code == "420300"


@pytest.mark.parametrize(
    ("unit", "expected", "found"),
    [
        pytest.param(
            Unit("422822", "建始县", Level.COUNTY, "420000"),
            (Level.PREFECTURE,),
            Level.COUNTY,
            id="county-under-province",
        ),
        pytest.param(
            Unit("422822101", "某镇", Level.TOWNSHIP, "422800"),
            (Level.COUNTY,),
            Level.TOWNSHIP,
            id="township-under-prefecture",
        ),
        pytest.param(
            _school("422822S0001", "422800"),
            (Level.COUNTY,),
            Level.SCHOOL,
            id="school-under-prefecture",
        ),
    ],
)
def test_child_at_the_wrong_level_is_refused(
    unit: Unit, expected: tuple[Level, ...], found: Level
) -> None:
    registry = Registry([PROVINCE, ENSHI])

    with pytest.raises(WrongLevel) as raised:
        registry.add(unit)

    assert raised.value.code == unit.code
    assert raised.value.expected == expected
    assert raised.value.found == found


@pytest.mark.parametrize(
    "unit",
    [
        pytest.param(
            Unit("421122", "红安县", Level.COUNTY, "422800"), id="county-outside-parent"
        ),
        pytest.param(
            Unit("422828100", "某镇", Level.TOWNSHIP, "422822"),
            id="township-outside-county",
        ),
        pytest.param(_school("422828S0001", "422822100"), id="school-outside-county"),
    ],
)
def test_code_not_under_its_parent_is_refused(unit: Unit) -> None:
    with pytest.raises(InvalidUnit) as raised:
        _enshi().add(unit)

    assert raised.value.code == unit.code


@pytest.mark.parametrize(
    ("code", "level", "parent"),
    [
        pytest.param("420001", Level.PROVINCE, None, id="province-not-0000"),
        pytest.param("000000", Level.PROVINCE, None, id="province-zero"),
        pytest.param("422822", Level.PREFECTURE, "420000", id="prefecture-not-00"),
        pytest.param("422800", Level.COUNTY, "422800", id="county-ending-00"),
        pytest.param("42282", Level.COUNTY, "422800", id="county-too-short"),
        pytest.param(
            "\uff14\uff12\uff12\uff18\uff12\uff12",
            Level.COUNTY,
            "422800",
            id="county-fullwidth-digits",
        ),
        pytest.param("422822000", Level.TOWNSHIP, "422822", id="township-000"),
        pytest.param("4228221", Level.TOWNSHIP, "422822", id="township-too-short"),
        pytest.param("422800", Level.PREFECTURE, None, id="prefecture-no-parent"),
        pytest.param("420000", Level.PROVINCE, "420000", id="province-with-parent"),
    ],
)
def test_malformed_units_are_refused(
    code: str, level: Level, parent: str | None
) -> None:
    with pytest.raises(InvalidUnit) as raised:
        Unit(code, "名称", level, parent)

    assert raised.value.code == code


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(
            lambda: _school("422822S0001", "422822", county="422828"),
            id="school-county-not-its-code",
        ),
        pytest.param(lambda: _school("422822S001", "422822"), id="school-code-short"),
        pytest.param(lambda: _school("422822X0001", "422822"), id="school-code-no-S"),
        pytest.param(
            lambda: Unit("422822", "  ", Level.COUNTY, "422800"), id="blank-name"
        ),
    ],
)
def test_malformed_schools_and_names_are_refused(make: Callable[[], Unit]) -> None:
    with pytest.raises(InvalidUnit):
        make()


def test_a_bare_unit_at_the_school_level_is_refused() -> None:
    with pytest.raises(InvalidUnit):
        _enshi().add(Unit("422822S0001", "某校", Level.SCHOOL, "422822"))


# --- containment matches ancestry on any tree -----------------------------------


@st.composite
def trees(draw: st.DrawFn) -> list[Unit]:
    """A random five-level tree with valid codes, parents before children."""
    units: list[Unit] = [PROVINCE]
    numbers: dict[str, int] = {}

    def next_number(key: str) -> int:
        numbers[key] = numbers.get(key, 0) + 1
        return numbers[key]

    def at(level: Level) -> list[Unit]:
        return [unit for unit in units if unit.level is level]

    for _ in range(draw(st.integers(1, 3))):
        code = f"42{next_number('420000'):02d}00"
        units.append(Unit(code, code, Level.PREFECTURE, "420000"))
    for _ in range(draw(st.integers(1, 6))):
        parent = draw(st.sampled_from(at(Level.PREFECTURE)))
        code = f"{parent.code[:4]}{next_number(parent.code):02d}"
        units.append(Unit(code, code, Level.COUNTY, parent.code))
    for _ in range(draw(st.integers(0, 8))):
        parent = draw(st.sampled_from(at(Level.COUNTY)))
        code = f"{parent.code}{next_number(parent.code):03d}"
        units.append(Unit(code, code, Level.TOWNSHIP, parent.code))
    for _ in range(draw(st.integers(0, 10))):
        candidates = at(Level.COUNTY) + at(Level.TOWNSHIP)
        parent = draw(st.sampled_from(candidates))
        county = parent.code[:6]
        code = f"{county}S{next_number(county + 'S'):04d}"
        units.append(_school(code, parent.code))
    return units


@given(trees())
def test_contains_matches_ancestry(units: list[Unit]) -> None:
    registry = Registry(units)
    parents = {unit.code: unit.parent for unit in units}

    def lineage(code: str | None) -> set[str]:
        found: set[str] = set()
        while code is not None:
            found.add(code)
            code = parents[code]
        return found

    for ancestor in parents:
        for code in parents:
            assert registry.contains(ancestor, code) == (ancestor in lineage(code))


@given(trees())
def test_every_school_and_township_lies_in_its_own_county(units: list[Unit]) -> None:
    registry = Registry(units)

    for unit in units:
        if isinstance(unit, School):
            assert registry.county_of(unit.code) == unit.county
        if unit.level is Level.TOWNSHIP:
            assert registry.county_of(unit.code) == unit.code[:6]
