"""Where an essay's possible sources come from (``caselab_similarity_sources``).

The similarity check (services/similarity.py) compares an essay with texts of three roles:

- ``ESSAY``: the course's essays. Each is checked in turn, they are compared both ways, and text
  that many of them share is boilerplate, never reuse. Only the built-in essays source gives them:
  the course index (similarity_index.py) counts them by their ids.
- ``REFERENCE``: texts an essay may copy from: the lecturer's lecture notes and legal texts, or a
  corpus another package brings (an earlier LMS's essays, a law database).
- ``EXCLUDE``: texts whose passages never count: the scenario itself, a template, quoted law.

A source answers with ``Candidate`` texts for a ``Scope``: one essay being checked, or a whole course
for its persisted index. Reports name a matched text by the source's ``name`` and the candidate's
``id``; ``document`` finds the text again for the side-by-side views. Built in (in
services/similarity.py, next to the queries they share): the course's essays, the lecturer's
reference and excluded texts, the assigned scenarios' own text.
"""
from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from .. import plugins

HOOK = "caselab_similarity_sources"
ESSAY, REFERENCE, EXCLUDE = "essay", "reference", "exclude"
SOURCE_ROLES = (ESSAY, REFERENCE, EXCLUDE)
ESSAYS = "essay"          # the one source whose candidates may be essays: keys "essay-<id>"
_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")       # no "-": a document key is "<name>-<id>"


@dataclass(frozen=True)
class Candidate:
    id: int                    # the source's own id of the text; reports point at it
    text: str
    role: str = REFERENCE      # ESSAY, REFERENCE or EXCLUDE
    title: str = ""            # how examiners see a reference named ("" for essays: "Bài thu hoạch #id")


@dataclass(frozen=True)
class Scope:
    """What the check needs texts for."""
    course_id: int
    essay: Any = None            # the essay being checked (an Essay row); None: the whole course, for its index
    after_id: int | None = None  # with an essay and a course index: only essays with a larger id (the rest
                                 # are in the index already); references and excluded texts are given anyway


@dataclass(frozen=True)
class Document:
    """A matched text as a report shows it."""
    text: str
    guarded: Any = None          # the row the policy judges before showing the whole text
                                 # (``similarity.source_text``: an Essay or a ReferenceText); None: anyone
                                 # reading the report reads it in full


class Source(ABC):
    """One place candidate texts come from; registered as an instance."""
    name: ClassVar[str]          # stable key: lower-case letters, digits, "_"; kept in stored reports
    title: ClassVar[str]         # Vietnamese msgid: what kind of text this is, for the examiner

    @abstractmethod
    def candidates(self, session: Session, scope: Scope) -> Iterable[Candidate]:
        """The texts to compare with. Read only what the scope needs: a check runs after every submission."""

    def document(self, session: Session, ident: int) -> Document | None:
        """The text behind a report's entry ``ident``; None: no longer there (the report shows it empty)."""
        return None


class SourceError(plugins.PluginError):
    pass


def sources() -> dict[str, Source]:
    """Every registered source by name, in the order plugins registered (read anew each time: cheap)."""
    found: dict[str, Source] = {}
    for source in plugins.collect(HOOK):
        if not isinstance(source, Source):
            raise SourceError(f"{source!r} is not a Source instance ({HOOK})")
        if not isinstance(getattr(source, "name", None), str) or not _NAME.fullmatch(source.name):
            raise SourceError(f"{type(source).__name__}: name must be lower-case letters, digits and '_'")
        if source.name in found:
            raise SourceError(f"two similarity sources claim the name '{source.name}'")
        found[source.name] = source
    return found


def checked(source: Source, candidate: Candidate) -> Candidate:
    """A candidate as the check may use it: a known role, an integer id, essays from the essays source only."""
    if candidate.role not in SOURCE_ROLES:
        raise SourceError(f"{source.name}: unknown role {candidate.role!r}")
    if candidate.role == ESSAY and source.name != ESSAYS:
        raise SourceError(f"{source.name}: only the '{ESSAYS}' source gives essays; give references instead")
    if not isinstance(candidate.id, int) or isinstance(candidate.id, bool):
        raise SourceError(f"{source.name}: candidate ids are integers")
    return candidate
