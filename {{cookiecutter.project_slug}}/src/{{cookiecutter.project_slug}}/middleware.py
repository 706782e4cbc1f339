"""Pure ASGI middleware (no BaseHTTPMiddleware: it breaks contextvars and streaming)."""

import re
import secrets
import time

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from {{ cookiecutter.project_slug }} import errors
from {{ cookiecutter.project_slug }}.metrics import HttpMetrics

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID_HEADER = REQUEST_ID_HEADER.encode()
# Accept a caller's id only if it is short and printable, so it is safe to log and echo back.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

logger = structlog.get_logger(__name__)


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == _REQUEST_ID_HEADER:
            candidate = value.decode("latin-1")
            return candidate if _VALID_REQUEST_ID.match(candidate) else None
    return None


class RequestContextMiddleware:
    """What the service observes about each request, in one layer (each layer costs CPU).

    It binds a request id to every log line and echoes it in `X-Request-ID`, records the
    request's metrics (when `metrics` is given) as soon as the response is complete, and logs one
    access line. It is also the last line of defence: an exception nothing else handled is
    logged with its traceback and answered with the common 500 error shape, which carries the
    request id (S14).
    """

    def __init__(self, app: ASGIApp, metrics: HttpMetrics | None = None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        request_id = _incoming_request_id(scope) or secrets.token_hex(16)
        scope.setdefault("state", {})["request_id"] = request_id
        request_id_header = (_REQUEST_ID_HEADER, request_id.encode())
        metrics = self.metrics
        status_code = 500  # what the client gets if the app raises before it responds
        response_started = False
        recorded = False  # in the metrics
        started_at = time.perf_counter()

        async def send_with_request_id(message: Message) -> None:
            nonlocal status_code, response_started, recorded
            if message["type"] == "http.response.start":
                response_started = True
                status_code = message["status"]
                headers = [*message.get("headers", ()), request_id_header]
                message = {**message, "headers": headers}
            await send(message)
            if recorded or message["type"] != "http.response.body" or message.get("more_body"):
                return
            # The client has the whole response; background tasks, which run after it in the
            # same call, are not part of the request's latency.
            recorded = True
            if metrics is not None:
                metrics.observe(scope, status_code, time.perf_counter() - started_at)

        tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_request_id)
        except Exception:
            logger.exception("unhandled_exception")
            if not response_started:
                response = errors.internal_error_response(request_id)
                await response(scope, receive, send_with_request_id)
        finally:
            try:
                seconds = time.perf_counter() - started_at
                if metrics is not None and not recorded:  # the app raised, or the client left
                    metrics.observe(scope, status_code, seconds)
                logger.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status_code,
                    duration_ms=round(seconds * 1000, 2),
                )
            finally:  # whatever happened above, the next request must not inherit this id
                structlog.contextvars.reset_contextvars(**tokens)
