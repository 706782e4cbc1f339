"""HTTP hardening, as pure ASGI middleware: security headers and the trusted-host check.

CORS is Starlette's `CORSMiddleware`, configured in `main.create_app`. README, "Production
checklist", says what each header is for.
"""

from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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

    def __init__(self, app: ASGIApp, *, hsts: bool, docs_paths: frozenset[str]) -> None:
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
        if hsts:
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


class HealthExemptTrustedHostMiddleware(TrustedHostMiddleware):
    """Starlette's trusted-host check, except for the health probes.

    Probes (a load balancer, Kubernetes) often call with an IP address as the Host. A refused
    Host gets Starlette's own plain-text 400 `Invalid host header`: the request never reached
    the API, so it is the one answer not in the common error shape.
    """

    def __init__(self, app: ASGIApp, allowed_hosts: list[str]) -> None:
        super().__init__(app, allowed_hosts=allowed_hosts, www_redirect=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(HOST_CHECK_EXEMPT_PREFIX):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)
