"""Alembic environment: migrations run on a connection handed in by prtrace.

prtrace runs ``alembic upgrade head`` itself on every start
(:func:`prtrace.backend.storage.migrate.upgrade`), so this file expects the connection in
``config.attributes["connection"]`` and never opens one of its own.
"""

from alembic import context

from prtrace.backend.storage.db import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
