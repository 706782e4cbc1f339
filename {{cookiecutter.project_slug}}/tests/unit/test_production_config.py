"""What `Settings` refuses in production, and what it accepts (README, "Production checklist")."""

from typing import Any

import pytest
from pydantic import ValidationError

from {{ cookiecutter.project_slug }}.core.settings import Environment, Settings

STRONG_KEY = "k" * 48
HOSTS = ["api.example.com"]


def production(**values: Any) -> Settings:
    # _env_file=None: these tests must not depend on a developer's .env.
    defaults: dict[str, Any] = {
        "environment": Environment.PRODUCTION,
        "secret_key": STRONG_KEY,
        "trusted_hosts": HOSTS,
    }
    return Settings(_env_file=None, **{**defaults, **values})


def test_a_complete_production_configuration_is_accepted() -> None:
    settings = production(cors_origins=["https://app.example.com"])
    assert settings.debug is False
    assert settings.docs_enabled is False
    assert settings.trusted_hosts == HOSTS
    assert settings.cors_origins == ["https://app.example.com"]


def test_debug_is_refused_in_production() -> None:
    with pytest.raises(ValidationError, match=r"Refusing to run in production: DEBUG=true"):
        production(debug=True)


@pytest.mark.parametrize("environment", [Environment.LOCAL, Environment.STAGING])
def test_debug_is_allowed_outside_production(environment: Environment) -> None:
    assert production(environment=environment, debug=True).debug is True


def test_docs_in_production_are_refused_unless_explicitly_allowed() -> None:
    with pytest.raises(ValidationError, match="DOCS_ENVIRONMENTS includes production") as caught:
        production(docs_environments={Environment.PRODUCTION})
    assert "ALLOW_DOCS_IN_PRODUCTION=true" in str(caught.value)


def test_docs_in_production_are_accepted_when_explicitly_allowed() -> None:
    settings = production(docs_environments={Environment.PRODUCTION}, allow_docs_in_production=True)
    assert settings.docs_enabled is True


@pytest.mark.parametrize("environment", [Environment.STAGING, Environment.PRODUCTION])
@pytest.mark.parametrize("hosts", [None, []])
def test_trusted_hosts_are_required_outside_local_and_test(
    environment: Environment, hosts: list[str] | None
) -> None:
    with pytest.raises(ValidationError, match=f"TRUSTED_HOSTS is required in {environment.value}"):
        production(environment=environment, trusted_hosts=hosts)


@pytest.mark.parametrize("environment", [Environment.LOCAL, Environment.TEST])
def test_local_and_test_accept_any_host_by_default(environment: Environment) -> None:
    settings = Settings(_env_file=None, environment=environment)
    assert settings.trusted_hosts == ["*"]


def test_wildcard_trusted_host_is_refused_in_production() -> None:
    with pytest.raises(ValidationError, match='TRUSTED_HOSTS contains "\\*"'):
        production(trusted_hosts=["api.example.com", "*"])


def test_wildcard_trusted_host_is_allowed_in_staging() -> None:
    assert production(environment=Environment.STAGING, trusted_hosts=["*"]).trusted_hosts == ["*"]


def test_subdomain_pattern_is_not_a_wildcard() -> None:
    assert production(trusted_hosts=["*.example.com"]).trusted_hosts == ["*.example.com"]


def test_wildcard_cors_origin_is_refused_in_production() -> None:
    with pytest.raises(ValidationError, match='CORS_ORIGINS contains "\\*"'):
        production(cors_origins=["*"])


@pytest.mark.parametrize(
    "origin", ["https://app.example.com/", "app.example.com", "https://app.example.com/path"]
)
def test_cors_origins_must_be_bare_origins(origin: str) -> None:
    with pytest.raises(ValidationError, match="CORS_ORIGINS entries must be origins"):
        Settings(_env_file=None, cors_origins=[origin])


def test_every_production_problem_is_reported_at_once() -> None:
    with pytest.raises(ValidationError) as caught:
        production(
            debug=True,
            docs_environments={Environment.PRODUCTION},
            trusted_hosts=["*"],
            cors_origins=["*"],
        )
    message = str(caught.value)
    for problem in ("DEBUG=true", "DOCS_ENVIRONMENTS", "TRUSTED_HOSTS", "CORS_ORIGINS"):
        assert problem in message


def test_hardening_settings_are_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", STRONG_KEY)
    monkeypatch.setenv("TRUSTED_HOSTS", '["api.example.com", "www.example.com"]')
    monkeypatch.setenv("CORS_ORIGINS", '["https://app.example.com"]')
    monkeypatch.setenv("LOGIN_MAX_ATTEMPTS_PER_ACCOUNT_AND_ADDRESS", "3")
    settings = Settings(_env_file=None)
    assert settings.trusted_hosts == ["api.example.com", "www.example.com"]
    assert settings.cors_origins == ["https://app.example.com"]
    assert settings.login_max_attempts_per_account_and_address == 3


def test_a_production_environment_without_hosts_fails_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", STRONG_KEY)
    monkeypatch.setenv("DEBUG", "true")
    with pytest.raises(ValidationError, match="TRUSTED_HOSTS is required in production"):
        Settings(_env_file=None)


@pytest.mark.parametrize("pattern", ["api.*.com", "*example.com", "**.example.com", "*."])
@pytest.mark.parametrize("environment", [Environment.TEST, Environment.PRODUCTION])
def test_a_malformed_wildcard_host_is_refused_at_startup(
    pattern: str, environment: Environment
) -> None:
    # Settings checks it (Starlette only `assert`s, which `python -O` skips), so the API and the
    # worker both stop with a message naming the setting.
    with pytest.raises(ValueError, match="TRUSTED_HOSTS entries with a wildcard"):
        production(environment=environment, trusted_hosts=["api.example.com", pattern])
