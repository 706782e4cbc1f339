from fastapi import status

from {{ cookiecutter.project_slug }}.core.errors import AppError


class WrongPasswordError(AppError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "wrong_password"
    message = "The current password is not correct."


class EmailUnchangedError(AppError):
    status_code = status.HTTP_409_CONFLICT
    code = "email_unchanged"
    message = "That is already the account's address."


class UserNotFoundError(AppError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "user_not_found"
    message = "No account with this id."


class CannotDeactivateSelfError(AppError):
    status_code = status.HTTP_409_CONFLICT
    code = "cannot_deactivate_self"
    message = "Administrators cannot deactivate their own account; ask another administrator."
