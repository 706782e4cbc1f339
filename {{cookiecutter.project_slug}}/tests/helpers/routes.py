"""Routes that only tests mount (`client_for(settings, add_item_routes)`), so the plumbing's
tests do not depend on any domain of the app."""

from uuid import UUID, uuid4

from fastapi import APIRouter, FastAPI, status
from pydantic import Field

from {{ cookiecutter.project_slug }}.audit import service as audit_service
from {{ cookiecutter.project_slug }}.auth.dependencies import CurrentUser
from {{ cookiecutter.project_slug }}.core.database import Conn
from {{ cookiecutter.project_slug }}.core.errors import AppError
from {{ cookiecutter.project_slug }}.core.schemas import InputModel, Text

ITEMS_PATH = "/test-items"
AUDIT_EVENTS_PATH = "/test-audit-events"


class ItemIn(InputModel):
    name: str = Field(min_length=1, max_length=100)


class ItemNotFoundError(AppError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "item_not_found"


class NotItemOwnerError(AppError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "not_item_owner"


def add_item_routes(app: FastAPI) -> None:
    """`POST /test-items` and `GET /test-items/{item_id}`, owned per user, kept in memory."""
    router = APIRouter(prefix=ITEMS_PATH)
    owners: dict[UUID, UUID] = {}

    @router.post("", status_code=status.HTTP_201_CREATED)
    async def create_item(data: ItemIn, user: CurrentUser) -> dict[str, str]:
        item_id = uuid4()
        owners[item_id] = user["id"]
        return {"id": str(item_id), "name": data.name}

    @router.get("/{item_id}")
    async def read_item(item_id: UUID, user: CurrentUser) -> dict[str, str]:
        if item_id not in owners:
            raise ItemNotFoundError
        if owners[item_id] != user["id"]:
            raise NotItemOwnerError
        return {"id": str(item_id)}

    app.include_router(router)


class AuditEventIn(InputModel):
    event: Text = Field(min_length=1, max_length=200)
    data: dict[str, Text]


def add_audit_event_routes(app: FastAPI) -> None:
    """`POST /test-audit-events`: records an event of the caller's choosing for the caller, as a
    domain of the app would, in the audit trail every project has (read back with GET
    /audit-events)."""
    router = APIRouter(prefix=AUDIT_EVENTS_PATH)

    @router.post("", status_code=status.HTTP_204_NO_CONTENT)
    async def record_audit_event(data: AuditEventIn, user: CurrentUser, conn: Conn) -> None:
        await audit_service.record_event(conn, user["id"], data.event, data.data)

    app.include_router(router)
