import pytest

from {{ cookiecutter.project_slug }}.core.settings import Environment, Settings

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
