"""Emailed links: email verification and password reset.

Asking for a link (`/auth/verify-email/resend`, `/auth/password-reset`) always answers 202 with
the same body, and all the work (looking the account up, storing the token, sending the email)
happens after the response, in a background task (S5): neither the answer nor its timing
tells whether an account has the address. Using a link (`/auth/verify-email`,
`/auth/password-reset/confirm`) spends it; a used, expired or unknown one is 400
`invalid_link`.
"""

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Request, status

from {{ cookiecutter.project_slug }}.audit import service as audit_service
from {{ cookiecutter.project_slug }}.auth import links
from {{ cookiecutter.project_slug }}.auth.dependencies import Hashing
from {{ cookiecutter.project_slug }}.auth.emails import AuthEmails
from {{ cookiecutter.project_slug }}.auth.exceptions import InvalidLinkError
from {{ cookiecutter.project_slug }}.auth.passwords import NewPasswords
from {{ cookiecutter.project_slug }}.auth.rate_limit import Limits, client_address
from {{ cookiecutter.project_slug }}.auth.schemas import (
    LinkRequestIn,
    LinkSentOut,
    PasswordResetIn,
    VerifyEmailIn,
)
from {{ cookiecutter.project_slug }}.core.database import Pool, lend
from {{ cookiecutter.project_slug }}.core.errors import error_responses
from {{ cookiecutter.project_slug }}.core.settings import SettingsDep
from {{ cookiecutter.project_slug }}.sessions import service as sessions_service
from {{ cookiecutter.project_slug }}.users import service as users_service

router = APIRouter(prefix="/auth", tags=["auth"])

LINK_SENT = {"message": "If an account has this address, an email with a link is on its way."}
ASK = error_responses(status.HTTP_429_TOO_MANY_REQUESTS)
USE = error_responses(
    status.HTTP_400_BAD_REQUEST,
    status.HTTP_503_SERVICE_UNAVAILABLE,
    described={status.HTTP_400_BAD_REQUEST: "Malformed body, or a used, expired or unknown link"},
)


@router.post(
    "/verify-email",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Confirm an email address with the token from its link",
    description="Needs no login: the link may be opened on another device.",
    responses=USE,
)
async def verify_email(data: VerifyEmailIn, pool: Pool, settings: SettingsDep) -> None:
    async with lend(pool, settings.db_acquire_timeout) as conn, conn.transaction():
        used = await links.use(conn, data.token, "email_verification")
        # The address must still be the one the link went to.
        if used is None or not await users_service.mark_email_verified(
            conn, used["user_id"], used["email"]
        ):
            raise InvalidLinkError


async def checked_address(data: LinkRequestIn, limits: Limits, request: Request) -> str:
    """The address a link is asked for, once this client and this address are within limits."""
    await limits.check_email_link(client_address(request), data.email)
    return data.email


LinkAddress = Annotated[str, Depends(checked_address)]


@router.post(
    "/verify-email/resend",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=LinkSentOut,
    summary="Send a new verification link to an address",
    description=(
        "Always 202 with the same body; an active, unverified account with this address gets "
        "the email. The newest link replaces the earlier ones. Rate limited per client address "
        "and per address asked for: 429 with Retry-After."
    ),
    responses=ASK,
)
async def resend_verification(email: LinkAddress, emails: AuthEmails) -> dict[str, Any]:
    emails.queue_verification_resend(email)
    return LINK_SENT


@router.post(
    "/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=LinkSentOut,
    summary="Email a password-reset link to an address",
    description=(
        "Always 202 with the same body; an active account with this address gets the email, "
        "whose link works once, for PASSWORD_RESET_TTL_MINUTES. Rate limited per client address "
        "and per address asked for: 429 with Retry-After."
    ),
    responses=ASK,
)
async def request_password_reset(email: LinkAddress, emails: AuthEmails) -> dict[str, Any]:
    emails.queue_password_reset(email)
    return LINK_SENT


@router.post(
    "/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Set a new password with the token from a reset link",
    description=(
        "Spends the link and ends every session of the account: log in with the new password. "
        "The address counts as verified, since the link reached it. Attempts count against the "
        "login limit per client address: 429 with Retry-After."
    ),
    responses={**USE, **ASK},
)
async def confirm_password_reset(
    data: PasswordResetIn,
    new_passwords: NewPasswords,
    limits: Limits,
    request: Request,
    pool: Pool,
    hashing: Hashing,
    settings: SettingsDep,
    background: BackgroundTasks,
) -> None:
    await limits.check_link_use(client_address(request))
    # Looked up first, so a bad token costs no Argon2 work; spent below, in the transaction
    # that sets the password, which also catches a second use that raced this one.
    async with lend(pool, settings.db_acquire_timeout) as conn:
        link = await links.find(conn, data.token, "password_reset")
    if link is None:
        raise InvalidLinkError
    await new_passwords.check(
        "new_password", data.new_password, link["email"], link["display_name"]
    )
    password_hash = await hashing.hash(data.new_password)
    async with lend(pool, settings.db_acquire_timeout) as conn, conn.transaction():
        used = await links.use(conn, data.token, "password_reset")
        # Used meanwhile, or the account's address is no longer the one the link went to.
        if used is None or not await users_service.reset_password(
            conn, used["user_id"], used["email"], password_hash
        ):
            raise InvalidLinkError
        await links.revoke(conn, used["user_id"])
        ended = await sessions_service.end_sessions(conn, used["user_id"])
    background.add_task(
        audit_service.record_event_later,
        pool,
        used["user_id"],
        "user.password_reset",
        {"sessions_ended": ended},
    )
