"""Who is calling: `CurrentUser` (or `CurrentSession`) in a route signature requires a valid
bearer token whose session is live."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

import structlog
from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from {{ cookiecutter.project_slug }}.auth import security
from {{ cookiecutter.project_slug }}.auth.exceptions import (
    EmailNotVerifiedError,
    InvalidTokenError,
    NotAuthenticatedError,
    RoleRequiredError,
)
from {{ cookiecutter.project_slug }}.core.database import Pool, lend
from {{ cookiecutter.project_slug }}.core.logging import USER_ID
from {{ cookiecutter.project_slug }}.core.settings import SettingsDep
from {{ cookiecutter.project_slug }}.sessions import service as sessions_service
from {{ cookiecutter.project_slug }}.users.service import Role, UserRecord

# auto_error=False: a missing token gets our error shape instead of FastAPI's default body.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)
# Our tokens are a few hundred bytes. A longer one is refused before PyJWT decodes anything.
MAX_TOKEN_LENGTH = 2048


@dataclass(frozen=True)
class SignedIn:
    """The caller: their account, and the session their access token belongs to."""

    user: UserRecord
    session_id: UUID


async def get_signed_in(
    token: Annotated[str | None, Depends(oauth2_scheme)], pool: Pool, settings: SettingsDep
) -> SignedIn:
    """Check the token and load its user; cached per request, so done once however often used.

    The user is loaded only while the token's session is live, in the same query: a session
    ended by logout, a password change or refresh-token reuse stops its access tokens at
    once, at no extra round trip. The user is read on a connection of its own, given back at
    once: a route that then needs several connections or none does not hold one throughout.
    """
    if token is None:
        raise NotAuthenticatedError
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidTokenError
    claims = security.read_access_token(token, settings)
    async with lend(pool, settings.db_acquire_timeout) as conn:
        user = await sessions_service.get_signed_in_user(conn, claims.user_id, claims.session_id)
    if user is None:  # the session has ended, or the account was deactivated or deleted
        raise InvalidTokenError
    structlog.contextvars.bind_contextvars(**{USER_ID: str(claims.user_id)})  # on the access line
    return SignedIn(user, claims.session_id)


CurrentSession = Annotated[SignedIn, Depends(get_signed_in)]


async def get_current_user(signed_in: CurrentSession) -> UserRecord:
    return signed_in.user


CurrentUser = Annotated[UserRecord, Depends(get_current_user)]


async def get_verified_user(user: CurrentUser) -> UserRecord:
    """The caller, if they have confirmed their email address (403 `email_not_verified`)."""
    if not user["email_verified"]:
        raise EmailNotVerifiedError
    return user


VerifiedUser = Annotated[UserRecord, Depends(get_verified_user)]


def require_role(role: Role) -> Callable[[UserRecord], Awaitable[UserRecord]]:
    """A dependency that lets only users with `role` through (403 `role_required`)."""

    async def with_role(user: CurrentUser) -> UserRecord:
        if user["role"] != role:
            raise RoleRequiredError(role)
        return user

    return with_role


require_admin = require_role("admin")
AdminUser = Annotated[UserRecord, Depends(require_admin)]


async def get_password_hashing(request: Request) -> security.PasswordHashing:
    hashing: security.PasswordHashing = request.app.state.password_hashing
    return hashing


Hashing = Annotated[security.PasswordHashing, Depends(get_password_hashing)]
