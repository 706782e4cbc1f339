"""What the auth routes email, sent from BackgroundTasks after the response (S5).

A route takes `AuthEmails` and calls one of its `queue_*` methods. Each queued task does all
the work of one email (find the account, store the link's token, send) and logs a failure
instead of raising: the response has gone, so nobody is waiting. A request that asks for a
link never learns whether an account has the address.
"""

from typing import Annotated
from uuid import UUID

import structlog
from fastapi import BackgroundTasks, Depends

from {{ cookiecutter.project_slug }}.auth import links
from {{ cookiecutter.project_slug }}.core.database import Connection, Pool
from {{ cookiecutter.project_slug }}.core.http_client import HttpClient
from {{ cookiecutter.project_slug }}.core.settings import SettingsDep
from {{ cookiecutter.project_slug }}.notifications import service as notifications
from {{ cookiecutter.project_slug }}.users import service as users_service

logger = structlog.get_logger(__name__)


async def _active_account(conn: Connection, email: str) -> users_service.Credentials | None:
    account = await users_service.get_credentials(conn, email)
    return account if account is not None and account["is_active"] else None


class Mailer:
    """The auth emails of one request, queued on its BackgroundTasks."""

    def __init__(
        self,
        pool: Pool,
        http_client: HttpClient,
        settings: SettingsDep,
        background: BackgroundTasks,
    ) -> None:
        self.pool = pool
        self.client = http_client
        self.settings = settings
        self.background = background
        self.config = notifications.EmailConfig.from_settings(settings)

    def _link(self, page: str, token: str) -> str:
        return f"{str(self.settings.frontend_url).rstrip('/')}/{page}?token={token}"

    def queue_verification(self, user_id: UUID, email: str, display_name: str) -> None:
        """A verification link for an address just written (sign-up, email change)."""
        self.background.add_task(self._send_verification, user_id, email, display_name)

    def queue_verification_resend(self, email: str) -> None:
        """A new verification link, if an active, unverified account has `email`."""
        self.background.add_task(self._resend_verification, email)

    def queue_password_reset(self, email: str) -> None:
        """A password-reset link, if an active account has `email`."""
        self.background.add_task(self._send_password_reset, email)

    def queue_email_changed_notice(self, old_email: str, display_name: str, new_email: str) -> None:
        self.background.add_task(
            notifications.send_email_changed_notice,
            self.client,
            self.config,
            old_email,
            display_name,
            new_email,
        )

    async def _send_verification(self, user_id: UUID, email: str, display_name: str) -> None:
        lifetime = self.settings.email_verification_lifetime
        try:
            async with self.pool.acquire() as conn:
                token = await links.issue(conn, user_id, email, "email_verification", lifetime)
        except Exception:
            logger.exception("link_failed", purpose="email_verification", user_id=str(user_id))
            return
        await notifications.send_verification_email(
            self.client,
            self.config,
            email,
            display_name,
            self._link("verify-email", token),
            self.settings.email_verification_ttl_hours,
        )

    async def _resend_verification(self, email: str) -> None:
        try:
            async with self.pool.acquire() as conn:
                account = await _active_account(conn, email)
        except Exception:
            logger.exception("link_failed", purpose="email_verification")
            return
        if account is None or account["email_verified"]:
            logger.info("link_not_sent", purpose="email_verification")
            return
        await self._send_verification(account["id"], email, account["display_name"])

    async def _send_password_reset(self, email: str) -> None:
        lifetime = self.settings.password_reset_lifetime
        try:
            async with self.pool.acquire() as conn:
                account = await _active_account(conn, email)
                if account is None:
                    logger.info("link_not_sent", purpose="password_reset")
                    return
                token = await links.issue(conn, account["id"], email, "password_reset", lifetime)
        except Exception:
            logger.exception("link_failed", purpose="password_reset")
            return
        await notifications.send_password_reset_email(
            self.client,
            self.config,
            email,
            account["display_name"],
            self._link("reset-password", token),
            self.settings.password_reset_ttl_minutes,
        )


AuthEmails = Annotated[Mailer, Depends()]
