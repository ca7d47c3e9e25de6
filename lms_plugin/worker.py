"""The Celery worker's host: ``celery -A lms_plugin.worker worker``.

It loads every service that declares background tasks, then hands Celery the
application services/jobs.py builds from them. Messages carry ids only; the
worker opens the database its own settings name (CASELAB_DATABASE_URL).
"""
from __future__ import annotations

from .services import jobs, roster_imports, similarity

# the services whose import declares tasks (similarity: checks, rechecks, index rebuilds and updates; roster_imports:
# the web's roster imports): load them first
TASK_MODULES = (similarity, roster_imports)
app = jobs.celery_app()
