"""The Celery worker's host: ``celery -A lms_plugin.worker worker``.

It loads every service that declares background tasks, then hands Celery the
application services/jobs.py builds from them. Messages carry ids only; the
worker opens the database its own settings name (CASELAB_DATABASE_URL).
"""
from __future__ import annotations

from .services import jobs, similarity

# the services whose import declares tasks (similarity: checks, rechecks, index rebuilds and updates): load them first
TASK_MODULES = (similarity,)
app = jobs.celery_app()
