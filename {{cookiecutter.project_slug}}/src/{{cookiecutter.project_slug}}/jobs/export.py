"""The account export: what the service stores about one user, gathered by the worker."""

from typing import Any
from uuid import UUID

from {{ cookiecutter.project_slug }}.audit import service as audit_service
from {{ cookiecutter.project_slug }}.core.database import Connection
from {{ cookiecutter.project_slug }}.jobs.exceptions import PermanentJobError
from {{ cookiecutter.project_slug }}.jobs.schemas import AccountExport, AccountExportParams
from {{ cookiecutter.project_slug }}.users import service as users_service

# The job's kind, and the name of its Celery task (tasks.py): the API publishes the task by
# name, without importing tasks.py.
EXPORT_JOB = "jobs.account_export"


async def build_export(
    conn: Connection, owner_id: UUID, params: AccountExportParams
) -> dict[str, Any]:
    """The export as stored in the job's result: JSON with the API's camelCase names."""
    user = await users_service.get_user(conn, owner_id)
    if user is None:
        msg = "the account no longer exists"
        raise PermanentJobError(msg)
    events = await audit_service.list_events(conn, owner_id, params.max_audit_events, 0)
    count = await audit_service.count_events(conn, owner_id)
    export = AccountExport.model_validate(
        {"account": user, "audit_event_count": count, "audit_events": events}
    )
    return export.model_dump(mode="json", by_alias=True)
