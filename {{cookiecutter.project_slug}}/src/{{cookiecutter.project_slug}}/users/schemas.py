from typing import Annotated
from uuid import UUID

from pydantic import ConfigDict, Field, model_validator

from {{ cookiecutter.project_slug }}.audit.schemas import AuditEventOut
from {{ cookiecutter.project_slug }}.auth.schemas import MAX_PASSWORD_LENGTH, DisplayName, Password
from {{ cookiecutter.project_slug }}.core.schemas import CustomBaseModel, InputModel, UtcDateTime


class UserOut(CustomBaseModel):
    id: UUID
    email: str
    display_name: str
    created_at: UtcDateTime


class UserUpdate(InputModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    display_name: DisplayName


class PasswordChange(InputModel):
    # As typed: the current one is only compared, so no rule but a bound on its length.
    current_password: Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)]
    new_password: Password

    @model_validator(mode="after")
    def _a_new_password(self) -> "PasswordChange":
        if self.new_password == self.current_password:
            msg = "newPassword must differ from currentPassword"
            raise ValueError(msg)
        return self


class UserSummary(CustomBaseModel):
    audit_event_count: int
    latest_audit_events: list[AuditEventOut]
{%- if cookiecutter.include_celery == 'y' %}
    job_count: int
{%- endif %}
