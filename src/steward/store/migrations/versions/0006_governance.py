"""Governance: approvals and rejections, waivers, comments (all immutable), webhooks and
their delivery log.

Revision ID: 0006_governance
Revises: 0005_policies
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_governance"
down_revision = "0005_policies"
branch_labels = None
depends_on = None

_IMMUTABLE = ("approvals", "waivers", "comments")


def upgrade() -> None:
    op.create_table(
        "approvals",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("user_name", sa.String(63), nullable=False),
        sa.Column("roles", sa.Text(), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("artifact", sa.String(71), nullable=False),
        sa.Column("evidence_hash", sa.String(64), nullable=False),
        sa.Column("policy_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_approvals"),
    )
    op.create_index("ix_approvals_subject", "approvals", ["subject"])
    op.create_table(
        "waivers",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("rule", sa.String(255), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("granted_by", sa.String(63), nullable=False),
        sa.Column("expires_at", sa.String(32), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_waivers"),
    )
    op.create_index("ix_waivers_subject", "waivers", ["subject"])
    op.create_table(
        "comments",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("user_name", sa.String(63), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_comments"),
    )
    op.create_index("ix_comments_subject", "comments", ["subject"])
    op.create_table(
        "webhooks",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("events", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(63), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_webhooks"),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("webhook_id", sa.String(32), nullable=False),
        sa.Column("event", sa.String(63), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.String(32), nullable=False),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("delivered_at", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(
            ["webhook_id"], ["webhooks.id"], name="fk_webhook_deliveries_webhook_id"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
    )
    op.create_index("ix_webhook_deliveries_state", "webhook_deliveries", ["state"])
    for table in _IMMUTABLE:
        for event in ("UPDATE", "DELETE"):
            name = f"{table}_no_{event.lower()}"
            if op.get_bind().dialect.name == "postgresql":
                op.execute(
                    f"CREATE TRIGGER {name} BEFORE {event} ON {table} "
                    "FOR EACH ROW EXECUTE FUNCTION steward_immutable_row()"
                )
            else:
                op.execute(
                    f"CREATE TRIGGER {name} BEFORE {event} ON {table} BEGIN SELECT "
                    f"RAISE(ABORT, '{table} rows are immutable: {event} refused'); END"
                )


def downgrade() -> None:
    for table in _IMMUTABLE:
        for event in ("update", "delete"):
            if op.get_bind().dialect.name == "postgresql":
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{event} ON {table}")
            else:
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{event}")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhooks")
    for table in _IMMUTABLE:
        op.drop_index(f"ix_{table}_subject", table_name=table)
        op.drop_table(table)
