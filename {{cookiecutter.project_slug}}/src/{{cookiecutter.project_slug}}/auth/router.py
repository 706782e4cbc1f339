from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from {{ cookiecutter.project_slug }}.audit import service as audit_service
from {{ cookiecutter.project_slug }}.auth import rate_limit, security
from {{ cookiecutter.project_slug }}.auth.exceptions import EmailTakenError, InvalidCredentialsError
from {{ cookiecutter.project_slug }}.auth.schemas import SignupIn, TokenOut
from {{ cookiecutter.project_slug }}.database import Conn
from {{ cookiecutter.project_slug }}.dependencies import HttpClient, Pool, SettingsDep
from {{ cookiecutter.project_slug }}.errors import ErrorResponse
from {{ cookiecutter.project_slug }}.notifications import service as notifications
from {{ cookiecutter.project_slug }}.users import service as users_service
from {{ cookiecutter.project_slug }}.users.schemas import UserOut

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/signup",
    response_model=UserOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create an account",
    description="Sends a welcome email and records an audit event after the response is sent.",
    responses={
        status.HTTP_409_CONFLICT: {
            "model": ErrorResponse,
            "description": "Email already registered",
        }
    },
)
async def signup(
    data: SignupIn,
    conn: Conn,
    pool: Pool,
    http_client: HttpClient,
    settings: SettingsDep,
    background: BackgroundTasks,
) -> dict[str, Any]:
    password_hash = await security.hash_password(data.password)
    try:
        user = await users_service.create_user(conn, data.email, password_hash, data.display_name)
    except users_service.DuplicateEmailError as exc:
        raise EmailTakenError from exc
    # S5: the client does not wait for these, and losing one to a crash is acceptable.
    background.add_task(
        notifications.send_welcome_email, http_client, settings, user["email"], user["display_name"]
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
    responses={
        status.HTTP_401_UNAUTHORIZED: {
            "model": ErrorResponse,
            "description": "Wrong email or password",
        },
        status.HTTP_429_TOO_MANY_REQUESTS: {
            "model": ErrorResponse,
            "description": "Too many attempts for this account or from this address; "
            "see Retry-After",
        },
    },
)
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    conn: Conn,
    settings: SettingsDep,
    limiter: rate_limit.LoginLimiter,
    request: Request,
) -> dict[str, Any]:
    email = form.username.strip().lower()
    await limiter.check_attempt(rate_limit.client_address(request), email)
    # No stored email holds a NUL (PostgreSQL text cannot): an unknown user, not a database error.
    user = None if "\x00" in email else await users_service.get_user_by_email(conn, email)
    if user is None:
        # Same work as a wrong password, so response time does not reveal which emails exist.
        await security.burn_verification_time(form.password)
        raise InvalidCredentialsError
    if not await security.verify_password(user["password_hash"], form.password):
        raise InvalidCredentialsError
    await limiter.record_success(email)
    return {
        "access_token": security.create_access_token(user["id"], settings),
        "token_type": "bearer",
        "expires_in": settings.access_token_ttl_minutes * 60,
    }
