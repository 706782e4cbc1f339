"""Scratch databases and migrations for tests."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from uuid import uuid4

import asyncpg
import pytest
from alembic import command
from alembic.config import Config as AlembicConfig

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Every table of the app: a new domain's tables are emptied between tests without a list to edit.
APP_TABLES = """
    SELECT quote_ident(tablename) FROM pg_tables
    WHERE schemaname = current_schema() AND tablename <> 'alembic_version'
"""


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))


def migrate(url: str, revision: str = "head", *, down: bool = False) -> None:
    """Run Alembic against `url`, exactly as `make migrate` does (call it off the event loop)."""
    config = AlembicConfig(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    if down:
        command.downgrade(config, revision)
    else:
        command.upgrade(config, revision)


@asynccontextmanager
async def scratch_database(server_url: str) -> AsyncIterator[str]:
    """A new, empty database on the server of `server_url`, dropped afterwards."""
    admin_url = with_database(server_url, "postgres")
    name = f"{{ cookiecutter.project_slug }}_test_{uuid4().hex[:12]}"
    try:
        admin = await asyncpg.connect(admin_url, timeout=5)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {without_password(admin_url)} ({exc!r}). Start it "
            "(for example `docker compose up -d postgres`) or point DATABASE_URL at a server.",
            pytrace=False,
        )
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield with_database(server_url, name)
    finally:
        admin = await asyncpg.connect(admin_url, timeout=5)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
