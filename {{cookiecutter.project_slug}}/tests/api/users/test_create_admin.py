"""`make create-admin`: the command that makes the first administrator, run as a real process."""

import asyncio
import sys
from pathlib import Path

import asyncpg
import httpx

from tests.helpers.users import DEFAULT_PASSWORD, UserFactory, bearer, log_in

COMMAND = [sys.executable, "-m", "{{ cookiecutter.project_slug }}.users.create_admin"]


async def create_admin(
    database_url: str, cwd: Path, *args: str, password: str | None = None
) -> tuple[int, str, str]:
    """Run the command with `password` on its standard input (a pipe, not a terminal)."""
    process = await asyncio.create_subprocess_exec(
        *COMMAND,
        *args,
        cwd=cwd,  # no .env there: the settings come from the variables below
        env={"ENVIRONMENT": "test", "DATABASE_URL": database_url, "PATH": ""},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdin = None if password is None else f"{password}\n".encode()
    async with asyncio.timeout(60):
        out, err = await process.communicate(stdin)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def role_of(database_url: str, email: str) -> tuple[str, bool] | None:
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow("SELECT role, is_active FROM users WHERE email = $1", email)
    finally:
        await conn.close()
    return None if row is None else (row["role"], row["is_active"])


async def test_it_creates_an_administrator_who_can_log_in(
    client: httpx.AsyncClient, database_url: str, tmp_path: Path
) -> None:
    password = "  a long admin passphrase 7  "  # taken exactly as typed, spaces included
    code, out, err = await create_admin(
        database_url, tmp_path, "Root@Example.com", "--display-name", "Root", password=password
    )
    assert (code, err) == (0, "")
    assert out == "Created the administrator root@example.com.\n"
    tokens = await log_in(client, "root@example.com", password)
    me = (await client.get("/users/me", headers=bearer(tokens))).json()
    assert (me["role"], me["displayName"], me["emailVerified"]) == ("admin", "Root", True)
    assert (await client.get("/admin/users", headers=bearer(tokens))).status_code == 200


async def test_it_refuses_an_account_whose_address_is_not_verified(
    make_user: UserFactory, database_url: str, tmp_path: Path
) -> None:
    # Anyone can sign up with the address the operator will type: no admin role for them.
    squatter = await make_user()
    code, out, err = await create_admin(database_url, tmp_path, squatter.email, password="x")
    assert (code, out) == (1, "")
    assert "has not verified its address" in err
    assert await role_of(database_url, squatter.email) == ("user", True)


async def test_it_promotes_an_existing_verified_account_and_keeps_its_password(
    client: httpx.AsyncClient, make_user: UserFactory, database_url: str, tmp_path: Path
) -> None:
    user = await make_user()
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "UPDATE users SET is_active = false, email_verified = true WHERE id = $1::uuid",
            user.id,
        )
    finally:
        await conn.close()
    code, out, _ = await create_admin(database_url, tmp_path, user.email)
    assert code == 0
    assert out == f"{user.email} is now an administrator; its password is unchanged.\n"
    assert await role_of(database_url, user.email) == ("admin", True)  # and active again
    await log_in(client, user.email, DEFAULT_PASSWORD)


async def test_bad_input_is_refused_and_changes_nothing(database_url: str, tmp_path: Path) -> None:
    code, _, err = await create_admin(database_url, tmp_path, "not-an-email", password="x")
    assert code == 2
    assert "value is not a valid email address" in err
    code, _, err = await create_admin(database_url, tmp_path, "a@example.com", password="short 1")
    assert code == 1
    assert err == "error: String should have at least 15 characters; nothing was changed\n"
    code, _, err = await create_admin(
        database_url, tmp_path, "a@example.com", password="aaaaaaaaaaaaaaaa"
    )
    assert code == 1
    assert err.startswith("error: Too easy to guess (score 0 of 4, 3 needed). Repeats like")
    assert err.endswith(" Nothing was changed.\n")
    code, _, err = await create_admin(database_url, tmp_path)
    assert code == 2
    assert "the following arguments are required: email" in err
    assert await role_of(database_url, "a@example.com") is None
