"""Password hashing and access tokens."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import NamedTuple
from uuid import UUID, uuid4

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi.concurrency import run_in_threadpool

from {{ cookiecutter.project_slug }}.auth.exceptions import InvalidTokenError
from {{ cookiecutter.project_slug }}.core.errors import ServiceUnavailableError
from {{ cookiecutter.project_slug }}.core.settings import Settings

# Pinned: a token is only ever checked with this algorithm, so `alg: none` or RS/HS confusion
# cannot be smuggled in through the header.
ALGORITHM = "HS256"
TOKEN_TYPE = "access"  # noqa: S105 - a claim value, not a secret


class PasswordHashing:
    """Argon2 hashing and checking, at most `concurrency` at a time (one per lifespan).

    Argon2 is deliberately slow (a few hundred ms of CPU) and takes 64 MiB per hash. argon2-cffi
    runs it in C and releases the GIL, so the thread pool runs hashes in parallel without
    blocking the event loop; a process pool would add pickling and process start-up for no
    gain. The slots bound memory and CPU: a flood of sign-ups or logins waits for one at most
    `wait_seconds`, then gets 503 instead of taking the process's memory.
    """

    def __init__(
        self, concurrency: int, wait_seconds: float, *, memory_kib: int, time_cost: int
    ) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self._wait_seconds = wait_seconds
        # One lane: the work for an attacker is the memory and the passes, and one lane keeps a
        # hash to one core, so it never takes every core from the event loop (README, "CPU
        # priority"). A hash records its parameters: changing them leaves old hashes valid.
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
        self._dummy_hash: str | None = None

    @asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        try:
            async with asyncio.timeout(self._wait_seconds):
                await self._slots.acquire()
        except TimeoutError as exc:
            raise ServiceUnavailableError(
                "password hashing",
                "Too many sign-ups and logins at once; try again in a few seconds.",
                retry_after=1,
            ) from exc
        try:
            yield
        finally:
            self._slots.release()

    async def hash(self, password: str) -> str:
        async with self._slot():
            return await run_in_threadpool(self._hasher.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        def verify() -> bool:
            try:
                return self._hasher.verify(password_hash, password)
            except (VerificationError, InvalidHashError):
                return False

        async with self._slot():
            return await run_in_threadpool(verify)

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether a hash was made with other parameters than today's (cheap: it only reads
        them)."""
        return self._hasher.check_needs_rehash(password_hash)

    async def burn_verification_time(self, password: str) -> None:
        """Spend the time a real check takes, so an unknown email answers like a wrong password."""
        if self._dummy_hash is None:
            self._dummy_hash = await run_in_threadpool(self._hasher.hash, "a password nobody has")
        await self.verify(self._dummy_hash, password)


class AccessClaims(NamedTuple):
    user_id: UUID
    session_id: UUID


def create_access_token(user_id: UUID, session_id: UUID, settings: Settings) -> str:
    now = datetime.now(UTC)
    claims = {
        "iss": settings.token_issuer,
        "aud": settings.token_audience,
        "sub": str(user_id),
        "sid": str(session_id),
        "jti": uuid4().hex,
        "iat": now,
        "exp": now + settings.access_token_lifetime,
        "type": TOKEN_TYPE,
    }
    return jwt.encode(claims, settings.signing_key, algorithm=ALGORITHM)


def read_access_token(token: str, settings: Settings) -> AccessClaims:
    """The user and session of a valid access token; InvalidTokenError for anything else.

    Valid means: signed with SECRET_KEY in HS256, issued by and for this service, not expired,
    and an access token (not some other token signed with the same key).
    """
    try:
        claims = jwt.decode(
            token,
            settings.signing_key,
            algorithms=[ALGORITHM],
            issuer=settings.token_issuer,
            audience=settings.token_audience,
            options={"require": ["iss", "aud", "sub", "sid", "jti", "exp", "iat", "type"]},
        )
        if claims["type"] != TOKEN_TYPE:
            raise InvalidTokenError
        return AccessClaims(UUID(claims["sub"]), UUID(claims["sid"]))
    except (jwt.PyJWTError, ValueError, TypeError, AttributeError) as exc:
        raise InvalidTokenError from exc
