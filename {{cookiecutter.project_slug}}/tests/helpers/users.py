"""Users signed up through the API (the `make_user` fixture makes them)."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class SignedUpUser:
    id: str
    email: str
    password: str
    headers: dict[str, str]


UserFactory = Callable[..., Awaitable[SignedUpUser]]
DEFAULT_PASSWORD = "correct horse 42"
