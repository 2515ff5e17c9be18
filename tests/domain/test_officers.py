"""Officers, keys, roles and jurisdictions as pure logic.

The registry must accept exactly the cells of the permission matrix, refuse
every other role, every unit outside an officer's jurisdiction, every unknown,
revoked or rotated key, and any change that would leave it without an active
administrator. A refusal changes nothing and records nothing. Over any sequence
of enrolments, rotations, revocations and role changes, the registry rebuilt
from its events equals the live one, and its invariants hold throughout.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import DomainError, InvalidReference
from domain.officers import (
    PERMISSIONS,
    DuplicateOfficer,
    LastAdministrator,
    Officer,
    OfficerRegistry,
    OutsideJurisdiction,
    RevokedKey,
    Role,
    UnknownKey,
    UnknownOfficer,
    WrongRole,
    key_id_of,
)

ADMIN = "officer:admin"
ACTOR = ADMIN
PROVINCE = "420000"
PREFECTURE = "422800"  # Enshi
COUNTY = "422822"  # 建始县, in Enshi
NEIGHBOUR = "422823"  # 巴东县, in Enshi
CITY = "420100"  # Wuhan
DISTRICT = "420102"  # a district of Wuhan

# A small tree of units: each unit's parent, the province at the root.
PARENTS: dict[str, str | None] = {
    PROVINCE: None,
    PREFECTURE: PROVINCE,
    COUNTY: PREFECTURE,
    NEIGHBOUR: PREFECTURE,
    CITY: PROVINCE,
    DISTRICT: CITY,
}


def contains(ancestor: str, unit: str) -> bool:
    """A fake of the unit registry's containment: a unit covers its subtree."""
    current: str | None = unit
    while current is not None:
        if current == ancestor:
            return True
        current = PARENTS[current]
    return False


def public_key(seed: str) -> str:
    """64 lowercase hex digits, the shape of an Ed25519 public key."""
    return hashlib.sha256(seed.encode()).hexdigest()


def _registry() -> OfficerRegistry:
    """A registry with one province administrator and no pending events."""
    registry = OfficerRegistry.start("test.fundledger.example", actor=ACTOR)
    registry.enrol(
        officer_id=ADMIN,
        name="管理员",
        role="administrator",
        jurisdiction=PROVINCE,
        public_key=public_key(ADMIN),
        actor=ACTOR,
    )
    registry.collect_events()
    return registry


def _enrol(
    registry: OfficerRegistry, officer_id: str, role: str, jurisdiction: str
) -> str:
    """Enrol an officer with a key derived from their id; return the key id."""
    registry.enrol(
        officer_id=officer_id,
        name=officer_id.removeprefix("officer:"),
        role=role,
        jurisdiction=jurisdiction,
        public_key=public_key(officer_id),
        actor=ACTOR,
    )
    registry.collect_events()
    return key_id_of(public_key(officer_id))


def _state(registry: OfficerRegistry) -> Any:
    return copy.deepcopy((registry.officers, registry.keys))


def _refused(
    registry: OfficerRegistry, error: type[DomainError], command: Callable[[], object]
) -> Any:
    """Run ``command``, expect ``error``, and check that nothing changed."""
    registry.collect_events()
    before = _state(registry)
    with pytest.raises(error) as raised:
        command()
    assert _state(registry) == before
    assert registry.collect_events() == []
    return raised.value


# The permission matrix --------------------------------------------------------

MATRIX = [
    pytest.param(role, command, id=f"{role.value}-{command}")
    for command in sorted(PERMISSIONS)
    for role in Role
]


@pytest.mark.parametrize(("role", "command"), MATRIX)
def test_authorize_accepts_exactly_the_listed_cells(role: Role, command: str) -> None:
    registry = _registry()
    key = _enrol(registry, "officer:subject", role.value, COUNTY)

    def ask() -> Officer:
        return registry.authorize(key, command, COUNTY, contains)

    if role in PERMISSIONS[command]:
        assert ask().officer_id == "officer:subject"
        assert registry.collect_events() == []
    else:
        error = _refused(registry, WrongRole, ask)
        assert (error.officer_id, error.role, error.command) == (
            "officer:subject",
            role.value,
            command,
        )


@pytest.mark.parametrize("role", [pytest.param(r, id=r.value) for r in Role])
def test_a_command_not_in_the_matrix_is_refused_to_every_role(role: Role) -> None:
    registry = _registry()
    key = _enrol(registry, "officer:subject", role.value, PROVINCE)
    error = _refused(
        registry,
        WrongRole,
        lambda: registry.authorize(key, "fund.embezzle", COUNTY, contains),
    )
    assert error.command == "fund.embezzle"


# Jurisdiction -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("jurisdiction", "unit", "allowed"),
    [
        pytest.param(COUNTY, COUNTY, True, id="own-county"),
        pytest.param(PREFECTURE, COUNTY, True, id="prefecture-covers-county"),
        pytest.param(PROVINCE, DISTRICT, True, id="province-covers-everything"),
        pytest.param(COUNTY, NEIGHBOUR, False, id="neighbouring-county"),
        pytest.param(COUNTY, PREFECTURE, False, id="unit-above-own"),
        pytest.param(CITY, COUNTY, False, id="other-prefecture"),
        pytest.param(DISTRICT, CITY, False, id="district-for-its-city"),
    ],
)
def test_jurisdiction(jurisdiction: str, unit: str, allowed: bool) -> None:
    registry = _registry()
    key = _enrol(registry, "officer:recorder", "recorder", jurisdiction)

    def ask() -> Officer:
        return registry.authorize(key, "fund.receive", unit, contains)

    if allowed:
        assert ask().jurisdiction == jurisdiction
        return
    error = _refused(registry, OutsideJurisdiction, ask)
    assert (error.officer_id, error.jurisdiction, error.unit) == (
        "officer:recorder",
        jurisdiction,
        unit,
    )


def test_the_role_is_checked_before_the_jurisdiction() -> None:
    registry = _registry()
    key = _enrol(registry, "officer:approver", "approver", COUNTY)
    _refused(
        registry,
        WrongRole,
        lambda: registry.authorize(key, "fund.receive", NEIGHBOUR, contains),
    )


# Keys -------------------------------------------------------------------------


def test_an_unknown_key_is_refused_with_its_id() -> None:
    registry = _registry()
    stranger = key_id_of(public_key("stranger"))
    error = _refused(
        registry,
        UnknownKey,
        lambda: registry.authorize(stranger, "fund.receive", COUNTY, contains),
    )
    assert error.key_id == stranger
    _refused(registry, UnknownKey, lambda: registry.officer_of_key(stranger))


@pytest.mark.parametrize(
    "command",
    [
        pytest.param("fund.receive", id="allowed-command"),
        pytest.param("fund.approve_payment", id="command-of-another-role"),
    ],
)
def test_a_revoked_key_is_refused_whatever_it_asks(command: str) -> None:
    registry = _registry()
    key = _enrol(registry, "officer:recorder", "recorder", COUNTY)
    registry.revoke_key(key_id=key, reason="laptop stolen", actor=ACTOR)
    error = _refused(
        registry,
        RevokedKey,
        lambda: registry.authorize(key, command, COUNTY, contains),
    )
    assert (error.key_id, error.officer_id, error.status) == (
        key,
        "officer:recorder",
        "revoked",
    )


def test_a_rotated_key_is_refused_and_the_new_one_accepted() -> None:
    registry = _registry()
    old = _enrol(registry, "officer:recorder", "recorder", COUNTY)
    registry.rotate_key(
        officer_id="officer:recorder", public_key=public_key("new"), actor=ACTOR
    )
    new = key_id_of(public_key("new"))
    error = _refused(
        registry,
        RevokedKey,
        lambda: registry.authorize(old, "fund.receive", COUNTY, contains),
    )
    assert error.status == "rotated"
    officer = registry.authorize(new, "fund.receive", COUNTY, contains)
    assert officer.keys == [old, new]


def test_a_key_is_revoked_only_once() -> None:
    registry = _registry()
    key = _enrol(registry, "officer:recorder", "recorder", COUNTY)
    registry.revoke_key(key_id=key, reason="left the bureau", actor=ACTOR)
    error = _refused(
        registry,
        RevokedKey,
        lambda: registry.revoke_key(key_id=key, reason="again", actor=ACTOR),
    )
    assert error.status == "revoked"


def test_a_revoked_key_does_not_come_back_by_rotation() -> None:
    registry = _registry()
    key = _enrol(registry, "officer:recorder", "recorder", COUNTY)
    registry.revoke_key(key_id=key, reason="lost", actor=ACTOR)
    error = _refused(
        registry,
        DuplicateOfficer,
        lambda: registry.rotate_key(
            officer_id="officer:recorder",
            public_key=public_key("officer:recorder"),
            actor=ACTOR,
        ),
    )
    assert (error.what, error.value) == ("key", key)


# The last administrator ------------------------------------------------------------


def test_the_last_administrator_cannot_be_demoted() -> None:
    registry = _registry()
    error = _refused(
        registry,
        LastAdministrator,
        lambda: registry.change_role(
            officer_id=ADMIN, role="auditor", jurisdiction=PROVINCE, actor=ACTOR
        ),
    )
    assert error.officer_id == ADMIN


def test_the_last_administrator_may_move_to_another_unit() -> None:
    registry = _registry()
    registry.change_role(
        officer_id=ADMIN, role="administrator", jurisdiction=PREFECTURE, actor=ACTOR
    )
    assert registry.officers[ADMIN].jurisdiction == PREFECTURE


def test_the_last_administrators_key_cannot_be_revoked() -> None:
    registry = _registry()
    key = key_id_of(public_key(ADMIN))
    error = _refused(
        registry,
        LastAdministrator,
        lambda: registry.revoke_key(key_id=key, reason="lost", actor=ACTOR),
    )
    assert error.officer_id == ADMIN


def test_an_administrator_with_a_revoked_key_does_not_count() -> None:
    registry = _registry()
    other = _enrol(registry, "officer:admin2", "administrator", PREFECTURE)
    registry.revoke_key(key_id=other, reason="lost", actor=ACTOR)
    _refused(
        registry,
        LastAdministrator,
        lambda: registry.change_role(
            officer_id=ADMIN, role="recorder", jurisdiction=COUNTY, actor=ACTOR
        ),
    )


def test_with_a_second_administrator_the_first_may_go() -> None:
    registry = _registry()
    _enrol(registry, "officer:admin2", "administrator", PROVINCE)
    registry.revoke_key(
        key_id=key_id_of(public_key(ADMIN)), reason="retired", actor=ACTOR
    )
    _refused(
        registry,
        LastAdministrator,
        lambda: registry.change_role(
            officer_id="officer:admin2",
            role="recorder",
            jurisdiction=COUNTY,
            actor=ACTOR,
        ),
    )


def test_the_last_administrator_may_revoke_their_own_rotated_key() -> None:
    registry = _registry()
    old = key_id_of(public_key(ADMIN))
    registry.rotate_key(officer_id=ADMIN, public_key=public_key("fresh"), actor=ACTOR)
    registry.revoke_key(key_id=old, reason="the old laptop was stolen", actor=ACTOR)
    assert registry.keys[old].status == "revoked"


# Duplicates and malformed input ------------------------------------------------------


def test_an_officer_id_is_enrolled_once() -> None:
    registry = _registry()
    error = _refused(
        registry,
        DuplicateOfficer,
        lambda: registry.enrol(
            officer_id=ADMIN,
            name="again",
            role="recorder",
            jurisdiction=COUNTY,
            public_key=public_key("another key"),
            actor=ACTOR,
        ),
    )
    assert (error.what, error.value) == ("officer", ADMIN)


def test_a_key_belongs_to_one_officer() -> None:
    registry = _registry()
    error = _refused(
        registry,
        DuplicateOfficer,
        lambda: registry.enrol(
            officer_id="officer:borrower",
            name="borrower",
            role="recorder",
            jurisdiction=COUNTY,
            public_key=public_key(ADMIN),
            actor=ACTOR,
        ),
    )
    assert (error.what, error.value) == ("key", key_id_of(public_key(ADMIN)))
    _enrol(registry, "officer:recorder", "recorder", COUNTY)
    _refused(
        registry,
        DuplicateOfficer,
        lambda: registry.rotate_key(
            officer_id="officer:recorder", public_key=public_key(ADMIN), actor=ACTOR
        ),
    )


GOOD_ENROLMENT: dict[str, Any] = {
    "officer_id": "officer:new",
    "name": "新人",
    "role": "recorder",
    "jurisdiction": COUNTY,
    "public_key": public_key("officer:new"),
}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("officer_id", "new", id="id-without-prefix"),
        pytest.param("officer_id", "officer:", id="id-prefix-only"),
        pytest.param("officer_id", "officer:a b", id="id-with-space"),
        pytest.param("officer_id", "officer:" + "x" * 57, id="id-too-long"),
        pytest.param("officer_id", 7, id="id-not-text"),
        pytest.param("public_key", public_key("k").upper(), id="key-upper-case"),
        pytest.param("public_key", public_key("k")[:-1], id="key-too-short"),
        pytest.param("public_key", "zz" * 32, id="key-not-hex"),
        pytest.param("public_key", None, id="key-missing"),
        pytest.param("role", "mayor", id="unknown-role"),
        pytest.param("role", "", id="empty-role"),
        pytest.param("name", " ", id="blank-name"),
        pytest.param("name", "n" * 101, id="name-too-long"),
        pytest.param("jurisdiction", "", id="empty-jurisdiction"),
    ],
)
def test_bad_enrolments_are_refused_with_the_field(field: str, value: object) -> None:
    registry = _registry()
    arguments = {**GOOD_ENROLMENT, field: value}
    error = _refused(
        registry,
        InvalidReference,
        lambda: registry.enrol(**arguments, actor=ACTOR),
    )
    assert (error.field, error.value) == (field, value)


def test_other_bad_changes_are_refused() -> None:
    registry = _registry()
    key = _enrol(registry, "officer:recorder", "recorder", COUNTY)
    error = _refused(
        registry,
        InvalidReference,
        lambda: registry.change_role(
            officer_id="officer:recorder",
            role="mayor",
            jurisdiction=COUNTY,
            actor=ACTOR,
        ),
    )
    assert error.field == "role"
    error = _refused(
        registry,
        InvalidReference,
        lambda: registry.rotate_key(
            officer_id="officer:recorder", public_key="00", actor=ACTOR
        ),
    )
    assert error.field == "public_key"
    error = _refused(
        registry,
        InvalidReference,
        lambda: registry.revoke_key(key_id=key, reason=" ", actor=ACTOR),
    )
    assert error.field == "reason"
    for command in (
        lambda: registry.change_role(
            officer_id="officer:ghost",
            role="recorder",
            jurisdiction=COUNTY,
            actor=ACTOR,
        ),
        lambda: registry.rotate_key(
            officer_id="officer:ghost", public_key=public_key("g"), actor=ACTOR
        ),
    ):
        assert _refused(registry, UnknownOfficer, command).officer_id == "officer:ghost"


@pytest.mark.parametrize(
    "jurisdiction",
    [
        pytest.param("", id="empty"),
        pytest.param(422822, id="number-not-text"),
    ],
)
def test_change_role_refuses_a_bad_jurisdiction(jurisdiction: Any) -> None:
    registry = _registry()
    _enrol(registry, "officer:recorder", "recorder", COUNTY)
    error = _refused(
        registry,
        InvalidReference,
        lambda: registry.change_role(
            officer_id="officer:recorder",
            role="recorder",
            jurisdiction=jurisdiction,
            actor=ACTOR,
        ),
    )
    assert error.field == "jurisdiction"


# Rebuilding from events, over random histories --------------------------------------

OFFICER_IDS = [f"officer:o{number}" for number in range(5)]
ROLES = [role.value for role in Role] + ["mayor"]
UNITS = sorted(PARENTS)
KEY_SEEDS = [f"seed-{number}" for number in range(8)]

operations = st.one_of(
    st.tuples(
        st.just("enrol"),
        st.sampled_from(OFFICER_IDS),
        st.sampled_from(ROLES),
        st.sampled_from(UNITS),
        st.sampled_from(KEY_SEEDS),
    ),
    st.tuples(
        st.just("rotate"),
        st.sampled_from([*OFFICER_IDS, ADMIN]),
        st.sampled_from(KEY_SEEDS),
    ),
    st.tuples(
        st.just("revoke"),
        st.sampled_from([*KEY_SEEDS, ADMIN]),
        st.sampled_from(["lost", ""]),
    ),
    st.tuples(
        st.just("change_role"),
        st.sampled_from([*OFFICER_IDS, ADMIN]),
        st.sampled_from(ROLES),
        st.sampled_from(UNITS),
    ),
)


def _apply(registry: OfficerRegistry, operation: tuple[Any, ...]) -> None:
    kind = operation[0]
    if kind == "enrol":
        _, officer_id, role, unit, seed = operation
        registry.enrol(
            officer_id=officer_id,
            name=officer_id,
            role=role,
            jurisdiction=unit,
            public_key=public_key(seed),
            actor=ACTOR,
        )
    elif kind == "rotate":
        _, officer_id, seed = operation
        registry.rotate_key(
            officer_id=officer_id, public_key=public_key(seed), actor=ACTOR
        )
    elif kind == "revoke":
        _, seed, reason = operation
        registry.revoke_key(
            key_id=key_id_of(public_key(seed)), reason=reason, actor=ACTOR
        )
    else:
        _, officer_id, role, unit = operation
        registry.change_role(
            officer_id=officer_id, role=role, jurisdiction=unit, actor=ACTOR
        )


def _rebuild(events: list[Any]) -> OfficerRegistry:
    aggregate: Any = None
    for domain_event in events:
        aggregate = domain_event.mutate(aggregate)
    assert isinstance(aggregate, OfficerRegistry)
    return aggregate


def _check_invariants(registry: OfficerRegistry, retired: set[str]) -> None:
    # At least one active administrator, always.
    assert any(
        officer.role is Role.ADMINISTRATOR
        and any(registry.keys[key].status == "active" for key in officer.keys)
        for officer in registry.officers.values()
    )
    # Each key is listed by exactly the officer it belongs to; at most one active.
    for officer in registry.officers.values():
        assert all(
            registry.keys[key].officer_id == officer.officer_id for key in officer.keys
        )
        assert sum(registry.keys[key].status == "active" for key in officer.keys) <= 1
    assert sorted(registry.keys) == sorted(
        key for officer in registry.officers.values() for key in officer.keys
    )
    # A key that stopped being valid never becomes valid again.
    for key in retired:
        assert registry.keys[key].status != "active"
    retired.update(
        key for key, record in registry.keys.items() if record.status != "active"
    )


@settings(max_examples=150, deadline=None)
@given(st.lists(operations, max_size=30))
def test_the_registry_rebuilt_from_its_events_equals_the_live_one(
    history: list[tuple[Any, ...]],
) -> None:
    registry = OfficerRegistry.start("test.fundledger.example", actor=ACTOR)
    registry.enrol(
        officer_id=ADMIN,
        name="管理员",
        role="administrator",
        jurisdiction=PROVINCE,
        public_key=public_key(ADMIN),
        actor=ACTOR,
    )
    events: list[Any] = list(registry.collect_events())
    retired: set[str] = set()
    for operation in history:
        before = _state(registry)
        try:
            _apply(registry, operation)
        except DomainError:
            assert _state(registry) == before
            assert registry.collect_events() == []
        else:
            events.extend(registry.collect_events())
        _check_invariants(registry, retired)

    rebuilt = _rebuild(events)
    assert rebuilt.officers == registry.officers
    assert rebuilt.keys == registry.keys
    assert rebuilt.deployment == registry.deployment
