"""What the service observes about every request, as one pure ASGI middleware.

No BaseHTTPMiddleware: it breaks contextvars and streaming.
"""

import re
import secrets
import time

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from {{ cookiecutter.project_slug }}.core import errors
from {{ cookiecutter.project_slug }}.core.logging import REQUEST_ID
from {{ cookiecutter.project_slug }}.core.metrics import HttpMetrics

REQUEST_ID_HEADER = b"x-request-id"
# Accept a caller's id only if it is short and printable, so it is safe to log and echo back.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

logger = structlog.get_logger(__name__)


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER:
            candidate = value.decode("latin-1")
            return candidate if _VALID_REQUEST_ID.match(candidate) else None
    return None


class ObservabilityMiddleware:
    """Per request: a request id, metrics, an access line, and a last-resort 500.

    - The request id is bound to every log line (`core.logging.current_request_id` reads it)
      and echoed in `X-Request-ID`.
    - The request's count and latency go to `metrics` (when given) once the response is
      complete; background tasks that run after it are not part of its latency.
    - One access line per request.
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

        request_id = _incoming_request_id(scope) or secrets.token_hex(16)
        status_code = 500  # what the client gets if the app raises before it responds
        response_started = False
        recorded = False  # in the metrics
        started_at = time.perf_counter()

        def record() -> None:
            nonlocal recorded
            if self.metrics is not None and not recorded:
                self.metrics.observe(scope, status_code, time.perf_counter() - started_at)
            recorded = True

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

        with structlog.contextvars.bound_contextvars(**{REQUEST_ID: request_id}):
            try:
                await self.app(scope, receive, send_with_request_id)
            except Exception:
                logger.exception("unhandled_exception")
                if not response_started:
                    response = errors.internal_error_response()
                    await response(scope, receive, send_with_request_id)
            finally:
                record()  # if the app raised, or the client left before the end
                logger.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status_code,
                    duration_ms=round((time.perf_counter() - started_at) * 1000, 2),
                )
