"""Transactional email through the provider's HTTP API (the shape of Resend's `POST /emails`;
adapt `send_email` for another provider)."""

import httpx
import structlog

from {{ cookiecutter.project_slug }}.config import Settings

logger = structlog.get_logger(__name__)


async def send_email(
    client: httpx.AsyncClient, settings: Settings, to: str, subject: str, text: str
) -> None:
    """Send one email with the shared client (S2). Failures are logged, never raised.

    Meant for BackgroundTasks (S5): the response has already gone out, so there is nobody to
    raise to. Email that must arrive belongs in a durable queue instead.
    """
    if settings.email_api_url is None:
        logger.info("email_skipped", reason="EMAIL_API_URL is not set", subject=subject)
        return
    headers = {}
    if settings.email_api_key is not None:
        headers["Authorization"] = f"Bearer {settings.email_api_key.get_secret_value()}"
    url = f"{str(settings.email_api_url).rstrip('/')}/emails"
    payload = {"from": settings.email_sender, "to": [to], "subject": subject, "text": text}
    try:
        response = await client.post(url, json=payload, headers=headers)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        logger.error("email_failed", subject=subject, error=repr(exc))
        return
    logger.info("email_sent", subject=subject)


async def send_welcome_email(
    client: httpx.AsyncClient, settings: Settings, to: str, display_name: str
) -> None:
    text = f"Hi {display_name},\n\nyour {settings.app_name} account is ready.\n"
    await send_email(client, settings, to, f"Welcome to {settings.app_name}", text)
