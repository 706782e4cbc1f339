from fastapi import status

from {{ cookiecutter.project_slug }}.core.errors import AppError


class AuditEventNotFoundError(AppError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "audit_event_not_found"
    message = "No audit event with this id."


class NotAuditEventOwnerError(AppError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "not_audit_event_owner"
    message = "This audit event belongs to another account."
