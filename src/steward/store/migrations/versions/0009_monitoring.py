"""Monitoring: monitor documents and alert states (both immutable).

Revision ID: 0009_monitoring
Revises: 0008_serving
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_monitoring"
down_revision = "0008_serving"
branch_labels = None
depends_on = None

_IMMUTABLE = ("monitors", "alert_states")


def upgrade() -> None:
    op.create_table(
        "monitors",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("endpoint", sa.String(63), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(63), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_monitors"),
        sa.UniqueConstraint("name", "version", name="uq_monitors_name_version"),
    )
    op.create_table(
        "alert_states",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("alert", sa.String(32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("monitor", sa.String(80), nullable=False),
        sa.Column("endpoint", sa.String(63), nullable=False),
        sa.Column("version", sa.String(80), nullable=False),
        sa.Column("rule", sa.String(63), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("evidence", sa.String(32), nullable=False),
        sa.Column("actions", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(63), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alert_states"),
        sa.UniqueConstraint("alert", "seq", name="uq_alert_states_alert_seq"),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in _IMMUTABLE:
        for event in ("UPDATE", "DELETE"):
            name = f"{table}_no_{event.lower()}"
            if postgres:
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
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in _IMMUTABLE:
        for event in ("update", "delete"):
            if postgres:
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{event} ON {table}")
            else:
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{event}")
    op.drop_table("alert_states")
    op.drop_table("monitors")
