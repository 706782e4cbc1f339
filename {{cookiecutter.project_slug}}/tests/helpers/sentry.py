"""A stand-in for Sentry's ingestion endpoint: the outside world, replaced at its HTTP boundary."""

import gzip
import json
from typing import Any

Envelope = list[dict[str, Any]]


class Ingestion:
    """An ASGI app standing in for Sentry: keeps the items of every envelope posted to it."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = dict(scope["headers"])
        if headers.get(b"content-encoding") == b"gzip":
            body = gzip.decompress(body)
        self.envelopes.append([json.loads(line) for line in body.splitlines() if line.strip()])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    def events(self) -> list[dict[str, Any]]:
        """The error events among the items (each item is a header line, then its payload)."""
        found = []
        for items in self.envelopes:
            for header, payload in zip(items[1::2], items[2::2], strict=False):
                if header.get("type") == "event":
                    found.append(payload)
        return found
