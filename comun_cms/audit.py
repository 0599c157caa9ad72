"""Audit log of admin actions: who, what, when, values before and after."""
from __future__ import annotations

from typing import Any, Iterable

from flask import current_app, has_request_context, request
from flask_login import current_user
from sqlalchemy import inspect as sa_inspect

from comun_cms.content_types import jsonable
from comun_cms.extensions import db
from comun_cms.models import AuditEvent

#: Columns left out of a snapshot unless a model names them in ``__audit_fields__``.
SNAPSHOT_SKIP = frozenset({"tenant_id", "created_at", "updated_at"})


def snapshot(record: Any, fields: Iterable[str] | None = None) -> dict[str, Any] | None:
    """The audit snapshot of a row: ``{field: JSON-safe value}``.

    Args:
        record: a mapped model instance (``None`` gives ``None``).
        fields: attribute names to include. Default: the model's ``__audit_fields__`` when it
            declares one, else every mapped column except ``tenant_id``, ``created_at`` and
            ``updated_at``.

    Returns:
        A dict whose values went through :func:`comun_cms.content_types.jsonable` (datetimes as
        ISO 8601 UTC strings); values with no JSON form are given as their ``str()``.
    """
    if record is None:
        return None
    if fields is None:
        fields = getattr(record, "__audit_fields__", None)
    if fields is None:
        mapper = sa_inspect(type(record), raiseerr=False)
        if mapper is None:
            raise TypeError(f"{type(record).__name__} is not a mapped model; give the fields to snapshot")
        fields = [attr.key for attr in mapper.column_attrs if attr.key not in SNAPSHOT_SKIP]
    out: dict[str, Any] = {}
    for name in fields:
        value = getattr(record, name, None)
        try:
            out[name] = jsonable(value)
        except TypeError:
            out[name] = str(value)
    return out


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


def action_labels() -> dict[str, str]:
    """``{code: label}`` merged from every installed plugin's ``audit_labels`` (the first
    plugin to name a code wins; the core's defaults come last) and the content types' labels
    (for object types nobody named)."""
    state = current_app.extensions["comun"]
    labels: dict[str, str] = {}
    for result in state.pm.hook.audit_labels():
        for code, label in (result or {}).items():
            labels.setdefault(code, str(label))
    for ct in state.content_types:
        labels.setdefault(ct.name, str(ct.label))
    return labels


def action_label(action: str, labels: dict[str, str] | None = None) -> str:
    """The name of audit action ``action`` (``"<object>.<verb>"``) in the user's language:
    the whole action's label when a plugin gives one, else ``"<object>: <verb>"`` from the
    labels of its parts (:func:`action_labels`; give ``labels`` to reuse them in a loop). A
    part nobody names stays as its code, which the i18n page test reports."""
    labels = action_labels() if labels is None else labels
    if action in labels:
        return labels[action]
    obj, _sep, verb = action.rpartition(".")
    if not obj:
        return labels.get(verb, verb)
    return "%s: %s" % (labels.get(obj, obj), labels.get(verb, verb))
