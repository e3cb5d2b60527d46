"""Alembic environment: Steward always passes an open connection; it never reads alembic.ini."""

from __future__ import annotations

from alembic import context

from steward.store._schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
