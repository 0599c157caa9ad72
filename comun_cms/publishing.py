"""The one publish / correct / retract workflow every content type goes through.

* :func:`publish` freezes a draft as version 1.
* :func:`correct` freezes the record's current content as a new version that points to the
  previous one, with a reason. Published records are never edited in place: admin forms call
  this when saving a published record.
* :func:`retract` publishes a retraction (version n+1, content ``null``) with a reason: the
  record is withdrawn but every earlier version stays public in its history.
* :func:`redact` publishes a redaction (version n+1, action ``redact``) with a legal basis and
  removes the content of earlier versions: of one version (scope ``version``) or of every version
  and the record itself (scope ``record``). The redacted versions keep their SHA-256 (the notary
  log still audits) but their canonical JSON becomes a stub without content, their files are
  deleted (URLs answer 410 Gone) and public pages show a tombstone with the legal basis.

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
from sqlalchemy import delete, select

from comun_cms.content_types import content_type_for, jsonable
from comun_cms.extensions import db
from comun_cms.hooktypes import ContentType, DemoContext, PublishEvent
from comun_cms.models import Attachment, AuditEvent, Draft, Publication, SubscriptionItem, User, utcnow
from comun_cms.pagecache import bump_generation
from comun_cms.uploads import stored_path, thumbnail_path
from comun_cms.plugins import tenant_hook
from comun_cms.tenancy import TenantIsolationError, all_tenants, get_current_tenant

__all__ = ["ACTIONS", "FORMAT", "REDACTION_SCOPES", "FieldChange", "PublishError", "PublishEvent", "canonical_bytes",
           "canonical_content", "correct", "delete_redacted_files", "diff_publications", "history", "is_withdrawn",
           "latest_publication", "publish", "redact", "redaction_of", "retract", "sha256_hex", "withdrawn_clause"]

FORMAT = "comun-record/1"
ACTIONS = ("publish", "correct", "retract", "redact")
#: What a redaction removes: one version's content, or every version's and the record's.
REDACTION_SCOPES = ("version", "record")


class PublishError(Exception):
    """Publishing failed; nothing was stored. ``str(error)`` explains why (user-facing)."""


def canonical_content(record: Any, content_type: ContentType, tenant_slug: str, version: int,
                      action: str, reason: str = "", withdrawn: bool | None = None) -> dict:
    """Build the content document frozen at publication.

    Returns ``{"format", "tenant", "content_type", "record_id", "version", "action", "reason",
    "is_demo", "content", "attachments"}``; ``content`` is ``None`` for a retraction (and for
    any version with ``withdrawn=True``: a redaction of a whole or retracted record) and
    ``attachments`` lists ``{id, filename, title, mimetype, size (bytes), sha256}`` so the
    content hash covers every evidence file.
    """
    retract = action == "retract" if withdrawn is None else withdrawn
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


def _tenant_and_type(record: Any, verb: str):
    """``(current tenant, content type of record)``; raises :class:`PublishError` without a
    current tenant and :class:`TenantIsolationError` for another tenant's record."""
    tenant = get_current_tenant()
    if tenant is None:
        raise PublishError(_("No current tenant."))
    if getattr(record, "tenant_id", None) not in (None, tenant.slug):
        raise TenantIsolationError(f"cannot {verb} another tenant's record")
    return tenant, content_type_for(record)


def _do(record: Any, action: str, reason: str, user: User | None, commit: bool) -> Publication:
    tenant, ct = _tenant_and_type(record, "publish")
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


def is_withdrawn(pub: Publication | None) -> bool:
    """``True`` if ``pub`` (a record's newest version) withdraws the record: a retraction, or a
    redaction of the whole record (its ``redacted_at`` is set). A redaction of one earlier
    version keeps the record published with its current content."""
    return pub is not None and (pub.action == "retract" or pub.redacted_at is not None)


def withdrawn_clause():
    """SQL form of :func:`is_withdrawn` for ``select(Publication)`` filters (negate with ``~``)."""
    return (Publication.action == "retract") | Publication.redacted_at.is_not(None)


def redaction_of(pub: Publication | None) -> dict:
    """What a ``redact`` publication removed: ``{"scope": "version" | "record", "versions": [int]}``
    (read from its canonical JSON; ``{}`` for any other publication). Template filter
    ``redaction``."""
    if pub is None or pub.action != "redact":
        return {}
    return json.loads(pub.canonical_json).get("redacts") or {}


def _stub(document: dict, when: str, legal_basis: str, by_version: int) -> str:
    """The canonical JSON that replaces a redacted version: its metadata, no content, no files,
    and ``redacted``: ``{"at" (RFC 3339 UTC), "legal_basis", "by_version"}``."""
    stub = {**document, "content": None, "attachments": [],
            "redacted": {"at": when, "legal_basis": legal_basis, "by_version": by_version}}
    return canonical_bytes(stub).decode("utf-8")


def redact(record: Any, *, legal_basis: str, scope: str = "record", version: int | None = None,
           user: User | None = None, commit: bool = True) -> Publication:
    """Redact published content of ``record``, accountably, in one transaction.

    A new version (action ``redact``, ``reason`` = the legal basis) is published and logged like
    any other (``on_publish``: the notary appends a ``redact`` entry, the search index and the
    digests follow). Then, for every redacted version, the stored canonical JSON is replaced by a
    stub without content (:func:`_stub`) while its ``sha256`` stays (the notary log keeps the
    original leaf, so ``comun notary audit`` still passes), and the files of those versions are
    marked redacted (their URLs answer 410 Gone; the bytes are deleted by
    :func:`delete_redacted_files`, called after the commit). Pending digest items of the redacted
    versions are dropped and the page cache generation is bumped.

    Args:
        record: a published or retracted record of a registered content type, current tenant.
        legal_basis: why the content may not stay public (required; shown on the tombstone).
        scope: ``"record"``: every version and the record itself (the record is withdrawn,
            status ``retracted``, and the new version has no content); ``"version"``: only
            ``version``, which must not be the record's current content (publish a correction
            without the data first); the new version repeats the current content.
        version: the version to redact (scope ``version`` only).
        user: who redacts (stored on the publication).
        commit: commit the transaction and delete the files' bytes (``False``: the caller
            commits, then calls :func:`delete_redacted_files`).

    Returns:
        The new ``redact`` :class:`Publication`.

    Raises:
        PublishError: no legal basis, unknown scope or version, nothing left to redact, or a
            listener failed (nothing stored; message in the user's language).
        TenantIsolationError: the record belongs to another tenant.
    """
    tenant, ct = _tenant_and_type(record, "redact")
    session = db.session
    basis = (legal_basis or "").strip()
    try:
        if not basis:
            raise PublishError(_("Legal basis: state the legal basis of the redaction; it stays public."))
        if scope not in REDACTION_SCOPES:
            raise PublishError(_("Scope: choose the version or the whole record."))
        if record.status not in ("published", "retracted"):
            raise PublishError(_("Only a published or retracted record can be redacted."))
        versions = history(ct.name, record.id)
        previous = versions[-1]
        live = record.status == "published"
        if scope == "version":
            target = next((p for p in versions if p.version == version), None)
            if target is None:
                raise PublishError(_("Version: the record has no version %(n)s.", n=version))
            if target.redacted_at is not None or json.loads(target.canonical_json).get("content") is None:
                raise PublishError(_("Version: version %(n)s has no content left to redact.", n=version))
            if live and target.version == previous.version:
                raise PublishError(_("Version: version %(n)s is the current content. Publish a correction without "
                                     "the data first and then redact this version, or redact the whole record.",
                                     n=version))
            targets = [target]
        else:
            targets = [p for p in versions if p.redacted_at is None]
            if not targets:
                raise PublishError(_("Scope: this record was already redacted; nothing is left to redact."))
        now = utcnow()
        new_version = previous.version + 1
        withdrawn = scope == "record" or not live
        doc = canonical_content(record, ct, tenant.slug, new_version, "redact", basis, withdrawn=withdrawn)
        doc["redacts"] = {"scope": scope, "versions": [p.version for p in targets]}
        data = canonical_bytes(doc)
        pub = Publication(
            content_type=ct.name, record_id=str(record.id), version=new_version, action="redact", reason=basis,
            title=str(ct.title(record))[:300], canonical_json=data.decode("utf-8"), sha256=sha256_hex(data),
            published_at=now, published_by_id=user.id if user else None, previous_id=previous.id,
            is_demo=bool(getattr(record, "is_demo", False)), redacted_at=now if scope == "record" else None)
        previous.is_current = False
        session.add(pub)
        session.flush()
        # files of the redacted versions, except those the current content still shows
        kept = {a["id"] for a in doc["attachments"]}
        file_ids = set()
        for target in targets:
            original = json.loads(target.canonical_json)
            file_ids.update(a["id"] for a in original.get("attachments") or [] if a["id"] not in kept)
            target.canonical_json = _stub(original, now.isoformat(), basis, new_version)
            target.redacted_at = now
            target.redaction_id = pub.id
        attachments = list(session.scalars(select(Attachment).where(Attachment.id.in_(file_ids)))) if file_ids else []
        if scope == "record":
            attachments += [a for a in ct.attachments(record) if a.id not in file_ids]
        for att in attachments:
            att.redacted_at = now
            att.public = False
        target_ids = [p.id for p in targets]
        session.execute(delete(SubscriptionItem).where(SubscriptionItem.publication_id.in_(target_ids),
                                                       SubscriptionItem.sent_at.is_(None)))
        record.version = new_version
        record.published_at = now
        if scope == "record":
            record.status = "retracted"
            session.execute(delete(Draft).where(Draft.content_type == ct.name, Draft.record_id == str(record.id)))
            # the admin's audit trail of this record kept snapshots of its content
            for event in session.scalars(select(AuditEvent).where(AuditEvent.object_type == ct.name,
                                                                  AuditEvent.object_id == str(record.id))):
                event.before = {"redacted": True} if event.before is not None else None
                event.after = {"redacted": True} if event.after is not None else None
            _blank_text(record)
        session.flush()
        tenant_hook(tenant, "on_publish")(event=PublishEvent(pub, record, ct, tenant, "redact", previous))
        bump_generation(tenant.slug)
        session.flush()
        if commit:
            session.commit()
            delete_redacted_files(tenant.slug)
        return pub
    except PublishError:
        session.rollback()
        raise
    except Exception as exc:
        current_app.logger.exception("redaction of %s %s failed", ct.name, record.__dict__.get("id"))
        session.rollback()
        raise PublishError(_("The redaction failed and nothing was changed. Try again; if it fails again, "
                             "tell the platform administrators.")) from exc


#: Text columns a record-scope redaction blanks on the record itself when they exist (the
#: core page's; plugin records keep theirs, reachable only by the tenant's staff).
REDACTED_TEXT_FIELDS = ("summary", "body", "source")


def _blank_text(record: Any) -> None:
    for name in REDACTED_TEXT_FIELDS:
        if isinstance(getattr(record, name, None), str):
            setattr(record, name, "")


def delete_redacted_files(tenant_slug: str) -> int:
    """Delete the stored bytes (and thumbnails) of the tenant's redacted attachments, except
    content another non-redacted attachment of the tenant still uses (files are stored once
    per SHA-256). Idempotent; run after a redaction commits (and by ``comun privacy purge``).

    Returns:
        The number of files deleted from disk.
    """
    redacted = set(db.session.scalars(all_tenants(select(Attachment.sha256).where(
        Attachment.tenant_id == tenant_slug, Attachment.redacted_at.is_not(None)))))
    if not redacted:
        return 0
    in_use = set(db.session.scalars(all_tenants(select(Attachment.sha256).where(
        Attachment.tenant_id == tenant_slug, Attachment.redacted_at.is_(None), Attachment.sha256.in_(redacted)))))
    deleted = 0
    for sha in redacted - in_use:
        for path in (stored_path(tenant_slug, sha), thumbnail_path(tenant_slug, sha)):
            if path.exists():
                path.unlink()
                deleted += 1
    return deleted


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
