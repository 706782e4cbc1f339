"""Alembic environment: migrations run over asyncpg with the URL from Settings.

Migrations are written by hand with `op.*` (there are no ORM models); SQLAlchemy is only the
vehicle Alembic needs. Constraint and index names follow NAMING_CONVENTION, so a later migration
can drop them by a name it can predict.
"""

import asyncio

from alembic import context
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from {{ cookiecutter.project_slug }}.core.settings import Settings

NAMING_CONVENTION = {
    "pk": "pk_%(table_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}
target_metadata = MetaData(naming_convention=NAMING_CONVENTION)


def database_url() -> str:
    # Tests pass the URL of their own database; everyone else gets DATABASE_URL via Settings.
    url = context.config.attributes.get("database_url") or str(Settings().database_url)
    scheme, rest = url.split("://", 1)
    return f"postgresql+asyncpg://{rest}" if scheme in ("postgres", "postgresql") else url


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection, target_metadata=target_metadata, transaction_per_migration=True
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_online() -> None:
    engine = create_async_engine(database_url(), poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_migrations)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(run_online())  # noqa: TID251 - Alembic's own process, no server loop
