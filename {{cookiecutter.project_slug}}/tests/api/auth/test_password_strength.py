"""POST /auth/password-strength: zxcvbn's estimate for a sign-up form, made in the process pool."""

from collections.abc import Callable, Hashable
from typing import Any

import httpx
import pytest

from {{ cookiecutter.project_slug }}.auth import password_strength
from {{ cookiecutter.project_slug }}.auth.password_strength import MAX_CHECKED_LENGTH
from {{ cookiecutter.project_slug }}.auth.schemas import MAX_PASSWORD_LENGTH
from {{ cookiecutter.project_slug }}.core.process_pool import ProcessPoolRunner

PATH = "/auth/password-strength"
EMAIL = "ada.lovelace@example.com"


async def strength(client: httpx.AsyncClient, password: str, *inputs: str) -> dict[str, Any]:
    response = await client.post(PATH, json={"password": password, "userInputs": list(inputs)})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_weak_password_gets_a_low_score_and_a_warning(client: httpx.AsyncClient) -> None:
    body = await strength(client, "password1")  # no token: the sign-up form has none yet
    assert set(body) == {"score", "guessesLog10", "warning", "suggestions"}
    assert body["score"] <= 1
    assert body["warning"] == "This is a very common password."
    assert body["suggestions"]
    assert body["guessesLog10"] < 3


async def test_a_strong_password_scores_four(client: httpx.AsyncClient) -> None:
    body = await strength(client, "vermilion quasar tundra 1843")
    assert body["score"] == 4
    assert body["warning"] is None
    assert body["suggestions"] == []
    assert body["guessesLog10"] > 10


async def test_user_inputs_lower_the_score_of_a_password_built_from_them(
    client: httpx.AsyncClient,
) -> None:
    password = f"{EMAIL}42"
    alone = await strength(client, password)
    knowing_the_account = await strength(client, password, EMAIL, "Ada")
    assert alone["score"] == 4  # to zxcvbn alone, a long string of words and symbols
    assert knowing_the_account["score"] <= 1
    assert knowing_the_account["guessesLog10"] < alone["guessesLog10"] - 10


async def test_the_longest_password_allowed_is_judged_on_what_zxcvbn_takes(
    client: httpx.AsyncClient,
) -> None:
    # zxcvbn refuses more than MAX_CHECKED_LENGTH characters: a longer password, up to the
    # longest a sign-up takes, is judged on its beginning (and costs no more than that).
    password = ("correct horse 42 " * 8)[:MAX_PASSWORD_LENGTH]
    assert len(password) == MAX_PASSWORD_LENGTH > MAX_CHECKED_LENGTH
    longest = await strength(client, password)
    assert longest == await strength(client, password[:MAX_CHECKED_LENGTH])


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"password": ""}, ["body", "password"]),
        ({"password": "x" * (MAX_PASSWORD_LENGTH + 1)}, ["body", "password"]),
        (
            {"password": "p4ssword", "userInputs": ["a", "b", "c", "d", "e", "f"]},
            ["body", "userInputs"],
        ),
        ({"password": 12345678}, ["body", "password"]),
        ({"password": "p4ssword", "userInputs": "ada"}, ["body", "userInputs"]),
        ({"password": "p4ssword", "userInputs": [42]}, ["body", "userInputs", 0]),
        ({"password": "p4ssword", "userInputs": ["x" * 101]}, ["body", "userInputs", 0]),
        ({"password": "p4ssword", "userInputs": ["nul\x00"]}, ["body", "userInputs", 0]),
        ({"userInputs": [EMAIL]}, ["body", "password"]),
        ({"password": "p4ssword", "email": EMAIL}, ["body", "email"]),
    ],
)
async def test_an_invalid_body_is_422_in_the_common_shape(
    client: httpx.AsyncClient, body: dict[str, Any], loc: list[str | int]
) -> None:
    response = await client.post(PATH, json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["message"] == "The request is invalid; see details."
    assert error["requestId"] == response.headers["x-request-id"]
    assert loc in [detail["loc"] for detail in error["details"]]
    assert all(detail["message"] and detail["type"] for detail in error["details"])


def refuse_in_this_process(*_args: object, **_kwargs: object) -> dict[str, Any]:
    msg = "zxcvbn ran in the API process, not in the process pool"
    raise AssertionError(msg)


async def test_the_estimate_runs_in_the_process_pool(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # zxcvbn is replaced here, in the API's process only: a pool process imports the module
    # afresh, so only an estimate made there can succeed.
    monkeypatch.setattr(password_strength, "zxcvbn", refuse_in_this_process)
    calls: list[tuple[Hashable, Callable[..., Any], tuple[object, ...]]] = []
    real_run = ProcessPoolRunner.run

    async def recorded_run(
        self: ProcessPoolRunner, caller: Hashable, function: Callable[..., Any], *args: object
    ) -> Any:
        calls.append((caller, function, args))
        return await real_run(self, caller, function, *args)

    monkeypatch.setattr(ProcessPoolRunner, "run", recorded_run)
    body = await strength(client, f"{EMAIL}42", EMAIL, "Ada")
    assert body["score"] <= 1
    # Counted against the caller's address (the test client's), since nobody is logged in.
    assert calls == [
        ("127.0.0.1", password_strength.estimate_strength, (f"{EMAIL}42", [EMAIL, "Ada"]))
    ]
