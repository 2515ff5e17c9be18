"""Secret files: keys kept outside the database, readable by their owner only.

A key file is created with mode 0600, never overwritten, and refused if anyone
but the owner can read or write it, as ssh does with private keys: a key that
others could have copied no longer proves who signed. The log's own key is a
C2SP signed-note signer key (``PRIVATE+KEY+...``) and a newline; other keys
(officers') use the same file discipline through ``write_secret`` and
``read_secret``.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ledger.errors import KeyFileError
from ledger.note import NoteSigner


def write_secret(path: Path, text: str) -> None:
    """Create ``path`` with mode 0600 holding ``text``; never overwrite."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileError(
            str(path), "it already exists; refusing to overwrite"
        ) from None
    except OSError as error:
        raise KeyFileError(str(path), error.strerror or str(error)) from None
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        os.fchmod(file.fileno(), 0o600)
        file.write(text)


def read_secret(path: Path) -> str:
    """Read a secret file, refusing files that others can read or change."""
    try:
        info = path.stat()
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KeyFileError(str(path), "no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise KeyFileError(str(path), str(error)) from None
    if not stat.S_ISREG(info.st_mode):
        raise KeyFileError(str(path), "not a regular file")
    if info.st_mode & 0o077:
        mode = stat.S_IMODE(info.st_mode)
        raise KeyFileError(str(path), f"mode {mode:04o} is too open; expected 0600")
    return text


def write_signer_key(path: Path, signer: NoteSigner) -> None:
    """Create the log's key file holding the signer key."""
    write_secret(path, signer.to_signer_key() + "\n")


def read_signer_key(path: Path) -> NoteSigner:
    """Load the log's signer key."""
    return NoteSigner.from_signer_key(read_secret(path).strip(), path=str(path))
