from fastapi import status

from {{ cookiecutter.project_slug }}.errors import AppError


class JobNotFoundError(AppError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "job_not_found"
    message = "No job with this id."


class NotJobOwnerError(AppError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "not_job_owner"
    message = "Only the user who submitted this job may see it."


class JobQueueUnavailableError(AppError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "job_queue_unavailable"
    message = "The job queue is unavailable; the job was not queued (it is marked failed). Try again shortly."
