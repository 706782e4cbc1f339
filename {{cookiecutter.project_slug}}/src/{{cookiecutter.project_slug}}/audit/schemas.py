from typing import Any

from {{ cookiecutter.project_slug }}.core.schemas import CustomBaseModel, UtcDateTime


class AuditEventOut(CustomBaseModel):
    id: int
    event: str
    data: dict[str, Any]
    created_at: UtcDateTime
