"""The audit log: who did what to which record. Nothing is deleted; hiding and grading leave a trace."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ..store import models as m


def record(session: Session, actor_id: int | None, action: str, target_type: str, target_id: Any,
           **details: Any) -> None:
    session.add(m.AuditEvent(actor_id=actor_id, action=action, target_type=target_type,
                             target_id=str(target_id), details=details))
