"""Signed notes (c2sp.org/signed-note) with Ed25519 keys.

A signed note is a text ending in a newline, a blank line, and one or more
signature lines ``— <key name> <base64(key ID || signature)>``. It is how the log
publishes its checkpoints, and how witnesses add their cosignatures to them.

Invariants:

* ``open_note`` returns only when at least one of the given verifiers signed the
  text, and every signature line whose key name *and* key ID match a given
  verifier has verified. Lines from other keys are returned unverified and
  never influence the result.
* Everything ``open_note`` accepts is also accepted by the Go implementation
  (golang.org/x/mod/sumdb/note), which the rest of the transparency ecosystem
  uses. We are stricter in three places, each explained where it is checked:
  duplicate signatures by a known key, non-canonical base64, and ASCII control
  characters in key names.
* ``NoteSigner.sign`` only produces notes that ``open_note`` accepts with the
  signer's own verifier, and key strings round-trip exactly through parsing
  and formatting.

Only signature type 0x01 (plain Ed25519) is implemented. Nothing here does I/O or
logs; bad notes raise ``InvalidNote``, bad key strings ``KeyFileError``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from ledger.errors import InvalidNote, KeyFileError

#: The signature type identifier byte the spec assigns to Ed25519.
ED25519_SIGNATURE_TYPE = 0x01

#: The spec asks verifiers to cap the number of signatures and to accept at
#: least 16; 100 is Go's cap, so no note refused for its length by us would be
#: accepted there.
MAX_SIGNATURES = 100

_SIGNATURE_PREFIX = "\u2014 "  # em dash, space
_SIGNER_KEY_PREFIX = "PRIVATE+KEY+"
_KEY_ID_HEX = re.compile(r"[0-9a-fA-F]{8}")
_ED25519_PUBLIC_KEY_SIZE = 32
_ED25519_SIGNATURE_SIZE = 64


def is_valid_key_name(name: str) -> bool:
    """Whether ``name`` may be used as a key name.

    The spec forbids empty names, Unicode spaces (the space separates the name
    from the signature on a signature line) and ``+`` (it separates the fields
    of a key string). We also refuse ASCII control characters and text that is
    not encodable as UTF-8, because a note cannot carry them: a signer with such
    a name could only produce notes that every verifier rejects.
    """
    if not name or "+" in name:
        return False
    if any(char.isspace() or char < " " for char in name):
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def ed25519_key_id(name: str, public_key: bytes) -> int:
    """The key ID of an Ed25519 key: SHA-256(name || 0x0A || 0x01 || key)[:4].

    The name and the signature type are hashed in so that one key can serve
    under different names or signature types without its signatures being
    mistaken for one another.
    """
    digest = hashlib.sha256(
        name.encode("utf-8") + b"\n" + bytes([ED25519_SIGNATURE_TYPE]) + public_key
    ).digest()
    return int.from_bytes(digest[:4], "big")


def decode_base64(text: str) -> bytes | None:
    """Decode standard base64, or ``None`` if ``text`` is not its canonical form.

    NOTE: Go's decoder accepts non-zero padding bits, so "AR==" and "AQ==" both
    decode to 0x01. We accept only the canonical encoding, so that each note and
    key has exactly one spelling and no byte of it can change unnoticed.
    """
    try:
        decoded = base64.b64decode(text, validate=True)
    except binascii.Error:
        return None
    if base64.b64encode(decoded).decode("ascii") != text:
        return None
    return decoded


def encode_base64(data: bytes) -> str:
    """Standard base64 (RFC 4648, section 4), the encoding the spec uses."""
    return base64.b64encode(data).decode("ascii")


def _parse_key_fields(text: str) -> tuple[str, int, bytes] | str:
    """Split ``<name>+<hex key id>+<base64(0x01 || key)>`` into its fields.

    Returns the name, the declared key ID and the 32 key bytes, or a reason the
    text is malformed. The reason never quotes the key material, because the
    same parser reads signer keys, which are secret.
    """
    name, _, rest = text.partition("+")
    key_id_hex, _, key_base64 = rest.partition("+")
    if not is_valid_key_name(name):
        return "the key name is empty or has a space, '+' or control character"
    if not _KEY_ID_HEX.fullmatch(key_id_hex):
        return "the key ID must be 8 hexadecimal digits"
    key = decode_base64(key_base64)
    if key is None:
        return "the key is not canonical base64"
    if not key or key[0] != ED25519_SIGNATURE_TYPE:
        kind = f"0x{key[0]:02x}" if key else "missing"
        return f"signature type must be 0x01 (Ed25519), got {kind}"
    if len(key) != 1 + _ED25519_PUBLIC_KEY_SIZE:
        return f"an Ed25519 key must be 32 bytes, got {len(key) - 1}"
    return name, int(key_id_hex, 16), key[1:]


class NoteVerifier:
    """A known public key that may have signed a note.

    Built from a verifier key string ``<name>+<hex key id>+<base64(0x01 ||
    public key)>``, the form in which logs and witnesses publish their keys.
    """

    def __init__(self, verifier_key: str, *, path: str = "<verifier key>") -> None:
        """Parse ``verifier_key``; ``path`` names its source in errors.

        Raises ``KeyFileError`` if the string is malformed, the signature type is
        not Ed25519, or the declared key ID is not the one the name and key
        hash to (which catches a key pasted under the wrong name).
        """
        fields = _parse_key_fields(verifier_key)
        if isinstance(fields, str):
            raise KeyFileError(path, f"malformed verifier key: {fields}")
        name, key_id, public_key = fields

        expected = ed25519_key_id(name, public_key)
        if key_id != expected:
            raise KeyFileError(
                path,
                f"verifier key for {name!r} declares key ID {key_id:08x}, "
                f"but its name and key give {expected:08x}",
            )
        self._name = name
        self._key_id = key_id
        self._public_key_bytes = public_key
        self._public_key = Ed25519PublicKey.from_public_bytes(public_key)

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_id(self) -> int:
        return self._key_id

    @property
    def public_key(self) -> bytes:
        """The raw 32-byte Ed25519 public key."""
        return self._public_key_bytes

    @property
    def verifier_key(self) -> str:
        """This verifier as a verifier key string, with a lower-case key ID."""
        encoded = encode_base64(bytes([ED25519_SIGNATURE_TYPE]) + self.public_key)
        return f"{self.name}+{self.key_id:08x}+{encoded}"

    def verify_signature(self, msg: bytes, sig: bytes) -> bool:
        """Whether ``sig`` (without the key ID prefix) is our signature of ``msg``."""
        if len(sig) != _ED25519_SIGNATURE_SIZE:
            return False
        try:
            self._public_key.verify(sig, msg)
        except InvalidSignature:
            return False
        return True

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NoteVerifier):
            return NotImplemented
        return (self.name, self.key_id, self.public_key) == (
            other.name,
            other.key_id,
            other.public_key,
        )

    def __hash__(self) -> int:
        return hash((self.name, self.key_id, self.public_key))

    def __repr__(self) -> str:
        return f"NoteVerifier({self.verifier_key!r})"


class NoteSigner:
    """A private key that signs notes under a key name.

    Its secret form is the signer key string ``PRIVATE+KEY+<name>+<hex key
    id>+<base64(0x01 || 32-byte seed)>``; the prefix keeps it from being mistaken
    for (or published as) a verifier key.
    """

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        """Sign as ``name`` with ``private_key``.

        Raises ``ValueError`` if ``name`` is not a valid key name (see
        ``is_valid_key_name``): such a signer could produce only unreadable notes.
        """
        if not is_valid_key_name(name):
            raise ValueError(
                f"key name must be non-empty, without spaces, '+' or control "
                f"characters, got {name!r}"
            )
        self._name = name
        self._private_key = private_key
        self._public_key = private_key.public_key().public_bytes_raw()
        self._key_id = ed25519_key_id(name, self._public_key)

    @classmethod
    def generate(cls, name: str) -> NoteSigner:
        """A signer with a fresh random key."""
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_signer_key(
        cls, signer_key: str, *, path: str = "<signer key>"
    ) -> NoteSigner:
        """Parse a signer key string; ``path`` names its source in errors.

        Raises ``KeyFileError`` if the string is malformed or its key ID is not
        the one derived from the name and the public key of its seed. The
        messages never quote the string, since it is a secret.
        """
        if not signer_key.startswith(_SIGNER_KEY_PREFIX):
            raise KeyFileError(path, "a signer key must start with 'PRIVATE+KEY+'")
        fields = _parse_key_fields(signer_key.removeprefix(_SIGNER_KEY_PREFIX))
        if isinstance(fields, str):
            raise KeyFileError(path, f"malformed signer key: {fields}")
        name, key_id, seed = fields

        signer = cls(name, Ed25519PrivateKey.from_private_bytes(seed))
        if signer.key_id != key_id:
            raise KeyFileError(
                path,
                f"signer key for {name!r} declares key ID {key_id:08x}, "
                f"but its name and key give {signer.key_id:08x}",
            )
        return signer

    def to_signer_key(self) -> str:
        """The secret signer key string; whoever holds it can sign as us."""
        seed = self._private_key.private_bytes_raw()
        encoded = encode_base64(bytes([ED25519_SIGNATURE_TYPE]) + seed)
        return f"{_SIGNER_KEY_PREFIX}{self.name}+{self.key_id:08x}+{encoded}"

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_id(self) -> int:
        return self._key_id

    @property
    def verifier_key(self) -> str:
        """The public verifier key string to hand to those who check our notes."""
        encoded = encode_base64(bytes([ED25519_SIGNATURE_TYPE]) + self._public_key)
        return f"{self.name}+{self.key_id:08x}+{encoded}"

    def verifier(self) -> NoteVerifier:
        """The verifier for this signer's key."""
        return NoteVerifier(self.verifier_key)

    def signature_line(self, text: str) -> str:
        """The signature line, ending in a newline, for the note text ``text``."""
        _check_text(text)
        signature = self._private_key.sign(text.encode("utf-8"))
        return NoteSignature(self.name, self.key_id, signature).line

    def sign(self, text: str) -> str:
        """The signed note for ``text``, signed by this key alone.

        Raises ``ValueError`` if ``text`` cannot be a note text: it must end with
        a newline and contain no control character other than newline.
        """
        return f"{text}\n{self.signature_line(text)}"

    def __repr__(self) -> str:
        # The private key stays out of reprs, which end up in logs and tracebacks.
        return f"NoteSigner(name={self.name!r}, key_id=0x{self.key_id:08x})"


def _check_text(text: str) -> None:
    """Raise ``ValueError`` unless ``text`` is a note text we can sign."""
    if not text.endswith("\n"):
        raise ValueError(f"note text must end with a newline, got {text[-20:]!r}")
    problem = forbidden_character(text)
    if problem is not None:
        raise ValueError(f"note text {problem}")


def forbidden_character(text: str) -> str | None:
    """Describe the first character a note may not contain, if there is one.

    The spec forbids ASCII control characters other than newline; unpaired
    surrogates are refused too, since they have no UTF-8 encoding.
    """
    for offset, char in enumerate(text):
        if char < " " and char != "\n":
            return f"has control character U+{ord(char):04X} at offset {offset}"
        if "\ud800" <= char <= "\udfff":
            return f"has unpaired surrogate U+{ord(char):04X} at offset {offset}"
    return None


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: key name, key ID and the raw signature bytes."""

    name: str
    key_id: int
    signature: bytes

    @property
    def line(self) -> str:
        """The signature line as it appears in a note, with its newline."""
        encoded = encode_base64(self.key_id.to_bytes(4, "big") + self.signature)
        return f"{_SIGNATURE_PREFIX}{self.name} {encoded}\n"


@dataclass(frozen=True)
class OpenedNote:
    """A note whose signatures ``open_note`` has checked.

    ``verified`` lists the signatures by known keys, in note order, and
    ``verified_by`` the verifiers that checked them, in the same order.
    ``unverified`` lists the signatures by keys the caller did not know; they say
    nothing about the text until someone verifies them.
    """

    text: str
    verified: tuple[NoteSignature, ...]
    verified_by: tuple[NoteVerifier, ...]
    unverified: tuple[NoteSignature, ...]


def _parse_signature_line(line: str, number: int) -> NoteSignature:
    """Parse one signature line (without its newline)."""
    if not line.startswith(_SIGNATURE_PREFIX):
        raise InvalidNote(
            f"signature line {number} must start with an em dash and a space, "
            f"got {line[:20]!r}"
        )
    name, _, encoded = line.removeprefix(_SIGNATURE_PREFIX).partition(" ")
    if not is_valid_key_name(name):
        raise InvalidNote(f"signature line {number} has invalid key name {name!r}")
    raw = decode_base64(encoded)
    if raw is None:
        raise InvalidNote(
            f"signature line {number} by {name!r} is not canonical base64: "
            f"{encoded[:20]!r}"
        )
    if len(raw) < 5:
        raise InvalidNote(
            f"signature line {number} by {name!r} must hold a 4-byte key ID and "
            f"a signature, got {len(raw)} bytes"
        )
    return NoteSignature(name, int.from_bytes(raw[:4], "big"), raw[4:])


def _decode_note(note: str | bytes) -> str:
    """The note as text, once checked to be UTF-8 without control characters."""
    if isinstance(note, bytes):
        try:
            return _decode_note(note.decode("utf-8"))
        except UnicodeDecodeError as error:
            raise InvalidNote(f"not valid UTF-8 at byte {error.start}") from error
    problem = forbidden_character(note)
    if problem is not None:
        raise InvalidNote(f"note {problem}")
    return note


def open_note(note: str | bytes, verifiers: Sequence[NoteVerifier]) -> OpenedNote:
    """Parse a signed note and check its signatures against ``verifiers``.

    Raises ``InvalidNote`` if the note is malformed, if a signature by a known
    key (same name *and* key ID as one of ``verifiers``) fails to verify or
    appears twice, or if no known key signed it. Signatures by other keys are
    returned in ``unverified`` and otherwise ignored, as the spec requires: a
    note may carry cosignatures its reader does not know.
    """
    # Format: valid UTF-8, no ASCII control characters other than newline.
    message = _decode_note(note)

    # Format: the text ends in a newline and is separated from the signatures by
    # the last blank line; the signature block ends with a newline.
    split = message.rfind("\n\n")
    if split < 0:
        raise InvalidNote("no blank line separates the text from the signatures")
    text, block = message[: split + 1], message[split + 2 :]
    if not block.endswith("\n"):
        raise InvalidNote("the signature block must end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise InvalidNote(
            f"at most {MAX_SIGNATURES} signatures are accepted, got {len(lines)}"
        )
    signatures = [
        _parse_signature_line(line, number) for number, line in enumerate(lines, 1)
    ]

    # Signatures: the (name, key ID) pair identifies a key. Two different keys
    # with the same pair would make the lookup ambiguous, so refuse to choose.
    known: dict[tuple[str, int], NoteVerifier | None] = {}
    for candidate in verifiers:
        pair = (candidate.name, candidate.key_id)
        if pair in known and known[pair] != candidate:
            known[pair] = None
        else:
            known.setdefault(pair, candidate)

    # Signatures: a known key's signature MUST be verified, and we reject the
    # whole note when it fails (the spec's SHOULD). Unknown keys are ignored.
    verified: list[NoteSignature] = []
    verified_by: list[NoteVerifier] = []
    unverified: list[NoteSignature] = []
    for signature in signatures:
        pair = (signature.name, signature.key_id)
        label = f"{signature.name}+{signature.key_id:08x}"
        if pair not in known:
            # Repeated identical lines by unknown keys are dropped, as Go does.
            if signature not in unverified:
                unverified.append(signature)
            continue
        verifier = known[pair]
        if verifier is None:
            raise InvalidNote(f"more than one verifier is configured for {label}")
        if verifier in verified_by:
            # NOTE: Go silently skips a second signature by a known key without
            # verifying it. We reject the note instead: a well-formed signer
            # never emits two, and an unchecked line is a place to hide bytes.
            raise InvalidNote(f"key {label} signed the note more than once")
        if not verifier.verify_signature(text.encode("utf-8"), signature.signature):
            raise InvalidNote(f"signature by known key {label} does not verify")
        verified.append(signature)
        verified_by.append(verifier)

    # Signatures: if no known key's signature verified, the note MUST be rejected.
    if not verified:
        names = ", ".join(sorted({s.name for s in unverified}))
        raise InvalidNote(f"no signature by a known key (signed only by: {names})")
    return OpenedNote(text, tuple(verified), tuple(verified_by), tuple(unverified))


def add_signature(
    note: str | bytes, signer: NoteSigner, verifiers: Sequence[NoteVerifier]
) -> str:
    """Cosign ``note``: add ``signer``'s signature after checking the note.

    The note must first open with ``verifiers`` (a witness must never vouch for
    a text whose author it has not checked). Existing signatures are kept,
    verified ones first as Go does, except one by the signer's own key, which
    the fresh signature replaces.
    """
    opened = open_note(note, verifiers)
    own = (signer.name, signer.key_id)
    kept = [
        signature.line
        for signature in (*opened.verified, *opened.unverified)
        if (signature.name, signature.key_id) != own
    ]
    if len(kept) + 1 > MAX_SIGNATURES:
        raise InvalidNote(
            f"cannot add a signature to a note that already has {len(kept)}: "
            f"at most {MAX_SIGNATURES} are accepted"
        )
    return opened.text + "\n" + "".join(kept) + signer.signature_line(opened.text)
