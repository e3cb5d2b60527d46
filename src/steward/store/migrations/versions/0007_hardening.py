"""Hardening: who issued each token; approvals bound to the model card and carrying the
approver's credentials (who vouched for the identity, which token, a reset); evidence
provenance (who computed it, with which code).

Revision ID: 0007_hardening
Revises: 0006_governance
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_hardening"
down_revision = "0006_governance"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_tokens", sa.Column("issued_by", sa.String(63), nullable=True))
    # A token issued before issuers were recorded came with its user (init, user add): its
    # issuer is the user's creator.
    op.execute(
        "UPDATE api_tokens SET issued_by = "
        "(SELECT created_by FROM users WHERE users.id = api_tokens.user_id)"
    )
    # Adding columns with defaults rewrites no row, so the immutability triggers stay quiet.
    op.add_column(
        "approvals", sa.Column("card_hash", sa.String(64), nullable=False, server_default="")
    )
    op.add_column(
        "approvals", sa.Column("vouchers", sa.Text(), nullable=False, server_default="[]")
    )
    op.add_column("approvals", sa.Column("token_id", sa.String(16), nullable=True))
    op.add_column("approvals", sa.Column("token_reset_by", sa.String(63), nullable=True))
    op.add_column(
        "evidence", sa.Column("provenance", sa.Text(), nullable=False, server_default="{}")
    )


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+) keeps the tables, and so their triggers.
    for table, column in (
        ("evidence", "provenance"),
        ("approvals", "token_reset_by"),
        ("approvals", "token_id"),
        ("approvals", "vouchers"),
        ("approvals", "card_hash"),
        ("api_tokens", "issued_by"),
    ):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
