"""Cadre (học viên) pages: dashboard, case player, discussion, group report, essay, grade."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("cadre", __name__, url_prefix="/cadre")
