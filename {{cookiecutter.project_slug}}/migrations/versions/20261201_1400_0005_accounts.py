"""Accounts: roles, deactivation, email verification, and the tokens of emailed links.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 14:00:00+00:00

Existing accounts get the role `user`, stay active, and count as unverified: they never proved
their address. `POST /auth/verify-email/resend` sends them a link.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("role", sa.Text(), server_default="user", nullable=False))
    op.create_check_constraint("users_role_known", "users", "role IN ('user', 'admin')")
    op.add_column(
        "users", sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False)
    )
    op.add_column(
        "users",
        sa.Column("email_verified", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_table(
        "link_tokens",
        # SHA-256 of the token in the link: the token itself is never stored.
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        # The address the link was sent to: verifying it proves that address, no other.
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_hash"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.CheckConstraint(
            "purpose IN ('password_reset', 'email_verification')", name="link_tokens_purpose_known"
        ),
    )
    op.create_index(None, "link_tokens", ["user_id", "purpose"])


def downgrade() -> None:
    op.drop_table("link_tokens")
    op.drop_column("users", "email_verified")
    op.drop_column("users", "is_active")
    op.drop_constraint("users_role_known", "users", type_="check")
    op.drop_column("users", "role")
