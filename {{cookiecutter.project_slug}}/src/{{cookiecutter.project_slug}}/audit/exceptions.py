from fastapi import status

from {{ cookiecutter.project_slug }}.core.errors import AppError


class AuditEventNotFoundError(AppError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "audit_event_not_found"
    message = "No audit event with this id."
