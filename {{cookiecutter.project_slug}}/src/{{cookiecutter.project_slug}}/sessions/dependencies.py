"""Which session a route may act on: one of the caller's own (S10).

Another user's session answers 404 like one that does not exist, so a caller learns nothing
about sessions that are not theirs.
"""

from typing import Annotated
from uuid import UUID

from fastapi import Depends

from {{ cookiecutter.project_slug }}.auth.dependencies import CurrentUser
from {{ cookiecutter.project_slug }}.core.database import Conn
from {{ cookiecutter.project_slug }}.sessions import service
from {{ cookiecutter.project_slug }}.sessions.exceptions import SessionNotFoundError
from {{ cookiecutter.project_slug }}.sessions.service import SessionRecord


async def valid_owned_session(session_id: UUID, user: CurrentUser, conn: Conn) -> SessionRecord:
    session = await service.get_session(conn, session_id)
    if session is None or session["user_id"] != user["id"]:
        raise SessionNotFoundError
    return session


OwnedSession = Annotated[SessionRecord, Depends(valid_owned_session)]
