"""``POST /commands/{command}``: every write command has its documented path.

The path adds documentation and routing, never meaning: a document is recorded
only on the path of its own command, exactly as ``POST /requests`` records it.
"""

from __future__ import annotations

from api.commands import COMMANDS
from domain.officers import PERMISSIONS
from tests.api.http.support import COUNTY, Served, assert_problem, check_receipt


def test_every_command_has_a_documented_path(served: Served) -> None:
    spec = served.client.get("/openapi.json").json()
    for name in COMMANDS:
        operation = spec["paths"][f"/commands/{name}"]["post"]
        for role in PERMISSIONS[name]:
            assert role.value in operation["description"]
        for parameter in COMMANDS[name].required():
            assert parameter in operation["description"]


def test_a_document_is_recorded_only_on_its_own_path(served: Served) -> None:
    recorder = served.key("demo-recorder")
    document = recorder.sign(
        "fund.report_progress",
        {
            "county": COUNTY,
            "project_id": f"{COUNTY}-GAIBO-2026",
            "percent": 55,
            "note": "按路径提交",
        },
    )
    size = served.size()
    assert_problem(served.post(document, "/commands/fund.receive"), 400, "bad-query")
    assert_problem(served.post(document, "/commands/nosuch"), 404)
    assert served.size() == size

    response = served.post(document, "/commands/fund.report_progress")
    assert response.status_code == 201, response.text
    check_receipt(served, response.json())
    replay = served.post(document, "/requests")
    assert replay.status_code == 200
    assert replay.json()["digest"] == response.json()["digest"]
    assert served.size() == size + 2
