"""Rate limits for sign-up and login: fixed-window counters in Redis (`limits`).

POST /auth/token (and the current-password check of POST /users/me/password), per
`LOGIN_RATE_LIMIT_WINDOW_SECONDS` window:
- per account and client address: every attempt on the account from that address since the
  address last logged in to it. Counting before the password check makes concurrent guesses
  count too; a successful login clears this counter, so the owner's own logins never lock
  them out. An attacker at one address is stopped here without touching the owner elsewhere.
- per account, from all addresses together: failed attempts, with a much higher limit. It
  stops guessing spread over many addresses; reaching it takes that many addresses (each is
  stopped by the counter above and the one below), and then locks the account for everyone
  until the window ends: the price of stopping a distributed guess at all.
- per client address: every attempt, whichever account.

The accounts are the normalised email, hashed, so no address sits in Redis; unknown emails are
counted like real ones, so a 429 reveals nothing. A client is an IPv4 address or an IPv6 /64.

POST /auth/verify-email/resend and POST /auth/password-reset together, per
`EMAIL_LINK_RATE_LIMIT_WINDOW_SECONDS` window: per client address, and per address asked for
(hashed, existing or not), so nobody can flood an inbox or probe with them.

POST /auth/signup, per `SIGNUP_RATE_LIMIT_WINDOW_SECONDS` window: per client address, and all
sign-ups together (each costs an Argon2 hash, so a flood from many addresses is capped too).

If Redis is unreachable the checks fail open: the request goes ahead and a warning is logged.
Locking every user out because a counter store is down would turn a Redis outage into a login
outage; the password-hashing slots (`auth.security.PasswordHashing`) still bound the cost.
"""

import hashlib
import ipaddress
import math
import time
from typing import Annotated

import structlog
from fastapi import Depends, Request
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import RedisStorage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.errors import StorageError
from redis.asyncio import Redis

from {{ cookiecutter.project_slug }}.auth.exceptions import TooManyRequestsError
from {{ cookiecutter.project_slug }}.core.settings import Settings

logger = structlog.get_logger(__name__)

ALL_SIGNUPS = "all"  # the key of the overall sign-up counter


class RateLimits:
    """Counters in Redis on the app's Redis connection pool, and what exceeding one means."""

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
        login_window = settings.login_rate_limit_window_seconds
        self.login_per_address = RateLimitItemPerSecond(
            settings.login_max_attempts_per_address, login_window, namespace="login-address"
        )
        self.login_per_account_and_address = RateLimitItemPerSecond(
            settings.login_max_attempts_per_account_and_address,
            login_window,
            namespace="login-account-address",
        )
        self.login_failures_per_account = RateLimitItemPerSecond(
            settings.login_max_failures_per_account, login_window, namespace="login-account"
        )
        link_window = settings.email_link_rate_limit_window_seconds
        self.email_link_per_address = RateLimitItemPerSecond(
            settings.email_link_max_per_address, link_window, namespace="link-address"
        )
        self.email_link_per_account = RateLimitItemPerSecond(
            settings.email_link_max_per_account, link_window, namespace="link-account"
        )
        signup_window = settings.signup_rate_limit_window_seconds
        self.signup_per_address = RateLimitItemPerSecond(
            settings.signup_max_per_address, signup_window, namespace="signup-address"
        )
        self.signup_overall = RateLimitItemPerSecond(
            settings.signup_max_overall, signup_window, namespace="signup-all"
        )

    async def hit(self, limits: list[tuple[RateLimitItem, str]], what: str) -> None:
        """Count one attempt against each (limit, key); TooManyRequestsError if one is exceeded."""
        await self._check(limits, what, count=True)

    async def test(self, limits: list[tuple[RateLimitItem, str]], what: str) -> None:
        """TooManyRequestsError if one of the limits is already reached; counts nothing."""
        await self._check(limits, what, count=False)

    async def _check(
        self, limits: list[tuple[RateLimitItem, str]], what: str, *, count: bool
    ) -> None:
        for item, key in limits:
            try:
                if count:
                    allowed = await self._limiter.hit(item, key)
                else:
                    allowed = await self._limiter.test(item, key)
                if not allowed:
                    stats = await self._limiter.get_window_stats(item, key)
                    retry_after = max(1, math.ceil(stats.reset_time - time.time()))
            except StorageError as exc:
                logger.warning("rate_limit_unavailable", error=repr(exc.storage_error))
                return
            if not allowed:
                logger.warning("rate_limited", limit=item.namespace)
                raise TooManyRequestsError(retry_after, what)

    async def check_login(self, address: str, email: str) -> None:
        account, network = _account(email), _network(address)
        await self.hit(
            [
                (self.login_per_address, network),
                (self.login_per_account_and_address, f"{account}/{network}"),
            ],
            "login attempts",
        )
        await self.test([(self.login_failures_per_account, account)], "login attempts")

    async def record_login_failure(self, email: str) -> None:
        try:
            await self._limiter.hit(self.login_failures_per_account, _account(email))
        except StorageError as exc:
            logger.warning("rate_limit_unavailable", error=repr(exc.storage_error))

    async def record_login_success(self, address: str, email: str) -> None:
        """The owner proved the password from this address: its counter starts again."""
        try:
            await self._limiter.clear(
                self.login_per_account_and_address, f"{_account(email)}/{_network(address)}"
            )
        except StorageError as exc:
            logger.warning("rate_limit_unavailable", error=repr(exc.storage_error))

    async def check_email_link(self, address: str, email: str) -> None:
        """One more emailed link asked for, from `address` for `email` (existing or not)."""
        await self.hit(
            [
                (self.email_link_per_address, _network(address)),
                (self.email_link_per_account, _account(email)),
            ],
            "emailed links",
        )

    async def check_link_use(self, address: str) -> None:
        """One more emailed link presented from `address`: counted as a login attempt, since a
        reset then judges a new password (process-pool work) and sets it."""
        await self.hit([(self.login_per_address, _network(address))], "attempts")

    async def check_signup(self, address: str) -> None:
        await self.hit(
            [(self.signup_per_address, _network(address)), (self.signup_overall, ALL_SIGNUPS)],
            "sign-ups",
        )


def _account(email: str) -> str:
    return hashlib.sha256(email.encode()).hexdigest()


def _network(address: str) -> str:
    """What counts as one client: an IPv4 address, or an IPv6 /64. One subscriber usually gets
    a whole /64, so counting its addresses one by one would give an attacker endless clients."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # an IPv4 client on a dual-stack socket
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return address


def client_address(request: Request) -> str:
    # Behind a proxy this is the real client only if uvicorn trusts it (FORWARDED_ALLOW_IPS).
    return request.client.host if request.client else "unknown"


async def get_rate_limits(request: Request) -> RateLimits:
    limits: RateLimits = request.app.state.rate_limits
    return limits


Limits = Annotated[RateLimits, Depends(get_rate_limits)]
