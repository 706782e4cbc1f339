"""GET /audit-events and GET /audit-events/{id}: the caller's own events, newest first."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from {{ cookiecutter.project_slug }}.core.pagination import MAX_OFFSET, MAX_PAGE_SIZE
from {{ cookiecutter.project_slug }}.core.settings import Settings

from tests.helpers.audit import SIGNED_UP, list_events, record_events
from tests.helpers.users import UserFactory


async def test_the_sign_up_is_the_first_event(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    page = await list_events(client, user)
    [event] = page["items"]
    assert set(event) == {"id", "event", "data", "createdAt"}
    assert event["event"] == SIGNED_UP
    assert event["data"] == {"email": user.email}
    created = datetime.fromisoformat(event["createdAt"])
    assert created.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - created) < timedelta(minutes=5)
    assert (page["total"], page["limit"], page["offset"]) == (1, 20, 0)

    read = await client.get(f"/audit-events/{event['id']}", headers=user.headers)
    assert read.status_code == 200
    assert read.json() == event


async def test_the_list_is_paginated_newest_first(
    client: httpx.AsyncClient, make_user: UserFactory, settings: Settings
) -> None:
    user = await make_user()
    await record_events(str(settings.database_url), user.id, ["test.first", "test.second"])
    first = await list_events(client, user, limit=2)
    second = await list_events(client, user, limit=2, offset=2)
    assert [e["event"] for e in first["items"]] == ["test.second", "test.first"]
    assert [e["event"] for e in second["items"]] == [SIGNED_UP]
    assert first["total"] == second["total"] == 3
    assert (first["limit"], second["offset"]) == (2, 2)
    whole = await list_events(client, user, limit=MAX_PAGE_SIZE, offset=0)
    assert [e["id"] for e in whole["items"]] == [e["id"] for e in first["items"] + second["items"]]
    assert (await list_events(client, user, offset=MAX_OFFSET))["items"] == []


async def test_the_list_shows_only_the_callers_events(
    client: httpx.AsyncClient, make_user: UserFactory, settings: Settings
) -> None:
    alice, bob = await make_user(), await make_user()
    await record_events(str(settings.database_url), alice.id, ["test.alice"])
    page = await list_events(client, bob)
    assert [(e["event"], e["data"]) for e in page["items"]] == [(SIGNED_UP, {"email": bob.email})]
    assert page["total"] == 1


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": MAX_PAGE_SIZE + 1}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": MAX_OFFSET + 1}, "offset"),
    ],
)
async def test_pagination_out_of_bounds_is_422(
    client: httpx.AsyncClient, make_user: UserFactory, params: dict[str, int | str], name: str
) -> None:
    user = await make_user()
    response = await client.get("/audit-events", params=params, headers=user.headers)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["requestId"] == response.headers["x-request-id"]
    assert [d["loc"] for d in error["details"]] == [["query", name]]


async def test_another_users_event_is_404_as_if_it_did_not_exist(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    alice, bob = await make_user(), await make_user()
    [event] = (await list_events(client, alice))["items"]
    response = await client.get(f"/audit-events/{event['id']}", headers=bob.headers)
    unknown = await client.get(f"/audit-events/{event['id'] + 1000}", headers=bob.headers)
    assert response.status_code == 404
    # The same answer as for an id nobody has: ids are sequential, so a 403 would tell them apart.
    same = ("code", "message", "details")
    assert [response.json()["error"][k] for k in same] == [unknown.json()["error"][k] for k in same]
    assert response.json()["error"]["code"] == "audit_event_not_found"
    assert alice.email not in response.text
    assert (await client.get(f"/audit-events/{event['id']}", headers=alice.headers)).json() == event


async def test_an_unknown_event_is_404(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    user = await make_user()
    [event] = (await list_events(client, user))["items"]
    for event_id in (event["id"] + 1, 2**63 - 1):
        response = await client.get(f"/audit-events/{event_id}", headers=user.headers)
        assert response.status_code == 404, event_id
        assert response.json()["error"]["code"] == "audit_event_not_found"


@pytest.mark.parametrize("event_id", [str(2**63), "0", "-1", "1.5", "one"])
async def test_an_id_that_is_no_bigint_is_422(
    client: httpx.AsyncClient, make_user: UserFactory, event_id: str
) -> None:
    # Refused by validation: PostgreSQL's bigint stops at 2**63 - 1, so the query never runs.
    user = await make_user()
    response = await client.get(f"/audit-events/{event_id}", headers=user.headers)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert [d["loc"] for d in error["details"]] == [["path", "event_id"]]


@pytest.mark.parametrize("path", ["/audit-events", "/audit-events/1"])
async def test_audit_events_need_a_token(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "not_authenticated"
