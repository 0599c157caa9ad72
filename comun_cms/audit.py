"""Audit log of admin actions: who, what, when, values before and after."""
from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from flask_login import current_user

from comun_cms.content_types import jsonable
from comun_cms.extensions import db
from comun_cms.models import AuditEvent


def record_audit(action: str, object_type: str = "", object_id: Any = "", before: Any = None,
                 after: Any = None, user=None) -> AuditEvent:
    """Add an :class:`AuditEvent` for the current tenant to the session (committed with the change).

    Args:
        action: short verb, e.g. ``"page.publish"``, ``"user.invite"``.
        object_type / object_id: what was acted on.
        before / after: JSON-able snapshots (``None`` when not applicable).
        user: actor (default: the logged-in user; ``None`` for the CLI).
    """
    actor = user if user is not None else (current_user if has_request_context() and current_user.is_authenticated else None)
    event = AuditEvent(action=action, object_type=object_type, object_id=str(object_id or ""),
                       before=jsonable(before), after=jsonable(after),
                       user_id=getattr(actor, "id", None), actor=getattr(actor, "email", "cli") or "cli",
                       ip=(request.remote_addr or "") if has_request_context() else "")
    db.session.add(event)
    return event
