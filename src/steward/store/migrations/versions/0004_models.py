"""Models: editable model cards, immutable numbered versions (only the stage moves), and the
journal tuning studies are kept in.

Revision ID: 0004_models
Revises: 0003_runs
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_models"
down_revision = "0003_runs"
branch_labels = None
depends_on = None

# Every column of a version but ``stage``: these never change once written.
_FROZEN = "model_id, version, run_id, artifact, record, created_at, created_by, content_hash"


def upgrade() -> None:
    op.create_table(
        "models",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("owner", sa.String(63), nullable=False),
        sa.Column("risk_tier", sa.String(16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("intended_use", sa.Text(), nullable=False),
        sa.Column("limitations", sa.Text(), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(63), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_models"),
        sa.UniqueConstraint("name", name="uq_models_name"),
    )
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=True),
        sa.Column("artifact", sa.String(71), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(63), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.ForeignKeyConstraint(["model_id"], ["models.id"], name="fk_model_versions_model_id"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_model_versions_run_id"),
        sa.PrimaryKeyConstraint("id", name="pk_model_versions"),
        sa.UniqueConstraint("model_id", "version", name="uq_model_versions_model_id_version"),
    )
    op.create_index("ix_model_versions_run_id", "model_versions", ["run_id"])
    # trial runs are found by name (``STUDY trial N``)
    op.create_index("ix_runs_name", "runs", ["name"])
    op.create_table(
        "tuning_journal",
        sa.Column("study", sa.String(255), nullable=False),
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("log", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("study", "seq", name="pk_tuning_journal"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER model_versions_frozen BEFORE UPDATE OF {_FROZEN} ON model_versions "
            "FOR EACH ROW EXECUTE FUNCTION steward_immutable_row()"
        )
        op.execute(
            "CREATE TRIGGER model_versions_no_delete BEFORE DELETE ON model_versions "
            "FOR EACH ROW EXECUTE FUNCTION steward_immutable_row()"
        )
    else:
        op.execute(
            f"CREATE TRIGGER model_versions_frozen BEFORE UPDATE OF {_FROZEN} ON model_versions "
            "BEGIN SELECT RAISE(ABORT, 'model_versions rows are immutable but for their "
            "stage: UPDATE refused'); END"
        )
        op.execute(
            "CREATE TRIGGER model_versions_no_delete BEFORE DELETE ON model_versions "
            "BEGIN SELECT RAISE(ABORT, 'model_versions rows are immutable: DELETE refused'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS model_versions_frozen ON model_versions")
        op.execute("DROP TRIGGER IF EXISTS model_versions_no_delete ON model_versions")
    else:
        op.execute("DROP TRIGGER IF EXISTS model_versions_frozen")
        op.execute("DROP TRIGGER IF EXISTS model_versions_no_delete")
    op.drop_table("tuning_journal")
    op.drop_index("ix_runs_name", table_name="runs")
    op.drop_index("ix_model_versions_run_id", table_name="model_versions")
    op.drop_table("model_versions")
    op.drop_table("models")
