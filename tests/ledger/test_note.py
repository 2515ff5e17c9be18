"""Tests for ledger.note against the published examples and the spec's rules."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import InvalidNote, KeyFileError
from ledger.note import (
    MAX_SIGNATURES,
    NoteSignature,
    NoteSigner,
    NoteVerifier,
    add_signature,
    ed25519_key_id,
    is_valid_key_name,
    open_note,
)

# The worked example in the package documentation of golang.org/x/mod/sumdb/note
# (file sumdb/note/note.go), also used by its tests (sumdb/note/note_test.go):
# a signer key, its verifier key, a text, and the note Go's Sign produces for it.
PETER_SKEY = (
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
)
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2p"
    "ZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
GO_NOTE = GO_TEXT + "\n" + PETER_SIG

# The same documentation's doubly-signed note adds this cosignature; the
# EnochRoot verifier key is the one sumdb/note/note_test.go checks it with.
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
ENOCH_SIG = (
    "\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5"
    "ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
)

# The example at the top of c2sp.org/signed-note (signed-note.md in
# github.com/C2SP/C2SP). The spec publishes no verifier key for it, so it can
# only be read as a note signed by a key we do not know. Its text has a blank
# line and non-ASCII characters, which makes it a good parsing test.
C2SP_TEXT = (
    "Ognuno sta solo sul cuor della terra\n"
    "trafitto da un raggio di sole:\n"
    "\n"
    "ed \u00e8 subito sera.\n"
)
C2SP_SIG = (
    "\u2014 quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLl"
    "C+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n"
)
C2SP_NOTE = C2SP_TEXT + "\n" + C2SP_SIG

PETER = NoteVerifier(PETER_VKEY)
ENOCH = NoteVerifier(ENOCH_VKEY)


def _signature_line(name: str, key_id: int, signature: bytes) -> str:
    """A signature line built by hand, to forge malformed or tampered ones."""
    raw = key_id.to_bytes(4, "big") + signature
    return f"\u2014 {name} {base64.b64encode(raw).decode()}\n"


def _peter_signature() -> bytes:
    return base64.b64decode(PETER_SIG.split(" ")[2])[4:]


def _flip_signature_byte() -> str:
    signature = bytearray(_peter_signature())
    signature[10] ^= 0x01
    return (
        GO_TEXT + "\n" + _signature_line("PeterNeumann", PETER.key_id, bytes(signature))
    )


def _unknown_lines(count: int) -> str:
    """``count`` distinct lines by keys nobody configured (never verified)."""
    return "".join(
        _signature_line(f"witness{i}.example", i, bytes(64)) for i in range(count)
    )


# Printable text, blank lines included; only the characters the spec forbids
# (ASCII controls other than newline) and unencodable surrogates are left out.
line_characters = st.characters(
    exclude_categories=["Cs"], exclude_characters=[chr(c) for c in range(32)]
)
note_texts = st.lists(st.text(line_characters, max_size=30), min_size=1).map(
    lambda lines: "".join(f"{line}\n" for line in lines)
)
key_names = st.text(
    st.characters(
        exclude_categories=["Cc", "Cs", "Zs", "Zl", "Zp"], exclude_characters="+"
    ),
    min_size=1,
    max_size=30,
).filter(lambda name: not any(char.isspace() for char in name))
seeds = st.binary(min_size=32, max_size=32)


# -- The published examples -------------------------------------------------------


def test_go_signer_key_derives_the_published_verifier_key() -> None:
    signer = NoteSigner.from_signer_key(PETER_SKEY)

    assert signer.name == "PeterNeumann"
    assert signer.key_id == 0xC74F20A3
    assert signer.verifier_key == PETER_VKEY
    assert signer.to_signer_key() == PETER_SKEY


def test_go_signer_reproduces_the_published_note() -> None:
    # Ed25519 is deterministic, so our signature must be Go's, byte for byte.
    assert NoteSigner.from_signer_key(PETER_SKEY).sign(GO_TEXT) == GO_NOTE


@pytest.mark.parametrize("note", [GO_NOTE, GO_NOTE.encode()], ids=["str", "bytes"])
def test_go_note_opens_with_the_published_verifier_key(note: str | bytes) -> None:
    opened = open_note(note, [PETER])

    assert opened.text == GO_TEXT
    assert opened.verified_by == (PETER,)
    assert [(s.name, s.key_id) for s in opened.verified] == [
        ("PeterNeumann", 0xC74F20A3)
    ]
    assert opened.unverified == ()


def test_go_doubly_signed_note_opens_with_both_keys() -> None:
    opened = open_note(GO_NOTE + ENOCH_SIG, [ENOCH, PETER])

    assert opened.verified_by == (PETER, ENOCH)
    assert opened.unverified == ()


def test_go_doubly_signed_note_reports_the_unknown_cosigner() -> None:
    opened = open_note(GO_NOTE + ENOCH_SIG, [PETER])

    assert opened.verified_by == (PETER,)
    assert [(s.name, s.key_id) for s in opened.unverified] == [
        ("EnochRoot", 0xAF0CFE78)
    ]
    assert opened.unverified[0].line == ENOCH_SIG


def test_go_cosigning_example_is_reproduced_by_add_signature() -> None:
    # The Go documentation's EnochRoot key is random, so we cosign with one of
    # our own and check the shape: original signature kept, ours appended.
    enoch = NoteSigner.generate("EnochRoot")

    cosigned = add_signature(GO_NOTE, enoch, [PETER])

    assert cosigned.startswith(GO_NOTE)
    assert open_note(cosigned, [PETER, enoch.verifier()]).verified_by == (
        PETER,
        enoch.verifier(),
    )


def test_c2sp_example_is_read_as_signed_by_an_unknown_key() -> None:
    ours = NoteSigner.generate("fundledger.example/log")
    note = C2SP_NOTE + ours.signature_line(C2SP_TEXT)

    opened = open_note(note, [ours.verifier()])

    assert opened.text == C2SP_TEXT
    assert opened.unverified == (
        NoteSignature(
            "quasimodo.example/salvatore",
            0x367BA04B,
            base64.b64decode(C2SP_SIG.split(" ")[2])[4:],
        ),
    )


def test_c2sp_example_alone_is_rejected() -> None:
    # A key with the example's name but another key ID must be ignored, leaving
    # no known signature.
    impostor = NoteSigner.generate("quasimodo.example/salvatore").verifier()

    with pytest.raises(InvalidNote, match="no signature by a known key"):
        open_note(C2SP_NOTE, [impostor])


# -- Key strings ------------------------------------------------------------------


@given(name=key_names, seed=seeds)
def test_verifier_key_round_trips(name: str, seed: bytes) -> None:
    signer = NoteSigner(name, Ed25519PrivateKey.from_private_bytes(seed))

    verifier = NoteVerifier(signer.verifier_key)

    assert verifier.verifier_key == signer.verifier_key
    assert (verifier.name, verifier.key_id) == (name, signer.key_id)
    assert verifier.key_id == ed25519_key_id(name, verifier.public_key)


@given(name=key_names, seed=seeds)
def test_signer_key_round_trips(name: str, seed: bytes) -> None:
    signer = NoteSigner(name, Ed25519PrivateKey.from_private_bytes(seed))

    parsed = NoteSigner.from_signer_key(signer.to_signer_key())

    assert parsed.to_signer_key() == signer.to_signer_key()
    assert parsed.verifier_key == signer.verifier_key


def test_every_mangling_of_the_go_verifier_key_is_refused() -> None:
    # Every proper substring and every single-character change must fail: the
    # key ID binds the name and the key together.
    manglings = {
        PETER_VKEY[start:end]
        for start in range(len(PETER_VKEY))
        for end in range(start + 1, len(PETER_VKEY) + 1)
    } | {
        PETER_VKEY[:i] + chr(ord(PETER_VKEY[i]) + 1) + PETER_VKEY[i + 1 :]
        for i in range(len(PETER_VKEY))
    }
    manglings.discard(PETER_VKEY)

    for mangled in manglings:
        with pytest.raises(KeyFileError):
            NoteVerifier(mangled)


def test_every_mangling_of_the_go_signer_key_is_refused() -> None:
    manglings = {
        PETER_SKEY[:i] + chr(ord(PETER_SKEY[i]) + 1) + PETER_SKEY[i + 1 :]
        for i in range(len(PETER_SKEY))
    } | {PETER_SKEY[:end] for end in range(len(PETER_SKEY))}

    for mangled in manglings:
        with pytest.raises(KeyFileError):
            NoteSigner.from_signer_key(mangled)


def _with_key_id(name: str, key: bytes) -> str:
    """A verifier key with a correct key ID around any key bytes."""
    key_id = ed25519_key_id(name, key[1:]) if key[:1] == b"\x01" else 0
    return f"{name}+{key_id:08x}+{base64.b64encode(key).decode()}"


@pytest.mark.parametrize(
    "vkey",
    [
        # From sumdb/note/note_test.go: too long a key (which we refuse even
        # earlier, its last base64 digit having non-zero padding bits), and an
        # unknown signature type byte.
        pytest.param(
            "PeterNeumann+cc469956+"
            "ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
            id="go-wrong-length-key",
        ),
        pytest.param(
            "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            id="go-unknown-algorithm",
        ),
        pytest.param(_with_key_id("short", b"\x01" + bytes(31)), id="31-byte-key"),
        pytest.param(_with_key_id("long", b"\x01" + bytes(33)), id="33-byte-key"),
        pytest.param(_with_key_id("cosigner", b"\x04" + bytes(32)), id="type-0x04"),
        pytest.param(PETER_VKEY.replace("+c74f20a3+", "+c74f20a4+"), id="wrong-key-id"),
        pytest.param(PETER_VKEY.replace("+c74f20a3+", "+0xc74f20+"), id="hex-prefix"),
        pytest.param(PETER_VKEY.replace("TW", "TX"), id="non-canonical-base64"),
        pytest.param("Peter Neumann" + PETER_VKEY[12:], id="space-in-name"),
        pytest.param("+c74f20a3+" + PETER_VKEY.split("+", 2)[2], id="empty-name"),
        pytest.param("PRIVATE+KEY+" + PETER_SKEY[12:], id="signer-key"),
        pytest.param("", id="empty"),
    ],
)
def test_malformed_verifier_keys_are_refused(vkey: str) -> None:
    with pytest.raises(KeyFileError) as caught:
        NoteVerifier(vkey, path="log.vkey")

    assert caught.value.path == "log.vkey"


def test_signer_key_errors_do_not_reveal_the_key() -> None:
    wrong_id = PETER_SKEY.replace("+c74f20a3+", "+00000000+")

    with pytest.raises(KeyFileError, match="declares key ID 00000000") as caught:
        NoteSigner.from_signer_key(wrong_id, path="log.key")

    assert caught.value.path == "log.key"
    assert PETER_SKEY.rsplit("+", 1)[1] not in str(caught.value)
    assert PETER_SKEY.rsplit("+", 1)[1] not in repr(
        NoteSigner.from_signer_key(PETER_SKEY)
    )


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("", id="empty"),
        pytest.param("a b", id="space"),
        pytest.param("a\u00a0b", id="no-break-space"),
        pytest.param("a\u3000b", id="ideographic-space"),
        pytest.param("a+b", id="plus"),
        pytest.param("a\x01b", id="control-character"),
        pytest.param("a\ud800b", id="surrogate"),
    ],
)
def test_invalid_key_names_are_refused(name: str) -> None:
    assert not is_valid_key_name(name)
    with pytest.raises(ValueError, match="key name"):
        NoteSigner.generate(name)


# -- Signing and opening ----------------------------------------------------------


@given(text=note_texts, name=key_names)
def test_signed_notes_open_to_their_text(text: str, name: str) -> None:
    signer = NoteSigner.generate(name)

    opened = open_note(signer.sign(text), [signer.verifier()])

    assert opened.text == text
    assert opened.verified_by == (signer.verifier(),)


@given(text=note_texts, data=st.data())
def test_any_changed_byte_is_caught(text: str, data: st.DataObject) -> None:
    note = NoteSigner.from_signer_key(PETER_SKEY).sign(text).encode()
    index = data.draw(st.integers(0, len(note) - 1), label="index")
    mask = data.draw(st.integers(1, 255), label="mask")
    changed = note[:index] + bytes([note[index] ^ mask]) + note[index + 1 :]

    with pytest.raises(InvalidNote):
        open_note(changed, [PETER])


@given(text=note_texts, data=st.data())
def test_any_truncation_is_caught(text: str, data: st.DataObject) -> None:
    note = NoteSigner.from_signer_key(PETER_SKEY).sign(text)
    end = data.draw(st.integers(0, len(note) - 1), label="end")

    with pytest.raises(InvalidNote):
        open_note(note[:end], [PETER])


@pytest.mark.parametrize(
    ("note", "verifiers"),
    [
        pytest.param(
            GO_NOTE.replace("problem,", "problem;"), [PETER], id="flipped-byte-in-text"
        ),
        pytest.param(_flip_signature_byte(), [PETER], id="flipped-byte-in-signature"),
        pytest.param(GO_NOTE[:-1], [PETER], id="missing-final-newline"),
        pytest.param(GO_TEXT + PETER_SIG, [PETER], id="missing-blank-line"),
        pytest.param(GO_TEXT, [PETER], id="text-only"),
        pytest.param(GO_TEXT + "\n", [PETER], id="no-signature-lines"),
        pytest.param(
            GO_NOTE, [NoteSigner.generate("PeterNeumann").verifier()], id="wrong-key"
        ),
        pytest.param(GO_NOTE, [ENOCH], id="unknown-key-only"),
        pytest.param(GO_NOTE, [], id="no-verifiers"),
        pytest.param(GO_NOTE.replace("x08go/", "x08go!"), [PETER], id="bad-base64"),
        pytest.param(
            GO_NOTE.replace("nAM=", "nAN="), [PETER], id="non-canonical-base64"
        ),
        pytest.param(
            GO_TEXT
            + "\n"
            + _signature_line("PeterNeumann", PETER.key_id ^ 1, _peter_signature()),
            [PETER],
            id="wrong-key-id",
        ),
        pytest.param(
            GO_NOTE.replace("PeterNeumann", "PeterNeuman"), [PETER], id="wrong-key-name"
        ),
        pytest.param("\x01" + GO_NOTE, [PETER], id="control-character"),
        pytest.param(GO_NOTE.replace("you ", "you\t", 1), [PETER], id="tab"),
        pytest.param(GO_NOTE.replace("\n", "\r\n"), [PETER], id="crlf"),
        pytest.param(b"\xff" + GO_NOTE.encode(), [PETER], id="non-utf8"),
        pytest.param(
            GO_NOTE.encode().replace(b"\xe2\x80\x94", b"\xe2\x80"),
            [PETER],
            id="cut-utf8",
        ),
        pytest.param("\ud800" + GO_NOTE, [PETER], id="surrogate"),
        pytest.param(
            GO_NOTE.replace("\u2014", "-"), [PETER], id="hyphen-instead-of-em-dash"
        ),
        pytest.param(
            GO_NOTE.replace("\u2014 ", "\u2014"), [PETER], id="no-space-after-dash"
        ),
        pytest.param(
            GO_NOTE.replace("PeterNeumann", "Bad Name"), [PETER], id="space-in-name"
        ),
        pytest.param(
            GO_NOTE + "Unexpected line.\n", [PETER], id="line-after-signatures"
        ),
        pytest.param(
            GO_TEXT + "\n\u2014 PeterNeumann \n", [PETER], id="empty-signature"
        ),
        pytest.param(
            GO_TEXT + "\n" + _signature_line("PeterNeumann", PETER.key_id, b""),
            [PETER],
            id="key-id-without-signature",
        ),
        pytest.param(
            GO_TEXT
            + "\n"
            + _signature_line("PeterNeumann", PETER.key_id, _peter_signature()[:63]),
            [PETER],
            id="short-signature",
        ),
        pytest.param(
            GO_TEXT + "\n" + PETER_SIG + PETER_SIG,
            [PETER],
            id="duplicate-known-signature",
        ),
        pytest.param(
            # The invalid-signature case of sumdb/note/note_test.go.
            GO_TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:],
            [PETER],
            id="go-invalid-signature",
        ),
        pytest.param(
            GO_TEXT + "\n" + PETER_SIG * (MAX_SIGNATURES + 1),
            [PETER],
            id="more-than-100-signatures",
        ),
        pytest.param(
            GO_NOTE + _unknown_lines(MAX_SIGNATURES),
            [PETER],
            id="more-than-100-signatures-mostly-unknown",
        ),
    ],
)
def test_bad_notes_are_rejected(
    note: str | bytes, verifiers: list[NoteVerifier]
) -> None:
    with pytest.raises(InvalidNote):
        open_note(note, verifiers)


def test_one_hundred_signatures_are_accepted() -> None:
    opened = open_note(GO_NOTE + _unknown_lines(MAX_SIGNATURES - 1), [PETER])

    assert len(opened.unverified) == MAX_SIGNATURES - 1


def test_repeated_unknown_signatures_are_reported_once() -> None:
    opened = open_note(GO_NOTE + ENOCH_SIG + ENOCH_SIG, [PETER])

    assert [s.name for s in opened.unverified] == ["EnochRoot"]


def test_a_failing_known_signature_rejects_the_note_despite_a_good_one() -> None:
    tampered_enoch = ENOCH_SIG[:60] + "ABCD" + ENOCH_SIG[60:]

    with pytest.raises(InvalidNote, match="EnochRoot\\+af0cfe78 does not verify"):
        open_note(GO_NOTE + tampered_enoch, [PETER, ENOCH])


def test_repeated_verifiers_are_harmless() -> None:
    assert open_note(GO_NOTE, [PETER, NoteVerifier(PETER_VKEY)]).verified_by == (PETER,)


class _CollidingVerifier(NoteVerifier):
    """A verifier claiming another key's name and ID, as a 32-bit collision would."""

    @property
    def key_id(self) -> int:
        return PETER.key_id

    @property
    def name(self) -> str:
        return PETER.name


def test_two_keys_with_one_name_and_key_id_are_refused() -> None:
    colliding = _CollidingVerifier(ENOCH_VKEY)

    with pytest.raises(InvalidNote, match="more than one verifier"):
        open_note(GO_NOTE, [PETER, colliding])


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("no final newline", id="missing-final-newline"),
        pytest.param("", id="empty"),
        pytest.param("tab\there\n", id="control-character"),
        pytest.param("\ud800\n", id="surrogate"),
    ],
)
def test_signing_refuses_texts_no_note_can_carry(text: str) -> None:
    with pytest.raises(ValueError, match="note text"):
        NoteSigner.generate("log.example").sign(text)


# -- Cosigning --------------------------------------------------------------------


def test_add_signature_replaces_the_signers_own_signature() -> None:
    peter = NoteSigner.from_signer_key(PETER_SKEY)

    assert add_signature(GO_NOTE + ENOCH_SIG, peter, [PETER]) == (
        GO_TEXT + "\n" + ENOCH_SIG + PETER_SIG
    )


def test_add_signature_refuses_an_unverified_note() -> None:
    witness = NoteSigner.generate("witness.example")

    with pytest.raises(InvalidNote, match="no signature by a known key"):
        add_signature(GO_NOTE, witness, [ENOCH])
