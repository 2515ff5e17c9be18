"""The fraud rules against the synthetic province's ground truth, end to end.

The tiny province is built through the CLI (``demo --scale tiny``), the views
runner follows its log with the vault behind it (``views update``), and the
stored alerts are scored against the truth file: every planted case found, no
alert that names nothing planted, none on a near miss. Scoring itself is
checked on hand-made alerts, so that a wrong alert or a missed case shows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from api.alert_quality import RULE_IDS, score, stored_alerts
from api.cli import main
from ledger.storage import parse_url
from projections.disclosure import Disclosure
from projections.rules import FraudRules
from projections.store import ViewStore, stored_rows
from tests.projections.runner_support import cli_args

PERSON = "ab" * 32
OTHER = "cd" * 32
TRUTH: dict[str, Any] = {
    "cases": [
        {
            "rule": "R01",
            "subject": PERSON,
            "person_refs": [PERSON],
            "payment_ids": ["p-1", "p-2"],
            "transfer_ids": [],
            "project_ids": [],
        },
        {
            "rule": "R15",
            "subject": "422802S0002",
            "person_refs": [],
            "payment_ids": [],
            "transfer_ids": ["t-1"],
            "project_ids": ["P-1"],
        },
    ],
    "near_misses": [{"rule": "R01", "person_refs": [OTHER]}],
}


def _alert(rule: str, subject: str, summary: str = "") -> dict[str, Any]:
    return {"rule": rule, "subject_ref": subject, "summary": summary}


def test_a_true_alert_names_a_planted_case_of_its_own_rule() -> None:
    scores = score(
        [
            _alert("R01", f"{PERSON}/BOARD_JUN/2026/autumn"),
            _alert("R15", "422802/2026/works/school:422802S0002"),
        ],
        TRUTH,
    )

    assert set(scores) == set(RULE_IDS)
    assert (scores["R01"].precision, scores["R01"].recall) == (1.0, 1.0)
    assert (scores["R15"].precision, scores["R15"].recall) == (1.0, 1.0)
    assert scores["R12"].recall is None
    assert scores["R12"].precision == 1.0


@pytest.mark.parametrize(
    ("alerts", "rule", "precision", "recall", "near"),
    [
        pytest.param([], "R01", 1.0, 0.0, 0, id="nothing-found"),
        pytest.param(
            [_alert("R01", PERSON), _alert("R01", "ef" * 32)],
            "R01",
            0.5,
            1.0,
            0,
            id="one-false-alert",
        ),
        pytest.param(
            [_alert("R02", PERSON)], "R02", 0.0, None, 0, id="right-person-wrong-rule"
        ),
        pytest.param(
            [_alert("R01", PERSON), _alert("R01", OTHER)],
            "R01",
            0.5,
            1.0,
            1,
            id="alert-on-a-near-miss",
        ),
        pytest.param(
            [_alert("R01", PERSON[:-1])], "R01", 0.0, 0.0, 0, id="part-of-an-id"
        ),
    ],
)
def test_wrong_and_missing_alerts_lower_the_score(
    alerts: list[dict[str, Any]],
    rule: str,
    precision: float,
    recall: float | None,
    near: int,
) -> None:
    result = score(alerts, TRUTH)[rule]

    assert (result.precision, result.recall) == (precision, recall)
    assert result.near_miss_alerts == near


def test_an_alert_of_a_rule_a_case_is_also_is_true_but_no_planted_case() -> None:
    # One payment made again at a second school of one county: R01 and R13.
    truth = {
        "cases": [TRUTH["cases"][0] | {"also": ["R13"]}],
        "near_misses": [],
    }
    duplicate = _alert("R13", f"422801/{PERSON}/PRE_LIVING/2026/autumn/50000")
    scores = score([_alert("R01", PERSON), duplicate], truth)

    assert (scores["R01"].precision, scores["R01"].recall) == (1.0, 1.0)
    assert (scores["R13"].precision, scores["R13"].recall) == (1.0, None)
    assert scores["R13"].true_alerts == 1
    assert score([_alert("R13", OTHER)], truth)["R13"].precision == 0.0
    assert score([duplicate], TRUTH)["R13"].precision == 0.0  # without "also"


def _tiny_province(url: str, tmp_path: Path) -> tuple[list[str], dict[str, Any]]:
    base = cli_args(url, tmp_path)
    admin = str(tmp_path / "admin.key")
    truth = tmp_path / "truth.json"
    assert main([*base, "init", "--origin", "q.example/log", "--admin-key", admin]) == 0
    command = [*base, "demo", "--key", admin, "--scale", "tiny", "--truth", str(truth)]
    assert main(command) == 0
    return base, json.loads(truth.read_text(encoding="utf-8"))


def test_the_views_find_every_planted_case_and_nothing_else(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, truth = _tiny_province(database_url, tmp_path)

    # 1. Follow the log in small batches, as a worker that keeps up would.
    assert main([*base, "views", "update", "--batch-size", "97"]) == 0
    with ViewStore(parse_url(database_url)) as store:
        alerts = stored_alerts(store)
        followed = {
            projection.name: stored_rows(store, projection)
            for projection in (Disclosure(), FraudRules())
        }
    scores = score(alerts, truth)

    planted = [s for s in scores.values() if s.planted]
    assert len(planted) == 14  # every rule but R12, which the domain prevents
    for result in scores.values():
        assert result.recall in (None, 1.0), result
        assert result.precision == 1.0, result
        assert result.near_miss_alerts == 0, result
    assert scores["R12"].alerts == 0

    # 2. Rebuilt from scratch in one batch: the same rows, the same alerts.
    assert main([*base, "views", "rebuild", "--batch-size", "100000"]) == 0
    with ViewStore(parse_url(database_url)) as store:
        rebuilt = {
            projection.name: stored_rows(store, projection)
            for projection in (Disclosure(), FraudRules())
        }
    assert rebuilt == followed

    # 3. The notice list shows masked names only: never a whole name.
    capsys.readouterr()
    assert main([*base, "views", "show", "disclosure", "notices", "--limit", "50"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines
    assert all("*" in line["name"] for line in lines)
