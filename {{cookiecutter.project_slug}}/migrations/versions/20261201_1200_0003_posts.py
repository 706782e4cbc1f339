"""Posts, the example domain's table.

Revision ID: 0003
Revises: {% if cookiecutter.include_celery == 'y' %}0002{% else %}0001{% endif %}
Create Date: 2026-12-01 12:00:00+00:00

Projects generated before the example domain had a migration of its own created this table in
0001; on their databases it already exists, and this revision leaves it as it is.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "{% if cookiecutter.include_celery == 'y' %}0002{% else %}0001{% endif %}"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("posts"):
        return
    op.create_table(
        "posts",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], ondelete="CASCADE"),
    )
    # Serves "the caller's posts, newest first".
    op.create_index(None, "posts", ["author_id", "created_at"])


def downgrade() -> None:
    op.drop_table("posts")
