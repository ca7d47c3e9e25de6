"""Organiser/admin pages: cohorts, groups, roster import, accounts, exports."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
