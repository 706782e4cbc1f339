"""What the auth routes email: the links, sent from BackgroundTasks after the response (S5).

Each function does all the work of one email (find the account, store the link's token, send)
and logs a failure instead of raising: the response has gone, so nobody is waiting. The
request that asked for a link never learns whether an account has the address.
"""

from uuid import UUID

import asyncpg
import httpx
import structlog

from {{ cookiecutter.project_slug }}.auth import links
from {{ cookiecutter.project_slug }}.core.database import Connection
from {{ cookiecutter.project_slug }}.core.settings import Settings
from {{ cookiecutter.project_slug }}.notifications import service as notifications
from {{ cookiecutter.project_slug }}.users import service as users_service

logger = structlog.get_logger(__name__)


def link(settings: Settings, page: str, token: str) -> str:
    return f"{str(settings.frontend_url).rstrip('/')}/{page}?token={token}"


async def send_verification_link(
    pool: asyncpg.Pool,
    client: httpx.AsyncClient,
    settings: Settings,
    user_id: UUID,
    email: str,
    display_name: str,
    *,
    welcome: bool = False,
) -> None:
    """For BackgroundTasks: store a verification token and email its link (or log why not)."""
    try:
        async with pool.acquire() as conn:
            token = await links.issue(
                conn, user_id, email, "email_verification", settings.email_verification_lifetime
            )
    except Exception:
        logger.exception("link_failed", purpose="email_verification", user_id=str(user_id))
        return
    config = notifications.EmailConfig.from_settings(settings)
    url = link(settings, "verify-email", token)
    if welcome:
        await notifications.send_welcome_email(client, config, email, display_name, url)
    else:
        await notifications.send_verification_email(client, config, email, display_name, url)


async def _active_account(conn: Connection, email: str) -> users_service.Credentials | None:
    account = await users_service.get_credentials(conn, email)
    return account if account is not None and account["is_active"] else None


async def resend_verification_later(
    pool: asyncpg.Pool, client: httpx.AsyncClient, settings: Settings, email: str
) -> None:
    """For BackgroundTasks: a new verification link, if an active unverified account has `email`."""
    try:
        async with pool.acquire() as conn:
            account = await _active_account(conn, email)
    except Exception:
        logger.exception("link_failed", purpose="email_verification")
        return
    if account is None or account["email_verified"]:
        logger.info("link_not_sent", purpose="email_verification")
        return
    await send_verification_link(
        pool, client, settings, account["id"], email, account["display_name"]
    )


async def send_password_reset_later(
    pool: asyncpg.Pool, client: httpx.AsyncClient, settings: Settings, email: str
) -> None:
    """For BackgroundTasks: a password-reset link, if an active account has `email`."""
    try:
        async with pool.acquire() as conn:
            account = await _active_account(conn, email)
            if account is None:
                logger.info("link_not_sent", purpose="password_reset")
                return
            token = await links.issue(
                conn, account["id"], email, "password_reset", settings.password_reset_lifetime
            )
    except Exception:
        logger.exception("link_failed", purpose="password_reset")
        return
    await notifications.send_password_reset_email(
        client,
        notifications.EmailConfig.from_settings(settings),
        email,
        account["display_name"],
        link(settings, "reset-password", token),
        settings.password_reset_ttl_minutes,
    )
