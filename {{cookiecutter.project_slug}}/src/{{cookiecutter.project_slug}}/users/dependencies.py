"""Which account an administrator's route acts on: one that exists."""

from typing import Annotated
from uuid import UUID

from fastapi import Depends

from {{ cookiecutter.project_slug }}.auth.dependencies import AdminUser
from {{ cookiecutter.project_slug }}.core.database import Conn
from {{ cookiecutter.project_slug }}.users import service
from {{ cookiecutter.project_slug }}.users.exceptions import UserNotFoundError
from {{ cookiecutter.project_slug }}.users.service import UserRecord


async def valid_user(user_id: UUID, _admin: AdminUser, conn: Conn) -> UserRecord:
    """The account `user_id`, for an administrator; 404 if there is none.

    It asks for `AdminUser` itself, although the admin router checks the role too, so that it
    stays safe in a route outside that router. FastAPI runs the check once per request.
    """
    user = await service.get_user(conn, user_id)
    if user is None:
        raise UserNotFoundError
    return user


ExistingUser = Annotated[UserRecord, Depends(valid_user)]
