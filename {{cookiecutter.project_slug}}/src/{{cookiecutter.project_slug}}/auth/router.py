from typing import Annotated, Any

import structlog
from fastapi import APIRouter, BackgroundTasks, Cookie, Depends, Header, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from {{ cookiecutter.project_slug }}.audit import service as audit_service
from {{ cookiecutter.project_slug }}.auth import security
from {{ cookiecutter.project_slug }}.auth.dependencies import CurrentSession, CurrentUser, Hashing
from {{ cookiecutter.project_slug }}.auth.emails import AuthEmails
from {{ cookiecutter.project_slug }}.auth.exceptions import (
    AccountDeactivatedError,
    CrossSiteRequestError,
    EmailNotVerifiedError,
    EmailTakenError,
    InvalidCredentialsError,
)
from {{ cookiecutter.project_slug }}.auth.password_strength import estimate_strength
from {{ cookiecutter.project_slug }}.auth.passwords import NewPasswords, Passwords
from {{ cookiecutter.project_slug }}.auth.rate_limit import Limits, client_address
from {{ cookiecutter.project_slug }}.auth.schemas import (
    PasswordStrengthIn,
    PasswordStrengthOut,
    RefreshIn,
    RefreshToken,
    SignupIn,
    TokenOut,
    normalise_email,
)
from {{ cookiecutter.project_slug }}.core.database import Conn, Pool, lend
from {{ cookiecutter.project_slug }}.core.errors import error_responses
from {{ cookiecutter.project_slug }}.core.process_pool import ProcessPool
from {{ cookiecutter.project_slug }}.core.settings import Settings, SettingsDep
from {{ cookiecutter.project_slug }}.sessions import service as sessions_service
from {{ cookiecutter.project_slug }}.sessions.exceptions import (
    RefreshTokenMissingError,
    RefreshTokenReusedError,
)
from {{ cookiecutter.project_slug }}.users import service as users_service
from {{ cookiecutter.project_slug }}.users.schemas import UserOut

logger = structlog.get_logger(__name__)

router = APIRouter(prefix="/auth", tags=["auth"])

# With REFRESH_TOKEN_COOKIE on: the cookie, sent back only to the auth routes, and the header
# POST /auth/refresh then requires.
REFRESH_COOKIE = "refresh_token"
REFRESH_COOKIE_PATH = "/auth"
CSRF_HEADER = "X-Requested-With"


@router.post(
    "/signup",
    response_model=UserOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create an account",
    description=(
        "Emails a link that verifies the address, and records an audit event, after the "
        "response is sent. Rate limited per client address and overall: 429 with "
        "Retry-After."
    ),
    responses=error_responses(
        status.HTTP_409_CONFLICT,
        status.HTTP_429_TOO_MANY_REQUESTS,
        status.HTTP_503_SERVICE_UNAVAILABLE,
    ),
)
async def signup(
    data: SignupIn,
    new_passwords: NewPasswords,
    pool: Pool,
    hashing: Hashing,
    limits: Limits,
    emails: AuthEmails,
    settings: SettingsDep,
    background: BackgroundTasks,
    request: Request,
) -> dict[str, Any]:
    await limits.check_signup(client_address(request))
    # No connection is held while the password hashes: a connection for each step.
    async with lend(pool, settings.db_acquire_timeout) as conn:
        if await users_service.email_taken(conn, data.email):
            raise EmailTakenError  # before hashing: a duplicate costs no Argon2 work
    await new_passwords.check("password", data.password, data.email, data.display_name)
    password_hash = await hashing.hash(data.password)
    async with lend(pool, settings.db_acquire_timeout) as conn:
        try:
            user = await users_service.create_user(
                conn, data.email, password_hash, data.display_name
            )
        except users_service.DuplicateEmailError as exc:  # signed up meanwhile
            raise EmailTakenError from exc
    # S5: the client does not wait for these, and losing one to a crash is acceptable (the
    # owner can ask for a new verification link).
    emails.queue_verification(user["id"], user["email"], user["display_name"])
    background.add_task(
        audit_service.record_event_later,
        pool,
        user["id"],
        "user.signed_up",
        {"email": user["email"]},
    )
    return dict(user)


def _issue_tokens(
    session: sessions_service.SessionRecord,
    refresh_token: str,
    settings: Settings,
    response: Response,
) -> dict[str, Any]:
    """The token response for a session; in cookie mode the refresh token goes in the cookie."""
    refresh_lifetime = int(settings.refresh_token_lifetime.total_seconds())
    if settings.refresh_token_cookie:
        response.set_cookie(
            REFRESH_COOKIE,
            refresh_token,
            max_age=refresh_lifetime,
            path=REFRESH_COOKIE_PATH,
            secure=True,
            httponly=True,
            samesite="strict",
        )
    return {
        "access_token": security.create_access_token(session["user_id"], session["id"], settings),
        "token_type": "bearer",
        "expires_in": int(settings.access_token_lifetime.total_seconds()),
        "refresh_token": None if settings.refresh_token_cookie else refresh_token,
        "refresh_expires_in": refresh_lifetime,
    }


@router.post(
    "/token",
    response_model=TokenOut,
    summary="Log in: exchange email and password for an access token and a refresh token",
    description=(
        "OAuth2 password flow; send the email as `username`. Opens a session (listed by GET "
        "/users/me/sessions). Rate limited per account and per client address: 429 with "
        "Retry-After."
    ),
    responses=error_responses(
        status.HTTP_401_UNAUTHORIZED,
        status.HTTP_403_FORBIDDEN,
        status.HTTP_429_TOO_MANY_REQUESTS,
        status.HTTP_503_SERVICE_UNAVAILABLE,
    ),
)
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    passwords: Passwords,
    pool: Pool,
    settings: SettingsDep,
    request: Request,
    response: Response,
) -> dict[str, Any]:
    credentials = await passwords.check(normalise_email(form.username), form.password)
    if credentials is None:
        raise InvalidCredentialsError
    if not credentials["is_active"]:  # said only to whoever knows the password
        raise AccountDeactivatedError
    if settings.login_requires_verified_email and not credentials["email_verified"]:
        raise EmailNotVerifiedError
    async with lend(pool, settings.db_acquire_timeout) as conn:
        session, refresh_token = await sessions_service.open_session(
            conn,
            credentials["id"],
            lifetime=settings.refresh_token_lifetime,
            user_agent=request.headers.get("user-agent", ""),
            address=passwords.address,
            max_sessions=settings.max_sessions_per_user,
        )
    return _issue_tokens(session, refresh_token, settings, response)


@router.post(
    "/refresh",
    response_model=TokenOut,
    summary="Exchange a refresh token for a new access token and a new refresh token",
    description=(
        "The refresh token sent is spent: keep the new one. Sending a spent one again ends its "
        "session (401 `refresh_token_reused`): it means someone else holds a copy. With "
        "REFRESH_TOKEN_COOKIE on, the token comes from the cookie, the body is ignored and the "
        f"`{CSRF_HEADER}` header is required (any value)."
    ),
    responses=error_responses(
        status.HTTP_401_UNAUTHORIZED,
        status.HTTP_403_FORBIDDEN,
        status.HTTP_503_SERVICE_UNAVAILABLE,
    ),
)
async def refresh(
    pool: Pool,
    settings: SettingsDep,
    request: Request,
    response: Response,
    body: RefreshIn | None = None,
    cookie: Annotated[RefreshToken | None, Cookie(alias=REFRESH_COOKIE)] = None,
    requested_with: Annotated[str | None, Header(alias=CSRF_HEADER, max_length=100)] = None,
) -> dict[str, Any]:
    if settings.refresh_token_cookie:
        # SameSite=Strict keeps the cookie off cross-site requests in current browsers; a
        # custom header is the second guard: a cross-site page cannot send one without a
        # CORS preflight, which only CORS_ORIGINS pass.
        if not requested_with:
            raise CrossSiteRequestError
        token = cookie
    else:
        token = body.refresh_token if body is not None else None
    if token is None:
        raise RefreshTokenMissingError
    try:
        async with lend(pool, settings.db_acquire_timeout) as conn:
            session, refresh_token = await sessions_service.rotate(
                conn,
                token,
                lifetime=settings.refresh_token_lifetime,
                user_agent=request.headers.get("user-agent", ""),
                address=client_address(request),
            )
    except RefreshTokenReusedError as exc:
        logger.warning(
            "refresh_token_reused", user_id=str(exc.user_id), session_id=str(exc.session_id)
        )
        raise
    return _issue_tokens(session, refresh_token, settings, response)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="End the caller's session",
    description="Its refresh token and its access tokens, this one included, stop working at once.",
    responses=error_responses(status.HTTP_401_UNAUTHORIZED, status.HTTP_503_SERVICE_UNAVAILABLE),
)
async def logout(
    signed_in: CurrentSession, conn: Conn, settings: SettingsDep, response: Response
) -> None:
    await sessions_service.end_session(conn, signed_in.session_id)
    _forget_cookie(settings, response)


@router.post(
    "/logout-all",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="End every session of the caller's account, on every device",
    responses=error_responses(status.HTTP_401_UNAUTHORIZED, status.HTTP_503_SERVICE_UNAVAILABLE),
)
async def logout_all(
    user: CurrentUser, conn: Conn, settings: SettingsDep, response: Response
) -> None:
    await sessions_service.end_sessions(conn, user["id"])
    _forget_cookie(settings, response)


def _forget_cookie(settings: Settings, response: Response) -> None:
    if settings.refresh_token_cookie:
        response.delete_cookie(
            REFRESH_COOKIE, path=REFRESH_COOKIE_PATH, secure=True, httponly=True, samesite="strict"
        )


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
