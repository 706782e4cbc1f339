"""The application factory.

Run with `uvicorn --factory {{ cookiecutter.project_slug }}.main:create_app`. Building the app reads settings and
wires routes; it opens no connection (that happens in `lifespan`), so importing this module, or
calling `create_app`, needs no database.
"""

from functools import partial

from fastapi import APIRouter, FastAPI, status
from starlette.middleware.cors import CORSMiddleware

from {{ cookiecutter.project_slug }}.audit.router import router as audit_router
from {{ cookiecutter.project_slug }}.auth.links_router import router as links_router
from {{ cookiecutter.project_slug }}.auth.router import router as auth_router
from {{ cookiecutter.project_slug }}.core import errors, http_security, openapi
from {{ cookiecutter.project_slug }}.core.lifespan import lifespan
from {{ cookiecutter.project_slug }}.core.logging import configure_logging
from {{ cookiecutter.project_slug }}.core.metrics import install_metrics
from {{ cookiecutter.project_slug }}.core.observability import ObservabilityMiddleware
from {{ cookiecutter.project_slug }}.core.request_limits import RequestLimitsMiddleware
from {{ cookiecutter.project_slug }}.core.sentry import init_sentry
from {{ cookiecutter.project_slug }}.core.settings import Environment, Settings
from {{ cookiecutter.project_slug }}.health.router import router as health_router
{%- if cookiecutter.include_celery == 'y' %}
from {{ cookiecutter.project_slug }}.jobs.router import router as jobs_router
{%- endif %}
{%- if cookiecutter.include_examples == 'y' %}
from {{ cookiecutter.project_slug }}.posts.router import router as posts_router
{%- endif %}
from {{ cookiecutter.project_slug }}.sessions.router import router as sessions_router
from {{ cookiecutter.project_slug }}.users.admin_router import router as admin_router
from {{ cookiecutter.project_slug }}.users.router import router as users_router

PACKAGE = openapi.package_metadata()
ROUTERS: list[APIRouter] = [
    health_router,
    auth_router,
    links_router,
    users_router,
    sessions_router,
    admin_router,
    audit_router,
{%- if cookiecutter.include_examples == 'y' %}
    posts_router,
{%- endif %}
{%- if cookiecutter.include_celery == 'y' %}
    jobs_router,
{%- endif %}
]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings)
    init_sentry(settings, PACKAGE["Version"])  # only when SENTRY_DSN is set

    docs = settings.docs_enabled  # S6: docs only where explicitly allowed
    app = FastAPI(
        title=settings.app_name,
        version=PACKAGE["Version"],
        description=PACKAGE["Summary"],
        license_info=openapi.license_info(PACKAGE),
        contact=openapi.contact(PACKAGE),
        # No trailing slash: clients append paths that start with one.
        servers=[{"url": str(settings.api_url).rstrip("/") if settings.api_url else "/"}],
        debug=settings.debug,
        lifespan=partial(lifespan, settings=settings),
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
        exception_handlers={
            **errors.EXCEPTION_HANDLERS,
            status.HTTP_405_METHOD_NOT_ALLOWED: errors.method_not_allowed(
                route for router in ROUTERS for route in router.routes
            ),
        },
        generate_unique_id_function=openapi.operation_id,
        # What any route may answer; routes add their own.
        responses=errors.error_responses(400, 408, 413, 422, 500, 503),
    )
    # Request handlers read settings through `SettingsDep`; nothing else reads them back.
    app.state.settings = settings
    # Middleware, innermost first (each add wraps the ones before it).
    hosts = settings.trusted_hosts or ["*"]
    if "*" not in hosts:
        app.add_middleware(http_security.HealthExemptTrustedHostMiddleware, allowed_hosts=hosts)
    app.add_middleware(
        RequestLimitsMiddleware,
        max_body_bytes=settings.max_request_body_bytes,
        body_timeout=settings.request_body_timeout,
    )
    # GET /metrics, outside the docs; the observability middleware records into it.
    metrics = install_metrics(app) if settings.metrics_enabled else None
    app.add_middleware(ObservabilityMiddleware, metrics=metrics)
    if settings.cors_origins:
        # Outside the observability layer, so error responses carry CORS headers too and a browser
        # client can read them. Bearer tokens, not cookies: no credentials mode.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID", "X-Requested-With"],
            # The refresh cookie (REFRESH_TOKEN_COOKIE) crosses origins only with credentials.
            allow_credentials=settings.refresh_token_cookie,
            expose_headers=["X-Request-ID", "Retry-After", "Location"],
            max_age=600,
        )
    docs_paths = [app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url] if docs else []
    app.add_middleware(
        http_security.SecurityHeadersMiddleware,
        # HTTPS is settled wherever the service is deployed: browsers may then refuse plain HTTP.
        hsts=settings.environment in (Environment.STAGING, Environment.PRODUCTION),
        docs_paths=frozenset(path for path in docs_paths if path),
    )

    for router in ROUTERS:
        app.include_router(router)
    openapi.complete_schema(app)
    return app
