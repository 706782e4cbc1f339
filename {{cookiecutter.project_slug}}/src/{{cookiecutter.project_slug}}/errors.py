"""One JSON error shape for every failure: validation, HTTP errors, our own errors, crashes.

{"error": {"code": "not_found", "message": "...", "requestId": "...", "details": [...]}}
"""

from collections.abc import Callable, Coroutine, Mapping
from http import HTTPStatus
from typing import Any, ClassVar

import structlog
from fastapi import Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import Field
from pydantic.alias_generators import to_camel
from starlette.exceptions import HTTPException as StarletteHTTPException

from {{ cookiecutter.project_slug }}.schemas import CustomBaseModel

logger = structlog.get_logger(__name__)


class ErrorDetail(CustomBaseModel):
    loc: list[str | int]
    message: str
    type: str


class ErrorBody(CustomBaseModel):
    code: str
    message: str
    request_id: str | None = None
    details: list[ErrorDetail] = Field(default_factory=list)


class ErrorResponse(CustomBaseModel):
    error: ErrorBody


class AppError(Exception):
    """Base for errors the service raises on purpose; domains subclass it."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    code: str = "bad_request"
    message: str = "The request cannot be processed."
    headers: ClassVar[Mapping[str, str] | None] = None

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message


class ServiceUnavailableError(AppError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "service_unavailable"

    def __init__(self, dependency: str) -> None:
        super().__init__(f"{dependency} is unavailable, try again shortly")
        self.dependency = dependency


def error_response(
    status_code: int,
    code: str,
    message: str,
    request_id: str | None,
    details: list[ErrorDetail] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = ErrorResponse(
        error=ErrorBody(code=code, message=message, request_id=request_id, details=details or [])
    )
    return JSONResponse(
        body.model_dump(mode="json", by_alias=True), status_code=status_code, headers=headers
    )


def internal_error_response(request_id: str | None) -> JSONResponse:
    return error_response(
        status.HTTP_500_INTERNAL_SERVER_ERROR,
        "internal_error",
        "An unexpected error occurred; quote the request id when reporting it.",
        request_id,
    )


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def _wire_loc(loc: tuple[Any, ...]) -> list[str | int]:
    # Body fields are named by their camelCase alias, the name the client sent.
    if loc and loc[0] == "body":
        return ["body", *(to_camel(part) if isinstance(part, str) else part for part in loc[1:])]
    return list(loc)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    details = [
        ErrorDetail(loc=_wire_loc(tuple(err["loc"])), message=err["msg"], type=err["type"])
        for err in exc.errors()
    ]
    return error_response(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        "validation_error",
        "The request is invalid; see details.",
        _request_id(request),
        details,
    )


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    phrase = HTTPStatus(exc.status_code).phrase
    message = exc.detail if isinstance(exc.detail, str) else phrase
    code = phrase.lower().replace(" ", "_").replace("-", "_").replace("'", "")
    return error_response(exc.status_code, code, message, _request_id(request), headers=exc.headers)


async def _app_error(request: Request, exc: AppError) -> JSONResponse:
    if isinstance(exc, ServiceUnavailableError):
        logger.warning(
            "dependency_unavailable", dependency=exc.dependency, cause=repr(exc.__cause__)
        )
    return error_response(
        exc.status_code, exc.code, exc.message, _request_id(request), headers=exc.headers
    )


# Passed to FastAPI(exception_handlers=...). Crashes are answered by RequestContextMiddleware.
EXCEPTION_HANDLERS: dict[
    int | type[Exception], Callable[[Request, Any], Coroutine[Any, Any, Response]]
] = {
    RequestValidationError: _validation_error,
    StarletteHTTPException: _http_error,
    AppError: _app_error,
}
