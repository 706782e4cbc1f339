import re
from importlib.metadata import metadata
from typing import Any

import pytest
from pydantic import HttpUrl

from {{ cookiecutter.project_slug }}.core.errors import AppError
from {{ cookiecutter.project_slug }}.core.settings import Environment, Settings
from {{ cookiecutter.project_slug }}.main import create_app

from tests.helpers.apps import ClientFactory

DOC_PATHS = ["/docs", "/redoc", "/openapi.json"]
STRONG_KEY = "k" * 48


def in_environment(settings: Settings, environment: Environment, **extra: object) -> Settings:
    return settings.model_copy(update={"environment": environment, **extra})


@pytest.mark.parametrize("environment", [Environment.LOCAL, Environment.STAGING])
async def test_docs_are_served_in_allowed_environments(
    settings: Settings, client_for: ClientFactory, environment: Environment
) -> None:
    async with client_for(in_environment(settings, environment)) as client:
        for path in DOC_PATHS:
            response = await client.get(path)
            assert response.status_code == 200, path


@pytest.mark.parametrize("environment", [Environment.PRODUCTION, Environment.TEST])
async def test_docs_are_absent_outside_the_allow_list(
    settings: Settings, client_for: ClientFactory, environment: Environment
) -> None:
    async with client_for(in_environment(settings, environment)) as client:
        for path in DOC_PATHS:
            response = await client.get(path)
            assert response.status_code == 404, path
            assert response.json()["error"]["code"] == "not_found"


async def test_allow_list_is_configurable(settings: Settings, client_for: ClientFactory) -> None:
    production_with_docs = in_environment(
        settings, Environment.PRODUCTION, docs_environments=frozenset({Environment.PRODUCTION})
    )
    async with client_for(production_with_docs) as client:
        assert (await client.get("/openapi.json")).status_code == 200


async def test_openapi_documents_the_common_error_shape(
    settings: Settings, client_for: ClientFactory
) -> None:
    async with client_for(in_environment(settings, Environment.LOCAL)) as client:
        spec = (await client.get("/openapi.json")).json()
    ready = spec["paths"]["/health/ready"]["get"]
    assert ready["summary"] == "Readiness probe"
    assert ready["tags"] == ["health"]
    assert set(ready["responses"]) >= {"200", "503", "500"}
    assert "ErrorResponse" in spec["components"]["schemas"]


def test_operation_ids_are_the_route_functions_names_and_unique(settings: Settings) -> None:
    app = create_app(in_environment(settings, Environment.LOCAL))
    spec = app.openapi()
    ids = [op["operationId"] for path in spec["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids)), sorted(ids)
    assert [i for i in ids if not re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", i)] == []
    # The name of the function, whatever its path: each router's, with the app's own prefixes.
    paths = spec["paths"]
    assert paths["/users/me"]["get"]["operationId"] == "read_me"
    assert paths["/health/live"]["head"]["operationId"] == "liveness_head"
    assert paths["/auth/password-strength"]["post"]["operationId"] == "password_strength"
    assert paths["/audit-events/{event_id}"]["get"]["operationId"] == "read_audit_event"


def schema_of(settings: Settings) -> dict[str, Any]:
    return create_app(in_environment(settings, Environment.LOCAL)).openapi()


def test_public_operations_say_so_and_the_others_name_their_scheme(settings: Settings) -> None:
    operations = [op for path in schema_of(settings)["paths"].values() for op in path.values()]
    public = {op["operationId"] for op in operations if op["security"] == []}
    assert public == {
        "liveness",
        "liveness_head",
        "readiness",
        "readiness_head",
        "signup",
        "login",
        "refresh",
        "password_strength",
        "verify_email",
        "resend_verification",
        "request_password_reset",
        "confirm_password_reset",
    }
    bearer: list[dict[str, list[str]]] = [{"OAuth2PasswordBearer": []}]
    assert [op["operationId"] for op in operations if op["security"] not in ([], bearer)] == []


def test_the_schema_names_its_server_license_and_contact(settings: Settings) -> None:
    info = schema_of(settings)["info"]
    package = metadata("{{ cookiecutter.project_slug }}")
    assert info["license"] == {
        "name": package["License-Expression"],
        "identifier": package["License-Expression"],
    }
    assert info["contact"]["email"] == "{{ cookiecutter.author_email }}"
    assert info["description"] == package["Summary"]
    assert schema_of(settings)["servers"] == [{"url": "/"}]
    # Without the slash pydantic adds: clients append paths that start with one.
    public = settings.model_copy(update={"api_url": HttpUrl("https://api.example.org")})
    assert schema_of(public)["servers"] == [{"url": "https://api.example.org"}]


def test_every_response_documents_its_request_id_and_retries_their_wait(
    settings: Settings,
) -> None:
    paths = schema_of(settings)["paths"]
    responses = [
        r for path in paths.values() for op in path.values() for r in op["responses"].values()
    ]
    assert all(r["headers"]["X-Request-ID"]["required"] for r in responses)
    login = paths["/auth/token"]["post"]["responses"]
    assert login["429"]["headers"]["Retry-After"]["schema"] == {"type": "integer", "minimum": 0}
    assert "Retry-After" in login["503"]["headers"]


def test_the_error_code_is_an_enum_of_the_codes_the_service_answers(settings: Settings) -> None:
    class LocalError(AppError):  # defined by a test, not by the service
        code = "only_in_a_test"

    body = schema_of(settings)["components"]["schemas"]["ErrorBody"]
    codes = body["properties"]["code"]["enum"]
    assert codes == sorted(set(codes))
    # The framework's, this module's and each domain's own.
    assert {"not_found", "method_not_allowed", "validation_error", "internal_error"} <= set(codes)
    assert {"invalid_credentials", "email_taken", "session_not_found"} <= set(codes)
    assert "only_in_a_test" not in codes


def test_defaults_are_optional_in_requests_and_required_in_responses(settings: Settings) -> None:
    schemas = schema_of(settings)["components"]["schemas"]
    # Words the password must not be built from: an empty list unless the client sends some.
    assert schemas["PasswordStrengthIn"]["required"] == ["password"]
    # The error body always carries its request id and details.
    assert {"code", "message", "requestId", "details"} <= set(schemas["ErrorBody"]["required"])
