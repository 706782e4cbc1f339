from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from {{ cookiecutter.project_slug }}.core.settings import MIN_SECRET_KEY_BYTES, Environment, Settings

STRONG_KEY = "k" * MIN_SECRET_KEY_BYTES


def make(**values: Any) -> Settings:
    # _env_file=None: these tests must not depend on a developer's .env.
    return Settings(_env_file=None, **values)


@pytest.mark.parametrize("environment", [Environment.STAGING, Environment.PRODUCTION])
def test_missing_secret_key_is_refused_outside_local_and_test(environment: Environment) -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY is missing"):
        make(environment=environment, secret_key=None)


def test_short_secret_key_is_refused_in_production() -> None:
    weak = "k" * (MIN_SECRET_KEY_BYTES - 1)
    with pytest.raises(
        ValidationError, match=f"SECRET_KEY is only {MIN_SECRET_KEY_BYTES - 1} bytes"
    ):
        make(environment=Environment.PRODUCTION, secret_key=weak)


def test_empty_secret_key_counts_as_missing() -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY is missing"):
        make(environment=Environment.PRODUCTION, secret_key="")


def test_strong_secret_key_is_accepted_in_production() -> None:
    settings = make(
        environment=Environment.PRODUCTION, secret_key=STRONG_KEY, trusted_hosts=["api.example.com"]
    )
    assert isinstance(settings.secret_key, SecretStr)
    assert settings.secret_key.get_secret_value() == STRONG_KEY
    assert STRONG_KEY not in repr(settings)


def test_local_without_secret_key_gets_a_random_one() -> None:
    first = make(environment=Environment.LOCAL, secret_key=None)
    second = make(environment=Environment.LOCAL, secret_key=None)
    assert first.secret_key is not None
    assert second.secret_key is not None
    assert len(first.secret_key.get_secret_value().encode()) >= MIN_SECRET_KEY_BYTES
    assert first.secret_key.get_secret_value() != second.secret_key.get_secret_value()


def test_pool_min_size_above_max_size_is_refused() -> None:
    with pytest.raises(ValidationError, match="DB_POOL_MIN_SIZE must not be larger"):
        make(db_pool_min_size=5, db_pool_max_size=4)


@pytest.mark.parametrize("niceness", [-1, 20])
def test_background_niceness_outside_what_nice_can_lower_is_refused(niceness: int) -> None:
    # Raising priority (below 0) needs privileges; Linux stops at 19.
    with pytest.raises(ValidationError, match="background_niceness"):
        make(background_niceness=niceness)


def test_unknown_environment_is_refused() -> None:
    with pytest.raises(ValidationError, match="environment"):
        make(environment="prod")


def test_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREAD_POOL_SIZE", "7")
    monkeypatch.setenv("DOCS_ENVIRONMENTS", '["production"]')
    settings = make()
    assert settings.thread_pool_size == 7
    assert settings.docs_environments == frozenset({Environment.PRODUCTION})


@pytest.mark.parametrize(
    ("environment", "expected"),
    [(Environment.LOCAL, "console"), (Environment.TEST, "json"), (Environment.PRODUCTION, "json")],
)
def test_log_format_follows_environment(environment: Environment, expected: str) -> None:
    settings = make(
        environment=environment, secret_key=STRONG_KEY, trusted_hosts=["api.example.com"]
    )
    assert settings.effective_log_format == expected


def test_explicit_log_format_wins() -> None:
    assert make(environment=Environment.LOCAL, log_format="json").effective_log_format == "json"


ENV_EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"


def test_env_example_lists_every_setting() -> None:
    listed = {
        line.split("=", 1)[0].lower()
        for line in ENV_EXAMPLE.read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert listed == set(Settings.model_fields)


def test_env_example_is_a_valid_configuration() -> None:
    settings = Settings(_env_file=ENV_EXAMPLE)
    assert settings.environment == Environment.LOCAL
    assert settings.log_format is None  # `LOG_FORMAT=` means the default
