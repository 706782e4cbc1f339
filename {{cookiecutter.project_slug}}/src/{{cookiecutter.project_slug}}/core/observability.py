"""What the service observes about every request, as one pure ASGI middleware.

No BaseHTTPMiddleware: it breaks contextvars and streaming.
"""

import re
import secrets
import time

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from {{ cookiecutter.project_slug }}.core import errors
from {{ cookiecutter.project_slug }}.core.logging import CLIENT_REQUEST_ID, REQUEST_ID, USER_ID
from {{ cookiecutter.project_slug }}.core.metrics import HttpMetrics

REQUEST_ID_HEADER = b"x-request-id"
# A caller's id is logged beside ours only if it is short and plain, so it is safe to log.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# How much of a client-chosen path the access line keeps.
MAX_LOGGED_PATH = 512

logger = structlog.get_logger(__name__)


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER:
            candidate = value.decode("latin-1")
            return candidate if _VALID_REQUEST_ID.match(candidate) else None
    return None


def loggable(text: str, limit: int = MAX_LOGGED_PATH) -> str:
    """Client-controlled text as a log line may carry it: bounded, control characters escaped
    (an escape sequence in a path must not reach a terminal that shows the console logs)."""
    if len(text) > limit:
        text = text[:limit] + "..."
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else f"\\x{ord(char):02x}" for char in text)


class ObservabilityMiddleware:
    """Per request: a request id, metrics, an access line, and a last-resort 500.

    - The request id, always ours, is bound to every log line (`core.logging.current_request_id`
      reads it) and sent in `X-Request-ID`. A well-formed `X-Request-ID` from the caller is
      logged beside it as `client_request_id`, so the caller's traces still lead here.
    - The request's count and latency go to `metrics` (when given) once the response is
      complete; the access line gives the same duration.
    - One access line per request, with the client's address (as uvicorn saw it, after proxy
      headers) and the user id once authentication has bound one.
    - An exception nothing else handled is logged with its traceback and answered with the
      common 500 error shape, which carries the request id.

    One layer for all four because each reads the same status and start time.
    """

    def __init__(self, app: ASGIApp, metrics: HttpMetrics | None = None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        request_id = secrets.token_hex(16)
        context = {REQUEST_ID: request_id}
        client_request_id = _incoming_request_id(scope)
        if client_request_id is not None:
            context[CLIENT_REQUEST_ID] = client_request_id
        status_code = 500  # what the client gets if the app raises before it responds
        response_started = False
        seconds: float | None = None  # until the response was complete, once it is
        started_at = time.perf_counter()

        def record() -> None:
            # Once, when the client has the whole response: background tasks that run after it
            # are not part of its latency.
            nonlocal seconds
            if seconds is None:
                seconds = time.perf_counter() - started_at
                if self.metrics is not None:
                    self.metrics.observe(scope, status_code, seconds)

        async def send_with_request_id(message: Message) -> None:
            nonlocal status_code, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status_code = message["status"]
                headers = [*message.get("headers", ()), (REQUEST_ID_HEADER, request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                record()

        with structlog.contextvars.bound_contextvars(**context):
            try:
                await self.app(scope, receive, send_with_request_id)
            except Exception:
                logger.exception("unhandled_exception")
                if not response_started:
                    response = errors.internal_error_response()
                    await response(scope, receive, send_with_request_id)
            finally:
                record()  # if the app raised, or the client left before the end
                client = scope.get("client")
                logger.info(
                    "request",
                    method=scope["method"],
                    path=loggable(scope["path"]),
                    status=status_code,
                    duration_ms=round((seconds or 0.0) * 1000, 2),
                    client=client[0] if client else None,
                )
                # Bound by authentication for the rest of the request; not for the next one.
                structlog.contextvars.unbind_contextvars(USER_ID)
