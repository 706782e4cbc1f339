"""`make create-admin email=...`: give an account the admin role, creating the account if needed.

The first administrator cannot come from the API (only an administrator may act on other
accounts), and never from a password in the settings. An existing account keeps its password:
it is promoted, and reactivated if it was deactivated, but only once its address is verified:
anyone can sign up with an address they do not own, and must not become an administrator by
waiting for the operator to type it. A new account needs a password that meets the sign-up
rules (its length, and zxcvbn's PASSWORD_MIN_SCORE), asked twice at a terminal or read as one
line from a pipe; its address counts as verified, since whoever runs this vouches for it
(administrators need a verified address, and there may be no email provider yet to verify it
with).

    make create-admin email=ada@example.com
    printf '%s\\n' "$ADMIN_PASSWORD" | make create-admin email=ada@example.com

Exit status: 0 done, 1 refused password or account, 2 bad arguments.
"""

import argparse
import asyncio
import getpass
import sys
from collections.abc import Sequence
from typing import Literal

from pydantic import TypeAdapter, ValidationError

from {{ cookiecutter.project_slug }}.auth.password_strength import estimate_strength
from {{ cookiecutter.project_slug }}.auth.passwords import context_words, too_guessable
from {{ cookiecutter.project_slug }}.auth.schemas import DisplayName, NormalisedEmail, Password
from {{ cookiecutter.project_slug }}.auth.security import PasswordHashing
from {{ cookiecutter.project_slug }}.core.database import create_pool
from {{ cookiecutter.project_slug }}.core.settings import Settings
from {{ cookiecutter.project_slug }}.users import service


async def _promote(settings: Settings, email: str) -> Literal["promoted", "unverified", "none"]:
    pool = await create_pool(settings, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            if await service.promote_to_admin(conn, email) is not None:
                return "promoted"
            return "none" if await service.get_credentials(conn, email) is None else "unverified"
    finally:
        await pool.close()


async def _create(settings: Settings, email: str, password: str, display_name: str) -> None:
    hashing = PasswordHashing(
        concurrency=1,
        wait_seconds=60,
        memory_kib=settings.password_hash_memory_kib,
        time_cost=settings.password_hash_time_cost,
    )
    password_hash = await hashing.hash(password)
    pool = await create_pool(settings, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            await service.create_user(
                conn, email, password_hash, display_name, role="admin", email_verified=True
            )
    finally:
        await pool.close()


def _read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().removesuffix("\n")  # exactly as typed, as at sign-up
    password = getpass.getpass("Password for the new administrator: ")
    if getpass.getpass("The same again: ") != password:
        sys.exit("error: the two passwords differ; nothing was changed")
    return password


def _first_error(exc: ValidationError) -> str:
    return str(exc.errors()[0]["msg"]).removeprefix("Value error, ")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="create_admin", description="Give an account the admin role, creating it if needed."
    )
    parser.add_argument("email", help="the administrator's email address")
    parser.add_argument(
        "--display-name", default="Administrator", help="for a new account (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    try:
        email = TypeAdapter(NormalisedEmail).validate_python(args.email)
        display_name = TypeAdapter(DisplayName).validate_python(args.display_name)
    except ValidationError as exc:
        parser.error(_first_error(exc))

    settings = Settings()
    # A command-line entry point: it runs its own event loops, one per step, outside the app's.
    found = asyncio.run(_promote(settings, email))  # noqa: TID251
    if found == "promoted":
        sys.stdout.write(f"{email} is now an administrator; its password is unchanged.\n")
        return 0
    if found == "unverified":
        sys.stderr.write(
            f"error: the account {email} has not verified its address, so it may not be its "
            "owner's; verify it (POST /auth/verify-email) and run this again\n"
        )
        return 1
    try:
        password = TypeAdapter(Password).validate_python(_read_password())
    except ValidationError as exc:
        sys.stderr.write(f"error: {_first_error(exc)}; nothing was changed\n")
        return 1
    words = context_words(email, display_name, settings.app_name)
    reason = too_guessable(estimate_strength(password, words), settings.password_min_score)
    if reason is not None:
        sys.stderr.write(f"error: {reason} Nothing was changed.\n")
        return 1
    try:
        asyncio.run(_create(settings, email, password, display_name))  # noqa: TID251
    except service.DuplicateEmailError:
        sys.stderr.write(f"error: {email} signed up meanwhile; run the command again\n")
        return 1
    sys.stdout.write(f"Created the administrator {email}.\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
