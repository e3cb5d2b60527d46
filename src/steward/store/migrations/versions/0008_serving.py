"""Serving: endpoint deployment states (immutable) and ground-truth labels of logged
predictions.

Revision ID: 0008_serving
Revises: 0007_hardening
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_serving"
down_revision = "0007_hardening"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("endpoint", sa.String(63), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("routes", sa.Text(), nullable=False),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("restores", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(63), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_deployments"),
        sa.UniqueConstraint("endpoint", "seq", name="uq_deployments_endpoint_seq"),
    )
    op.create_table(
        "prediction_labels",
        sa.Column("endpoint", sa.String(63), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.String(32), nullable=False),
        sa.Column("recorded_by", sa.String(63), nullable=False),
        sa.PrimaryKeyConstraint("endpoint", "request_id", name="pk_prediction_labels"),
    )
    for event in ("UPDATE", "DELETE"):
        name = f"deployments_no_{event.lower()}"
        if op.get_bind().dialect.name == "postgresql":
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {event} ON deployments "
                "FOR EACH ROW EXECUTE FUNCTION steward_immutable_row()"
            )
        else:
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {event} ON deployments BEGIN SELECT "
                f"RAISE(ABORT, 'deployments rows are immutable: {event} refused'); END"
            )


def downgrade() -> None:
    for event in ("update", "delete"):
        if op.get_bind().dialect.name == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS deployments_no_{event} ON deployments")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS deployments_no_{event}")
    op.drop_table("prediction_labels")
    op.drop_table("deployments")
