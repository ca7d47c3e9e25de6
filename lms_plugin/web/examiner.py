"""Examiner (giám khảo) pages: the blind marking queue and the marking form."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("examiner", __name__, url_prefix="/examiner")
