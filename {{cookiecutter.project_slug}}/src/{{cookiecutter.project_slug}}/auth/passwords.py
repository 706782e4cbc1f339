"""Passwords as people type them: checking one against its account (at login, and before a
change that needs it), and judging a new one (sign-up, change, reset).

Every check against an account counts against the login limits, so a stolen access token is no
way around them: it can neither guess the password through a password-confirming route nor
change it.
"""

from typing import Annotated

import structlog
from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError

from {{ cookiecutter.project_slug }}.auth.dependencies import Hashing
from {{ cookiecutter.project_slug }}.auth.password_strength import Strength, estimate_strength
from {{ cookiecutter.project_slug }}.auth.rate_limit import Limits, client_address
from {{ cookiecutter.project_slug }}.core.database import Pool, lend
from {{ cookiecutter.project_slug }}.core.process_pool import ProcessPool
from {{ cookiecutter.project_slug }}.core.settings import SettingsDep
from {{ cookiecutter.project_slug }}.users import service as users_service

logger = structlog.get_logger(__name__)


class PasswordChecker:
    """Whether a password is an account's, for the calling client (a dependency)."""

    def __init__(
        self, pool: Pool, hashing: Hashing, limits: Limits, settings: SettingsDep, request: Request
    ) -> None:
        self.pool = pool
        self.hashing = hashing
        self.limits = limits
        self.settings = settings
        self.address = client_address(request)

    async def check(self, email: str, password: str) -> users_service.Credentials | None:
        """The account's credentials if `password` is its password, else None (429 past the
        login limits).

        An unknown address costs the same Argon2 work as a wrong password, so the time taken
        does not tell which addresses have accounts.
        """
        await self.limits.check_login(self.address, email)
        credentials = None
        # No stored email holds a NUL (PostgreSQL text cannot): unknown, not a database error.
        if "\x00" not in email:
            async with lend(self.pool, self.settings.db_acquire_timeout) as conn:
                credentials = await users_service.get_credentials(conn, email)
        if credentials is None:
            await self.hashing.burn_verification_time(password)
            logger.warning("login_failed", reason="unknown_email")
        elif await self.hashing.verify(credentials["password_hash"], password):
            await self.limits.record_login_success(self.address, email)
            await self._upgrade(credentials, password)
            return credentials
        else:
            logger.warning("login_failed", reason="wrong_password", user_id=str(credentials["id"]))
        await self.limits.record_login_failure(email)
        return None

    async def _upgrade(self, credentials: users_service.Credentials, password: str) -> None:
        """Rehash at today's cost a password hashed with other parameters: otherwise, after a
        change of PASSWORD_HASH_*, a wrong password on an old hash and an unknown address
        (checked at today's cost) would take different times and tell accounts apart."""
        old = credentials["password_hash"]
        if not self.hashing.needs_rehash(old):
            return
        new = await self.hashing.hash(password)
        async with lend(self.pool, self.settings.db_acquire_timeout) as conn:
            await users_service.upgrade_password_hash(conn, credentials["id"], old, new)


Passwords = Annotated[PasswordChecker, Depends()]


def too_guessable(strength: Strength, min_score: int) -> str | None:
    """Why a new password is refused, or None if zxcvbn's score is enough."""
    if strength["score"] >= min_score:
        return None
    advice = " ".join(filter(None, [strength["warning"], *strength["suggestions"]]))
    return f"Too easy to guess (score {strength['score']} of 4, {min_score} needed). {advice}"


def context_words(email: str, display_name: str, app_name: str) -> list[str]:
    """What a password should not be built from: the account's own names and the service's."""
    return [email, email.partition("@")[0], display_name, app_name]


class PasswordPolicy:
    """Judges a new password beyond its length (a dependency): zxcvbn, run in the process pool
    as for POST /auth/password-strength, must score it at least PASSWORD_MIN_SCORE. zxcvbn knows
    the passwords most common in breaches, words and names, keyboard runs, dates, repeats and
    l33t spellings, which is the blocklist NIST SP 800-63B asks for."""

    def __init__(self, process_pool: ProcessPool, settings: SettingsDep) -> None:
        self.process_pool = process_pool
        self.settings = settings

    async def check(self, field: str, password: str, email: str, display_name: str) -> None:
        """422 `password_too_guessable` on `field` of the body if the password is too guessable."""
        min_score = self.settings.password_min_score
        if min_score == 0:
            return
        words = context_words(email, display_name, self.settings.app_name)
        # No per-caller share: sign-up, change and reset have rate limits of their own.
        strength = await self.process_pool.run(None, estimate_strength, password, words)
        reason = too_guessable(strength, min_score)
        if reason is not None:
            error = {"type": "password_too_guessable", "loc": ("body", field), "msg": reason}
            raise RequestValidationError([error])


NewPasswords = Annotated[PasswordPolicy, Depends()]
