"""Runs: tracked work with parameters, tags, artifacts, inputs and metric series.

Revision ID: 0003_runs
Revises: 0002_datasets
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_runs"
down_revision = "0002_datasets"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("parent_id", sa.String(32), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(63), nullable=False),
        sa.Column("started_at", sa.String(32), nullable=False),
        sa.Column("ended_at", sa.String(32), nullable=True),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("environment", sa.Text(), nullable=False),
        sa.Column("inputs", sa.Text(), nullable=False),
        sa.Column("artifacts", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(["parent_id"], ["runs.id"], name="fk_runs_parent_id"),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
    )
    op.create_index("ix_runs_parent_id", "runs", ["parent_id"])
    op.create_table(
        "run_metrics",
        sa.Column("id", _SEQ, autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("step", _SEQ, nullable=False),
        sa.Column("value", sa.Float(precision=53), nullable=False),
        sa.Column("ts", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_run_metrics_run_id"),
        sa.PrimaryKeyConstraint("id", name="pk_run_metrics"),
    )
    op.create_index("ix_run_metrics_run_id_key_step", "run_metrics", ["run_id", "key", "step"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION steward_sealed_run() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'DELETE' OR OLD.status <> 'running' THEN
                    RAISE EXCEPTION 'runs rows are immutable once finished: % refused', TG_OP;
                END IF;
                RETURN NEW;
            END
            $$
            """
        )
        op.execute(
            "CREATE TRIGGER runs_sealed BEFORE UPDATE OR DELETE ON runs "
            "FOR EACH ROW EXECUTE FUNCTION steward_sealed_run()"
        )
        op.execute(
            "CREATE TRIGGER run_metrics_immutable BEFORE UPDATE OR DELETE ON run_metrics "
            "FOR EACH ROW EXECUTE FUNCTION steward_immutable_row()"
        )
    else:
        op.execute(
            "CREATE TRIGGER runs_sealed BEFORE UPDATE ON runs WHEN OLD.status <> 'running' "
            "BEGIN SELECT RAISE(ABORT, 'runs rows are immutable once finished: UPDATE "
            "refused'); END"
        )
        op.execute(
            "CREATE TRIGGER runs_no_delete BEFORE DELETE ON runs BEGIN SELECT "
            "RAISE(ABORT, 'runs rows are immutable: DELETE refused'); END"
        )
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER run_metrics_no_{operation.lower()} BEFORE {operation} "
                f"ON run_metrics BEGIN SELECT RAISE(ABORT, 'run_metrics rows are immutable: "
                f"{operation} refused'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS run_metrics_immutable ON run_metrics")
        op.execute("DROP TRIGGER IF EXISTS runs_sealed ON runs")
        op.execute("DROP FUNCTION IF EXISTS steward_sealed_run()")
    else:
        for name in (
            "runs_sealed",
            "runs_no_delete",
            "run_metrics_no_update",
            "run_metrics_no_delete",
        ):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index("ix_run_metrics_run_id_key_step", table_name="run_metrics")
    op.drop_table("run_metrics")
    op.drop_index("ix_runs_parent_id", table_name="runs")
    op.drop_table("runs")
