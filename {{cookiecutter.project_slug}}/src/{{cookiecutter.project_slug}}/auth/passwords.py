"""Checking a typed password against an account: at login, and before a change that needs it.

Every check counts against the login limits, so a stolen access token is no way around them:
it can neither guess the password through a password-confirming route nor change it.
"""

from typing import Annotated

import structlog
from fastapi import Depends, Request

from {{ cookiecutter.project_slug }}.auth.dependencies import Hashing
from {{ cookiecutter.project_slug }}.auth.rate_limit import Limits, client_address
from {{ cookiecutter.project_slug }}.core.database import Pool, lend
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
            return credentials
        else:
            logger.warning("login_failed", reason="wrong_password", user_id=str(credentials["id"]))
        await self.limits.record_login_failure(email)
        return None


Passwords = Annotated[PasswordChecker, Depends()]
