from fastapi import status
from starlette.exceptions import HTTPException

from {{ cookiecutter.project_slug }}.core.errors import AppError

_BEARER = {"WWW-Authenticate": "Bearer"}


class NotAuthenticatedError(AppError):
    status_code = status.HTTP_401_UNAUTHORIZED
    code = "not_authenticated"
    message = "Send a bearer token (POST /auth/token to get one)."
    headers = _BEARER


class InvalidTokenError(AppError):
    status_code = status.HTTP_401_UNAUTHORIZED
    code = "invalid_token"
    message = "The access token is invalid or has expired."
    headers = _BEARER


class InvalidCredentialsError(AppError):
    status_code = status.HTTP_401_UNAUTHORIZED
    code = "invalid_credentials"
    message = "Incorrect email or password."
    headers = _BEARER


class AccountDeactivatedError(AppError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "account_deactivated"
    message = "This account has been deactivated; an administrator can reactivate it."


class RoleRequiredError(AppError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "role_required"

    def __init__(self, role: str) -> None:
        super().__init__(f"This needs the {role} role.")


class EmailNotVerifiedError(AppError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "email_not_verified"
    message = (
        "Confirm your email address first: open the link we sent (POST "
        "/auth/verify-email/resend sends a new one)."
    )


class InvalidLinkError(AppError):
    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid_link"
    message = "This link was already used, has expired or is not one of ours; ask for a new one."


class CrossSiteRequestError(AppError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "cross_site_request"
    message = "Send the X-Requested-With header (any value) with a cookie-authenticated request."


class EmailTakenError(AppError):
    status_code = status.HTTP_409_CONFLICT
    code = "email_taken"
    message = "An account with this email already exists."


class TooManyRequestsError(HTTPException):
    """429 in the common shape (code `too_many_requests`) with a Retry-After in seconds."""

    def __init__(self, retry_after: int, what: str) -> None:
        super().__init__(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"Too many {what}; try again in {retry_after} seconds.",
            headers={"Retry-After": str(retry_after)},
        )
        self.retry_after = retry_after
