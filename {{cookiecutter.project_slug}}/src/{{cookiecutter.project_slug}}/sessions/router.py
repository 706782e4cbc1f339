from typing import Any

from fastapi import APIRouter, status

from {{ cookiecutter.project_slug }}.auth.dependencies import CurrentSession
from {{ cookiecutter.project_slug }}.core.database import Conn
from {{ cookiecutter.project_slug }}.core.errors import error_responses
from {{ cookiecutter.project_slug }}.sessions import service
from {{ cookiecutter.project_slug }}.sessions.dependencies import OwnedSession
from {{ cookiecutter.project_slug }}.sessions.schemas import SessionOut

router = APIRouter(
    prefix="/users/me/sessions",
    tags=["sessions"],
    responses=error_responses(status.HTTP_401_UNAUTHORIZED),
)


@router.get(
    "",
    response_model=list[SessionOut],
    summary="The caller's live sessions, most recently used first",
    description="At most MAX_SESSIONS_PER_USER of them, so the list is not paginated.",
)
async def list_sessions(signed_in: CurrentSession, conn: Conn) -> list[dict[str, Any]]:
    sessions = await service.list_sessions(conn, signed_in.user["id"])
    return [{**session, "current": session["id"] == signed_in.session_id} for session in sessions]


@router.delete(
    "/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="End one of the caller's sessions (log that device out)",
    description=(
        "Its refresh token stops working, and so do its access tokens, at once. Ending the "
        "current session is a logout."
    ),
    responses=error_responses(status.HTTP_404_NOT_FOUND),
)
async def end_session(session: OwnedSession, conn: Conn) -> None:
    await service.end_session(conn, session["id"])
