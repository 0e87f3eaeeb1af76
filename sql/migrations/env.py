"""Alembic environment: migrations run on the connection newsdesk hands over."""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    version_table="alembic_version",
    version_table_schema="newsdesk",
)
with context.begin_transaction():
    context.run_migrations()
