"""Transactional email through the provider's HTTP API (the shape of Resend's `POST /emails`;
adapt `send_email` for another provider)."""

from dataclasses import dataclass
from typing import Self

import httpx
import structlog
from pydantic import SecretStr

from {{ cookiecutter.project_slug }}.core.settings import Settings

logger = structlog.get_logger(__name__)


@dataclass(frozen=True)
class EmailConfig:
    """Where and as whom to send; `api_url` None sends nothing (the email is only logged)."""

    api_url: str | None
    api_key: SecretStr | None  # stays hidden in a repr or a log line
    sender: str
    app_name: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        return cls(
            api_url=str(settings.email_api_url).rstrip("/") if settings.email_api_url else None,
            api_key=settings.email_api_key,
            sender=settings.email_sender,
            app_name=settings.app_name,
        )


async def send_email(
    client: httpx.AsyncClient, config: EmailConfig, to: str, subject: str, text: str
) -> None:
    """Send one email with the shared client. Failures are logged, never raised.

    Meant for BackgroundTasks: the response has already gone out, so there is nobody to
    raise to. Email that must arrive belongs in a durable queue instead.
    """
    if config.api_url is None:
        logger.info("email_skipped", reason="EMAIL_API_URL is not set", subject=subject)
        return
    headers = {}
    if config.api_key is not None:
        headers["Authorization"] = f"Bearer {config.api_key.get_secret_value()}"
    payload = {"from": config.sender, "to": [to], "subject": subject, "text": text}
    try:
        response = await client.post(f"{config.api_url}/emails", json=payload, headers=headers)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        logger.error("email_failed", subject=subject, error=repr(exc))
        return
    logger.info("email_sent", subject=subject)


async def send_verification_email(
    client: httpx.AsyncClient,
    config: EmailConfig,
    to: str,
    display_name: str,
    link: str,
    hours: int,
) -> None:
    text = (
        f"Hi {display_name},\n\nconfirm that this address is the one for your {config.app_name} "
        f"account by opening this link within {hours} hours:\n\n{link}\n\nIf you did not sign "
        "up or ask for it, ignore this email.\n"
    )
    await send_email(client, config, to, f"Confirm your {config.app_name} address", text)


async def send_email_changed_notice(
    client: httpx.AsyncClient, config: EmailConfig, to: str, display_name: str, new_email: str
) -> None:
    text = (
        f"Hi {display_name},\n\nthe email address of your {config.app_name} account was "
        f"changed to {new_email}. If that was not you, reset your password and contact us.\n"
    )
    await send_email(client, config, to, f"Your {config.app_name} email address changed", text)


async def send_password_reset_email(
    client: httpx.AsyncClient,
    config: EmailConfig,
    to: str,
    display_name: str,
    link: str,
    minutes: int,
) -> None:
    text = (
        f"Hi {display_name},\n\nsomeone asked to reset the password of your "
        f"{config.app_name} account. To choose a new one, open this link within {minutes} "
        f"minutes:\n\n{link}\n\nIf it was not you, ignore this email: your password stays "
        "as it is.\n"
    )
    await send_email(client, config, to, f"Reset your {config.app_name} password", text)
