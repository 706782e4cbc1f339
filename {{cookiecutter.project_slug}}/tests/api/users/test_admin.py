"""Administrators: the role check, the account list, deactivation and reactivation."""

from uuid import uuid4

import asyncpg
import httpx
import pytest

from tests.helpers.responses import error_code
from tests.helpers.users import SignedUpUser, UserFactory, log_in, refresh


async def verify(database_url: str, user: SignedUpUser, *, role: str = "user") -> None:
    """Mark the user's address verified (as its link would) and give them `role`."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "UPDATE users SET email_verified = true, role = $2 WHERE id = $1::uuid", user.id, role
        )
    finally:
        await conn.close()


async def make_admin(database_url: str, user: SignedUpUser) -> None:
    await verify(database_url, user, role="admin")


def admin_requests(user_id: str) -> list[tuple[str, str]]:
    return [
        ("GET", "/admin/users"),
        ("GET", f"/admin/users/{user_id}"),
        ("POST", f"/admin/users/{user_id}/deactivate"),
        ("POST", f"/admin/users/{user_id}/reactivate"),
    ]


async def test_only_administrators_reach_the_admin_routes(
    client: httpx.AsyncClient, make_user: UserFactory, database_url: str
) -> None:
    user = await make_user()
    verified = await make_user()
    await verify(database_url, verified)
    victim = await make_user()
    # A plain user, verified or not: 403 before anything is looked up, so ids (real or not)
    # tell them nothing.
    for caller in (user, verified):
        for target in (victim.id, str(uuid4()), "not-a-uuid"):
            for method, path in admin_requests(target):
                response = await client.request(method, path, headers=caller.headers)
                assert error_code(response) == (403, "role_required"), path
                assert response.json()["error"]["message"] == "This needs the admin role."
    for method, path in admin_requests(victim.id):
        response = await client.request(method, path)
        assert error_code(response) == (401, "not_authenticated"), path
    # Nothing happened to the victim.
    assert (await client.get("/users/me", headers=victim.headers)).status_code == 200
    assert (await client.get("/users/me", headers=user.headers)).json()["role"] == "user"


async def test_an_administrator_lists_and_reads_accounts(
    client: httpx.AsyncClient, make_user: UserFactory, database_url: str
) -> None:
    admin = await make_user(display_name="Root")
    await make_admin(database_url, admin)
    others = [await make_user(display_name=f"User {n}") for n in range(2)]

    page = await client.get("/admin/users", params={"limit": 2, "offset": 1}, headers=admin.headers)
    assert page.status_code == 200, page.text
    body = page.json()
    assert (body["total"], body["limit"], body["offset"]) == (3, 2, 1)
    assert [item["id"] for item in body["items"]] == [other.id for other in others]  # oldest first
    assert set(body["items"][0]) == {
        "id",
        "email",
        "displayName",
        "role",
        "emailVerified",
        "isActive",
        "createdAt",
    }
    one = await client.get(f"/admin/users/{admin.id}", headers=admin.headers)
    assert (one.json()["role"], one.json()["isActive"]) == ("admin", True)
    assert (await client.get("/users/me", headers=admin.headers)).json()["role"] == "admin"

    missing = await client.get(f"/admin/users/{uuid4()}", headers=admin.headers)
    assert error_code(missing) == (404, "user_not_found")
    malformed = await client.get("/admin/users/not-a-uuid", headers=admin.headers)
    assert error_code(malformed) == (422, "validation_error")
    too_many = await client.get("/admin/users", params={"limit": 101}, headers=admin.headers)
    assert error_code(too_many) == (422, "validation_error")


async def test_deactivating_an_account_ends_its_sessions_and_its_logins(
    client: httpx.AsyncClient, make_user: UserFactory, database_url: str
) -> None:
    admin = await make_user()
    await make_admin(database_url, admin)
    user = await make_user()
    phone = await log_in(client, user.email)

    response = await client.post(f"/admin/users/{user.id}/deactivate", headers=admin.headers)
    assert response.status_code == 200, response.text
    assert response.json()["isActive"] is False
    # Every session is over at once, access and refresh tokens alike.
    for headers in (user.headers, {"Authorization": f"Bearer {phone['access_token']}"}):
        assert error_code(await client.get("/users/me", headers=headers)) == (401, "invalid_token")
    for token in (user.refresh_token, phone["refresh_token"]):
        refreshed = await refresh(client, token)
        assert error_code(refreshed) == (401, "invalid_refresh_token")
    # The right password learns that the account is deactivated; a wrong one learns nothing.
    login = {"username": user.email, "password": user.password}
    assert error_code(await client.post("/auth/token", data=login)) == (403, "account_deactivated")
    wrong = {**login, "password": "not the password 1"}
    assert error_code(await client.post("/auth/token", data=wrong)) == (401, "invalid_credentials")

    again = await client.post(f"/admin/users/{user.id}/reactivate", headers=admin.headers)
    assert again.json()["isActive"] is True
    await log_in(client, user.email)  # logs in again; the old sessions stay ended
    assert (await client.get("/users/me", headers=user.headers)).status_code == 401

    conn = await asyncpg.connect(database_url)
    try:
        events = await conn.fetch(
            "SELECT event, data FROM audit_events WHERE user_id = $1::uuid AND event LIKE 'user.%'"
            " ORDER BY id",
            user.id,
        )
    finally:
        await conn.close()
    assert [row["event"] for row in events] == [
        "user.signed_up",
        "user.deactivated",
        "user.reactivated",
    ]
    assert '"by": "' + admin.id + '"' in events[1]["data"]


async def test_an_administrator_with_an_unverified_address_is_refused(
    client: httpx.AsyncClient, make_user: UserFactory, database_url: str
) -> None:
    admin = await make_user()
    await make_admin(database_url, admin)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("UPDATE users SET email_verified = false WHERE id = $1::uuid", admin.id)
    finally:
        await conn.close()
    response = await client.get("/admin/users", headers=admin.headers)
    assert error_code(response) == (403, "email_not_verified")


async def test_an_administrator_cannot_deactivate_themselves(
    client: httpx.AsyncClient, make_user: UserFactory, database_url: str
) -> None:
    admin = await make_user()
    await make_admin(database_url, admin)
    response = await client.post(f"/admin/users/{admin.id}/deactivate", headers=admin.headers)
    assert error_code(response) == (409, "cannot_deactivate_self")
    assert (await client.get("/users/me", headers=admin.headers)).status_code == 200


async def test_an_unknown_role_cannot_be_stored(make_user: UserFactory, database_url: str) -> None:
    user = await make_user()
    conn = await asyncpg.connect(database_url)
    try:
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute("UPDATE users SET role = 'root' WHERE id = $1::uuid", user.id)
        assert await conn.fetchval("SELECT role FROM users WHERE id = $1::uuid", user.id) == "user"
    finally:
        await conn.close()
