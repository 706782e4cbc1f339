"""Every failure answers with the same JSON shape and never leaks internals."""

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import Field, PostgresDsn

from {{ cookiecutter.project_slug }}.core.database import Conn
from {{ cookiecutter.project_slug }}.core.errors import AppError
from {{ cookiecutter.project_slug }}.core.schemas import CustomBaseModel, InputModel
from {{ cookiecutter.project_slug }}.core.settings import Settings

from tests.helpers.apps import ClientFactory
from tests.helpers.logs import LogEvents
from tests.helpers.users import UserFactory


class Signup(CustomBaseModel):
    display_name: str = Field(min_length=2, max_length=20)
    age_years: int = Field(ge=0)


class Measurement(InputModel):
    name: str
    value: float


class TeapotError(AppError):
    status_code = 418
    code = "teapot"
    message = "This endpoint only brews tea."


def add_test_routes(app: FastAPI) -> None:
    router = APIRouter(prefix="/test")

    @router.post("/signup")
    async def signup(data: Signup) -> dict[str, str]:
        return {"displayName": data.display_name}

    @router.post("/measurements")
    async def measure(data: Measurement) -> dict[str, float]:
        return {"value": data.value}

    @router.get("/crash")
    async def crash() -> None:
        msg = "secret internal detail: password=hunter2"
        raise RuntimeError(msg)

    @router.get("/teapot")
    async def teapot() -> None:
        raise TeapotError

    @router.get("/db")
    async def db(conn: Conn) -> dict[str, int]:
        return {"answer": await conn.fetchval("SELECT 42")}

    app.include_router(router)


async def test_unknown_route_is_404_in_the_common_shape(client: httpx.AsyncClient) -> None:
    response = await client.get("/no/such/route")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "not_found"
    assert error["message"] == "Not Found"
    assert error["requestId"] == response.headers["x-request-id"]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/health/live", "GET, HEAD"),
        ("OPTIONS", "/users/me", "GET, PATCH"),
        ("PUT", "/users/me/sessions/0b8a4c8e-3f4e-4a43-9b51-1f0d5b0a8c11", "DELETE"),
    ],
)
async def test_a_405_allows_every_method_the_path_answers(
    client: httpx.AsyncClient, method: str, path: str, allowed: str
) -> None:
    response = await client.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allowed
    assert response.json()["error"]["code"] == "method_not_allowed"


async def test_validation_error_names_fields_in_camel_case(
    settings: Settings, client_for: ClientFactory
) -> None:
    async with client_for(settings, add_test_routes) as client:
        response = await client.post("/test/signup", json={"displayName": "x", "ageYears": "old"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["requestId"] == response.headers["x-request-id"]
    assert {tuple(detail["loc"]) for detail in error["details"]} == {
        ("body", "displayName"),
        ("body", "ageYears"),
    }
    assert all(detail["message"] and detail["type"] for detail in error["details"])


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b'{"name": "cut short', 9),  # truncated: the string that never ends
        (b'{"name": "x", "value": 1,}', 25),  # a trailing comma
        (b"{'name': 'x'}", 1),  # Python, not JSON
    ],
)
async def test_a_body_that_is_not_json_is_400(
    settings: Settings, client_for: ClientFactory, body: bytes, where: int
) -> None:
    async with client_for(settings, add_test_routes) as client:
        response = await client.post(
            "/test/measurements", content=body, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "malformed_body"
    [detail] = error["details"]
    assert detail["loc"] == ["body", where]
    assert detail["type"] == "json_invalid"
    assert f"(at character {where})" in detail["message"]


async def test_a_body_that_is_not_text_is_400(
    settings: Settings, client_for: ClientFactory
) -> None:
    async with client_for(settings, add_test_routes) as client:
        response = await client.post(
            "/test/measurements", content=b"\xc3\x28", headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_body"


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
async def test_nan_and_infinity_are_refused_in_number_fields(
    settings: Settings, client_for: ClientFactory, number: str
) -> None:
    # Python's JSON parser reads these although JSON has no such numbers: validation refuses them.
    body = ('{"name": "x", "value": ' + number + "}").encode()
    async with client_for(settings, add_test_routes) as client:
        response = await client.post(
            "/test/measurements", content=body, headers={"Content-Type": "application/json"}
        )
        fine = await client.post("/test/measurements", json={"name": "x", "value": 1.5})
    assert response.status_code == 422
    [detail] = response.json()["error"]["details"]
    assert detail["loc"] == ["body", "value"]
    assert detail["type"] == "finite_number"
    assert fine.json() == {"value": 1.5}


async def test_a_validators_own_message_reaches_the_client_as_written(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    same = {"currentPassword": user.password, "newPassword": user.password}
    response = await client.post("/users/me/password", json=same, headers=user.headers)
    assert response.status_code == 422
    [detail] = response.json()["error"]["details"]
    assert detail == {
        "loc": ["body"],
        "message": "newPassword must differ from currentPassword",
        "type": "value_error",
    }


async def test_missing_body_field_is_reported(
    settings: Settings, client_for: ClientFactory
) -> None:
    async with client_for(settings, add_test_routes) as client:
        response = await client.post("/test/signup", json={"displayName": "Ada"})
    assert response.status_code == 422
    assert [d["loc"] for d in response.json()["error"]["details"]] == [["body", "ageYears"]]


async def test_unhandled_exception_is_500_without_internals(
    settings: Settings, client_for: ClientFactory, log_events: LogEvents
) -> None:
    async with client_for(settings, add_test_routes) as client:
        response = await client.get("/test/crash")
    assert response.status_code == 500
    request_id = response.headers["x-request-id"]
    assert response.json() == {
        "error": {
            "code": "internal_error",
            "message": "An unexpected error occurred; quote the request id when reporting it.",
            "requestId": request_id,
            "details": [],
        }
    }
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    [event] = log_events("unhandled_exception")
    assert event["request_id"] == request_id
    assert event["level"] == "error"
    assert "Traceback" in event["exception"]  # the full traceback goes to the log


async def test_app_errors_keep_their_status_and_code(
    settings: Settings, client_for: ClientFactory
) -> None:
    async with client_for(settings, add_test_routes) as client:
        response = await client.get("/test/teapot")
    assert response.status_code == 418
    assert response.json()["error"]["code"] == "teapot"
    assert response.json()["error"]["message"] == "This endpoint only brews tea."


async def test_connection_dependency_lends_and_returns_a_connection(
    settings: Settings, client_for: ClientFactory
) -> None:
    apps: list[FastAPI] = []

    def configure(app: FastAPI) -> None:
        add_test_routes(app)
        apps.append(app)

    async with client_for(settings, configure) as client:
        for _ in range(3):
            response = await client.get("/test/db")
            assert response.json() == {"answer": 42}
        pool = apps[0].state.pool
        assert pool.get_size() >= 1
        assert pool.get_idle_size() == pool.get_size()  # every connection went back


async def test_database_down_is_503_in_the_common_shape(
    settings: Settings, client_for: ClientFactory, closed_port: int
) -> None:
    url = f"postgresql://postgres@127.0.0.1:{closed_port}/nothing"
    down = settings.model_copy(update={"database_url": PostgresDsn(url)})
    async with client_for(down, add_test_routes) as client:
        response = await client.get("/test/db")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "service_unavailable"
    assert error["message"] == "database is unavailable, try again shortly"
