"""A failing query answers the common 500 shape: no SQL, no database detail, no traceback."""

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from {{ cookiecutter.project_slug }}.core.database import Conn
from {{ cookiecutter.project_slug }}.core.settings import Settings

from tests.helpers.apps import ClientFactory

# Words that would only be in a body that leaked the query, the driver's message or a traceback.
LEAKS = ("SELECT", "INSERT", "no_such_table", "Key (", "already exists", "asyncpg", "Traceback")


def add_failing_queries(app: FastAPI) -> None:
    router = APIRouter(prefix="/test")

    @router.get("/missing-table")
    async def missing_table(conn: Conn) -> None:
        await conn.fetch("SELECT secret_column FROM no_such_table WHERE id = $1", 1)

    @router.post("/duplicate-user")
    async def duplicate_user(conn: Conn) -> None:
        # Bypasses users.service, which would turn the violation into a 409.
        for _ in range(2):
            await conn.execute(
                "INSERT INTO users (email, password_hash, display_name) VALUES ($1, $2, $3)",
                "leak@example.com",
                "not-a-real-hash",
                "Leak",
            )

    app.include_router(router)


def assert_opaque_500(response: httpx.Response) -> None:
    assert response.status_code == 500
    assert response.json() == {
        "error": {
            "code": "internal_error",
            "message": "An unexpected error occurred; quote the request id when reporting it.",
            "requestId": response.headers["x-request-id"],
            "details": [],
        }
    }
    for leak in LEAKS:
        assert leak not in response.text, leak


@pytest.mark.parametrize("debug", [False, True])
async def test_database_errors_do_not_leak_into_the_response(
    settings: Settings, client_for: ClientFactory, debug: bool
) -> None:
    # DEBUG=true (allowed outside production) does not change what clients see.
    configured = settings.model_copy(update={"debug": debug})
    async with client_for(configured, add_failing_queries) as client:
        missing = await client.get("/test/missing-table")
        duplicate = await client.post("/test/duplicate-user")
    assert_opaque_500(missing)
    assert_opaque_500(duplicate)
    assert "leak@example.com" not in duplicate.text
