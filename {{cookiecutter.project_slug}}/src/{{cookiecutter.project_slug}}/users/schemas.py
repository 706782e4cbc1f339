from uuid import UUID

from pydantic import ConfigDict, Field

from {{ cookiecutter.project_slug }}.auth.schemas import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    DisplayName,
)
from {{ cookiecutter.project_slug }}.core.schemas import CustomBaseModel, UtcDateTime
from {{ cookiecutter.project_slug }}.posts.schemas import PostOut


class UserOut(CustomBaseModel):
    id: UUID
    email: str
    display_name: str
    created_at: UtcDateTime


class UserUpdate(CustomBaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    display_name: DisplayName | None = None
    password: str | None = Field(
        default=None, min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH
    )


class UserSummary(CustomBaseModel):
    post_count: int
    latest_posts: list[PostOut]
    audit_event_count: int
{%- if cookiecutter.include_celery == 'y' %}
    job_count: int
{%- endif %}
