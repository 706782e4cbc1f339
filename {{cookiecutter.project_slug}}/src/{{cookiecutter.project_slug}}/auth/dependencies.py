"""Who is calling: `CurrentUser` in a route signature requires a valid bearer token."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from {{ cookiecutter.project_slug }}.auth import security
from {{ cookiecutter.project_slug }}.auth.exceptions import InvalidTokenError, NotAuthenticatedError
from {{ cookiecutter.project_slug }}.config import Settings
from {{ cookiecutter.project_slug }}.database import Conn
from {{ cookiecutter.project_slug }}.users import service as users_service
from {{ cookiecutter.project_slug }}.users.service import UserRecord

# auto_error=False: a missing token gets our error shape instead of FastAPI's default body.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


async def get_current_user(
    token: Annotated[str | None, Depends(oauth2_scheme)], conn: Conn, request: Request
) -> UserRecord:
    """Decode the token and load its user; cached per request, so done once however often used."""
    if token is None:
        raise NotAuthenticatedError
    # The settings straight from the app, not through SettingsDep: every authenticated request
    # comes here, and each dependency FastAPI resolves costs about 10 µs of CPU.
    settings: Settings = request.app.state.settings
    user_id = security.read_access_token(token, settings)
    user = await users_service.get_user(conn, user_id)
    if user is None:  # the account was deleted after the token was issued
        raise InvalidTokenError
    return user


CurrentUser = Annotated[UserRecord, Depends(get_current_user)]
