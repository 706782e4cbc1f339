"""HTTP hardening, as pure ASGI middleware: security headers and the trusted-host check.

CORS is Starlette's `CORSMiddleware`, configured in `main.create_app`. README, "Production
checklist", says what each header is for.
"""

import structlog
from fastapi import status
from starlette.datastructures import Headers
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from {{ cookiecutter.project_slug }} import errors
from {{ cookiecutter.project_slug }}.config import Environment, Settings

logger = structlog.get_logger(__name__)

# A JSON API loads nothing and is framed by no one.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# Swagger UI and ReDoc pages (only where docs are enabled): FastAPI's pages load their scripts
# and styles from jsDelivr, start them with an inline script, ReDoc uses Google Fonts and a
# blob: worker, and both fetch /openapi.json from this origin.
DOCS_CSP = (
    "default-src 'none'; "
    "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src https://fonts.gstatic.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "connect-src 'self'; "
    "worker-src 'self' blob:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
# Two years, the usual value once HTTPS is settled; browsers then refuse plain HTTP.
HSTS = "max-age=63072000; includeSubDomains"
# Probes (a load balancer, Kubernetes) often call with an IP address as the Host.
HOST_CHECK_EXEMPT_PREFIX = "/health/"


def _encoded(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode(), value.encode()) for name, value in headers.items()]


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP response: success, error, 404 or crash.

    Headers the route set itself are kept. The docs pages get a CSP that lets them load.
    """

    def __init__(self, app: ASGIApp, settings: Settings, docs_paths: frozenset[str]) -> None:
        self.app = app
        self.docs_paths = docs_paths
        common = {
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
            "Cross-Origin-Opener-Policy": "same-origin",
            "Cross-Origin-Resource-Policy": "same-origin",
            # Responses carry personal data and tokens: no shared or browser cache keeps them.
            "Cache-Control": "no-store",
        }
        if settings.environment in (Environment.STAGING, Environment.PRODUCTION):
            common["Strict-Transport-Security"] = HSTS
        self.api_headers = _encoded({**common, "Content-Security-Policy": API_CSP})
        self.docs_headers = _encoded({**common, "Content-Security-Policy": DOCS_CSP})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.docs_headers if scope["path"] in self.docs_paths else self.api_headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(header for header in extra if header[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class TrustedHostsMiddleware:
    """Starlette's `TrustedHostMiddleware`, answering a refused Host in the common error shape.

    Sits inside `RequestContextMiddleware`, so the refusal is logged and carries a request id.
    """

    _TRUSTED = "host_trusted"

    def __init__(self, app: ASGIApp, allowed_hosts: list[str]) -> None:
        self.app = app
        self.check = TrustedHostMiddleware(
            self._trusted, allowed_hosts=allowed_hosts, www_redirect=False
        )

    async def _trusted(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["state"][self._TRUSTED] = True
        await self.app(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan" or scope["path"].startswith(HOST_CHECK_EXEMPT_PREFIX):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        if scope["type"] != "http":  # websockets: Starlette's own refusal
            await self.check(scope, receive, send)
            return
        refused = False

        async def send_unless_refused(message: Message) -> None:
            nonlocal refused
            if not state.get(self._TRUSTED):  # Starlette's plain-text refusal: replaced below
                refused = True
                return
            await send(message)

        await self.check(scope, receive, send_unless_refused)
        if refused:
            host = Headers(scope=scope).get("host", "")
            logger.warning("untrusted_host_refused", host=host[:255])
            response = errors.error_response(
                status.HTTP_400_BAD_REQUEST,
                "invalid_host",
                "The Host header names a host this service does not serve.",
                state.get("request_id"),
            )
            await response(scope, receive, send)
