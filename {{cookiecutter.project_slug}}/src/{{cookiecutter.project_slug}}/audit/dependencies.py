"""Who may see an audit event: the user it is about (S10).

Event ids are sequential, so another user's event answers 404 like one that does not exist: a
403 would tell any caller which ids are taken, and how many events the service holds.
"""

from typing import Annotated

from fastapi import Depends, Path

from {{ cookiecutter.project_slug }}.audit import service
from {{ cookiecutter.project_slug }}.audit.exceptions import AuditEventNotFoundError
from {{ cookiecutter.project_slug }}.audit.service import AuditEventRecord
from {{ cookiecutter.project_slug }}.auth.dependencies import CurrentUser
from {{ cookiecutter.project_slug }}.core.database import Conn

# PostgreSQL's bigint: a larger id in the path is a 422, not a driver error.
EventId = Annotated[int, Path(ge=1, le=2**63 - 1)]


async def valid_owned_event(event_id: EventId, user: CurrentUser, conn: Conn) -> AuditEventRecord:
    event = await service.get_event(conn, event_id)
    if event is None or event["user_id"] != user["id"]:
        raise AuditEventNotFoundError
    return event


OwnedAuditEvent = Annotated[AuditEventRecord, Depends(valid_owned_event)]
