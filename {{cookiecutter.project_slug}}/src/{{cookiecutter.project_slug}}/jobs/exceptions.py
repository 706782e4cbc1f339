from fastapi import status

from {{ cookiecutter.project_slug }}.core.errors import AppError


class JobNotFoundError(AppError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "job_not_found"
    message = "No job with this id."


class NotJobOwnerError(AppError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "not_job_owner"
    message = "Only the user who submitted this job may see it."


class TooManyActiveJobsError(AppError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    code = "too_many_active_jobs"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"You have {limit} jobs queued or running, the most allowed; submit again when one "
            "has finished."
        )


class PermanentJobError(Exception):
    """The job cannot succeed however often it is retried; the message is shown to the client."""
