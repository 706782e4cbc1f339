"""Limits on what one request may send, checked before anything parses it: a pure ASGI middleware.

- A body larger than `max_body_bytes` is refused with 413, at once when `Content-Length`
  announces it, or as soon as a streamed (chunked) body crosses the limit.
- A body that does not arrive within `body_timeout` seconds of its first byte being awaited
  (a client that trickles it) is refused with 408.

Both answers are in the common error shape. Header size and slow headers are the server's and
the proxy's to limit: the app only sees a request once its headers are complete (README,
"Production checklist").
"""

import asyncio

from fastapi import status
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from {{ cookiecutter.project_slug }}.core import errors

_CONTENT_LENGTH = b"content-length"


def _too_large(max_bytes: int) -> errors.CodedHTTPException:
    return errors.CodedHTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE,
        errors.STATUS_CODES[status.HTTP_413_CONTENT_TOO_LARGE],
        f"The request body is larger than {max_bytes} bytes.",
    )


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == _CONTENT_LENGTH:
            return int(value) if value.isdigit() else None  # uvicorn refuses a malformed one
    return None


class RequestLimitsMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, body_timeout: float) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            exc = _too_large(self.max_body_bytes)
            response = errors.error_response(exc.status_code, exc.code, exc.detail)
            await response(scope, receive, send)
            return

        received = 0
        body_complete = False
        deadline: float | None = None

        async def limited_receive() -> Message:
            nonlocal received, body_complete, deadline
            if body_complete:  # afterwards only `http.disconnect` can come: wait for it freely
                return await receive()
            loop = asyncio.get_running_loop()
            deadline = deadline or loop.time() + self.body_timeout
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise errors.CodedHTTPException(
                    status.HTTP_408_REQUEST_TIMEOUT,
                    errors.STATUS_CODES[status.HTTP_408_REQUEST_TIMEOUT],
                    "The request body did not arrive in time.",
                ) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _too_large(self.max_body_bytes)
                body_complete = not message.get("more_body", False)
            return message

        await self.app(scope, limited_receive, send)
