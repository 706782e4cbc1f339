"""One JSON error shape for every failure: validation, HTTP errors, our own errors, crashes.

{"error": {"code": "not_found", "message": "...", "requestId": "...", "details": [...]}}
"""

from collections.abc import Callable, Coroutine, Iterable, Mapping
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import Field
from pydantic.alias_generators import to_camel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, compile_path

from {{ cookiecutter.project_slug }}.core.logging import current_request_id
from {{ cookiecutter.project_slug }}.core.schemas import CustomBaseModel

logger = structlog.get_logger(__name__)

ExceptionHandler = Callable[[Request, Any], Coroutine[Any, Any, Response]]


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


MAX_ERROR_DETAILS = 20
# The code of every 400: a body that cannot be read as JSON (FastAPI raises its own 400 when it
# cannot decode one at all).
MALFORMED_BODY = "malformed_body"
# The code of an HTTPException that the framework (or code that must raise Starlette's type)
# raises, by status; any other status gets `bad_request` or `internal_error`.
STATUS_CODES = {
    status.HTTP_400_BAD_REQUEST: MALFORMED_BODY,
    status.HTTP_404_NOT_FOUND: "not_found",
    status.HTTP_405_METHOD_NOT_ALLOWED: "method_not_allowed",
    status.HTTP_408_REQUEST_TIMEOUT: "request_timeout",
    status.HTTP_413_CONTENT_TOO_LARGE: "content_too_large",
    status.HTTP_429_TOO_MANY_REQUESTS: "too_many_requests",
}
# The codes this module answers with besides those: the schema's enum of codes lists them with
# STATUS_CODES and the code of every AppError subclass.
BAD_REQUEST, VALIDATION_ERROR, INTERNAL_ERROR = "bad_request", "validation_error", "internal_error"

# What each error status means when a route documents it; `error_responses` builds the
# `responses=` argument from these, so every route describes an error the same way.
ERROR_DESCRIPTIONS: dict[int, str] = {
    status.HTTP_400_BAD_REQUEST: "Malformed request body",
    status.HTTP_408_REQUEST_TIMEOUT: "The request body did not arrive in time",
    status.HTTP_413_CONTENT_TOO_LARGE: "The request body is too large",
    status.HTTP_422_UNPROCESSABLE_CONTENT: "Validation error",
    status.HTTP_500_INTERNAL_SERVER_ERROR: "Unexpected error",
    status.HTTP_401_UNAUTHORIZED: "Missing or invalid bearer token",
    status.HTTP_403_FORBIDDEN: "Not allowed for the caller",
    status.HTTP_404_NOT_FOUND: "No such resource",
    status.HTTP_409_CONFLICT: "Conflicts with an existing resource",
    status.HTTP_429_TOO_MANY_REQUESTS: "Too many requests; see Retry-After",
    status.HTTP_503_SERVICE_UNAVAILABLE: "A dependency is unavailable; try again shortly",
}


# On a 429 or 503 when the service knows how long to wait: every rate limit and hashing or
# process-pool slot does; a job quota or a database outage does not.
RETRY_AFTER_STATUSES = frozenset(
    {status.HTTP_429_TOO_MANY_REQUESTS, status.HTTP_503_SERVICE_UNAVAILABLE}
)
RETRY_AFTER = {
    "description": "Seconds to wait before trying again, when the service knows.",
    "required": False,
    "schema": {"type": "integer", "minimum": 0},
}


def error_responses(
    *status_codes: int, described: Mapping[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for these error statuses, all in the common error shape;
    `described` gives a route's own description of one of them."""
    described = described or {}
    responses: dict[int | str, dict[str, Any]] = {}
    for code in status_codes:
        response = {
            "model": ErrorResponse,
            "description": described.get(code, ERROR_DESCRIPTIONS[code]),
        }
        if code in RETRY_AFTER_STATUSES:
            response["headers"] = {"Retry-After": RETRY_AFTER}
        responses[code] = response
    return responses


class AppError(Exception):
    """Base for errors the service raises on purpose; domains subclass it."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    code: str = BAD_REQUEST
    message: str = "The request cannot be processed."
    headers: Mapping[str, str] | None = None

    def __init__(self, message: str | None = None, *, retry_after: int | None = None) -> None:
        """`retry_after`: seconds, sent as `Retry-After` (for a 429 or 503 the client may retry)."""
        super().__init__(message or self.message)
        self.message = message or self.message
        if retry_after is not None:
            self.headers = {**(self.headers or {}), "Retry-After": str(retry_after)}


class ServiceUnavailableError(AppError):
    """A dependency (the database, Redis, the job queue) is down: 503, and the client retries."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "service_unavailable"

    def __init__(
        self, dependency: str, message: str | None = None, *, retry_after: int | None = None
    ) -> None:
        super().__init__(
            message or f"{dependency} is unavailable, try again shortly", retry_after=retry_after
        )
        self.dependency = dependency


class CodedHTTPException(StarletteHTTPException):
    """Starlette's HTTPException with an error code of our own choosing.

    For code that must raise Starlette's type: FastAPI passes an HTTPException raised while it
    reads the body through unchanged, and turns anything else into a 400.
    """

    def __init__(
        self, status_code: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(status_code, message, headers)
        self.code = code


def error_codes() -> list[str]:
    """Every error code the service answers with: this module's and each AppError subclass's
    in the service's own modules (tests may define others)."""
    codes = {*STATUS_CODES.values(), BAD_REQUEST, VALIDATION_ERROR, INTERNAL_ERROR}
    classes: list[type[AppError]] = [AppError]
    while classes:
        cls = classes.pop()
        classes.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] == __name__.split(".")[0]:
            codes.add(cls.code)
    return sorted(codes)


def error_response(
    status_code: int,
    code: str,
    message: str,
    details: list[ErrorDetail] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = ErrorResponse(
        error=ErrorBody(
            code=code, message=message, request_id=current_request_id(), details=details or []
        )
    )
    return JSONResponse(
        body.model_dump(mode="json", by_alias=True), status_code=status_code, headers=headers
    )


def internal_error_response() -> JSONResponse:
    return error_response(
        status.HTTP_500_INTERNAL_SERVER_ERROR,
        INTERNAL_ERROR,
        "An unexpected error occurred; quote the request id when reporting it.",
    )


def _wire_loc(loc: tuple[Any, ...]) -> list[str | int]:
    # Body fields are named by their camelCase alias, the name the client sent.
    if loc and loc[0] == "body":
        return ["body", *(to_camel(part) if isinstance(part, str) else part for part in loc[1:])]
    return list(loc)


def _message(error: Any) -> str:
    # A validator's own ValueError reaches the client as its message alone, without pydantic's
    # "Value error, " in front of it.
    if error["type"] == "value_error" and "error" in error.get("ctx", {}):
        return str(error["ctx"]["error"])
    return str(error["msg"])


async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    # A body that is not JSON at all (cut short, not UTF-8) is a 400; JSON that does not fit the
    # schema is a 422.
    if errors and errors[0]["type"] == "json_invalid":
        error = errors[0]
        reason = error.get("ctx", {}).get("error", "not JSON")
        detail = ErrorDetail(
            loc=list(error["loc"]),
            message=f"{reason} (at character {error['loc'][-1]})",
            type="json_invalid",
        )
        return error_response(
            status.HTTP_400_BAD_REQUEST,
            MALFORMED_BODY,
            "The request body is not valid JSON; see details.",
            [detail],
        )
    # A body with thousands of unknown keys has thousands of errors: the client gets the first
    # few, and a last detail that says how many more there were.
    details = [
        ErrorDetail(loc=_wire_loc(tuple(err["loc"])), message=_message(err), type=err["type"])
        for err in errors[:MAX_ERROR_DETAILS]
    ]
    if len(errors) > MAX_ERROR_DETAILS:
        dropped = len(errors) - MAX_ERROR_DETAILS
        details.append(
            ErrorDetail(loc=[], message=f"{dropped} more errors not shown", type="too_many_errors")
        )
    return error_response(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        VALIDATION_ERROR,
        "The request is invalid; see details.",
        details,
    )


async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    phrase = HTTPStatus(exc.status_code).phrase
    message = exc.detail if isinstance(exc.detail, str) else phrase
    fallback = INTERNAL_ERROR if exc.status_code >= 500 else BAD_REQUEST
    code = getattr(exc, "code", None) or STATUS_CODES.get(exc.status_code, fallback)
    return error_response(exc.status_code, code, message, headers=exc.headers)


def method_not_allowed(routes: Iterable[BaseRoute]) -> ExceptionHandler:
    """The 405 handler: `Allow` lists the methods of the path as the schema documents it.

    Starlette answers a 405 for the first route whose path matched, and lists that route's
    methods only: `DELETE /health/live` would say `Allow: GET` although HEAD answers there too.
    Here every route of the path counts, and the path is the schema's: a fixed path before a
    templated one that also matches (`/things/export` before `/things/{thing_id}`), as
    OpenAPI matches them.
    """
    by_path: dict[str, set[str]] = {}
    for route in routes:
        if isinstance(route, APIRoute):
            by_path.setdefault(route.path, set()).update(route.methods or ())
    # Fewer parameters first: the most concrete path that matches is the one.
    ordered = sorted(by_path.items(), key=lambda item: item[0].count("{"))
    patterns = [(compile_path(path)[0], sorted(methods)) for path, methods in ordered]

    async def handler(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # The app's own root path: inside a mounted app, `root_path` also holds the mount's.
        root = request.scope.get("app_root_path", request.scope.get("root_path", ""))
        path = request.scope["path"].removeprefix(root)
        allowed = next((methods for regex, methods in patterns if regex.match(path)), None)
        if allowed:
            exc.headers = {**(exc.headers or {}), "Allow": ", ".join(allowed)}
        return await _http_error(request, exc)

    return handler


async def _app_error(_request: Request, exc: AppError) -> JSONResponse:
    if isinstance(exc, ServiceUnavailableError):
        logger.warning(
            "dependency_unavailable", dependency=exc.dependency, cause=repr(exc.__cause__)
        )
    return error_response(exc.status_code, exc.code, exc.message, headers=exc.headers)


# Passed to FastAPI(exception_handlers=...). Crashes are answered by ObservabilityMiddleware.
EXCEPTION_HANDLERS: dict[int | type[Exception], ExceptionHandler] = {
    RequestValidationError: _validation_error,
    StarletteHTTPException: _http_error,
    AppError: _app_error,
}
