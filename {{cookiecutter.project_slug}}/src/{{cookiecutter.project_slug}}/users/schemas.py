from uuid import UUID

from pydantic import ConfigDict, model_validator

from {{ cookiecutter.project_slug }}.audit.schemas import AuditEventOut
from {{ cookiecutter.project_slug }}.auth.schemas import (
    CurrentPassword,
    DisplayName,
    NormalisedEmail,
    Password,
)
from {{ cookiecutter.project_slug }}.core.schemas import CustomBaseModel, InputModel, UtcDateTime
from {{ cookiecutter.project_slug }}.users.service import Role


class UserOut(CustomBaseModel):
    id: UUID
    email: str
    display_name: str
    role: Role
    # Whether the owner proved the address (POST /auth/verify-email).
    email_verified: bool
    created_at: UtcDateTime


class AdminUserOut(UserOut):
    """An account as administrators see it."""

    is_active: bool


class UserUpdate(InputModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    display_name: DisplayName


class PasswordChange(InputModel):
    current_password: CurrentPassword
    new_password: Password

    @model_validator(mode="after")
    def _a_new_password(self) -> "PasswordChange":
        if self.new_password == self.current_password:
            msg = "newPassword must differ from currentPassword"
            raise ValueError(msg)
        return self


class EmailChange(InputModel):
    model_config = ConfigDict(str_strip_whitespace=True)  # the address; never a password

    current_password: CurrentPassword
    new_email: NormalisedEmail


class UserSummary(CustomBaseModel):
    audit_event_count: int
    latest_audit_events: list[AuditEventOut]
{%- if cookiecutter.include_celery == 'y' %}
    job_count: int
{%- endif %}
