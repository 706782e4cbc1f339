from uuid import UUID

from fastapi import status

from {{ cookiecutter.project_slug }}.core.errors import AppError


class RefreshTokenMissingError(AppError):
    status_code = status.HTTP_401_UNAUTHORIZED
    code = "refresh_token_missing"
    message = "Send the refresh token that POST /auth/token or POST /auth/refresh gave you."


class InvalidRefreshTokenError(AppError):
    status_code = status.HTTP_401_UNAUTHORIZED
    code = "invalid_refresh_token"
    message = "The refresh token is invalid, or its session has ended or expired; log in again."


class RefreshTokenReusedError(AppError):
    """A spent refresh token came back; the session it belongs to has been ended."""

    status_code = status.HTTP_401_UNAUTHORIZED
    code = "refresh_token_reused"
    message = (
        "This refresh token was used before, so its session has been ended for everyone "
        "holding it; log in again."
    )

    def __init__(self, session_id: UUID, user_id: UUID) -> None:
        super().__init__()
        self.session_id = session_id
        self.user_id = user_id


class SessionNotFoundError(AppError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "session_not_found"
    message = "No live session with this id."
