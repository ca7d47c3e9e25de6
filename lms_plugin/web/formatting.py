"""How every page shows times, Markdown and data tables (one place for all areas)."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from flask import Flask

from ..sanitize import render_markdown
from ..services.content import attachment_table

LOCAL_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")   # deadlines are typed and read in Vietnam time
MAX_CSV_ROWS = 500                          # longer tables are offered as a download only


def local_time(moment: datetime | None, fmt: str = "%H:%M %d/%m/%Y") -> str:
    """A stored time (the store hands back aware UTC) in Vietnam time, whatever zone the server runs in."""
    if moment is None:
        return ""
    return moment.astimezone(LOCAL_ZONE).strftime(fmt)


def to_utc(local: datetime | None) -> datetime | None:
    """A time typed in a datetime-local field (Vietnam time) as UTC."""
    return local.replace(tzinfo=LOCAL_ZONE).astimezone(timezone.utc) if local else None


def csv_table(attachment) -> list[list[str]] | None:
    """A CSV attachment as rows to show inline, or None when it is not a (short, readable) CSV."""
    return attachment_table(attachment, MAX_CSV_ROWS)


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(md=render_markdown, local_time=local_time)
