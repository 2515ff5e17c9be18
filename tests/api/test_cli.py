"""The ``fundledger`` command as a user runs it: a real process, real files.

Each test runs on SQLite and on PostgreSQL. Output meant for tools is checked
with the RFC 9162 and C2SP verifiers; user errors must be one line on stderr
with a non-zero exit and no traceback, and must change nothing.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ledger.checkpoint import open_checkpoint
from ledger.merkle import leaf_hash, verify_consistency, verify_inclusion
from ledger.note import NoteVerifier

ORIGIN = "cli.fundledger.example/log"


class Cli:
    """Runs ``fundledger`` against one database with one key file."""

    def __init__(self, db: str, key: Path, cwd: Path) -> None:
        self.db = db
        self.key = key
        self.cwd = cwd

    def run(
        self, *args: str, db: str | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FUNDLEDGER_")}
        command = [sys.executable, "-m", "api.cli", "--db", db or self.db]
        secrets = str(self.key.with_suffix(".secrets"))
        command += ["--log-key", str(self.key), "--secrets", secrets, *args]
        root = Path(__file__).resolve().parents[2]
        env["PYTHONPATH"] = str(root)
        return subprocess.run(
            command,
            capture_output=True,
            cwd=self.cwd,
            env=env,
            timeout=120,
            check=False,
        )

    def ok(self, *args: str) -> bytes:
        result = self.run(*args)
        assert result.returncode == 0, result.stderr.decode()
        return result.stdout


def assert_one_line_error(
    result: subprocess.CompletedProcess[bytes], *words: str
) -> None:
    """A user error: non-zero exit, one line on stderr, no traceback."""
    stderr = result.stderr.decode()
    assert result.returncode != 0
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert "Traceback" not in stderr
    for word in words:
        assert word in stderr, stderr


@pytest.fixture
def cli(database_url: str, tmp_path: Path) -> Cli:
    return Cli(database_url, tmp_path / "log.key", tmp_path)


@pytest.fixture
def demo(cli: Cli) -> Cli:
    cli.ok("init", "--origin", ORIGIN)
    cli.ok("demo")
    return cli


def test_init_creates_a_private_key_and_prints_the_verifier_key(cli: Cli) -> None:
    out = cli.ok("init", "--origin", ORIGIN).decode()
    assert cli.key.stat().st_mode & 0o777 == 0o600
    vkey = cli.ok("log", "key").decode().strip()
    assert vkey.startswith(ORIGIN + "+")
    assert vkey in out
    NoteVerifier(vkey)


def test_demo_verify_and_checkpoint(demo: Cli) -> None:
    summary = demo.ok("verify").decode()
    assert summary.startswith("OK ")
    assert len(summary.strip().splitlines()) == 1
    vkey = demo.ok("log", "key").decode().strip()
    note = demo.ok("log", "checkpoint").decode()
    checkpoint = open_checkpoint(note, [NoteVerifier(vkey)], origin=ORIGIN)
    assert checkpoint.size > 20
    assert base64.b64encode(checkpoint.root).decode() in summary


def test_entries_and_proofs_check_against_checkpoints(demo: Cli) -> None:
    verifier = NoteVerifier(demo.ok("log", "key").decode().strip())
    full = open_checkpoint(demo.ok("log", "checkpoint").decode(), [verifier])
    early = open_checkpoint(
        demo.ok("log", "checkpoint", "--size", "7").decode(), [verifier]
    )
    assert early.size == 7

    for index in (0, 3, 6, full.size - 1):
        entry = demo.ok("log", "entry", str(index))
        assert json.loads(entry)["seq"] == index
        assert not entry.endswith(b"\n")
        proof = json.loads(demo.ok("log", "prove", str(index)))
        assert (proof["index"], proof["size"]) == (index, full.size)
        hashes = [base64.b64decode(h) for h in proof["hashes"]]
        verify_inclusion(leaf_hash(entry), index, full.size, hashes, full.root)
    proof = json.loads(demo.ok("log", "prove", "2", "--size", "7"))
    hashes = [base64.b64decode(h) for h in proof["hashes"]]
    verify_inclusion(leaf_hash(demo.ok("log", "entry", "2")), 2, 7, hashes, early.root)

    consistency = json.loads(demo.ok("log", "consistency", "7", str(full.size)))
    assert (consistency["old"], consistency["new"]) == (7, full.size)
    hashes = [base64.b64decode(h) for h in consistency["hashes"]]
    verify_consistency(7, full.size, early.root, full.root, hashes)


def test_verify_names_the_first_failing_entry(demo: Cli, database_url: str) -> None:
    # Tamper with entry 4 directly in the database, as an insider could.
    import sqlite3  # noqa: PLC0415

    import psycopg  # noqa: PLC0415 - only this test needs a raw connection

    if database_url.startswith("sqlite"):
        path = database_url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as connection:
            connection.execute(
                "UPDATE log_entries SET entry = CAST(replace(CAST(entry AS TEXT), "
                "'officer', 'offficer') AS BLOB) WHERE seq = 4"
            )
    else:
        with psycopg.connect(database_url, autocommit=True) as connection:
            connection.execute(
                "UPDATE log_entries SET entry = convert_to(replace(convert_from("
                "entry, 'UTF8'), 'officer', 'offficer'), 'UTF8') WHERE seq = 4"
            )
    result = demo.run("verify")
    assert result.returncode == 1
    stderr = result.stderr.decode()
    assert "FAILED entry 4: changed bytes" in stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        pytest.param(
            ("log", "entry", "9999"), ("index must be in",), id="entry-out-of-range"
        ),
        pytest.param(
            ("log", "entry", "-1"), ("index must be in",), id="negative-entry"
        ),
        pytest.param(
            ("log", "prove", "3", "--size", "2"),
            ("index must be in",),
            id="index-beyond-size",
        ),
        pytest.param(
            ("log", "prove", "0", "--size", "9999"),
            ("size must be in",),
            id="size-beyond-log",
        ),
        pytest.param(
            ("log", "consistency", "0", "5"),
            ("old size must be in [1, 5]",),
            id="consistency-from-empty",
        ),
        pytest.param(
            ("log", "consistency", "9", "5"), ("old size",), id="consistency-backwards"
        ),
        pytest.param(
            ("log", "checkpoint", "--size", "9999"),
            ("size must be in",),
            id="checkpoint-beyond-log",
        ),
        pytest.param(
            ("init", "--origin", ORIGIN), ("already exists",), id="init-twice"
        ),
        pytest.param(("verify", "--vkey", "not-a-key"), ("--vkey",), id="bad-vkey"),
        pytest.param(
            ("verify", "--checkpoint", "/nonexistent"),
            ("cannot read checkpoint",),
            id="missing-checkpoint-file",
        ),
    ],
)
def test_user_errors_are_one_line_and_change_nothing(
    demo: Cli, args: tuple[str, ...], words: tuple[str, ...]
) -> None:
    before = demo.ok("log", "checkpoint")
    assert_one_line_error(demo.run(*args), *words)
    assert demo.ok("log", "checkpoint") == before
    assert demo.ok("verify").startswith(b"OK ")


def test_no_ledger_there(cli: Cli) -> None:
    assert_one_line_error(cli.run("verify"), "no ledger at")
    assert_one_line_error(cli.run("log", "entry", "0"), "no ledger at")
    if cli.db.startswith("sqlite"):
        assert not Path(cli.db.removeprefix("sqlite:///")).exists()


def test_key_problems(demo: Cli) -> None:
    demo.key.chmod(0o644)
    assert_one_line_error(demo.run("log", "checkpoint"), "too open")
    demo.key.chmod(0o600)
    demo.key.write_text("PRIVATE+KEY+garbage\n")
    assert_one_line_error(demo.run("log", "checkpoint"), str(demo.key))
    demo.key.unlink()
    assert_one_line_error(demo.run("log", "checkpoint"), "no such file")


def test_a_key_of_another_log_is_refused(demo: Cli, tmp_path: Path) -> None:
    other = Cli(f"sqlite:///{tmp_path / 'other.db'}", tmp_path / "other.key", tmp_path)
    other.ok(
        "init",
        "--origin",
        "other.example/log",
        "--admin-key",
        "other-admin.key",
    )
    swapped = Cli(demo.db, other.key, tmp_path)
    assert_one_line_error(swapped.run("log", "checkpoint"), "this log's key is")


def test_bad_database_settings(cli: Cli) -> None:
    assert_one_line_error(cli.run("verify", db="mysql://x/y"), "cannot use database")
    assert_one_line_error(
        cli.run("verify", db="postgresql://nobody@127.0.0.1:1/none"),
        "cannot open database",
    )
    assert_one_line_error(cli.run("init", "--origin", "has space"), "cannot name a log")


def test_fund_show_and_officer_list(demo: Cli) -> None:
    shown = demo.ok("fund", "show", "--county", "422822").decode()
    assert "pool:422822" in shown
    assert "sum of all balances: 0.00" in shown
    assert "rejected" in shown
    assert "reversed" in shown
    officers = demo.ok("officer", "list").decode()
    assert "officer:admin" in officers
    assert "administrator" in officers
    assert_one_line_error(demo.run("fund", "show", "--county", "422801"), "is not open")
