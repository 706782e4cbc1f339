"""Who is calling: `CurrentUser` in a route signature requires a valid bearer token."""

from typing import Annotated

import structlog
from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from {{ cookiecutter.project_slug }}.auth import security
from {{ cookiecutter.project_slug }}.auth.exceptions import InvalidTokenError, NotAuthenticatedError
from {{ cookiecutter.project_slug }}.core.database import Pool, lend
from {{ cookiecutter.project_slug }}.core.logging import USER_ID
from {{ cookiecutter.project_slug }}.core.settings import SettingsDep
from {{ cookiecutter.project_slug }}.users import service as users_service
from {{ cookiecutter.project_slug }}.users.service import UserRecord

# auto_error=False: a missing token gets our error shape instead of FastAPI's default body.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)
# Our tokens are a few hundred bytes. A longer one is refused before PyJWT decodes anything.
MAX_TOKEN_LENGTH = 2048


async def get_current_user(
    token: Annotated[str | None, Depends(oauth2_scheme)], pool: Pool, settings: SettingsDep
) -> UserRecord:
    """Decode the token and load its user; cached per request, so done once however often used.

    The user is read on a connection of its own, given back at once: a route that then needs
    several connections or none does not hold one for the whole request.
    """
    if token is None:
        raise NotAuthenticatedError
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidTokenError
    user_id = security.read_access_token(token, settings.signing_key)
    async with lend(pool, settings.db_acquire_timeout) as conn:
        user = await users_service.get_user(conn, user_id)
    if user is None:  # the account was deleted after the token was issued
        raise InvalidTokenError
    structlog.contextvars.bind_contextvars(**{USER_ID: str(user_id)})  # on the access line
    return user


CurrentUser = Annotated[UserRecord, Depends(get_current_user)]


async def get_password_hashing(request: Request) -> security.PasswordHashing:
    hashing: security.PasswordHashing = request.app.state.password_hashing
    return hashing


Hashing = Annotated[security.PasswordHashing, Depends(get_password_hashing)]
