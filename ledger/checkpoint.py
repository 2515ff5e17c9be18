"""Checkpoints (c2sp.org/tlog-checkpoint): the log's signed Merkle tree head.

A checkpoint is a signed note whose text is the log's origin, its tree size and
its RFC 6962 root hash, one per line, optionally followed by extension lines::

    example.com/behind-the-sofa
    20852163
    CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=

Invariants:

* A ``Checkpoint`` always has a body that ``Checkpoint.parse`` reads back to an
  equal value, and every body ``parse`` accepts is the ``body()`` of the value it
  returns: each checkpoint has exactly one spelling, so two different texts never
  claim the same tree head.
* ``open_checkpoint`` returns a checkpoint only if a given verifier signed it.
* The log signs under its origin: ``sign_checkpoint`` refuses a signer whose key
  name differs from the checkpoint's origin.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ledger.errors import InvalidNote
from ledger.note import (
    NoteSigner,
    NoteVerifier,
    decode_base64,
    encode_base64,
    forbidden_character,
    open_note,
)

#: RFC 6962 root hashes are SHA-256 digests.
ROOT_HASH_SIZE = 32

#: The largest tree size we read or write. NOTE: the spec sets no bound; Go's
#: checkpoint parsers read sizes as int64, so anything larger could not be
#: checked by the ecosystem's witnesses and monitors.
MAX_TREE_SIZE = 2**63 - 1

_TREE_SIZE = re.compile(r"0|[1-9][0-9]{0,18}")


def _problem(
    origin: str, size: int, root: bytes, extensions: tuple[str, ...]
) -> str | None:
    """Why these fields cannot form a checkpoint, or ``None`` if they can.

    Shared by the constructor (where a problem is the caller's mistake) and
    ``parse`` (where it is bad data), so that the two can never disagree.
    """
    if not origin:
        return "origin must be non-empty"
    for label, line in [("origin", origin)] + [
        (f"extension line {number}", extension)
        for number, extension in enumerate(extensions, 1)
    ]:
        if "\n" in line:
            return f"{label} must be one line, got {line!r}"
        problem = forbidden_character(line)
        if problem is not None:
            return f"{label} {problem}"
        if not line:
            return f"{label} must be non-empty"
    if isinstance(size, bool) or not isinstance(size, int):
        return f"tree size must be an int, got {size!r}"
    if not 0 <= size <= MAX_TREE_SIZE:
        return f"tree size must be in [0, {MAX_TREE_SIZE}], got {size}"
    if not isinstance(root, bytes) or len(root) != ROOT_HASH_SIZE:
        return f"root hash must be {ROOT_HASH_SIZE} bytes, got {root!r}"
    return None


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head: its origin, tree size and root hash.

    Extension lines are opaque to us; the spec discourages them because log
    monitors cannot audit them, so the ledger itself writes none.
    """

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Raise ``ValueError`` if the fields could not be written as a checkpoint."""
        problem = _problem(self.origin, self.size, self.root, self.extensions)
        if problem is not None:
            raise ValueError(f"not a valid checkpoint: {problem}")

    def body(self) -> str:
        """The note text: origin, size, base64 root and extensions, one a line."""
        lines = [self.origin, str(self.size), encode_base64(self.root)]
        return "".join(f"{line}\n" for line in (*lines, *self.extensions))

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        """Read a checkpoint note text, refusing every non-canonical spelling.

        Raises ``InvalidNote`` unless ``body`` is at least three newline-ended
        lines: a non-empty origin, a decimal size without leading zeros, the
        canonical base64 of a 32-byte root, then non-empty extension lines.
        """
        # Note text: a sequence of newline-terminated lines.
        if not body.endswith("\n"):
            raise InvalidNote(f"checkpoint must end with a newline: {body[-20:]!r}")
        lines = body[:-1].split("\n")
        if len(lines) < 3:
            raise InvalidNote(f"checkpoint needs at least 3 lines, got {len(lines)}")
        origin, size_line, root_line, *extensions = lines

        # 2. The tree size, in ASCII decimal without leading zeros.
        if not _TREE_SIZE.fullmatch(size_line):
            raise InvalidNote(
                f"tree size must be decimal without leading zeros, got {size_line!r}"
            )
        size = int(size_line)

        # 3. The root hash, base64-encoded.
        root = decode_base64(root_line)
        if root is None:
            raise InvalidNote(f"root hash is not canonical base64: {root_line!r}")

        # 1, 4. The origin and extension lines; and the checks shared with the
        # constructor (lengths, ranges, forbidden characters).
        problem = _problem(origin, size, root, tuple(extensions))
        if problem is not None:
            raise InvalidNote(f"checkpoint {problem}")
        return cls(origin, size, root, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signer: NoteSigner) -> str:
    """The checkpoint as a note signed by the log's key ``signer``.

    Raises ``ValueError`` if the signer's key name is not the checkpoint's
    origin: the spec says a log's key name should match its origin, and the
    ledger makes that a rule so a verifier key also says which log it is for.
    """
    if signer.name != checkpoint.origin:
        raise ValueError(
            f"the log's key name must be its origin {checkpoint.origin!r}, "
            f"got {signer.name!r}"
        )
    return signer.sign(checkpoint.body())


def open_checkpoint(
    note: str | bytes, verifiers: Sequence[NoteVerifier], origin: str | None = None
) -> Checkpoint:
    """The checkpoint in ``note``, once a signature by one of ``verifiers`` holds.

    ``verifiers`` should be the log's own keys: any one of them suffices.
    Cosignatures by other keys are ignored here. With ``origin``, the checkpoint
    must also be for that log, so that a key shared between two logs cannot pass
    one log's checkpoint off as the other's.

    Raises ``InvalidNote`` if the note or its text is malformed, a known key's
    signature fails, no known key signed, or the origin differs.
    """
    opened = open_note(note, verifiers)
    checkpoint = Checkpoint.parse(opened.text)
    if origin is not None and checkpoint.origin != origin:
        raise InvalidNote(
            f"checkpoint origin must be {origin!r}, got {checkpoint.origin!r}"
        )
    return checkpoint
