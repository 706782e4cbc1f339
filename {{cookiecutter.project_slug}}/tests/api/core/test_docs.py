import re

import pytest

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
