"""A fake of the email provider's HTTP API on loopback: the one outside service we cannot run.

The app's real httpx client sends real requests to it (`with_provider` points the settings at
it); tests read what arrived and can hold the answers back (`gate`) or fail them (`status_code`).
"""

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from pydantic import HttpUrl, SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from {{ cookiecutter.project_slug }}.core.settings import Settings

from tests.helpers.apps import serve

EMAIL_KEY = "test-provider-key"


@dataclass
class FakeEmailProvider:
    url: str = ""
    status_code: int = 200
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    received: list[dict[str, Any]] = field(default_factory=list)
    answered: asyncio.Event = field(default_factory=asyncio.Event)

    async def emails(self, request: Request) -> JSONResponse:
        self.received.append(
            {"json": await request.json(), "authorization": request.headers.get("authorization")}
        )
        await self.gate.wait()
        self.answered.set()
        return JSONResponse({"id": f"email-{len(self.received)}"}, status_code=self.status_code)

    def sent_to(self, address: str) -> list[dict[str, Any]]:
        """The emails (the provider's JSON bodies) sent to `address`, oldest first."""
        return [email["json"] for email in self.received if email["json"]["to"] == [address]]


@asynccontextmanager
async def running_provider(*, open_gate: bool = True) -> AsyncIterator[FakeEmailProvider]:
    fake = FakeEmailProvider()
    if open_gate:
        fake.gate.set()
    routes = [Route("/emails", fake.emails, methods=["POST"])]
    async with serve(Starlette(routes=routes)) as url:
        fake.url = url
        yield fake


def with_provider(settings: Settings, provider: FakeEmailProvider) -> Settings:
    return settings.model_copy(
        update={"email_api_url": HttpUrl(provider.url), "email_api_key": SecretStr(EMAIL_KEY)}
    )


def link_token(email: dict[str, Any], page: str) -> str:
    """The token of the link to the front end's `page` in an email's text."""
    found = re.search(rf"/{page}\?token=([A-Za-z0-9_-]+)", email["text"])
    assert found, email["text"]
    return found.group(1)
