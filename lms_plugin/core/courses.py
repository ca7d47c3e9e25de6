"""Courses and their topics: data, so another course brings its own topics."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    id: int | str
    title: str
    description: str = ""


@dataclass(frozen=True)
class Course:
    id: str
    title: str
    topics: tuple[Topic, ...]
    description: str = ""

    def topic(self, topic_id: int | str) -> Topic | None:
        return next((t for t in self.topics if str(t.id) == str(topic_id)), None)
