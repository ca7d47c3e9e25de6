"""API for organisers: the accounts they manage, searched, filtered and paged by a cursor."""
from __future__ import annotations

import base64
import binascii

from flask import request

from ..schemas import accounts as s
from ..services import account_admin
from ..services.errors import Invalid
from .api_core import endpoint, me, query_int
from .session import db_session

_STRING = {"type": "string"}


def _cursor_in(raw: str | None) -> str | None:
    if not raw:
        return None
    try:
        padded = raw.encode("ascii") + b"=" * (-len(raw) % 4)
        return base64.b64decode(padded, altchars=b"-_", validate=True).decode("utf-8") or None
    except (binascii.Error, UnicodeError, ValueError):
        raise Invalid("Tham số %(name)s không hợp lệ", {"cursor": ["invalid"]}, name="cursor") from None


def _cursor_out(username: str | None) -> str | None:
    return base64.urlsafe_b64encode(username.encode("utf-8")).decode("ascii").rstrip("=") if username else None


@endpoint("/accounts", roles=("admin",), tag="accounts", errors=(422,),
          summary="The accounts an organiser manages (a provincial organiser: their province's), in username "
                  "order, a page at a time",
          query={"q": ("Name, username, contact or e-mail contains this (marks and case ignored; 2 characters "
                       "or more)", _STRING),
                 "role": ("cadre, lecturer, examiner or admin", _STRING),
                 "province": ("Exactly this province", _STRING),
                 "commune": ("The commune starts with this (marks and case ignored)", _STRING),
                 "status": ("active or inactive", _STRING),
                 "cohort": "Members of this cohort (id)",
                 "cursor": ("`next_cursor` of the previous page", _STRING),
                 "limit": f"Accounts per page (default {account_admin.PAGE}, at most {account_admin.MAX_PAGE})"},
          responses={200: s.AccountPageSchema})
def list_accounts():
    wanted = account_admin.AccountFilter.of(request.args)
    limit = query_int("limit") or account_admin.PAGE
    if limit > account_admin.MAX_PAGE:
        raise Invalid("Tham số %(name)s vượt quá %(max)s", {"limit": ["out of range"]}, name="limit",
                      max=account_admin.MAX_PAGE)
    page = account_admin.list_accounts(db_session(), me(), wanted, after=_cursor_in(request.args.get("cursor")),
                                       limit=limit)
    return {"accounts": page.rows, "next_cursor": _cursor_out(page.after)}
