"""The personal-data vault's crypto: sealing, key wrapping and erasure."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import (
    InvalidPersonRef,
    VaultRecordUnreadable,
    WrappedKeyUnreadable,
    WrongKeySize,
)
from domain.vault import (
    KEY_BYTES,
    NONCE_BYTES,
    WRAPPED_KEY_BYTES,
    PersonalData,
    SealedRecord,
    new_person_key,
    seal,
    unseal,
    unwrap_key,
    wrap_key,
)

ZHANG = "a1" * 32
WANG = "b2" * 32
LI = "c3" * 32
ZHANG_DATA = PersonalData(
    name="张三丰", resident_id="11010519491231002X", bank_account="6222021234567890"
)


def _flip(data: bytes, index: int) -> bytes:
    index %= len(data)
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


# --- sealing ----------------------------------------------------------------


def test_a_sealed_record_opens_with_its_key() -> None:
    key = new_person_key()
    record = seal(key, ZHANG, ZHANG_DATA)
    assert unseal(key, record) == ZHANG_DATA
    assert record.person_ref == ZHANG
    assert len(record.nonce) == NONCE_BYTES


@given(
    name=st.text(),
    resident_id=st.text(),
    bank_account=st.none() | st.text(),
)
def test_any_personal_data_round_trips(
    name: str, resident_id: str, bank_account: str | None
) -> None:
    key = new_person_key()
    data = PersonalData(name, resident_id, bank_account)
    assert unseal(key, seal(key, ZHANG, data)) == data


def test_every_seal_uses_a_fresh_nonce() -> None:
    key = new_person_key()
    first, second = seal(key, ZHANG, ZHANG_DATA), seal(key, ZHANG, ZHANG_DATA)
    assert first.nonce != second.nonce
    assert first.ciphertext != second.ciphertext


def test_the_ciphertext_and_reprs_show_no_personal_data() -> None:
    record = seal(new_person_key(), ZHANG, ZHANG_DATA)
    for secret in (ZHANG_DATA.name, ZHANG_DATA.resident_id, "6222021234567890"):
        assert secret.encode() not in record.ciphertext
        assert secret not in repr(record)
        assert secret not in repr(ZHANG_DATA)


def test_keys_are_256_bits_and_distinct() -> None:
    keys = {new_person_key() for _ in range(100)}
    assert len(keys) == 100
    assert {len(key) for key in keys} == {KEY_BYTES}


_KEY = new_person_key()
_RECORD = seal(_KEY, ZHANG, ZHANG_DATA)


@pytest.mark.parametrize(
    ("key", "record"),
    [
        pytest.param(new_person_key(), _RECORD, id="wrong-key"),
        pytest.param(_KEY, replace(_RECORD, nonce=_flip(_RECORD.nonce, 0)), id="nonce"),
        pytest.param(_KEY, replace(_RECORD, nonce=_RECORD.nonce[:8]), id="short-nonce"),
        pytest.param(
            _KEY, replace(_RECORD, ciphertext=_flip(_RECORD.ciphertext, 0)), id="body"
        ),
        pytest.param(
            _KEY, replace(_RECORD, ciphertext=_flip(_RECORD.ciphertext, -1)), id="tag"
        ),
        pytest.param(
            _KEY, replace(_RECORD, ciphertext=_RECORD.ciphertext[:-1]), id="truncated"
        ),
        pytest.param(_KEY, replace(_RECORD, ciphertext=b""), id="emptied"),
        pytest.param(_KEY, replace(_RECORD, person_ref=WANG), id="moved"),
    ],
)
def test_a_wrong_key_or_altered_record_is_unreadable(
    key: bytes, record: SealedRecord
) -> None:
    with pytest.raises(VaultRecordUnreadable) as raised:
        unseal(key, record)
    assert raised.value.person_ref == record.person_ref
    assert ZHANG_DATA.name not in str(raised.value)


@given(st.data())
def test_any_flipped_bit_makes_the_record_unreadable(data: st.DataObject) -> None:
    sealed = _RECORD.nonce + _RECORD.ciphertext
    index = data.draw(st.integers(0, len(sealed) - 1))
    bit = data.draw(st.integers(0, 7))
    changed = sealed[:index] + bytes([sealed[index] ^ (1 << bit)]) + sealed[index + 1 :]
    record = SealedRecord(ZHANG, changed[:NONCE_BYTES], changed[NONCE_BYTES:])
    with pytest.raises(VaultRecordUnreadable):
        unseal(_KEY, record)


def test_misuse_is_refused_before_any_crypto() -> None:
    with pytest.raises(WrongKeySize) as raised:
        seal(b"short", ZHANG, ZHANG_DATA)
    assert (raised.value.size, raised.value.expected) == (5, KEY_BYTES)
    with pytest.raises(WrongKeySize):
        unseal(new_person_key()[:16], _RECORD)
    # A raw ID number where a pseudonym belongs would be stored in the clear.
    with pytest.raises(InvalidPersonRef) as not_a_ref:
        seal(new_person_key(), "11010519491231002X", ZHANG_DATA)
    assert "11010519491231002X" not in str(not_a_ref.value)
    with pytest.raises(InvalidPersonRef):
        seal(new_person_key(), ZHANG.upper(), ZHANG_DATA)


# --- key wrapping -----------------------------------------------------------


def test_a_wrapped_key_unwraps_under_the_master_key() -> None:
    master, key = new_person_key(), new_person_key()
    wrapped = wrap_key(master, ZHANG, key)
    assert len(wrapped) == WRAPPED_KEY_BYTES
    assert key not in wrapped
    assert unwrap_key(master, ZHANG, wrapped) == key


_MASTER = new_person_key()
_WRAPPED = wrap_key(_MASTER, ZHANG, _KEY)


@pytest.mark.parametrize(
    ("master", "person", "wrapped"),
    [
        pytest.param(new_person_key(), ZHANG, _WRAPPED, id="wrong-master"),
        pytest.param(_MASTER, WANG, _WRAPPED, id="moved"),
        pytest.param(_MASTER, ZHANG, _flip(_WRAPPED, 0), id="nonce"),
        pytest.param(_MASTER, ZHANG, _flip(_WRAPPED, NONCE_BYTES), id="body"),
        pytest.param(_MASTER, ZHANG, _flip(_WRAPPED, -1), id="tag"),
        pytest.param(_MASTER, ZHANG, _WRAPPED[:-1], id="truncated"),
        pytest.param(_MASTER, ZHANG, b"", id="empty"),
    ],
)
def test_a_wrong_master_or_altered_wrapped_key_is_unreadable(
    master: bytes, person: str, wrapped: bytes
) -> None:
    with pytest.raises(WrappedKeyUnreadable) as raised:
        unwrap_key(master, person, wrapped)
    assert raised.value.person_ref == person


def test_a_wrapped_key_cannot_stand_in_for_a_record() -> None:
    # Same key material, same person: only the context in the associated data
    # differs, and that is enough.
    record = SealedRecord(ZHANG, _WRAPPED[:NONCE_BYTES], _WRAPPED[NONCE_BYTES:])
    with pytest.raises(VaultRecordUnreadable):
        unseal(_MASTER, record)


# --- erasure ----------------------------------------------------------------


def test_after_erasure_no_key_held_recovers_the_person() -> None:
    # A vault as the storage layer keeps it: wrapped keys and sealed records
    # per person_ref, and one master key.
    master = new_person_key()
    people = {
        ZHANG: ZHANG_DATA,
        WANG: PersonalData(name="王小明", resident_id="34052419800101001X"),
        LI: PersonalData(name="李四", resident_id="370101190102039973"),
    }
    wrapped_keys: dict[str, bytes] = {}
    records: dict[str, SealedRecord] = {}
    for person, data in people.items():
        key = new_person_key()
        wrapped_keys[person] = wrap_key(master, person, key)
        records[person] = seal(key, person, data)
    zhang_key = unwrap_key(master, ZHANG, wrapped_keys[ZHANG])
    assert unseal(zhang_key, records[ZHANG]) == ZHANG_DATA

    # Erasure: Zhang's wrapped key is destroyed (and the copy unwrapped above
    # forgotten); the sealed record stays.
    del wrapped_keys[ZHANG], zhang_key

    # Every key still held: the master key, every other person's key, and any
    # key unwrapped from another person's wrapped key under Zhang's name.
    held = [master]
    for person, wrapped in wrapped_keys.items():
        held.append(unwrap_key(master, person, wrapped))
        with pytest.raises(WrappedKeyUnreadable):
            unwrap_key(master, ZHANG, wrapped)
    for key in held:
        with pytest.raises(VaultRecordUnreadable):
            unseal(key, records[ZHANG])
    assert ZHANG_DATA.name.encode() not in records[ZHANG].ciphertext

    # The others are untouched.
    for person in (WANG, LI):
        key = unwrap_key(master, person, wrapped_keys[person])
        assert unseal(key, records[person]) == people[person]
