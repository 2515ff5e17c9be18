"""Group commit records what one-by-one execution records, in one transaction.

Requests are queued before the committer starts, so they form one group. The
property: a random sequence of requests, valid, refused, replayed and
state-dependent (an allocation the pool can only pay if the money received
earlier in the same group is seen), gives through one group exactly the
outcomes, balances and log size that ``execute`` gives one request at a time
on a copy of the same ledger. Single scenes cover a refusal halfway through a
command, a group lost to another writer, and a request sent twice in a group,
on SQLite and PostgreSQL.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api import group_commit
from api.app import FundLedger
from api.cli import main
from api.commands import Receipt, execute
from api.group_commit import CommitterClosed, GroupCommitter, ProvenReceipt
from api.http.settings import Settings, open_for_api
from api.requests import OfficerKey, parse_request
from domain.errors import InvalidAmount
from domain.funds import pool_account
from domain.officers import WrongRole
from ledger.checkpoint import open_checkpoint
from ledger.log import Log
from ledger.merkle import verify_inclusion
from tests.api.http.support import COUNTY, build_demo

OTHER_COUNTY = "422823"
_ids = itertools.count()


def _settings(url: str, directory: Path) -> Settings:
    return Settings(
        db=url, log_key=directory / "log.key", secrets=directory / "secrets.key"
    )


@contextmanager
def _opened(url: str, directory: Path) -> Iterator[tuple[FundLedger, Log]]:
    ledger, log = open_for_api(_settings(url, directory))
    try:
        yield ledger, log
    finally:
        ledger.close()


def _key(directory: Path, name: str) -> OfficerKey:
    return OfficerKey.load(directory / f"demo-demo-{name}.key")


def receive(key: OfficerKey, amount: Any, county: str = COUNTY) -> dict[str, Any]:
    return key.sign(
        "fund.receive",
        {
            "county": county,
            "transfer_id": f"gc-in-{next(_ids)}",
            "source_kind": "donation",
            "source": "org:group-commit",
            "reference": "a donation",
            "earmark": None,
            "amount_fen": amount,
        },
    )


def allocate(key: OfficerKey, amount: int, county: str = COUNTY) -> dict[str, Any]:
    return key.sign(
        "fund.allocate",
        {
            "county": county,
            "transfer_id": f"gc-alloc-{next(_ids)}",
            "programme": "HS_GRANT",
            "year": 2026,
            "amount_fen": amount,
        },
    )


def _outcome(answer: Future[Receipt]) -> tuple[str, ...]:
    error = answer.exception()
    if error is not None:
        return ("refused", type(error).__name__)
    receipt = answer.result()
    return ("replayed" if receipt.replayed else "recorded", str(len(receipt.entries)))


def _grouped(
    ledger: FundLedger, documents: list[dict[str, Any]], log: Log | None = None
) -> tuple[GroupCommitter, list[Future[Receipt]]]:
    committer = GroupCommitter(ledger, log=log, start=False)
    answers = [committer.submit(parse_request(d)) for d in documents]
    committer.start()
    for answer in answers:
        answer.exception(timeout=60)
    committer.close()
    return committer, answers


def _alone(
    ledger: FundLedger, documents: list[dict[str, Any]]
) -> list[tuple[str, ...]]:
    outcomes = []
    for document in documents:
        answer: Future[Receipt] = Future()
        try:
            answer.set_result(execute(ledger, parse_request(document)))
        except Exception as error:  # noqa: BLE001 - compared, not handled
            answer.set_exception(error)
        outcomes.append(_outcome(answer))
    return outcomes


def _balances(ledger: FundLedger) -> dict[str, dict[str, int]]:
    return {
        county: dict(ledger.fund(county).balances) for county in (COUNTY, OTHER_COUNTY)
    }


def _check_receipts(
    log: Log, documents: list[dict[str, Any]], answers: list[Future[Receipt]]
) -> None:
    """Each receipt names its own request's entries, the record first."""
    for document, answer in zip(documents, answers, strict=True):
        if answer.exception() is not None:
            continue
        receipt = answer.result()
        first = log.entry(receipt.entries[0][0]).decode()
        assert receipt.digest in first
        transfer_id = document["request"]["params"].get("transfer_id")
        for index, _ in receipt.entries[1:]:
            assert transfer_id in log.entry(index).decode()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A demo ledger on SQLite, copied for each example, and its pool."""
    directory = tmp_path_factory.mktemp("group-commit-template")
    build_demo(str(directory / "ledger.db"), directory)
    with _opened(str(directory / "ledger.db"), directory) as (ledger, _):
        return directory, ledger.fund(COUNTY).balance(pool_account(COUNTY))


def _copy(template: Path, into: Path) -> str:
    shutil.copytree(template, into)
    return str(into / "ledger.db")


# Each step: what to send. An allocation asks for the whole pool the demo left
# and a little more: whether it is paid depends on what was received before it.
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("receive"), st.integers(1, 5_000)),
        st.tuples(st.just("allocate"), st.integers(1, 20_000)),
        st.tuples(st.just("bad-amount"), st.sampled_from([0, -1, 1.5])),
        st.tuples(st.just("wrong-role"), st.just(1)),
        st.tuples(st.just("again"), st.integers(0, 30)),
        st.tuples(st.just("other-county"), st.integers(1, 5_000)),
    ),
    min_size=1,
    max_size=25,
)


def _documents(
    directory: Path, pool: int, steps: list[tuple[str, Any]]
) -> list[dict[str, Any]]:
    recorder = _key(directory, "recorder")
    approver = _key(directory, "approver")
    documents: list[dict[str, Any]] = []
    for kind, value in steps:
        if kind == "receive":
            documents.append(receive(recorder, value))
        elif kind == "allocate":
            documents.append(allocate(recorder, pool + value))
        elif kind == "bad-amount":
            documents.append(receive(recorder, value))
        elif kind == "wrong-role":
            documents.append(receive(approver, 100))
        elif kind == "again" and documents:
            documents.append(documents[value % len(documents)])
        elif kind == "other-county":
            documents.append(receive(recorder, value, OTHER_COUNTY))
    return documents


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=STEPS)
def test_a_group_records_what_one_by_one_records(
    template: tuple[Path, int], tmp_path: Path, steps: list[tuple[str, Any]]
) -> None:
    source, pool = template
    example = tmp_path / f"example-{next(_ids)}"
    documents = _documents(source, pool, steps)
    alone = example / "alone"
    with _opened(_copy(source, alone), alone) as (ledger, _):
        expected = _alone(ledger, documents)
        expected_balances = _balances(ledger)
        expected_size = ledger.log_recorder.log_size()

    directory = example / "grouped"
    with _opened(_copy(source, directory), directory) as (ledger, log):
        committer, answers = _grouped(ledger, documents)
        assert [_outcome(a) for a in answers] == expected
        assert _balances(ledger) == expected_balances
        assert ledger.log_recorder.log_size() == expected_size
        _check_receipts(log, documents, answers)
        assert committer.largest == len(documents)  # one group took them all
    assert main([*_options(directory), "verify"]) == 0


def _options(directory: Path) -> list[str]:
    return [
        "--db",
        str(directory / "ledger.db"),
        "--log-key",
        str(directory / "log.key"),
        "--secrets",
        str(directory / "secrets.key"),
    ]


@pytest.fixture
def demo(database_url: str, tmp_path: Path) -> tuple[str, Path]:
    build_demo(database_url, tmp_path)
    return database_url, tmp_path


def test_one_group_one_transaction_refusals_left_out(demo: tuple[str, Path]) -> None:
    url, directory = demo
    recorder = _key(directory, "recorder")
    documents = [
        receive(recorder, 1_000),
        receive(recorder, 0),
        receive(_key(directory, "approver"), 1_000),
        receive(recorder, 2_000, OTHER_COUNTY),
        receive(recorder, 3_000),
    ]
    with _opened(url, directory) as (ledger, log):
        size = log.size()
        before = ledger.fund(COUNTY).balance(pool_account(COUNTY))
        saves = 0
        real = ledger.save_events

        def counting(events: Any) -> Any:
            nonlocal saves
            saves += 1
            return real(events)

        ledger.save_events = counting  # type: ignore[method-assign]
        committer, answers = _grouped(ledger, documents)
        assert saves == 1
        assert committer.groups == 1
        assert committer.largest == len(documents)
        assert isinstance(answers[1].exception(), InvalidAmount)
        assert isinstance(answers[2].exception(), WrongRole)
        recorded = [answers[i].result() for i in (0, 3, 4)]
        assert [r.entries[0][0] for r in recorded] == [size, size + 2, size + 4]
        assert log.size() == size + 6
        assert ledger.fund(COUNTY).balance(pool_account(COUNTY)) == before + 4_000
        _check_receipts(log, documents, answers)


def test_a_refusal_halfway_through_a_command_is_worked_out_again(
    demo: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, directory = demo
    recorder = _key(directory, "recorder")
    documents = [receive(recorder, 1_000), receive(recorder, 500), receive(recorder, 7)]
    half = documents[1]["request"]["params"]["transfer_id"]
    real = group_commit.check_and_apply  # type: ignore[attr-defined]

    def halfway(ledger: FundLedger, signed: Any) -> Any:
        applied = real(ledger, signed)
        if signed.params["transfer_id"] == half:
            # The fund has the event; the command fails after it.
            raise InvalidAmount(500, "refused halfway")
        return applied

    monkeypatch.setattr(group_commit, "check_and_apply", halfway)
    with _opened(url, directory) as (ledger, log):
        size = log.size()
        before = ledger.fund(COUNTY).balance(pool_account(COUNTY))
        _, answers = _grouped(ledger, documents)
        assert isinstance(answers[1].exception(), InvalidAmount)
        assert log.size() == size + 4
        assert ledger.fund(COUNTY).balance(pool_account(COUNTY)) == before + 1_007
        _check_receipts(log, documents, answers)
        assert half not in "".join(log.entry(i).decode() for i in range(size, size + 4))


def test_a_group_lost_to_another_writer_is_worked_out_one_by_one(
    demo: tuple[str, Path],
) -> None:
    url, directory = demo
    recorder = _key(directory, "recorder")
    documents = [receive(recorder, 100 + i) for i in range(4)]
    with _opened(url, directory) as (ledger, log):
        size = log.size()
        real = ledger.save_events
        lost = {"left": 1}

        def losing(events: Any) -> Any:
            if lost["left"]:
                lost["left"] -= 1
                raise IntegrityError("another writer saved first")
            return real(events)

        ledger.save_events = losing  # type: ignore[method-assign]
        committer, answers = _grouped(ledger, documents)
        assert [_outcome(a) for a in answers] == [("recorded", "2")] * 4
        assert committer.groups == 5  # the lost one, then one for each
        assert log.size() == size + 8
        _check_receipts(log, documents, answers)

        # Losing every time: each answers the loss, nothing is recorded.
        lost["left"] = 10**6
        _, answers = _grouped(ledger, [receive(recorder, 5), receive(recorder, 6)])
        assert [type(a.exception()) for a in answers] == [IntegrityError] * 2
        assert log.size() == size + 8


def test_the_same_request_twice_in_a_group_is_recorded_once(
    demo: tuple[str, Path],
) -> None:
    url, directory = demo
    document = receive(_key(directory, "recorder"), 4_242)
    with _opened(url, directory) as (ledger, log):
        size = log.size()
        _, answers = _grouped(ledger, [document, document])
        first, second = (a.result() for a in answers)
        assert (first.replayed, second.replayed) == (False, True)
        assert first.entries[0] == second.entries[0]
        assert log.size() == size + 2


def test_a_closed_committer_refuses_and_records_nothing(
    demo: tuple[str, Path],
) -> None:
    url, directory = demo
    with _opened(url, directory) as (ledger, log):
        size = log.size()
        committer = GroupCommitter(ledger)
        committer.close()
        answer = committer.submit(
            parse_request(receive(_key(directory, "recorder"), 1))
        )
        assert isinstance(answer.exception(), CommitterClosed)
        assert log.size() == size


def test_with_the_log_a_group_comes_proven_against_one_checkpoint(
    demo: tuple[str, Path],
) -> None:
    url, directory = demo
    recorder = _key(directory, "recorder")
    documents = [
        receive(recorder, 10 + i, county)
        for i, county in enumerate([COUNTY, OTHER_COUNTY, COUNTY])
    ]
    with _opened(url, directory) as (ledger, log):
        stored = len(ledger.log_recorder.read_checkpoints())
        _, answers = _grouped(ledger, documents, log)
        receipts = [answer.result() for answer in answers]
        assert all(isinstance(r, ProvenReceipt) for r in receipts)
        proven = [r for r in receipts if isinstance(r, ProvenReceipt)]
        assert {(r.size, r.checkpoint) for r in proven} == {
            (log.size(), proven[0].checkpoint)
        }
        assert len(ledger.log_recorder.read_checkpoints()) == stored + 1
        opened = open_checkpoint(proven[0].checkpoint, [log.verifier])
        for receipt in proven:
            for (index, leaf), proof in zip(
                receipt.entries, receipt.proofs, strict=True
            ):
                assert (proof.index, proof.size) == (index, opened.size)
                verify_inclusion(
                    bytes.fromhex(leaf), index, opened.size, proof.hashes, opened.root
                )
