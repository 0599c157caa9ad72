"""The one publish / correct / retract workflow every content type goes through.

* :func:`publish` freezes a draft as version 1.
* :func:`correct` freezes the record's current content as a new version that points to the
  previous one, with a reason. Published records are never edited in place: admin forms call
  this when saving a published record.
* :func:`retract` publishes a retraction (version n+1, content ``null``) with a reason.

Each version is a :class:`~comun_cms.models.Publication` with the RFC 8785 canonical JSON of
the content and its SHA-256. The ``on_publish`` hook runs inside the same transaction: if any
listener raises, everything is rolled back and :class:`PublishError` is raised.

Sources: RFC 8785 (JSON Canonicalization Scheme), FIPS 180-4 (SHA-256).
"""
from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import rfc8785
from flask import current_app
from flask_babel import gettext as _
from markupsafe import Markup, escape
from sqlalchemy import select

from comun_cms.content_types import content_type_for, jsonable
from comun_cms.extensions import db
from comun_cms.hooktypes import ContentType, DemoContext, PublishEvent
from comun_cms.models import Publication, User, utcnow
from comun_cms.pagecache import bump_generation
from comun_cms.plugins import tenant_hook
from comun_cms.tenancy import TenantIsolationError, get_current_tenant

__all__ = ["ACTIONS", "FORMAT", "FieldChange", "PublishError", "PublishEvent", "canonical_bytes", "canonical_content",
           "correct", "diff_publications", "history", "latest_publication", "publish", "retract", "sha256_hex"]

FORMAT = "comun-record/1"
ACTIONS = ("publish", "correct", "retract")


class PublishError(Exception):
    """Publishing failed; nothing was stored. ``str(error)`` explains why (user-facing)."""


def canonical_content(record: Any, content_type: ContentType, tenant_slug: str, version: int,
                      action: str, reason: str = "") -> dict:
    """Build the content document frozen at publication.

    Returns ``{"format", "tenant", "content_type", "record_id", "version", "action", "reason",
    "is_demo", "content", "attachments"}``; ``content`` is ``None`` for a retraction and
    ``attachments`` lists ``{id, filename, title, mimetype, size (bytes), sha256}`` so the
    content hash covers every evidence file.
    """
    retract = action == "retract"
    attachments = [] if retract else sorted((a.describe() for a in content_type.attachments(record)),
                                            key=lambda a: (a["sha256"], a["id"]))
    return {
        "format": FORMAT,
        "tenant": tenant_slug,
        "content_type": content_type.name,
        "record_id": str(record.id),
        "version": version,
        "action": action,
        "reason": reason,
        "is_demo": bool(getattr(record, "is_demo", False)),
        "content": None if retract else jsonable(content_type.serialize(record)),
        "attachments": jsonable(attachments),
    }


def canonical_bytes(document: dict) -> bytes:
    """Return the RFC 8785 canonical JSON bytes of ``document``."""
    return rfc8785.dumps(document)


def sha256_hex(data: bytes) -> str:
    """Return the lowercase hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def latest_publication(content_type: str, record_id: Any) -> Publication | None:
    """Return the newest publication of a record in the current tenant, or ``None``."""
    return db.session.scalars(
        select(Publication).where(Publication.content_type == content_type,
                                  Publication.record_id == str(record_id))
        .order_by(Publication.version.desc()).limit(1)).first()


def history(content_type: str, record_id: Any) -> list[Publication]:
    """Return every publication of a record in the current tenant, oldest first."""
    return list(db.session.scalars(
        select(Publication).where(Publication.content_type == content_type,
                                  Publication.record_id == str(record_id))
        .order_by(Publication.version)))


def _do(record: Any, action: str, reason: str, user: User | None, commit: bool) -> Publication:
    tenant = get_current_tenant()
    if tenant is None:
        raise PublishError(_("No current tenant."))
    if getattr(record, "tenant_id", None) not in (None, tenant.slug):
        raise TenantIsolationError("cannot publish another tenant's record")
    ct = content_type_for(record)
    session = db.session
    try:
        status = record.status or "draft"  # column default applies at flush time
        if action == "publish" and status != "draft":
            raise PublishError(_("The record is already published; publish a correction instead."))
        if action in ("correct", "retract"):
            if status != "published":
                raise PublishError(_("Only a published record can be corrected or retracted."))
            if not reason or not reason.strip():
                raise PublishError(_("A reason is required."))
        if record.id is None:
            session.add(record)
            session.flush()
        previous = latest_publication(ct.name, record.id) if action != "publish" else None
        version = (previous.version if previous else 0) + 1
        now = utcnow()
        doc = canonical_content(record, ct, tenant.slug, version, action, reason.strip())
        data = canonical_bytes(doc)
        pub = Publication(
            content_type=ct.name, record_id=str(record.id), version=version, action=action,
            reason=reason.strip(), title=str(ct.title(record))[:300], canonical_json=data.decode("utf-8"),
            sha256=sha256_hex(data), published_at=now, published_by_id=user.id if user else None,
            previous_id=previous.id if previous else None, is_demo=bool(getattr(record, "is_demo", False)),
        )
        if previous is not None:
            previous.is_current = False
        session.add(pub)
        record.version = version
        record.published_at = now
        if action == "publish":
            record.first_published_at = now
            record.status = "published"
        elif action == "retract":
            record.status = "retracted"
        if action != "retract":
            for att in ct.attachments(record):
                att.public = True
        session.flush()
        tenant_hook(tenant, "on_publish")(event=PublishEvent(pub, record, ct, tenant, action, previous))
        bump_generation(tenant.slug)  # public pages of the tenant (and the portal) change with this commit
        session.flush()
        if commit:
            session.commit()
        return pub
    except PublishError:
        session.rollback()
        raise
    except Exception as exc:
        # the details (SQL, plugin internals) go to the log, not to the editor's screen
        current_app.logger.exception("publication of %s %s failed", ct.name, record.__dict__.get("id", "(new)"))
        session.rollback()
        raise PublishError(_("The publication failed and nothing was stored. Try again; if it fails again, "
                             "tell the platform administrators.")) from exc


def publish(record: Any, *, user: User | None = None, commit: bool = True) -> Publication:
    """Publish a draft record as version 1.

    Args:
        record: a draft instance of a registered content type's model, in the current tenant.
        user: who publishes (stored on the publication).
        commit: commit the transaction (``False`` lets a caller batch several publications;
            the caller then commits or rolls back).

    Returns:
        The new :class:`Publication`.

    Raises:
        PublishError: not a draft, or an ``on_publish`` listener failed (nothing stored).
        TenantIsolationError: the record belongs to another tenant.
    """
    return _do(record, "publish", "", user, commit)


def correct(record: Any, *, reason: str, user: User | None = None, commit: bool = True) -> Publication:
    """Publish the record's current (edited) content as a new version with ``reason``.

    Raises:
        PublishError: record not published, empty reason, or a listener failed.
    """
    return _do(record, "correct", reason, user, commit)


def retract(record: Any, *, reason: str, user: User | None = None, commit: bool = True) -> Publication:
    """Publish a retraction of ``record`` with ``reason``; the record shows as retracted.

    Raises:
        PublishError: record not published, empty reason, or a listener failed.
    """
    return _do(record, "retract", reason, user, commit)


#: Demo loaders and training scenarios publish through ``DemoContext.publish`` (the value types
#: live in a leaf module that cannot import this one).
DemoContext.publisher = publish


def _flatten(value: Any, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(value, list):
        if all(not isinstance(v, (dict, list)) for v in value):
            out[prefix] = ", ".join("" if v is None else str(v) for v in value)
        else:
            for i, v in enumerate(value):
                out.update(_flatten(v, f"{prefix}[{i}]"))
    else:
        out[prefix] = "" if value is None else str(value)
    return out


@dataclass(frozen=True)
class FieldChange:
    """One changed field between two versions: dotted ``field`` path, ``old`` and ``new`` text,
    and ``html``: a word-level diff with ``<del>``/``<ins>`` (escaped, safe to render)."""

    field: str
    old: str
    new: str
    html: Markup


def diff_publications(old: Publication, new: Publication) -> list[FieldChange]:
    """Compare the content of two versions field by field.

    Returns the changed fields (added, removed or modified), in field order. Metadata (version,
    action, reason) is left out; attachments are compared as content.
    """
    a, b = json.loads(old.canonical_json), json.loads(new.canonical_json)
    fa = _flatten({"content": a.get("content"), "attachments": a.get("attachments")})
    fb = _flatten({"content": b.get("content"), "attachments": b.get("attachments")})
    changes = []
    for key in sorted(set(fa) | set(fb)):
        va, vb = fa.get(key, ""), fb.get(key, "")
        if va == vb:
            continue
        wa, wb = va.split(" "), vb.split(" ")
        parts = []
        for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=wa, b=wb, autojunk=False).get_opcodes():
            if op == "equal":
                parts.append(escape(" ".join(wa[i1:i2])))
            if op in ("delete", "replace"):
                parts.append(Markup("<del>%s</del>") % " ".join(wa[i1:i2]))
            if op in ("insert", "replace"):
                parts.append(Markup("<ins>%s</ins>") % " ".join(wb[j1:j2]))
        changes.append(FieldChange(key.removeprefix("content."), va, vb, Markup(" ").join(parts)))
    return changes
