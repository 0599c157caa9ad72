"""The one way an admin view writes: change + audit event + commit or rollback + message.

Every admin form of the core and of the plugins stores its change through
:func:`admin_change`::

    with admin_change("stl_body.publish", body, success=_("Body published.")) as change:
        publish(body, user=current_user, commit=False)
    if change.failed:
        return render_again(form, 422)        # the error is on the form or flashed
    return redirect(url_for(".body", body_id=body.id), code=303)

Inside the block the view changes rows (add, edit, publish with ``commit=False``). When the
block ends normally the session is flushed, an :class:`~comun_cms.models.AuditEvent` is added
(``before`` taken when the block starts, ``after`` when it ends, both with
:func:`comun_cms.audit.snapshot` unless given) and the transaction commits once: nothing is half
written. When the block raises one of the *expected* errors (a :class:`ChangeRefused`, a
``PublishError``, an ``UploadError`` or any error listed in ``errors``) the whole transaction is
rolled back and the error's message goes to the form (``form.form_errors``) or, without a form,
to a flash message; the exception is swallowed and ``change.failed`` is true. Any other
exception rolls back and propagates (a 500 the operator sees in the log).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, Iterator

from flask import flash, has_request_context
from sqlalchemy import inspect as sa_inspect

from comun_cms.audit import record_audit, snapshot
from comun_cms.extensions import db
from comun_cms.pagecache import bump_generation
from comun_cms.publishing import PublishError
from comun_cms.tenancy import get_current_tenant
from comun_cms.uploads import UploadError

__all__ = ["AdminChange", "ChangeRefused", "admin_change"]

_UNSET: Any = object()


class ChangeRefused(Exception):
    """Raise inside :func:`admin_change` to refuse the change with a user-facing message
    (``str(exc)``): everything done in the block is rolled back.

    ``field``: optional name of the form field the message belongs to (shown next to it).
    """

    def __init__(self, message: Any, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field


@dataclass
class AdminChange:
    """State of one :func:`admin_change` block.

    ``action``: audit action (``"page.publish"``); ``record``: the row acted on (may be set
    inside the block, e.g. after creating it); ``object_type`` / ``object_id``: what the audit
    event names (default: the record's table name and id after the flush); ``before`` /
    ``after``: the audit snapshots (set ``after`` inside the block to record something else
    than the record's snapshot, e.g. publication hashes); ``error``: the expected error that
    refused the change, else ``None``.
    """

    action: str
    record: Any = None
    object_type: str | None = None
    object_id: Any = None
    before: Any = None
    after: Any = _UNSET
    error: BaseException | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        """``True`` when the change was refused and rolled back."""
        return self.error is not None

    @property
    def ok(self) -> bool:
        """``True`` when the change was committed."""
        return self.error is None


def _object_type(record: Any) -> str:
    table = getattr(record, "__tablename__", None)
    return str(table or type(record).__name__.lower())


@contextlib.contextmanager
def admin_change(action: str, record: Any = None, *, object_type: str | None = None, object_id: Any = None,
                 before: Any = _UNSET, success: Any = None, form: Any = None,
                 errors: tuple[type[BaseException], ...] = ()) -> Iterator[AdminChange]:
    """Run an admin write as one transaction with its audit event.

    Args:
        action: audit action, ``"<object>.<verb>"`` (``"commitment.update"``).
        record: the row changed; its :func:`~comun_cms.audit.snapshot` is the audit ``before``
            (unless ``before`` is given, or the record is new) and ``after``.
        object_type / object_id: override what the audit event names (default: the record's
            table name and primary key, read after the flush so new rows have their id).
        before: the audit ``before`` value (default: snapshot of ``record`` when it is already
            stored, else ``None``).
        success: message flashed (category ``success``) once the change is committed.
        form: a WTForms form; refusal messages are added to ``form.form_errors`` (or to the
            field a :class:`ChangeRefused` names) instead of being flashed.
        errors: more exception classes to treat as expected refusals (their ``str()`` is the
            user-facing message), besides :class:`ChangeRefused`, ``PublishError`` and
            ``UploadError``.

    Yields:
        :class:`AdminChange`; after the block check ``change.failed`` / ``change.ok``.

    Raises:
        Whatever unexpected exception the block raised, after rolling the transaction back.
    """
    if before is _UNSET:
        persistent = record is not None and sa_inspect(record, raiseerr=False) is not None \
            and sa_inspect(record).persistent
        before = snapshot(record) if persistent else None
    change = AdminChange(action=action, record=record, object_type=object_type, object_id=object_id, before=before)
    expected = (ChangeRefused, PublishError, UploadError) + tuple(errors)
    try:
        yield change
        db.session.flush()
        target = change.record
        after = change.after
        if after is _UNSET:
            after = snapshot(target) if target is not None else None
        oid = change.object_id if change.object_id is not None else getattr(target, "id", "")
        otype = change.object_type or (_object_type(target) if target is not None else "")
        record_audit(action, otype, oid, change.before, after)
        tenant = get_current_tenant()
        if tenant is not None:  # settings, menus, drafts...: whatever may show on public pages
            bump_generation(tenant.slug)
        db.session.commit()
    except expected as exc:
        db.session.rollback()
        change.error = exc
        _report(exc, form)
    except BaseException:
        db.session.rollback()
        raise
    else:
        if success is not None and has_request_context():
            flash(success, "success")


def _report(exc: BaseException, form: Any) -> None:
    """Show a refused change's message on ``form`` (its field when named) or as a flash."""
    # str(): a lazy gettext string has __html__, so left lazy it would reach the page unescaped
    message = str(getattr(exc, "message", None) or exc)
    if form is not None:
        field_name = getattr(exc, "field", None)
        target = getattr(form, field_name, None) if field_name else None
        if target is not None:
            target.errors = list(target.errors or []) + [message]
        else:
            form.form_errors.append(message)
    elif has_request_context():
        flash(message, "error")
