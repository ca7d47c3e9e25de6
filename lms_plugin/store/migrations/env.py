"""Alembic environment: the engine comes from lms_plugin.store.db (``caselab db upgrade`` hands it over), else from
the settings (CASELAB_DATABASE_URL)."""
from alembic import context

from lms_plugin.settings import Settings
from lms_plugin.store.db import make_engine
from lms_plugin.store.models import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:
    settings = Settings.load()
    engine = make_engine(settings.database_url, sqlite_busy_ms=settings.sqlite_busy_ms)

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
