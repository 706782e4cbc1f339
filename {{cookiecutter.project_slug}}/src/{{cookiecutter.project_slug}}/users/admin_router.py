"""Account administration: only for users with the admin role (`AdminUser`).

The first administrator is made with `make create-admin` (README, "Administrators").
"""

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Depends, status

from {{ cookiecutter.project_slug }}.audit import service as audit_service
from {{ cookiecutter.project_slug }}.auth import links
from {{ cookiecutter.project_slug }}.auth.dependencies import (
    AdminUser,
    get_verified_user,
    require_admin,
)
from {{ cookiecutter.project_slug }}.core.database import Conn, Pool
from {{ cookiecutter.project_slug }}.core.errors import error_responses
from {{ cookiecutter.project_slug }}.core.pagination import Page, Pagination
from {{ cookiecutter.project_slug }}.sessions import service as sessions_service
from {{ cookiecutter.project_slug }}.users import service
from {{ cookiecutter.project_slug }}.users.dependencies import ExistingUser
from {{ cookiecutter.project_slug }}.users.exceptions import CannotDeactivateSelfError
from {{ cookiecutter.project_slug }}.users.schemas import AdminUserOut

router = APIRouter(
    prefix="/admin/users",
    tags=["admin"],
    # Every route: the admin role first (so no route here can forget it), then an address the
    # administrator has proved (VerifiedUser).
    dependencies=[Depends(require_admin), Depends(get_verified_user)],
    responses=error_responses(status.HTTP_401_UNAUTHORIZED, status.HTTP_403_FORBIDDEN),
)
ONE_USER = error_responses(status.HTTP_404_NOT_FOUND)


@router.get("", response_model=Page[AdminUserOut], summary="Every account, oldest first")
async def list_users(conn: Conn, page: Pagination) -> dict[str, Any]:
    users = await service.list_users(conn, page.limit, page.offset)
    return page.page(users, await service.count_users(conn))


@router.get("/{user_id}", response_model=AdminUserOut, summary="One account", responses=ONE_USER)
async def read_user(user: ExistingUser) -> dict[str, Any]:
    return dict(user)


@router.post(
    "/{user_id}/deactivate",
    response_model=AdminUserOut,
    summary="Deactivate an account: its sessions end, and it cannot log in",
    description="Its access tokens stop working at once. Undone by reactivate.",
    responses={
        **ONE_USER,
        **error_responses(status.HTTP_409_CONFLICT, status.HTTP_503_SERVICE_UNAVAILABLE),
    },
)
async def deactivate_user(
    user: ExistingUser, admin: AdminUser, conn: Conn, pool: Pool, background: BackgroundTasks
) -> dict[str, Any]:
    if user["id"] == admin["id"]:
        raise CannotDeactivateSelfError
    async with conn.transaction():
        updated = await service.set_active(conn, user["id"], active=False)
        await sessions_service.end_sessions(conn, user["id"])
        await links.revoke(conn, user["id"])
    background.add_task(
        audit_service.record_event_later,
        pool,
        user["id"],
        "user.deactivated",
        {"by": str(admin["id"])},
    )
    return dict(updated)


@router.post(
    "/{user_id}/reactivate",
    response_model=AdminUserOut,
    summary="Reactivate an account: it can log in again",
    responses={**ONE_USER, **error_responses(status.HTTP_503_SERVICE_UNAVAILABLE)},
)
async def reactivate_user(
    user: ExistingUser, admin: AdminUser, conn: Conn, pool: Pool, background: BackgroundTasks
) -> dict[str, Any]:
    updated = await service.set_active(conn, user["id"], active=True)
    background.add_task(
        audit_service.record_event_later,
        pool,
        user["id"],
        "user.reactivated",
        {"by": str(admin["id"])},
    )
    return dict(updated)
