"""Officers, their keys, roles and jurisdictions, and who may ask for what.

Every write to the ledger is a request signed with an enrolled officer's Ed25519
key. An officer has one role and one jurisdiction: an administrative unit and
everything below it (a province officer covers every county and school of the
province). Enrolment, role changes, key rotation and revocation are themselves
events, asked for by an administrator, so the key history is part of the log and
anyone verifying the log can tell which key was valid when.

Invariants: a key id belongs to at most one officer, ever; a revoked or rotated
key never becomes valid again; the registry always keeps at least one active
administrator once the first was enrolled (so it cannot lock itself out).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import DomainError, InvalidReference

REGISTRY_ID = uuid5(UUID("6f1c1b9e-5a0e-4f4e-9a51-3f3c2b1d7e10"), "officer-registry")
PUBLIC_KEY_HEX_LENGTH = 64  # Ed25519 public keys are 32 bytes


class Role(StrEnum):
    """What an officer may do; a person needing two roles gets two enrolments."""

    RECORDER = "recorder"  # 经办: records funds, allocations, proposals
    APPROVER = "approver"  # 审核: approves or rejects payments, reverses mistakes
    AUDITOR = "auditor"  # 审计: resolves fraud alerts, exports evidence
    ADMINISTRATOR = "administrator"  # manages officers and their keys
    # The fraud rules' own key: raises the alerts the rules found, nothing else.
    MONITOR = "monitor"


# Which role may ask for which command. Everything not listed is refused.
PERMISSIONS: dict[str, frozenset[Role]] = {
    "fund.open": frozenset({Role.RECORDER}),
    "fund.receive": frozenset({Role.RECORDER}),
    "fund.allocate": frozenset({Role.RECORDER}),
    "fund.fund_project": frozenset({Role.RECORDER}),
    "fund.report_progress": frozenset({Role.RECORDER}),
    # An approver may propose too (a senior officer's own proposal), but
    # never approve it: the fund refuses self-approval.
    "fund.propose_payment": frozenset({Role.RECORDER, Role.APPROVER}),
    "fund.approve_payment": frozenset({Role.APPROVER}),
    "fund.propose_payments": frozenset({Role.RECORDER, Role.APPROVER}),
    "fund.approve_payments": frozenset({Role.APPROVER}),
    "fund.reject_payment": frozenset({Role.APPROVER}),
    "fund.reverse": frozenset({Role.APPROVER}),
    "school.register": frozenset({Role.RECORDER, Role.ADMINISTRATOR}),
    "roll.list_poor": frozenset({Role.RECORDER}),
    "roll.import": frozenset({Role.RECORDER}),
    "roll.delist_poor": frozenset({Role.RECORDER}),
    "roll.record_status": frozenset({Role.RECORDER}),
    "roll.erase_personal_data": frozenset({Role.ADMINISTRATOR}),
    "alert.raise": frozenset({Role.MONITOR}),
    "alert.resolve": frozenset({Role.AUDITOR}),
    "officer.enrol": frozenset({Role.ADMINISTRATOR}),
    "officer.change_role": frozenset({Role.ADMINISTRATOR}),
    "officer.rotate_key": frozenset({Role.ADMINISTRATOR}),
    "officer.revoke_key": frozenset({Role.ADMINISTRATOR}),
}


class UnknownKey(DomainError):
    """A request signed with a key no officer was ever enrolled with."""

    def __init__(self, key_id: str) -> None:
        super().__init__(f"no officer is enrolled with key {key_id}")
        self.key_id = key_id


class RevokedKey(DomainError):
    """A request signed with a key that was revoked or replaced."""

    def __init__(self, key_id: str, officer_id: str, status: str) -> None:
        super().__init__(f"key {key_id} of {officer_id} is {status}")
        self.key_id = key_id
        self.officer_id = officer_id
        self.status = status


class WrongRole(DomainError):
    """An officer asked for a command that their role does not allow."""

    def __init__(self, officer_id: str, role: str, command: str) -> None:
        super().__init__(f"{officer_id} has the role {role}, which may not {command}")
        self.officer_id = officer_id
        self.role = role
        self.command = command


class OutsideJurisdiction(DomainError):
    """An officer asked for a change to a unit outside their jurisdiction."""

    def __init__(self, officer_id: str, jurisdiction: str, unit: str) -> None:
        super().__init__(
            f"{officer_id} acts for {jurisdiction}, and {unit} is not within it"
        )
        self.officer_id = officer_id
        self.jurisdiction = jurisdiction
        self.unit = unit


class DuplicateOfficer(DomainError):
    """An officer id or a key already enrolled."""

    def __init__(self, what: str, value: str) -> None:
        super().__init__(f"{what} {value} is already enrolled")
        self.what = what
        self.value = value


class UnknownOfficer(DomainError):
    """A change to an officer who was never enrolled."""

    def __init__(self, officer_id: str) -> None:
        super().__init__(f"no officer {officer_id} is enrolled")
        self.officer_id = officer_id


class LastAdministrator(DomainError):
    """A change that would leave the registry without an active administrator."""

    def __init__(self, officer_id: str) -> None:
        super().__init__(
            f"{officer_id} is the last active administrator; enrol another first"
        )
        self.officer_id = officer_id


def key_id_of(public_key_hex: str) -> str:
    """A key's id: the first 16 hex digits of SHA-256 of the raw public key."""
    return hashlib.sha256(bytes.fromhex(public_key_hex)).hexdigest()[:16]


def _check_public_key(public_key_hex: object) -> str:
    if (
        not isinstance(public_key_hex, str)
        or len(public_key_hex) != PUBLIC_KEY_HEX_LENGTH
        or any(c not in "0123456789abcdef" for c in public_key_hex)
    ):
        raise InvalidReference(
            "public_key", public_key_hex, "64 lowercase hex digits (Ed25519)"
        )
    return public_key_hex


def _check_jurisdiction(jurisdiction: object) -> str:
    if not isinstance(jurisdiction, str) or not jurisdiction:
        raise InvalidReference("jurisdiction", jurisdiction, "a unit code")
    return jurisdiction


def _check_officer_id(officer_id: object) -> str:
    if (
        not isinstance(officer_id, str)
        or not officer_id.startswith("officer:")
        or not 9 <= len(officer_id) <= 64
        or any(c.isspace() for c in officer_id)
    ):
        raise InvalidReference(
            "officer_id", officer_id, "'officer:' and a name without spaces"
        )
    return officer_id


@dataclass
class Officer:
    """One enrolled officer as the registry's events make them."""

    officer_id: str
    name: str
    role: Role
    jurisdiction: str
    keys: list[str] = field(default_factory=list)  # every key id, oldest first


@dataclass
class KeyRecord:
    """One key and where it stands."""

    key_id: str
    officer_id: str
    public_key: str
    status: str = "active"  # active | rotated | revoked


class OfficerRegistry(Aggregate):
    """All officers of a deployment with the history of their keys."""

    TOPIC = "fundledger.domain:OfficerRegistry@1"

    class Created(Aggregate.Created):
        TOPIC = "fundledger.domain:OfficerRegistry.Created@1"

    class Started(Created):
        TOPIC = "fundledger.domain:OfficerRegistry.Started@1"
        deployment: str
        actor: str
        signatures: list[dict[str, str]]

    class OfficerEnrolled(Aggregate.Event):
        TOPIC = "fundledger.domain:OfficerRegistry.OfficerEnrolled@1"
        officer_id: str
        name: str
        role: str
        jurisdiction: str
        key_id: str
        public_key: str
        actor: str
        signatures: list[dict[str, str]]

    class RoleChanged(Aggregate.Event):
        TOPIC = "fundledger.domain:OfficerRegistry.RoleChanged@1"
        officer_id: str
        role: str
        jurisdiction: str
        actor: str
        signatures: list[dict[str, str]]

    class KeyRotated(Aggregate.Event):
        TOPIC = "fundledger.domain:OfficerRegistry.KeyRotated@1"
        officer_id: str
        old_key_id: str
        key_id: str
        public_key: str
        actor: str
        signatures: list[dict[str, str]]

    class KeyRevoked(Aggregate.Event):
        TOPIC = "fundledger.domain:OfficerRegistry.KeyRevoked@1"
        officer_id: str
        key_id: str
        reason: str
        actor: str
        signatures: list[dict[str, str]]

    @staticmethod
    def create_id(deployment: str) -> UUID:
        """One registry per deployment."""
        del deployment
        return REGISTRY_ID

    @event(Started)
    def __init__(
        self, *, deployment: str, actor: str, signatures: list[dict[str, str]]
    ) -> None:
        self.deployment = deployment
        self.officers: dict[str, Officer] = {}
        self.keys: dict[str, KeyRecord] = {}

    @classmethod
    def start(
        cls,
        deployment: str,
        *,
        actor: str,
        signatures: list[dict[str, str]] | None = None,
    ) -> OfficerRegistry:
        """The empty registry of a new deployment."""
        return cls(deployment=deployment, actor=actor, signatures=signatures or [])

    # Queries ----------------------------------------------------------------

    def officer_of_key(self, key_id: str) -> tuple[Officer, KeyRecord]:
        """The officer a key belongs to, whatever the key's status."""
        record = self.keys.get(key_id)
        if record is None:
            raise UnknownKey(key_id)
        return self.officers[record.officer_id], record

    def authorize(
        self,
        key_id: str,
        command: str,
        unit: str,
        contains: Callable[[str, str], bool],
    ) -> Officer:
        """The officer who may ask for ``command`` on ``unit`` with this key.

        ``contains(ancestor, unit)`` tells whether ``unit`` lies within
        ``ancestor``; the registry of administrative units answers it.
        """
        officer, record = self.officer_of_key(key_id)
        if record.status != "active":
            raise RevokedKey(key_id, officer.officer_id, record.status)
        if officer.role not in PERMISSIONS.get(command, frozenset()):
            raise WrongRole(officer.officer_id, officer.role.value, command)
        if not contains(officer.jurisdiction, unit):
            raise OutsideJurisdiction(officer.officer_id, officer.jurisdiction, unit)
        return officer

    def _active_administrators(self) -> list[str]:
        return [
            officer.officer_id
            for officer in self.officers.values()
            if officer.role is Role.ADMINISTRATOR
            and any(self.keys[k].status == "active" for k in officer.keys)
        ]

    # Commands ---------------------------------------------------------------

    def enrol(
        self,
        *,
        officer_id: str,
        name: str,
        role: str,
        jurisdiction: str,
        public_key: str,
        actor: str,
        signatures: list[dict[str, str]] | None = None,
    ) -> None:
        """Enrol an officer with a role, a jurisdiction and a first key."""
        _check_officer_id(officer_id)
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            raise InvalidReference("name", name, "a name of 1 to 100 characters")
        role_value = _role(role)
        _check_jurisdiction(jurisdiction)
        public_key = _check_public_key(public_key)
        key_id = key_id_of(public_key)
        if officer_id in self.officers:
            raise DuplicateOfficer("officer", officer_id)
        if key_id in self.keys:
            raise DuplicateOfficer("key", key_id)
        self._enrol(
            officer_id=officer_id,
            name=name,
            role=role_value.value,
            jurisdiction=jurisdiction,
            key_id=key_id,
            public_key=public_key,
            actor=actor,
            signatures=signatures or [],
        )

    @event(OfficerEnrolled)
    def _enrol(
        self,
        *,
        officer_id: str,
        name: str,
        role: str,
        jurisdiction: str,
        key_id: str,
        public_key: str,
        actor: str,
        signatures: list[dict[str, str]],
    ) -> None:
        self.officers[officer_id] = Officer(
            officer_id, name, Role(role), jurisdiction, [key_id]
        )
        self.keys[key_id] = KeyRecord(key_id, officer_id, public_key)

    def change_role(
        self,
        *,
        officer_id: str,
        role: str,
        jurisdiction: str,
        actor: str,
        signatures: list[dict[str, str]] | None = None,
    ) -> None:
        """Give an officer another role or jurisdiction."""
        officer = self._officer(officer_id)
        role_value = _role(role)
        _check_jurisdiction(jurisdiction)
        if (
            officer.role is Role.ADMINISTRATOR
            and role_value is not Role.ADMINISTRATOR
            and self._active_administrators() == [officer_id]
        ):
            raise LastAdministrator(officer_id)
        self._change_role(
            officer_id=officer_id,
            role=role_value.value,
            jurisdiction=jurisdiction,
            actor=actor,
            signatures=signatures or [],
        )

    @event(RoleChanged)
    def _change_role(
        self,
        *,
        officer_id: str,
        role: str,
        jurisdiction: str,
        actor: str,
        signatures: list[dict[str, str]],
    ) -> None:
        officer = self.officers[officer_id]
        officer.role = Role(role)
        officer.jurisdiction = jurisdiction

    def rotate_key(
        self,
        *,
        officer_id: str,
        public_key: str,
        actor: str,
        signatures: list[dict[str, str]] | None = None,
    ) -> None:
        """Replace an officer's active key; the old one stops being valid."""
        officer = self._officer(officer_id)
        public_key = _check_public_key(public_key)
        key_id = key_id_of(public_key)
        if key_id in self.keys:
            raise DuplicateOfficer("key", key_id)
        active = [k for k in officer.keys if self.keys[k].status == "active"]
        self._rotate(
            officer_id=officer_id,
            old_key_id=active[-1] if active else "",
            key_id=key_id,
            public_key=public_key,
            actor=actor,
            signatures=signatures or [],
        )

    @event(KeyRotated)
    def _rotate(
        self,
        *,
        officer_id: str,
        old_key_id: str,
        key_id: str,
        public_key: str,
        actor: str,
        signatures: list[dict[str, str]],
    ) -> None:
        if old_key_id:
            self.keys[old_key_id].status = "rotated"
        self.officers[officer_id].keys.append(key_id)
        self.keys[key_id] = KeyRecord(key_id, officer_id, public_key)

    def revoke_key(
        self,
        *,
        key_id: str,
        reason: str,
        actor: str,
        signatures: list[dict[str, str]] | None = None,
    ) -> None:
        """Revoke a key (lost, stolen, officer left): it never signs again."""
        officer, record = self.officer_of_key(key_id)
        if record.status == "revoked":
            raise RevokedKey(key_id, officer.officer_id, record.status)
        if (
            record.status == "active"
            and officer.role is Role.ADMINISTRATOR
            and self._active_administrators() == [officer.officer_id]
            and [k for k in officer.keys if self.keys[k].status == "active"] == [key_id]
        ):
            raise LastAdministrator(officer.officer_id)
        if not isinstance(reason, str) or not reason.strip():
            raise InvalidReference("reason", reason, "a non-empty reason")
        self._revoke(
            officer_id=officer.officer_id,
            key_id=key_id,
            reason=reason,
            actor=actor,
            signatures=signatures or [],
        )

    @event(KeyRevoked)
    def _revoke(
        self,
        *,
        officer_id: str,
        key_id: str,
        reason: str,
        actor: str,
        signatures: list[dict[str, str]],
    ) -> None:
        self.keys[key_id].status = "revoked"

    def _officer(self, officer_id: str) -> Officer:
        officer = self.officers.get(officer_id)
        if officer is None:
            raise UnknownOfficer(officer_id)
        return officer


def _role(role: object) -> Role:
    try:
        return Role(str(role))
    except ValueError:
        raise InvalidReference(
            "role", role, "one of " + ", ".join(r.value for r in Role)
        ) from None
