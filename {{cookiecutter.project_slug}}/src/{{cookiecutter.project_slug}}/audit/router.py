from typing import Any

from fastapi import APIRouter, status

from {{ cookiecutter.project_slug }}.audit import service
from {{ cookiecutter.project_slug }}.audit.dependencies import OwnedAuditEvent
from {{ cookiecutter.project_slug }}.audit.schemas import AuditEventOut
from {{ cookiecutter.project_slug }}.auth.dependencies import CurrentUser
from {{ cookiecutter.project_slug }}.core.database import Conn
from {{ cookiecutter.project_slug }}.core.errors import error_responses
from {{ cookiecutter.project_slug }}.core.pagination import Page, Pagination

router = APIRouter(
    prefix="/audit-events",
    tags=["audit"],
    responses=error_responses(status.HTTP_401_UNAUTHORIZED),
)


@router.get("", response_model=Page[AuditEventOut], summary="What happened to the caller's account")
async def list_audit_events(user: CurrentUser, conn: Conn, page: Pagination) -> dict[str, Any]:
    items = await service.list_events(conn, user["id"], page.limit, page.offset)
    total = await service.count_events(conn, user["id"])
    return page.page(items, total)


@router.get(
    "/{event_id}",
    response_model=AuditEventOut,
    summary="One event of the caller's account",
    responses=error_responses(status.HTTP_404_NOT_FOUND),
)
async def read_audit_event(event: OwnedAuditEvent) -> dict[str, Any]:
    return dict(event)  # S8: plain data; response_model validates it once
