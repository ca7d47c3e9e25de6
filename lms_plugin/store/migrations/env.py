"""Alembic environment: the engine comes from lms_plugin.store.db (or CASELAB_DATABASE_URL)."""
from alembic import context

from lms_plugin.store.db import make_engine
from lms_plugin.store.models import Base

config = context.config
engine = config.attributes.get("engine") or make_engine()

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
