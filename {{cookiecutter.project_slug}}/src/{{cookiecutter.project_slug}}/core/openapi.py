"""The OpenAPI schema: what FastAPI derives from the routes, plus what it cannot see.

FastAPI writes the paths, the models and the security schemes. `complete_schema` adds what is
true of every operation, so no route has to remember it:
- `security: []` on an operation that no security scheme protects, so that a tool reading the
  schema knows it is public rather than unstated;
- the `X-Request-ID` header on every response (ObservabilityMiddleware sets it on each one);
- the error codes the service answers with, as the enum of the error body's `code`.

The package's metadata (pyproject.toml) gives the schema its version, description, license and
contact, so they are written in one place.
"""

from email.utils import parseaddr
from importlib.metadata import PackageMetadata, metadata
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from {{ cookiecutter.project_slug }}.core.errors import error_codes

PACKAGE = __name__.split(".")[0]

REQUEST_ID_HEADER = {
    "description": "The id of this request, also on every log line it wrote; quote it when "
    "reporting a problem.",
    "required": True,
    "schema": {"type": "string"},
}


def operation_id(route: APIRoute) -> str:
    """The route function's name: generated clients name their methods after it (`read_job`,
    not FastAPI's default `read_job_jobs__job_id__get`), so each route function has a name of
    its own in the app."""
    return route.name


def package_metadata() -> PackageMetadata:
    # Read once, at import of main: package metadata is file I/O, and `create_app` may run on
    # a running event loop (uvicorn's --factory calls it there, and so do the tests).
    return metadata(PACKAGE)


def license_info(package: PackageMetadata) -> dict[str, str] | None:
    # An SPDX expression is both the license's name and its identifier in OpenAPI 3.1.
    if "License-Expression" not in package:
        return None
    expression = package["License-Expression"]
    return {"name": expression, "identifier": expression}


def contact(package: PackageMetadata) -> dict[str, str] | None:
    if "Author-email" not in package:
        return None
    name, email = parseaddr(package["Author-email"])
    return {"name": name, "email": email}


def complete_schema(app: FastAPI) -> None:
    """Make `app.openapi()` return FastAPI's schema completed as the module docstring says."""
    build = app.openapi
    completed: list[dict[str, Any]] = []  # the last schema completed

    def openapi() -> dict[str, Any]:
        # FastAPI caches the schema it builds, and builds anew when routes change.
        schema = build()
        if completed and completed[0] is schema:
            return schema
        for path in schema["paths"].values():
            for operation in path.values():
                operation.setdefault("security", [])
                for response in operation["responses"].values():
                    response.setdefault("headers", {})["X-Request-ID"] = REQUEST_ID_HEADER
        error_body = schema["components"]["schemas"]["ErrorBody"]
        error_body["properties"]["code"]["enum"] = error_codes()
        completed[:] = [schema]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
