"""Brute-force protection for POST /auth/token: fixed-window counters in Redis (`limits`).

Two counters, both per `LOGIN_RATE_LIMIT_WINDOW_SECONDS` window:

- per client address: every attempt counts, successful or not;
- per account (the normalised email, hashed so no address sits in Redis): every attempt since
  the account's last successful login. Counting before the password check makes concurrent
  guesses count too; a successful login clears the counter, so the owner's own logins never
  lock them out. Unknown emails are counted like real ones, so a 429 reveals nothing.

If Redis is unreachable the check fails open: the login goes ahead and a warning is logged
(Argon2 still makes each guess slow). Locking every user out because a counter store is down
would turn a Redis outage into a login outage.
"""

import hashlib
import math
import time
from typing import Annotated

import structlog
from fastapi import Depends, Request
from limits import RateLimitItemPerSecond
from limits.aio.storage import RedisStorage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.errors import StorageError
from redis.asyncio import Redis

from {{ cookiecutter.project_slug }}.auth.exceptions import TooManyLoginAttemptsError
from {{ cookiecutter.project_slug }}.core.settings import Settings

logger = structlog.get_logger(__name__)


class LoginRateLimiter:
    def __init__(self, redis: Redis, settings: Settings) -> None:
        # Shares the app's Redis connection pool instead of opening its own. `limits`
        # documents `connection_pool` but types its options as scalars, hence the ignore.
        storage = RedisStorage(
            f"async+{settings.redis_url}",
            implementation="redispy",
            key_prefix=settings.rate_limit_key_prefix,
            wrap_exceptions=True,
            connection_pool=redis.connection_pool,  # type: ignore[arg-type]
        )
        self._limiter = FixedWindowRateLimiter(storage)
        window = settings.login_rate_limit_window_seconds
        self._per_address = RateLimitItemPerSecond(
            settings.login_max_attempts_per_address, window, namespace="login-address"
        )
        self._per_account = RateLimitItemPerSecond(
            settings.login_max_attempts_per_account, window, namespace="login-account"
        )

    async def check_attempt(self, address: str, email: str) -> None:
        """Count one login attempt; TooManyLoginAttemptsError if either limit is exceeded."""
        for item, key in ((self._per_address, address), (self._per_account, _account(email))):
            try:
                allowed = await self._limiter.hit(item, key)
                if not allowed:
                    stats = await self._limiter.get_window_stats(item, key)
                    retry_after = max(1, math.ceil(stats.reset_time - time.time()))
            except StorageError as exc:
                logger.warning("login_rate_limit_unavailable", error=repr(exc.storage_error))
                return
            if not allowed:
                logger.warning("login_rate_limited", limit=item.namespace)
                raise TooManyLoginAttemptsError(retry_after)

    async def record_success(self, email: str) -> None:
        """The owner proved the password: their account's counter starts again."""
        try:
            await self._limiter.clear(self._per_account, _account(email))
        except StorageError as exc:
            logger.warning("login_rate_limit_unavailable", error=repr(exc.storage_error))


def _account(email: str) -> str:
    return hashlib.sha256(email.encode()).hexdigest()


def client_address(request: Request) -> str:
    # Behind a proxy this is the real client only if uvicorn trusts it (FORWARDED_ALLOW_IPS).
    return request.client.host if request.client else "unknown"


async def get_login_limiter(request: Request) -> LoginRateLimiter:
    limiter: LoginRateLimiter = request.app.state.login_limiter
    return limiter


LoginLimiter = Annotated[LoginRateLimiter, Depends(get_login_limiter)]
