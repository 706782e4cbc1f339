"""`make prune`: the command that deletes expired sessions and links, run as a real process."""

import asyncio
import sys
from pathlib import Path

import asyncpg
import httpx

from tests.helpers.polling import eventually
from tests.helpers.users import UserFactory, refresh

COMMAND = [sys.executable, "-m", "{{ cookiecutter.project_slug }}.auth.prune"]


async def prune(database_url: str, cwd: Path) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *COMMAND,
        cwd=cwd,  # no .env there: the settings come from the variables below
        env={"ENVIRONMENT": "test", "DATABASE_URL": database_url, "PATH": ""},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def counts(database_url: str) -> tuple[int, int, int]:
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow(
            """SELECT (SELECT count(*) FROM sessions) AS sessions,
            (SELECT count(*) FROM refresh_tokens) AS tokens,
            (SELECT count(*) FROM link_tokens) AS links"""
        )
    finally:
        await conn.close()
    assert row is not None
    return row["sessions"], row["tokens"], row["links"]


async def expire(database_url: str, email: str) -> None:
    """Let the user's sessions and links lapse, as if their time had passed."""
    conn = await asyncpg.connect(database_url)
    try:
        user_id = await conn.fetchval("SELECT id FROM users WHERE email = $1", email)
        for table in ("sessions", "link_tokens"):
            await conn.execute(
                f"UPDATE {table} SET expires_at = now() - interval '1 second' WHERE user_id = $1",  # noqa: S608 - a constant table name
                user_id,
            )
    finally:
        await conn.close()


async def test_it_deletes_only_what_has_expired(
    client: httpx.AsyncClient, make_user: UserFactory, database_url: str, tmp_path: Path
) -> None:
    gone, kept = await make_user(), await make_user()
    for user in (gone, kept):  # a spent refresh token each, and the sign-up's verification link
        assert (await refresh(client, user.refresh_token)).status_code == 200

    async def links_issued() -> bool:  # sent after the sign-up's response
        return (await counts(database_url))[2] == 2

    await eventually(links_issued)
    await expire(database_url, gone.email)

    assert await counts(database_url) == (2, 4, 2)
    assert await prune(database_url, tmp_path) == (
        0,
        "Deleted 1 expired sessions and 1 expired links.\n",
        "",
    )
    assert await counts(database_url) == (1, 2, 1)  # the refresh tokens went with their session
    assert (await client.get("/users/me", headers=kept.headers)).status_code == 200
    # Nothing left to delete: running it again is harmless.
    again = await prune(database_url, tmp_path)
    assert again[1] == "Deleted 0 expired sessions and 0 expired links.\n"
    assert await counts(database_url) == (1, 2, 1)


async def test_an_unreachable_database_is_a_clear_error(tmp_path: Path, closed_port: int) -> None:
    url = f"postgresql://postgres@127.0.0.1:{closed_port}/nowhere"
    code, out, err = await prune(url, tmp_path)
    assert (code, out) == (1, "")
    assert err.startswith("error: the database is unreachable (")
    assert err.endswith("); nothing was deleted\n")
