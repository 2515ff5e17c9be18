"""Tests for ledger.checkpoint, with a second verifier written from the spec."""

from __future__ import annotations

import base64
import binascii
import hashlib

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.checkpoint import (
    MAX_TREE_SIZE,
    Checkpoint,
    open_checkpoint,
    sign_checkpoint,
)
from ledger.errors import InvalidNote
from ledger.note import NoteSigner, NoteVerifier, open_note

# The example at the top of c2sp.org/tlog-checkpoint (tlog-checkpoint.md in
# github.com/C2SP/C2SP). The spec publishes no verifier key for it.
SPEC_ROOT = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
SPEC_BODY = f"example.com/behind-the-sofa\n20852163\n{SPEC_ROOT}\n"
SPEC_SIGNATURE = (
    "Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+"
    "zyWE+xeMcTOAYQ8="
)
SPEC_NOTE = f"{SPEC_BODY}\n\u2014 example.com/behind-the-sofa {SPEC_SIGNATURE}\n"

# The Go checksum database's verifier key, as the go command pins it in
# src/cmd/go/internal/modfetch/key.go of github.com/golang/go.
SUMDB_VKEY = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
SUMDB = NoteVerifier(SUMDB_VKEY)

# The spec example's signature carries the key ID 033de0ae of sum.golang.org,
# and it verifies under that key once the origin line reads "go.sum database
# tree" (the checksum database's origin) and the key name "sum.golang.org": the
# example is a real checksum database checkpoint, relabelled. Restored, it is a
# checkpoint whose signature anyone can check against a published key, and one
# whose key name differs from its origin, as the spec allows.
SUMDB_ORIGIN = "go.sum database tree"
SUMDB_NOTE = (
    f"{SUMDB_ORIGIN}\n20852163\n{SPEC_ROOT}\n\n\u2014 sum.golang.org {SPEC_SIGNATURE}\n"
)

# The witness cosignature line of the example at the top of the tlog-cosignature
# spec (tlog-cosignature.md in github.com/C2SP/C2SP): a timestamped Ed25519
# cosignature, signature type 0x04, which we do not implement.
WITNESS_SIG = (
    "\u2014 witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI"
    "5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
)

LOG_ORIGIN = "fundledger.example/log"
LOG = NoteSigner.generate(LOG_ORIGIN)

line_characters = st.characters(
    exclude_categories=["Cs"], exclude_characters=[chr(c) for c in range(32)]
)
origins = st.text(
    st.characters(
        exclude_categories=["Cc", "Cs", "Zs", "Zl", "Zp"], exclude_characters="+"
    ),
    min_size=1,
    max_size=40,
).filter(lambda name: not any(char.isspace() for char in name))
sizes = st.integers(0, MAX_TREE_SIZE)
roots = st.binary(min_size=32, max_size=32)
checkpoints = st.builds(
    Checkpoint,
    origin=st.text(line_characters, min_size=1, max_size=40),
    size=sizes,
    root=roots,
    extensions=st.lists(st.text(line_characters, min_size=1), max_size=3).map(tuple),
)


# -- An independent verifier ------------------------------------------------------


class NotAcceptedError(Exception):
    """The independent verifier's refusal."""


def _require(condition: bool, why: str) -> None:
    if not condition:
        raise NotAcceptedError(why)


def independent_open_checkpoint(note: str, vkey: str) -> tuple[str, int, bytes]:
    """Check a checkpoint note against one verifier key, from the specs alone.

    Written from the text of c2sp.org/signed-note and c2sp.org/tlog-checkpoint,
    using neither ledger.note nor ledger.checkpoint, so that a misreading of the
    specs in the production code cannot also hide in its test. Returns the
    origin, tree size and root hash, or raises ``NotAcceptedError``.
    """
    # Verifier key: name "+" hex key ID "+" base64(0x01 || public key), where
    # the key ID is SHA-256(name || 0x0A || 0x01 || public key)[:4].
    name, key_id_hex, encoded_key = vkey.split("+", 2)
    key = base64.b64decode(encoded_key, validate=True)
    _require(len(key) == 33 and key[0] == 0x01, "not an Ed25519 verifier key")
    key_id = hashlib.sha256(name.encode() + b"\n" + key).digest()[:4]
    _require(key_id.hex() == key_id_hex, "verifier key ID does not match")

    # Signed note: UTF-8 without control characters other than newline; the
    # text ends in a newline, then a blank line, then the signature lines.
    _require(all(char == "\n" or char >= " " for char in note), "control character")
    before, blank, signature_block = note.rpartition("\n\n")
    _require(blank == "\n\n" and signature_block.endswith("\n"), "no signatures")
    text = before + "\n"

    # Each signature line: em dash, space, key name, space, base64(key ID ||
    # signature). Only the line with our name and key ID counts.
    signed = False
    for line in signature_block[:-1].split("\n"):
        dash, line_name, encoded = line.split(" ")
        _require(dash == "\u2014", "signature line does not start with an em dash")
        raw = base64.b64decode(encoded, validate=True)
        if line_name == name and raw[:4] == key_id:
            try:
                Ed25519PublicKey.from_public_bytes(key[1:]).verify(
                    raw[4:], text.encode()
                )
            except InvalidSignature as error:
                raise NotAcceptedError("the signature does not verify") from error
            signed = True
    _require(signed, "no signature by the key")

    # Checkpoint text: origin, decimal size without leading zeros, base64 root.
    origin, size, root_line, *_extensions = text[:-1].split("\n")
    _require(origin != "", "empty origin")
    _require(size.isascii() and size.isdigit(), "size is not decimal")
    _require(size == "0" or not size.startswith("0"), "size has a leading zero")
    root = base64.b64decode(root_line, validate=True)
    _require(len(root) == 32, "root hash is not 32 bytes")
    return origin, int(size), root


@settings(max_examples=300)
@given(origin=origins, size=sizes, root=roots)
def test_independent_verifier_accepts_our_checkpoints(
    origin: str, size: int, root: bytes
) -> None:
    log = NoteSigner.generate(origin)

    note = sign_checkpoint(Checkpoint(origin, size, root), log)

    assert independent_open_checkpoint(note, log.verifier_key) == (origin, size, root)


def test_independent_verifier_accepts_the_checksum_database_checkpoint() -> None:
    # The independent verifier is itself checked on a note we did not sign.
    assert independent_open_checkpoint(SUMDB_NOTE, SUMDB_VKEY) == (
        SUMDB_ORIGIN,
        20852163,
        base64.b64decode(SPEC_ROOT),
    )


@pytest.mark.parametrize(
    "note",
    [
        pytest.param(SPEC_NOTE, id="spec-example-unknown-name"),
        pytest.param(SUMDB_NOTE.replace("20852163", "20852164"), id="changed-size"),
        pytest.param(SUMDB_NOTE.replace("Az3g", "Az3h"), id="changed-key-id"),
    ],
)
def test_independent_verifier_rejects_what_it_should(note: str) -> None:
    with pytest.raises((NotAcceptedError, ValueError, binascii.Error)):
        independent_open_checkpoint(note, SUMDB_VKEY)


# -- The published examples -------------------------------------------------------


def test_spec_example_body_parses_and_is_reproduced() -> None:
    checkpoint = Checkpoint.parse(SPEC_BODY)

    assert checkpoint == Checkpoint(
        "example.com/behind-the-sofa", 20852163, base64.b64decode(SPEC_ROOT)
    )
    assert checkpoint.body() == SPEC_BODY


def test_spec_example_signature_is_ignored_under_another_name() -> None:
    # Same key ID as sum.golang.org but another name: an unknown key, which the
    # spec says to ignore, leaving the note unsigned.
    assert base64.b64decode(SPEC_SIGNATURE)[:4] == SUMDB.key_id.to_bytes(4, "big")

    with pytest.raises(InvalidNote, match="no signature by a known key"):
        open_checkpoint(SPEC_NOTE, [SUMDB])


def test_checksum_database_checkpoint_verifies_with_its_published_key() -> None:
    checkpoint = open_checkpoint(SUMDB_NOTE, [SUMDB], origin=SUMDB_ORIGIN)

    assert checkpoint == Checkpoint(SUMDB_ORIGIN, 20852163, base64.b64decode(SPEC_ROOT))


def test_unknown_cosignature_types_are_ignored() -> None:
    opened = open_note(SUMDB_NOTE + WITNESS_SIG, [SUMDB])

    assert opened.verified_by == (SUMDB,)
    assert [s.name for s in opened.unverified] == ["witness.example.com/w1"]
    assert open_checkpoint(SUMDB_NOTE + WITNESS_SIG, [SUMDB]).size == 20852163


# -- Round trips ------------------------------------------------------------------


@given(checkpoint=checkpoints)
def test_parse_reads_back_the_body(checkpoint: Checkpoint) -> None:
    assert Checkpoint.parse(checkpoint.body()) == checkpoint


# Lines that are often, but not always, the canonical spelling of a field.
size_lines = st.one_of(
    sizes.map(str),
    st.from_regex(r"\A[0-9+\- _]{0,21}\Z"),
    sizes.map(lambda size: f"0{size}"),
)
root_lines = st.one_of(
    roots.map(lambda root: base64.b64encode(root).decode()),
    st.binary(min_size=30, max_size=34).map(lambda b: base64.b64encode(b).decode()),
    st.from_regex(r"\A[A-Za-z0-9+/]{42,44}={0,2}\Z"),
)


@given(
    origin=st.text(line_characters, max_size=10),
    size_line=size_lines,
    root_line=root_lines,
)
def test_every_accepted_body_is_canonical(
    origin: str, size_line: str, root_line: str
) -> None:
    # Whatever spelling parse accepts is the one body() writes: a tree head has
    # one text, so two texts can never both claim it.
    body = f"{origin}\n{size_line}\n{root_line}\n"
    try:
        checkpoint = Checkpoint.parse(body)
    except InvalidNote:
        return
    assert checkpoint.body() == body


@given(origin=origins, size=sizes, root=roots)
def test_signed_checkpoints_open(origin: str, size: int, root: bytes) -> None:
    log = NoteSigner.generate(origin)
    checkpoint = Checkpoint(origin, size, root)

    note = sign_checkpoint(checkpoint, log)

    assert open_checkpoint(note, [log.verifier()], origin=origin) == checkpoint


# -- Rejections -------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(SPEC_BODY.replace("\n20852163", "\n020852163"), id="leading-zero"),
        pytest.param(SPEC_BODY.replace("\n20852163", "\n00"), id="zero-twice"),
        pytest.param(SPEC_BODY.replace("\n20852163", "\n-1"), id="negative-size"),
        pytest.param(SPEC_BODY.replace("\n20852163", "\n+1"), id="plus-sign"),
        pytest.param(SPEC_BODY.replace("\n20852163", "\n 1"), id="space-in-size"),
        pytest.param(SPEC_BODY.replace("\n20852163", "\n1_000"), id="underscore"),
        pytest.param(SPEC_BODY.replace("\n20852163", "\n\u0661"), id="arabic-digit"),
        pytest.param(SPEC_BODY.replace("\n20852163", "\n"), id="empty-size"),
        pytest.param(
            SPEC_BODY.replace("\n20852163", f"\n{MAX_TREE_SIZE + 1}"), id="size-too-big"
        ),
        pytest.param(
            SPEC_BODY.replace(SPEC_ROOT, base64.b64encode(bytes(31)).decode()),
            id="root-31-bytes",
        ),
        pytest.param(
            SPEC_BODY.replace(SPEC_ROOT, base64.b64encode(bytes(33)).decode()),
            id="root-33-bytes",
        ),
        pytest.param(SPEC_BODY.replace(SPEC_ROOT, SPEC_ROOT[:-1]), id="root-no-pad"),
        pytest.param(
            SPEC_BODY.replace(SPEC_ROOT, SPEC_ROOT.replace("2I=", "2J=")),
            id="root-non-canonical",
        ),
        pytest.param(
            SPEC_BODY.replace(SPEC_ROOT, base64.b64decode(SPEC_ROOT).hex()),
            id="root-not-base64",
        ),
        pytest.param(
            SPEC_BODY.replace("example.com/behind-the-sofa", ""), id="no-origin"
        ),
        pytest.param(SPEC_BODY + "\n", id="empty-extension-line"),
        pytest.param(SPEC_BODY + "ext\n\nmore\n", id="empty-line-among-extensions"),
        pytest.param(SPEC_BODY[:-1], id="missing-final-newline"),
        pytest.param("example.com/log\n0\n", id="two-lines"),
        pytest.param("", id="empty"),
        pytest.param(SPEC_BODY.replace("\n", "\r\n"), id="crlf"),
        pytest.param("\t" + SPEC_BODY, id="control-character-in-origin"),
    ],
)
def test_malformed_bodies_are_rejected(body: str) -> None:
    with pytest.raises(InvalidNote):
        Checkpoint.parse(body)


def test_the_largest_and_smallest_sizes_are_accepted() -> None:
    root = base64.b64decode(SPEC_ROOT)
    for size in (0, MAX_TREE_SIZE):
        body = f"{LOG_ORIGIN}\n{size}\n{SPEC_ROOT}\n"
        assert Checkpoint.parse(body) == Checkpoint(LOG_ORIGIN, size, root)


def _log_note() -> str:
    return sign_checkpoint(Checkpoint(LOG_ORIGIN, 5, bytes(range(32))), LOG)


@pytest.mark.parametrize(
    ("note", "verifiers", "origin"),
    [
        pytest.param(
            _log_note(), [LOG.verifier()], "fundledger.example/other", id="wrong-origin"
        ),
        pytest.param(
            _log_note(),
            [NoteSigner.generate(LOG_ORIGIN).verifier()],
            None,
            id="wrong-key",
        ),
        pytest.param(_log_note(), [SUMDB], None, id="unknown-key-only"),
        pytest.param(
            _log_note().replace("\n5\n", "\n6\n"),
            [LOG.verifier()],
            None,
            id="changed-size",
        ),
        pytest.param(
            _log_note()[:-1], [LOG.verifier()], None, id="missing-final-newline"
        ),
        pytest.param(
            LOG.sign("hello\n"), [LOG.verifier()], None, id="signed-non-checkpoint"
        ),
        pytest.param(
            SUMDB_NOTE, [SUMDB], "example.com/behind-the-sofa", id="spec-origin"
        ),
    ],
)
def test_bad_checkpoints_are_rejected(
    note: str, verifiers: list[NoteVerifier], origin: str | None
) -> None:
    with pytest.raises(InvalidNote):
        open_checkpoint(note, verifiers, origin=origin)


@given(data=st.data())
def test_any_changed_byte_of_a_checkpoint_is_caught(data: st.DataObject) -> None:
    note = _log_note().encode()
    index = data.draw(st.integers(0, len(note) - 1), label="index")
    mask = data.draw(st.integers(1, 255), label="mask")
    changed = note[:index] + bytes([note[index] ^ mask]) + note[index + 1 :]

    with pytest.raises(InvalidNote):
        open_checkpoint(changed, [LOG.verifier()], origin=LOG_ORIGIN)


def test_a_log_signs_only_under_its_origin() -> None:
    checkpoint = Checkpoint("fundledger.example/other", 5, bytes(32))

    with pytest.raises(ValueError, match="must be its origin"):
        sign_checkpoint(checkpoint, LOG)


@pytest.mark.parametrize(
    ("origin", "size", "root", "extensions"),
    [
        pytest.param("", 0, bytes(32), (), id="empty-origin"),
        pytest.param("a\nb", 0, bytes(32), (), id="two-line-origin"),
        pytest.param("a\tb", 0, bytes(32), (), id="control-character"),
        pytest.param("log", -1, bytes(32), (), id="negative-size"),
        pytest.param("log", MAX_TREE_SIZE + 1, bytes(32), (), id="size-too-big"),
        pytest.param("log", True, bytes(32), (), id="bool-size"),
        pytest.param("log", 0, bytes(31), (), id="short-root"),
        pytest.param("log", 0, bytes(32), ("",), id="empty-extension"),
        pytest.param("log", 0, bytes(32), ("a\nb",), id="two-line-extension"),
    ],
)
def test_checkpoints_that_cannot_be_written_are_refused(
    origin: str, size: int, root: bytes, extensions: tuple[str, ...]
) -> None:
    with pytest.raises(ValueError, match="not a valid checkpoint"):
        Checkpoint(origin, size, root, extensions)
