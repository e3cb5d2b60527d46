"""Foundation: users, roles, API tokens, the append-only ledger and its signed head.

Revision ID: 0001_foundation
Revises:
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0001_foundation"
down_revision = None
branch_labels = None
depends_on = None

_APPEND_ONLY = "the audit ledger is append-only"
# Migrations are frozen history: they spell out what they need instead of importing it.
_EMPTY_ROOT = hashlib.sha256(b"").digest()


def upgrade() -> None:
    seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(63), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("name", name="uq_users_name"),
    )
    op.create_table(
        "user_roles",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_user_roles_user_id", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "role", name="pk_user_roles"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_api_tokens_user_id", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])
    op.create_table(
        "ledger_events",
        sa.Column("seq", seq, nullable=False, autoincrement=False),
        sa.Column("ts", sa.String(32), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(63), nullable=False),
        sa.Column("subject", sa.String(255), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_ledger_events"),
    )
    op.create_index("ix_ledger_events_type", "ledger_events", ["type"])
    op.create_index("ix_ledger_events_subject", "ledger_events", ["subject"])
    head = op.create_table(
        "ledger_head",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("tree_size", seq, nullable=False),
        sa.Column("root_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("frontier", sa.LargeBinary(), nullable=False),
        sa.Column("timestamp", sa.String(32), nullable=True),
        sa.Column("key_id", sa.String(64), nullable=True),
        sa.Column("signature", sa.LargeBinary(64), nullable=True),
        sa.Column("mac", sa.LargeBinary(32), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_head"),
        sa.CheckConstraint("id = 1", name="ck_ledger_head_single_row"),
    )
    # The head row exists from the start, so concurrent first appends lock the same row.
    op.bulk_insert(head, [{"id": 1, "tree_size": 0, "root_hash": _EMPTY_ROOT, "frontier": b""}])

    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION steward_ledger_append_only() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{_APPEND_ONLY}: % refused', TG_OP;
            END
            $$
            """
        )
        op.execute(
            "CREATE TRIGGER ledger_events_append_only BEFORE UPDATE OR DELETE ON ledger_events "
            "FOR EACH ROW EXECUTE FUNCTION steward_ledger_append_only()"
        )
        op.execute(
            "CREATE TRIGGER ledger_events_no_truncate BEFORE TRUNCATE ON ledger_events "
            "FOR EACH STATEMENT EXECUTE FUNCTION steward_ledger_append_only()"
        )
    else:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER ledger_events_no_{operation.lower()} BEFORE {operation} "
                f"ON ledger_events BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}: "
                f"{operation} refused'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ledger_events_no_truncate ON ledger_events")
        op.execute("DROP TRIGGER IF EXISTS ledger_events_append_only ON ledger_events")
        op.execute("DROP FUNCTION IF EXISTS steward_ledger_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS ledger_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS ledger_events_no_delete")
    op.drop_table("ledger_head")
    op.drop_index("ix_ledger_events_subject", table_name="ledger_events")
    op.drop_index("ix_ledger_events_type", table_name="ledger_events")
    op.drop_table("ledger_events")
    op.drop_index("ix_api_tokens_user_id", table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_table("user_roles")
    op.drop_table("users")
