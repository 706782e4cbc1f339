"""SQL for the single-use tokens of emailed links: password reset and email verification.

Stored as their SHA-256, like refresh tokens (`core.tokens.new_opaque_token`). An account has
at most one live link per purpose: issuing a new one deletes the earlier ones, so only the
latest email works. Using a link deletes it, so it works once.
"""

from datetime import timedelta
from typing import Literal, TypedDict, cast
from uuid import UUID

from {{ cookiecutter.project_slug }}.core.database import Connection
from {{ cookiecutter.project_slug }}.core.tokens import hash_opaque_token, new_opaque_token

Purpose = Literal["password_reset", "email_verification"]


class LinkToken(TypedDict):
    user_id: UUID
    # The address the link was sent to.
    email: str


class LiveLink(LinkToken):
    # The account's, for judging a new password (`auth.passwords.PasswordPolicy`).
    display_name: str


async def issue(
    conn: Connection, user_id: UUID, email: str, purpose: Purpose, lifetime: timedelta
) -> str:
    """A new link token for the account; its earlier ones of this purpose stop working."""
    token, token_hash = new_opaque_token()
    async with conn.transaction():
        await conn.execute(
            "DELETE FROM link_tokens WHERE user_id = $1 AND purpose = $2", user_id, purpose
        )
        await conn.execute(
            """INSERT INTO link_tokens (token_hash, user_id, purpose, email, expires_at)
            VALUES ($1, $2, $3, $4, now() + $5::interval)""",
            token_hash,
            user_id,
            purpose,
            email,
            lifetime,
        )
    return token


async def revoke(conn: Connection, user_id: UUID) -> None:
    """Every link of the account stops working: its address, password or state changed."""
    await conn.execute("DELETE FROM link_tokens WHERE user_id = $1", user_id)


async def find(conn: Connection, token: str, purpose: Purpose) -> LiveLink | None:
    """The link's account, address and display name if it is live; it stays usable."""
    row = await conn.fetchrow(
        """SELECT l.user_id, l.email, u.display_name
        FROM link_tokens l JOIN users u ON u.id = l.user_id
        WHERE l.token_hash = $1 AND l.purpose = $2 AND l.expires_at > now()""",
        hash_opaque_token(token),
        purpose,
    )
    return cast(LiveLink, dict(row)) if row is not None else None


async def use(conn: Connection, token: str, purpose: Purpose) -> LinkToken | None:
    """Spend the link: its account and address if it was live, and it never works again."""
    row = await conn.fetchrow(
        """DELETE FROM link_tokens
        WHERE token_hash = $1 AND purpose = $2 AND expires_at > now()
        RETURNING user_id, email""",
        hash_opaque_token(token),
        purpose,
    )
    return cast(LinkToken, dict(row)) if row is not None else None


async def delete_expired(conn: Connection) -> int:
    """Delete the links nobody used in time; how many there were."""
    deleted = await conn.execute("DELETE FROM link_tokens WHERE expires_at <= now()")
    return int(deleted.split()[-1])
