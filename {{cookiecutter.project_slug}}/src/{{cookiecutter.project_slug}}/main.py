"""The application factory.

Run with `uvicorn --factory {{ cookiecutter.project_slug }}.main:create_app`. Building the app reads settings and
wires routes; it opens no connection (that happens in `lifespan`), so importing this module, or
calling `create_app`, needs no database.
"""

from importlib.metadata import version

from fastapi import FastAPI

from {{ cookiecutter.project_slug }} import errors
from {{ cookiecutter.project_slug }}.auth.router import router as auth_router
from {{ cookiecutter.project_slug }}.config import Settings
from {{ cookiecutter.project_slug }}.health.router import router as health_router
{%- if cookiecutter.include_celery == 'y' %}
from {{ cookiecutter.project_slug }}.jobs.router import router as jobs_router
{%- endif %}
from {{ cookiecutter.project_slug }}.lifespan import lifespan
from {{ cookiecutter.project_slug }}.logging import configure_logging
from {{ cookiecutter.project_slug }}.middleware import RequestContextMiddleware
from {{ cookiecutter.project_slug }}.posts.router import router as posts_router
from {{ cookiecutter.project_slug }}.users.router import router as users_router

# Read once, at import: looking up package metadata is file I/O, and `create_app` runs on a
# running event loop (uvicorn's --factory calls it there, and so do the tests) (S1).
VERSION = version("{{ cookiecutter.project_slug }}")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings)

    docs = settings.docs_enabled  # S6: docs only where explicitly allowed
    app = FastAPI(
        title=settings.app_name,
        version=VERSION,
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
        exception_handlers=errors.EXCEPTION_HANDLERS,
        responses={
            400: {"model": errors.ErrorResponse, "description": "Malformed request body"},
            422: {"model": errors.ErrorResponse, "description": "Validation error"},
            500: {"model": errors.ErrorResponse, "description": "Unexpected error"},
        },
    )
    app.state.settings = settings
    app.add_middleware(RequestContextMiddleware)

    app.include_router(health_router)
    app.include_router(auth_router)
    app.include_router(users_router)
    app.include_router(posts_router)
{%- if cookiecutter.include_celery == 'y' %}
    app.include_router(jobs_router)
{%- endif %}
    return app
