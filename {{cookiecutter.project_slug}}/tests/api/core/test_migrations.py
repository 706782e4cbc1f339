import asyncio

import asyncpg

from {{ cookiecutter.project_slug }}.core.settings import Settings

from tests.helpers.database import migrate, scratch_database

EXPECTED_TABLES = {"users", "audit_events"{% if cookiecutter.include_celery == 'y' %}, "jobs"{% endif %}}


async def tables(url: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    finally:
        await conn.close()
    return {row["tablename"] for row in rows} - {"alembic_version"}


async def test_migrations_go_up_down_and_up_again(base_settings: Settings) -> None:
    async with scratch_database(str(base_settings.database_url)) as url:
        await asyncio.to_thread(migrate, url)
        created = await tables(url)
        assert created >= EXPECTED_TABLES  # your own migrations add more
        await asyncio.to_thread(migrate, url, "base", down=True)
        assert await tables(url) == set()  # every migration is reversible
        await asyncio.to_thread(migrate, url)
        assert await tables(url) == created


async def test_constraints_and_indexes_follow_the_naming_convention(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        constraints = {
            r["conname"]
            for r in await conn.fetch(
                "SELECT conname FROM pg_constraint WHERE connamespace = 'public'::regnamespace"
            )
        }
        indexes = {
            r["indexname"]
            for r in await conn.fetch(
                "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'"
            )
        }
    finally:
        await conn.close()
    assert {
        "pk_users",
        "uq_users_email",
        "pk_audit_events",
        "fk_audit_events_user_id_users",
    } <= constraints
    assert "ix_audit_events_user_id" in indexes
{%- if cookiecutter.include_celery == 'y' %}
    assert {"pk_jobs", "fk_jobs_owner_id_users", "ck_jobs_status"} <= constraints
    assert "ix_jobs_owner_id_created_at" in indexes
{%- endif %}
