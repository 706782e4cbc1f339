from uuid import UUID

from pydantic import ConfigDict, model_validator

from {{ cookiecutter.project_slug }}.audit.schemas import AuditEventOut
from {{ cookiecutter.project_slug }}.auth.schemas import DisplayName, Password
from {{ cookiecutter.project_slug }}.core.schemas import CustomBaseModel, InputModel, UtcDateTime


class UserOut(CustomBaseModel):
    id: UUID
    email: str
    display_name: str
    created_at: UtcDateTime


class UserUpdate(InputModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    display_name: DisplayName | None = None
    password: Password | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> "UserUpdate":
        if self.display_name is None and self.password is None:
            msg = "send at least one of displayName, password"
            raise ValueError(msg)
        return self


class UserSummary(CustomBaseModel):
    audit_event_count: int
    latest_audit_events: list[AuditEventOut]
{%- if cookiecutter.include_celery == 'y' %}
    job_count: int
{%- endif %}
