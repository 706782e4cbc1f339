from typing import Annotated

from pydantic import AfterValidator, ConfigDict, EmailStr, Field, StringConstraints

from {{ cookiecutter.project_slug }}.core.schemas import (
    CustomBaseModel,
    InputModel,
    NonBlankText,
    Text,
)

# NIST SP 800-63B-4's minimum for a password that is the only factor; 8 once a second one exists.
MIN_PASSWORD_LENGTH = 15
MAX_PASSWORD_LENGTH = 128  # Argon2 accepts more, but an unbounded input is a cheap DoS.


def normalise_email(value: str) -> str:
    """The one form an email is stored and looked up in."""
    return value.strip().lower()


# email-validator refuses the special-use domains (`.test`, `.local`, `.invalid`, ...), which
# JSON Schema's `email` format allows: the description says so.
NormalisedEmail = Annotated[
    EmailStr,
    AfterValidator(normalise_email),
    Field(description="An email address; special-use domains such as .test are refused."),
]
DisplayName = Annotated[NonBlankText, Field(min_length=1, max_length=50)]
# S9: the password rules, in one type for sign-up, password change and reset. Kept exactly as
# sent (never stripped), since login compares it exactly as sent. No composition rules (NIST
# advises against them); the routes also refuse a guessable one (`auth.passwords`).
Password = Annotated[
    str,
    StringConstraints(
        strip_whitespace=False, min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH
    ),
    Field(
        description=(
            f"{MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters of any kind, taken exactly "
            "as typed. Refused with 422 `password_too_guessable` when zxcvbn scores it below "
            "PASSWORD_MIN_SCORE (3 of 4 by default): POST /auth/password-strength gives the score "
            "first."
        )
    ),
]

# A password to check, as typed: only compared, so no rule but a bound on its length.
CurrentPassword = Annotated[
    str,
    StringConstraints(strip_whitespace=False, min_length=1, max_length=MAX_PASSWORD_LENGTH),
]


class SignupIn(InputModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    email: NormalisedEmail
    password: Password
    display_name: DisplayName


class TokenOut(CustomBaseModel):
    # RFC 6749 fixes these names as snake_case; OAuth2 clients (and Swagger's Authorize) need them.
    model_config = ConfigDict(alias_generator=None)

    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    # Seconds the access token is valid for.
    expires_in: int
    # Single use: POST /auth/refresh exchanges it for a new pair. null when REFRESH_TOKEN_COOKIE
    # is on: it is then in an HttpOnly cookie, out of reach of the page's scripts.
    refresh_token: str | None
    # Seconds the session lasts unless the refresh token is used before then.
    refresh_expires_in: int


# A refresh token is 43 characters; anything much longer is not one.
RefreshToken = Annotated[str, Field(min_length=1, max_length=100)]


class RefreshIn(InputModel):
    # Named as in the token response it came from.
    model_config = ConfigDict(alias_generator=None)

    refresh_token: RefreshToken


# The token of an emailed link: 43 characters.
LinkTokenText = Annotated[str, Field(min_length=1, max_length=100)]


class LinkRequestIn(InputModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    email: NormalisedEmail


class LinkSentOut(CustomBaseModel):
    message: str


class VerifyEmailIn(InputModel):
    token: LinkTokenText


class PasswordResetIn(InputModel):
    token: LinkTokenText
    new_password: Password


class PasswordStrengthIn(InputModel):
    password: Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)]
    # Words the password should not be built from: the email address, the display name.
    user_inputs: list[Annotated[Text, Field(max_length=100)]] = Field(default=[], max_length=5)


class PasswordStrengthOut(CustomBaseModel):
    # zxcvbn's score: 0 (too guessable) to 4 (very unguessable).
    score: int = Field(ge=0, le=4)
    guesses_log10: float
    warning: str | None
    suggestions: list[str]
