from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from {{ cookiecutter.project_slug }}.audit.schemas import AuditEventOut
from {{ cookiecutter.project_slug }}.core.schemas import (
    CustomBaseModel,
    InputModel,
    UtcDateTime,
    WholeNumber,
)
from {{ cookiecutter.project_slug }}.users.schemas import UserOut


class JobSummary(CustomBaseModel):
    """A job as the list shows it: everything but the result (GET /jobs/{id} has that)."""

    id: UUID
    kind: str
    status: Literal["queued", "running", "succeeded", "failed"]
    # As submitted; their shape, and the result's, is the one the route that starts the job gives.
    params: dict[str, Any]
    error: str | None
    attempts: int
    created_at: UtcDateTime
    started_at: UtcDateTime | None
    finished_at: UtcDateTime | None


class JobOut(JobSummary):
    result: dict[str, Any] | None


class AccountExportParams(InputModel):
    """The body of POST /jobs/account-export."""

    max_audit_events: WholeNumber = Field(default=1_000, ge=1, le=10_000)


class AccountExport(CustomBaseModel):
    """The result of an account export: what the service stores about the caller."""

    account: UserOut
    audit_event_count: int
    # Newest first, at most the job's maxAuditEvents; auditEventCount counts all of them.
    audit_events: list[AuditEventOut]
