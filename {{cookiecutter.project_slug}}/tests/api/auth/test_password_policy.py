"""The password policy (NIST SP 800-63B): a length, no composition rules, and a check against
what attackers guess first, made by the same zxcvbn estimate the strength meter shows."""

import httpx
import pytest

from {{ cookiecutter.project_slug }}.core.settings import Settings
from {{ cookiecutter.project_slug }}.main import create_app

from tests.helpers.apps import ClientFactory
from tests.helpers.responses import error_code
from tests.helpers.users import count_users

SIGNUP = {"email": "ada@example.com", "displayName": "Ada Lovelace"}


@pytest.mark.parametrize(
    "password",
    [
        "onlyletters-no-digits",  # no digit, no capital, no symbol: fine
        "いろはにほへとちりぬるをわかよた",  # any script
        "   spaces around   ",  # kept exactly as typed
    ],
)
async def test_any_long_unguessable_password_is_accepted_and_logs_in(
    client: httpx.AsyncClient, password: str
) -> None:
    signed_up = await client.post("/auth/signup", json={**SIGNUP, "password": password})
    assert signed_up.status_code == 201, signed_up.text
    login = await client.post(
        "/auth/token", data={"username": SIGNUP["email"], "password": password}
    )
    assert login.status_code == 200, login.text


@pytest.mark.parametrize(
    ("password", "warning"),
    [
        ("aaaaaaaaaaaaaaaa", "Repeats like"),
        ("qwertyuiopasdfgh", "similar to a commonly used password"),
        ("123456789012345", "similar to a commonly used password"),
        ("ada@example.com2026", ""),  # the account's own address
        ("Ada Lovelace 1815", ""),  # its display name
    ],
)
async def test_a_guessable_password_is_refused_with_advice_and_nothing_is_written(
    client: httpx.AsyncClient, database_url: str, password: str, warning: str
) -> None:
    response = await client.post("/auth/signup", json={**SIGNUP, "password": password})
    assert error_code(response) == (422, "validation_error")
    [detail] = response.json()["error"]["details"]
    assert detail["loc"] == ["body", "password"]
    assert detail["type"] == "password_too_guessable"
    assert detail["message"].startswith("Too easy to guess (score ")
    assert ", 3 needed)." in detail["message"]
    assert warning in detail["message"]
    assert "Add another word or two" in detail["message"]  # zxcvbn's suggestion
    assert password not in response.text  # the error never echoes the password
    assert await count_users(database_url) == 0


async def test_the_strength_meter_and_the_policy_agree(client: httpx.AsyncClient) -> None:
    candidates = ["Password1234567!", "correcthorsebattery", "qwertyuiopasdfgh", "zxcvbnm,./12345"]
    for n, password in enumerate(candidates):
        meter = await client.post(
            "/auth/password-strength",
            json={"password": password, "userInputs": [f"ada{n}@example.com", "Ada Lovelace"]},
        )
        signed_up = await client.post(
            "/auth/signup", json={**SIGNUP, "email": f"ada{n}@example.com", "password": password}
        )
        expected = 201 if meter.json()["score"] >= 3 else 422
        assert signed_up.status_code == expected, (password, meter.json())


async def test_a_min_score_of_0_checks_the_length_only(
    settings: Settings, client_for: ClientFactory
) -> None:
    length_only = settings.model_copy(update={"password_min_score": 0})
    async with client_for(length_only) as client:
        accepted = await client.post(
            "/auth/signup", json={**SIGNUP, "password": "aaaaaaaaaaaaaaaa"}
        )
        too_short = await client.post(
            "/auth/signup", json={**SIGNUP, "email": "b@example.com", "password": "a" * 14}
        )
    assert accepted.status_code == 201, accepted.text
    assert error_code(too_short) == (422, "validation_error")


def test_the_schema_states_the_policy(settings: Settings) -> None:
    schema = create_app(settings).openapi()  # the schema is built whatever the environment
    for name, field in (("SignupIn", "password"), ("PasswordResetIn", "newPassword")):
        password = schema["components"]["schemas"][name]["properties"][field]
        assert (password["minLength"], password["maxLength"]) == (15, 128)
        assert "password_too_guessable" in password["description"]
        assert "PASSWORD_MIN_SCORE" in password["description"]
