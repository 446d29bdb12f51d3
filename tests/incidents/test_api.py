"""GET /api/incidents and /api/incidents/{id}: bearer token, JSON with the timeline, clear errors."""

from __future__ import annotations

from typing import Any

from tests.conftest import API_TOKEN, Flare, StartFlare
from tests.fakes.slack import Channel
from tests.support.waits import settle

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


async def test_incident_with_timeline_action_items_and_durations(flare: Flare, declared: Channel) -> None:
    for text in (
        "ack",
        "note cert expired at 14:00",
        "action Renew certs automatically <@U0BOB0001>",
        "resolve renewed",
    ):
        await flare.slack.command("/incident", text, channel=declared.id, user="U0CAROL01")
    await settle(flare)
    status, body = await flare.get("/api/incidents/1", headers=AUTH)
    assert status == 200
    assert body["human_id"] == "INC-1"
    assert (body["title"], body["severity"], body["status"], body["service"]) == (
        "checkout is failing",
        "P1",
        "resolved",
        "checkout",
    )
    assert body["channel"]["id"] == declared.id
    assert body["channel"]["name"] == declared.name
    assert body["declared_at"].endswith("Z")
    assert body["acknowledged_by"] == "U0CAROL01"
    assert body["summary"] == "renewed"
    durations = body["durations_seconds"]
    assert 0 <= durations["to_acknowledge"] <= durations["to_resolve"]
    kinds = [e["kind"] for e in body["timeline"]]
    assert kinds == ["declared", "status_changed", "note", "action_item", "status_changed"]
    assert body["timeline"][2]["text"] == "cert expired at 14:00"
    assert body["timeline"][4]["data"] == {"from": "acknowledged", "to": "resolved", "note": "renewed"}
    assert body["action_items"] == [
        {
            "id": 1,
            "text": "Renew certs automatically",
            "owner": "U0BOB0001",
            "status": "open",
            "created_by": "U0CAROL01",
            "created_at": body["action_items"][0]["created_at"],
        }
    ]
    same = await flare.get("/api/incidents/INC-1", headers=AUTH)
    assert same == (200, body)


async def test_list_filters_and_pages(flare: Flare) -> None:
    for text in ("P1 one", "P2 two", "P3 three"):
        await flare.slack.command("/incident", f"declare {text}")
    await flare.slack.command("/incident", "resolve INC-2")
    status, body = await flare.get("/api/incidents", headers=AUTH)
    assert status == 200
    assert [i["id"] for i in body["incidents"]] == [3, 2, 1]
    assert "timeline" not in body["incidents"][0]
    _, open_ = await flare.get("/api/incidents?status=open", headers=AUTH)
    assert [i["id"] for i in open_["incidents"]] == [3, 1]
    _, page = await flare.get("/api/incidents?limit=2", headers=AUTH)
    assert [i["id"] for i in page["incidents"]] == [3, 2]
    _, rest = await flare.get(f"/api/incidents?limit=2&before={page['next_before']}", headers=AUTH)
    assert [i["id"] for i in rest["incidents"]] == [1]


async def test_auth_and_bad_input(flare: Flare, start_flare: StartFlare, make_settings: Any) -> None:
    for path in ("/api/incidents", "/api/incidents/1"):
        status, body = await flare.get(path)
        assert (status, body["error"]) == (401, "unauthorized")
        status, body = await flare.get(path, headers={"Authorization": "Bearer nope"})
        assert status == 401
        status, body = await flare.get(path, headers={"Authorization": API_TOKEN})
        assert status == 401
    status, body = await flare.get("/api/incidents/42", headers=AUTH)
    assert (status, body["error"], body["reason"]) == (404, "not_found", "INC-42 does not exist")
    status, body = await flare.get("/api/incidents/abc", headers=AUTH)
    assert status == 400
    assert "INC-<number>" in body["reason"]
    for query, field in (
        ("status=weird", "status"),
        ("limit=0", "limit"),
        ("limit=x", "limit"),
        ("before=-1", "before"),
    ):
        status, body = await flare.get(f"/api/incidents?{query}", headers=AUTH)
        assert status == 400, query
        assert body["reason"].startswith(field), body
    disabled = await start_flare(make_settings(flare_api_token=None))
    status, body = await disabled.get("/api/incidents", headers=AUTH)
    assert status == 404
    assert "FLARE_API_TOKEN" in body["reason"]
