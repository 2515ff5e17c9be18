"""Key files: a signer key per file, outside the database, readable by its owner only.

A key file holds one C2SP signed-note signer key (``PRIVATE+KEY+...``) and a
newline. It is created with mode 0600 and refused if anyone but the owner can
read or write it, as ssh does with private keys: a key that others could have
copied no longer proves who signed.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ledger.errors import KeyFileError
from ledger.note import NoteSigner


def write_signer_key(path: Path, signer: NoteSigner) -> None:
    """Create ``path`` with mode 0600 holding the signer key; never overwrite."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileError(
            str(path), "it already exists; refusing to overwrite"
        ) from None
    except OSError as error:
        raise KeyFileError(str(path), error.strerror or str(error)) from None
    with os.fdopen(fd, "w", encoding="ascii") as file:
        os.fchmod(file.fileno(), 0o600)
        file.write(signer.to_signer_key() + "\n")


def read_signer_key(path: Path) -> NoteSigner:
    """Load a signer key, refusing files that others can read or change."""
    try:
        info = path.stat()
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise KeyFileError(str(path), "no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise KeyFileError(str(path), str(error)) from None
    if not stat.S_ISREG(info.st_mode):
        raise KeyFileError(str(path), "not a regular file")
    if info.st_mode & 0o077:
        mode = stat.S_IMODE(info.st_mode)
        raise KeyFileError(str(path), f"mode {mode:04o} is too open; expected 0600")
    return NoteSigner.from_signer_key(text.strip(), path=str(path))
