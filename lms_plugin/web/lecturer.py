"""Lecturer (giảng viên) pages: catalogue, scenario editor and upload, preview, assignments, moderation, progress, release."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("lecturer", __name__, url_prefix="/lecturer")
