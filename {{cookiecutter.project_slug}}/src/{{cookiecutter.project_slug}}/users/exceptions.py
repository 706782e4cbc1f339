from fastapi import status

from {{ cookiecutter.project_slug }}.core.errors import AppError


class WrongPasswordError(AppError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "wrong_password"
    message = "The current password is not correct."
