"""A person as the pages show them: the view listings and essays hand to hosts instead of user rows."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..store import models as m


@dataclass(frozen=True)
class PersonView:
    id: int
    username: str
    display_name: str
    role: str
    province: str = ""
    commune: str = ""
    contact: str = ""
    active: bool = True
    must_change_password: bool = False


# the columns a PersonView is built from: listings of a cohort's 100,000 cadres select these, never whole rows
PERSON_COLUMNS = (m.User.id, m.User.username, m.User.display_name, m.User.role, m.User.province, m.User.commune,
                  m.User.contact, m.User.active, m.User.must_change_password)


def person_view(user: m.User) -> PersonView:
    return PersonView(user.id, user.username, user.display_name, user.role, user.province, user.commune,
                      user.contact, bool(user.active), bool(user.must_change_password))


def person_from_columns(row: Any) -> PersonView:
    """A PersonView from a result row of ``select(*PERSON_COLUMNS, ...)`` (the first nine columns)."""
    return PersonView(row[0], row[1], row[2], row[3], row[4], row[5], row[6], bool(row[7]), bool(row[8]))
