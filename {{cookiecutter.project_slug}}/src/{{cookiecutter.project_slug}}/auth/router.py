from typing import Annotated, Any

import structlog
from fastapi import APIRouter, BackgroundTasks, Depends, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from {{ cookiecutter.project_slug }}.audit import service as audit_service
from {{ cookiecutter.project_slug }}.auth import security
from {{ cookiecutter.project_slug }}.auth.dependencies import Hashing
from {{ cookiecutter.project_slug }}.auth.exceptions import EmailTakenError, InvalidCredentialsError
from {{ cookiecutter.project_slug }}.auth.password_strength import estimate_strength
from {{ cookiecutter.project_slug }}.auth.rate_limit import Limits, client_address
from {{ cookiecutter.project_slug }}.auth.schemas import (
    PasswordStrengthIn,
    PasswordStrengthOut,
    SignupIn,
    TokenOut,
    normalise_email,
)
from {{ cookiecutter.project_slug }}.core.database import Pool, lend
from {{ cookiecutter.project_slug }}.core.errors import error_responses
from {{ cookiecutter.project_slug }}.core.http_client import HttpClient
from {{ cookiecutter.project_slug }}.core.process_pool import ProcessPool
from {{ cookiecutter.project_slug }}.core.settings import SettingsDep
from {{ cookiecutter.project_slug }}.notifications import service as notifications
from {{ cookiecutter.project_slug }}.users import service as users_service
from {{ cookiecutter.project_slug }}.users.schemas import UserOut

logger = structlog.get_logger(__name__)

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/signup",
    response_model=UserOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create an account",
    description=(
        "Sends a welcome email and records an audit event after the response is sent. Rate "
        "limited per client address and overall: 429 with Retry-After."
    ),
    responses=error_responses(
        status.HTTP_409_CONFLICT,
        status.HTTP_429_TOO_MANY_REQUESTS,
        status.HTTP_503_SERVICE_UNAVAILABLE,
    ),
)
async def signup(
    data: SignupIn,
    pool: Pool,
    hashing: Hashing,
    limits: Limits,
    http_client: HttpClient,
    settings: SettingsDep,
    background: BackgroundTasks,
    request: Request,
) -> dict[str, Any]:
    await limits.check_signup(client_address(request))
    # No connection is held while the password hashes: a connection for each step.
    async with lend(pool, settings.db_acquire_timeout) as conn:
        if await users_service.email_taken(conn, data.email):
            raise EmailTakenError  # before hashing: a duplicate costs no Argon2 work
    password_hash = await hashing.hash(data.password)
    async with lend(pool, settings.db_acquire_timeout) as conn:
        try:
            user = await users_service.create_user(
                conn, data.email, password_hash, data.display_name
            )
        except users_service.DuplicateEmailError as exc:  # signed up meanwhile
            raise EmailTakenError from exc
    # S5: the client does not wait for these, and losing one to a crash is acceptable.
    background.add_task(
        notifications.send_welcome_email,
        http_client,
        notifications.EmailConfig.from_settings(settings),
        user["email"],
        user["display_name"],
    )
    background.add_task(
        audit_service.record_event_later,
        pool,
        user["id"],
        "user.signed_up",
        {"email": user["email"]},
    )
    return dict(user)


@router.post(
    "/token",
    response_model=TokenOut,
    summary="Log in: exchange email and password for an access token",
    description=(
        "OAuth2 password flow; send the email as `username`. Rate limited per account and per "
        "client address: 429 with Retry-After."
    ),
    responses=error_responses(
        status.HTTP_401_UNAUTHORIZED,
        status.HTTP_429_TOO_MANY_REQUESTS,
        status.HTTP_503_SERVICE_UNAVAILABLE,
    ),
)
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    pool: Pool,
    hashing: Hashing,
    limits: Limits,
    settings: SettingsDep,
    request: Request,
) -> dict[str, Any]:
    email = normalise_email(form.username)
    await limits.check_login(client_address(request), email)
    # No stored email holds a NUL (PostgreSQL text cannot): an unknown user, not a database error.
    credentials = None
    if "\x00" not in email:
        async with lend(pool, settings.db_acquire_timeout) as conn:
            credentials = await users_service.get_credentials(conn, email)
    if credentials is None:
        # Same work as a wrong password, so response time does not reveal which emails exist.
        await hashing.burn_verification_time(form.password)
        logger.warning("login_failed", reason="unknown_email")
        raise InvalidCredentialsError
    if not await hashing.verify(credentials["password_hash"], form.password):
        logger.warning("login_failed", reason="wrong_password", user_id=str(credentials["id"]))
        raise InvalidCredentialsError
    await limits.record_login_success(email)
    lifetime = settings.access_token_lifetime
    return {
        "access_token": security.create_access_token(
            credentials["id"], settings.signing_key, lifetime
        ),
        "token_type": "bearer",
        "expires_in": int(lifetime.total_seconds()),
    }


@router.post(
    "/password-strength",
    response_model=PasswordStrengthOut,
    summary="How guessable a password is, for a sign-up form's strength meter",
    description="Stores nothing and needs no account. Estimated by zxcvbn in the process pool.",
    responses=error_responses(
        status.HTTP_429_TOO_MANY_REQUESTS, status.HTTP_503_SERVICE_UNAVAILABLE
    ),
)
async def password_strength(
    data: PasswordStrengthIn, process_pool: ProcessPool, request: Request
) -> dict[str, Any]:
    # S3: CPU-bound, so neither awaited on the loop nor threaded (the GIL): another process.
    strength = await process_pool.run(
        client_address(request), estimate_strength, data.password, data.user_inputs
    )
    return dict(strength)
