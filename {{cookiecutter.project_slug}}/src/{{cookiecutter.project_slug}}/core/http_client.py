"""The outgoing HTTP client: one `httpx.AsyncClient` per process (S2), reached through `HttpClient`."""

from typing import Annotated

import httpx
from fastapi import Depends, Request

from {{ cookiecutter.project_slug }}.core.settings import Settings


def create_http_client(settings: Settings) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.http_timeout, connect=settings.http_connect_timeout),
        limits=httpx.Limits(
            max_connections=settings.http_max_connections,
            max_keepalive_connections=settings.http_max_keepalive_connections,
        ),
    )


async def get_http_client(request: Request) -> httpx.AsyncClient:
    client: httpx.AsyncClient = request.app.state.http_client
    return client


HttpClient = Annotated[httpx.AsyncClient, Depends(get_http_client)]
