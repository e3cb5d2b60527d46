"""Policies: applied policy documents, immutable and numbered per name.

Revision ID: 0005_policies
Revises: 0004_models
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_policies"
down_revision = "0004_models"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("applied_at", sa.String(32), nullable=False),
        sa.Column("applied_by", sa.String(63), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_policies"),
        sa.UniqueConstraint("name", "version", name="uq_policies_name_version"),
    )
    if op.get_bind().dialect.name == "postgresql":
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER policies_no_{event.lower()} BEFORE {event} ON policies "
                "FOR EACH ROW EXECUTE FUNCTION steward_immutable_row()"
            )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER policies_no_{event.lower()} BEFORE {event} ON policies "
                f"BEGIN SELECT RAISE(ABORT, 'policies rows are immutable: {event} refused'); END"
            )


def downgrade() -> None:
    for event in ("update", "delete"):
        if op.get_bind().dialect.name == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS policies_no_{event} ON policies")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS policies_no_{event}")
    op.drop_table("policies")
