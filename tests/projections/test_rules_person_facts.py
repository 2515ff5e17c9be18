"""The vault's answers to the fraud rules: birth date, ID problems, name key."""

from __future__ import annotations

from datetime import date
from typing import cast

import pytest

from api.person_facts import (
    birth_date_of,
    id_problems,
    name_key,
    units_know_region,
    vault_lookup,
)
from api.vault_store import DeploymentSecrets, UnknownPerson, Vault
from domain.resident_id import check_character
from domain.units import load_hubei
from domain.vault import PersonalData

SECRET = b"s" * 32
KNOWN = units_know_region(load_hubei())


def resident_id(first17: str) -> str:
    return first17 + check_character(first17)


def test_a_good_id_has_no_problems_and_gives_its_birth_date() -> None:
    number = resident_id("42282220100101123")
    assert id_problems(number, KNOWN) == ()
    assert birth_date_of(number) == date(2010, 1, 1)


@pytest.mark.parametrize(
    ("number", "problems"),
    [
        pytest.param("4228222010010112", ("length",), id="short"),
        pytest.param("42282220100101123Y", ("characters",), id="letter"),
        pytest.param(resident_id("99282220100101123"), ("region",), id="province"),
        pytest.param(
            resident_id("42312220100101123"), ("unknown-region",), id="prefecture"
        ),
        pytest.param(
            resident_id("42289920100101123"), ("unknown-region",), id="county"
        ),
        pytest.param(resident_id("42280020100101123"), (), id="enshi-prefecture"),
        pytest.param(resident_id("11010520100101123"), (), id="beijing"),
        pytest.param(resident_id("42282220101301123"), ("birth-date",), id="month-13"),
        pytest.param(
            resident_id("42282218800101123"), ("birth-date",), id="before-1900"
        ),
    ],
)
def test_id_problems(number: str, problems: tuple[str, ...]) -> None:
    assert id_problems(number, KNOWN) == problems


def test_a_wrong_check_character_is_reported_with_the_rest() -> None:
    good = resident_id("42312220100101123")
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    assert id_problems(bad, KNOWN) == ("unknown-region", "check-character")


def test_name_keys_compare_normalised_names_only() -> None:
    assert name_key(SECRET, "张 三") == name_key(SECRET, "张三")
    assert name_key(SECRET, "Li Ming") == name_key(SECRET, "liming")
    assert name_key(SECRET, "阿依·古丽") == name_key(SECRET, "阿依古丽")
    assert name_key(SECRET, "张三") != name_key(SECRET, "张四")
    assert name_key(SECRET, "张三") != name_key(b"t" * 32, "张三")
    assert "张" not in name_key(SECRET, "张三")


class FakeVault:
    """What ``vault_lookup`` uses of a vault: its secrets and ``get``."""

    def __init__(self, records: dict[str, PersonalData]) -> None:
        self.secrets = DeploymentSecrets(SECRET, b"m" * 32)
        self.records = records

    def get(self, ref: str) -> PersonalData:
        if ref not in self.records:
            raise UnknownPerson(ref)
        return self.records[ref]


def test_the_lookup_reads_the_vault() -> None:
    number = resident_id("42282220100101123")
    vault = FakeVault({"a" * 64: PersonalData("张三", number)})
    lookup = vault_lookup(cast(Vault, vault), load_hubei())
    facts = lookup("a" * 64)
    assert facts is not None
    assert (facts.birth_date, facts.id_problems) == (date(2010, 1, 1), ())
    assert facts.name_key == name_key(SECRET, "张三")
    assert lookup("b" * 64) is None
