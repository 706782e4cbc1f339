"""Password hashing and access tokens."""

from datetime import UTC, datetime, timedelta
from functools import cache
from uuid import UUID

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi.concurrency import run_in_threadpool

from {{ cookiecutter.project_slug }}.auth.exceptions import InvalidTokenError

# Pinned: a token is only ever checked with this algorithm, so `alg: none` or RS/HS confusion
# cannot be smuggled in through the header.
ALGORITHM = "HS256"
TOKEN_TYPE = "access"  # noqa: S105 - a claim value, not a secret

# argon2-cffi's defaults (RFC 9106's second recommendation: 64 MiB, 3 passes) in one lane
# instead of four: the same memory and passes, so the same work for an attacker, but a hash
# keeps to one core and never takes every core from the event loop. README, "CPU priority".
_hasher = PasswordHasher(parallelism=1)


# Argon2 is deliberately slow (a few hundred ms of CPU). argon2-cffi runs it in C and releases
# the GIL, so the thread pool runs hashes in parallel without blocking the event loop; a
# process pool would add pickling and process start-up for no gain.
async def hash_password(password: str) -> str:
    return await run_in_threadpool(_hasher.hash, password)


async def verify_password(password_hash: str, password: str) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await run_in_threadpool(verify)


@cache
def _dummy_hash() -> str:
    return _hasher.hash("a password nobody has")


async def burn_verification_time(password: str) -> None:
    """Spend the time a real check takes, so an unknown email answers like a wrong password."""
    dummy = await run_in_threadpool(_dummy_hash)
    await verify_password(dummy, password)


def create_access_token(user_id: UUID, signing_key: str, lifetime: timedelta) -> str:
    now = datetime.now(UTC)
    claims = {"sub": str(user_id), "iat": now, "exp": now + lifetime, "type": TOKEN_TYPE}
    return jwt.encode(claims, signing_key, algorithm=ALGORITHM)


def read_access_token(token: str, signing_key: str) -> UUID:
    """The user id in a valid access token; InvalidTokenError for anything else."""
    try:
        claims = jwt.decode(
            token,
            signing_key,
            algorithms=[ALGORITHM],
            options={"require": ["sub", "exp", "iat", "type"]},
        )
        if claims["type"] != TOKEN_TYPE:
            raise InvalidTokenError
        return UUID(claims["sub"])
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise InvalidTokenError from exc
