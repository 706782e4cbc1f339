import re
from typing import Annotated

from pydantic import AfterValidator, ConfigDict, EmailStr, Field, StringConstraints

from {{ cookiecutter.project_slug }}.core.schemas import CustomBaseModel, InputModel, Text

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128  # Argon2 accepts more, but an unbounded input is a cheap DoS.


def normalise_email(value: str) -> str:
    """The one form an email is stored and looked up in."""
    return value.strip().lower()


def _strong_enough(password: str) -> str:
    if not (re.search(r"[A-Za-z]", password) and re.search(r"\d", password)):
        msg = "password must contain at least one letter and one digit"
        raise ValueError(msg)
    if len(set(password)) < 5:
        msg = "password must use at least 5 different characters"
        raise ValueError(msg)
    return password


NormalisedEmail = Annotated[EmailStr, AfterValidator(normalise_email)]
DisplayName = Annotated[Text, Field(min_length=1, max_length=50)]
# S9: the password rules, in one type for sign-up and password change. Kept exactly as sent
# (never stripped), since login compares it exactly as sent.
Password = Annotated[
    str,
    StringConstraints(
        strip_whitespace=False, min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH
    ),
    AfterValidator(_strong_enough),
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
