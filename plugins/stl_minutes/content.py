"""Content types of the STL-minutes plugin: how bodies, sessions (minutes), agreements and
calls are frozen at publication, titled, linked, indexed and tied to their evidence files.

``serialize_*`` return JSON-safe dictionaries (dates as ``date``/aware ``datetime``, converted
by :func:`comun_cms.toolkit.jsonable`) that cover every public field and child rows.
Evidence files are returned by the ``*_attachments`` functions, so the core adds each file's
SHA-256 to the canonical content; the serialized evidence list repeats the hash next to its
category so a reader of the JSON sees which file proves what.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import url_for
from flask_babel import lazy_gettext as _l

from comun_cms.toolkit import Attachment, ContentType, plain_text

from .models import Agreement, Body, Call, Session
from .vocab import AGREEMENT_STATUSES, SECTORS


# --------------------------------------------------------------------------- bodies
def serialize_body(body: Body) -> dict[str, Any]:
    """Public content of a body and its members (the private ``email`` is left out)."""
    return {
        "kind": body.kind, "name": body.name, "short_name": body.short_name, "description": body.description,
        "key_prefix": body.key_prefix, "quorum_rule": body.quorum_rule, "source": body.source,
        "members": [{
            "id": m.id, "name": m.name, "institution": m.institution, "post": m.post, "sector": m.sector,
            "capacity": m.capacity, "alternate_for": m.alternate_for.name if m.alternate_for else None,
            "term_start": m.term_start, "term_end": m.term_end, "is_demo": m.is_demo,
        } for m in body.members],
    }


def body_search_document(body: Body) -> dict:
    """Search fields of a body: name, description and members' names and institutions."""
    people = " ".join(f"{m.name} {m.institution} {m.post}" for m in body.members)
    return {"title": body.name, "body": f"{body.description} {people}".strip(), "status": "published",
            "date": body.published_at, "keywords": [body.kind, "stl", "integrantes"]}


# --------------------------------------------------------------------------- sessions
def _file_facts(att: Attachment | None) -> dict[str, Any] | None:
    if att is None:
        return None
    return {"id": att.id, "filename": att.filename, "mimetype": att.mimetype, "size": att.size, "sha256": att.sha256}


def attendance_by_sector(session: Session) -> dict[str, int]:
    """``{sector code: attendees}`` of a session (``""`` = sector not recorded), in the order of
    :data:`~plugins.stl_minutes.vocab.SECTORS`."""
    counts: dict[str, int] = {}
    for a in session.attendance:
        counts[a.sector or ""] = counts.get(a.sector or "", 0) + 1
    order = list(SECTORS) + [""]
    return {k: counts[k] for k in sorted(counts, key=lambda s: order.index(s) if s in order else len(order))}


def serialize_session(session: Session) -> dict[str, Any]:
    """Public content of a session's minutes: facts of the session, agenda, attendance (and its
    count by sector), quorum as frozen at approval, agreements as adopted, evidence (with file
    hashes), addenda and sources."""
    approved_in = session.approved_in
    return {
        "body": {"id": session.body_id, "name": session.body.name, "kind": session.body.kind},
        "number": session.number, "kind": session.kind, "title": session.title,
        "session_date": session.session_date, "starts_at": session.starts_at, "ends_at": session.ends_at,
        "modality": session.modality, "place": session.place, "video_url": session.video_url,
        "call_url": session.call_url, "call_document": _file_facts(session.call_attachment),
        "summary": session.summary, "source_url": session.source_url, "source_note": session.source_note,
        "approved_in": ({"id": approved_in.id, "title": approved_in.title, "session_date": approved_in.session_date}
                        if approved_in is not None else None),
        "approved_at": session.approved_at,
        "quorum": session.quorum_snapshot,
        "agenda": [{"position": i + 1, "kind": item.kind, "title": item.title, "description": item.description}
                   for i, item in enumerate(session.agenda_items)],
        "attendance": [{"name": a.name, "institution": a.institution, "post": a.post, "sector": a.sector,
                        "capacity": a.capacity, "role": a.role, "member_id": a.member_id,
                        "represents": a.represents.name if a.represents is not None else None}
                       for a in session.attendance],
        "attendance_by_sector": attendance_by_sector(session),
        "agreements": [{"key": ag.key, "text": ag.text, "vote": ag.vote, "owner": ag.owner, "due_date": ag.due_date,
                        "commitment_id": ag.commitment_id, "commitment_ref": ag.commitment_ref}
                       for ag in session.agreements],
        "evidence": [{"category": ev.category, "title": ev.title, "url": ev.url, "file": _file_facts(ev.attachment)}
                     for ev in session.evidence],
        "addenda": [{"version": ad.version, "reason": ad.reason, "text": ad.text, "created_at": ad.created_at}
                    for ad in session.addenda],
    }


def session_attachments(session: Session) -> list[Attachment]:
    """Every evidence file of a session, plus its call document."""
    files = [ev.attachment for ev in session.evidence if ev.attachment is not None]
    if session.call_attachment is not None:
        files.append(session.call_attachment)
    return files


def session_search_document(session: Session) -> dict:
    """Search fields of published minutes: title, body name, summary, agenda, attendees,
    agreements and addenda."""
    parts = [session.body.name, session.summary, session.place]
    parts += [f"{i.title} {plain_text(i.description)}" for i in session.agenda_items]
    parts += [f"{a.name} {a.institution}" for a in session.attendance]
    parts += [f"{ag.key} {ag.text} {ag.owner}" for ag in session.agreements]
    parts += [ad.text for ad in session.addenda]
    keywords = ["acta", "minuta", "sesión", session.kind, session.body.kind]
    date = (dt.datetime.combine(session.session_date, dt.time(12), tzinfo=dt.timezone.utc)
            if session.session_date else session.published_at)
    return {"title": session.full_title, "body": " ".join(p for p in parts if p), "status": "published",
            "date": date, "keywords": keywords}


# --------------------------------------------------------------------------- agreements
def serialize_agreement(ag: Agreement) -> dict[str, Any]:
    """Public content of an agreement and its follow-up (``overdue`` is not stored: it depends on
    the day it is read)."""
    s = ag.session
    return {
        "key": ag.key, "text": ag.text, "vote": ag.vote, "owner": ag.owner, "due_date": ag.due_date,
        "current_due_date": ag.current_due_date, "progress": ag.progress,
        "session": {"id": s.id, "title": s.title, "session_date": s.session_date, "body": s.body.name},
        "commitment_id": ag.commitment_id, "commitment_ref": ag.commitment_ref,
        "updates": [{"entry_date": u.entry_date, "progress": u.progress, "note": u.note,
                     "new_due_date": u.new_due_date, "link_url": u.link_url, "file": _file_facts(u.attachment)}
                    for u in ag.updates],
    }


def agreement_attachments(ag: Agreement) -> list[Attachment]:
    """Evidence files of an agreement's follow-up."""
    return [u.attachment for u in ag.updates if u.attachment is not None]


def agreement_search_document(ag: Agreement) -> dict:
    """Search fields of an agreement: key, text, owner, follow-up notes."""
    notes = " ".join(u.note for u in ag.updates)
    return {"title": f"{ag.key}: {ag.text[:120]}", "body": f"{ag.text} {ag.owner} {notes}".strip(),
            "status": ag.progress, "date": ag.published_at, "keywords": ["acuerdo", ag.key, ag.progress]}


# --------------------------------------------------------------------------- calls
def serialize_call(call: Call) -> dict[str, Any]:
    """Public content of a session's call: what, when, where, how, and the planned agenda."""
    s = call.session
    return {
        "session_id": s.id, "body": {"id": s.body_id, "name": s.body.name, "kind": s.body.kind},
        "number": s.number, "kind": s.kind, "title": s.title,
        "session_date": s.session_date, "starts_at": s.starts_at, "ends_at": s.ends_at,
        "modality": s.modality, "place": s.place, "video_url": s.video_url, "call_url": s.call_url,
        "call_document": _file_facts(s.call_attachment),
        "agenda": [{"position": i + 1, "kind": item.kind, "title": item.title, "description": item.description}
                   for i, item in enumerate(s.agenda_items)],
    }


def call_attachments(call: Call) -> list[Attachment]:
    """The call document, if uploaded."""
    return [call.session.call_attachment] if call.session.call_attachment is not None else []


def call_search_document(call: Call) -> None:
    """Calls are not indexed separately: the session's minutes are, once published."""
    return None


# --------------------------------------------------------------------------- registry
def _session_url(s: Session) -> str:
    return url_for("stl_minutes.session", tenant=s.tenant_id, session_id=s.id)


BODY_TYPE = ContentType(
    name="stl_body", plugin="stl_minutes", model=Body, label=_l("Collegiate body"), label_plural=_l("Collegiate bodies"),
    serialize=serialize_body, title=lambda b: b.name,
    url=lambda b: url_for("stl_minutes.body", tenant=b.tenant_id, body_id=b.id),
    search_document=body_search_document,
    admin_url=lambda b: url_for("admin_stl_minutes.body_edit", tenant=b.tenant_id, body_id=b.id),
)
SESSION_TYPE = ContentType(
    name="stl_session", plugin="stl_minutes", model=Session, label=_l("Session minutes"),
    label_plural=_l("Session minutes"), serialize=serialize_session, title=lambda s: s.full_title,
    url=_session_url, search_document=session_search_document, attachments=session_attachments,
    admin_url=lambda s: url_for("admin_stl_minutes.session_edit", tenant=s.tenant_id, session_id=s.id),
)
AGREEMENT_TYPE = ContentType(
    name="stl_agreement", plugin="stl_minutes", model=Agreement, label=_l("Agreement"), label_plural=_l("Agreements"),
    serialize=serialize_agreement, title=lambda a: f"{a.key}: {a.text[:200]}",
    url=lambda a: url_for("stl_minutes.agreement", tenant=a.tenant_id, agreement_id=a.id),
    search_document=agreement_search_document, attachments=agreement_attachments,
    status_labels=AGREEMENT_STATUSES,
    admin_url=lambda a: url_for("admin_stl_minutes.agreement_follow_up", tenant=a.tenant_id, agreement_id=a.id),
)
CALL_TYPE = ContentType(
    name="stl_call", plugin="stl_minutes", model=Call, label=_l("Session call"), label_plural=_l("Session calls"),
    serialize=serialize_call, title=lambda c: f"Convocatoria: {c.session.full_title}",
    url=lambda c: _session_url(c.session), search_document=call_search_document, attachments=call_attachments,
    admin_url=lambda c: url_for("admin_stl_minutes.session_edit", tenant=c.tenant_id, session_id=c.session_id),
)
CONTENT_TYPES = [BODY_TYPE, SESSION_TYPE, AGREEMENT_TYPE, CALL_TYPE]

__all__ = ["CONTENT_TYPES", "BODY_TYPE", "SESSION_TYPE", "AGREEMENT_TYPE", "CALL_TYPE", "attendance_by_sector",
           "serialize_body", "serialize_session", "serialize_agreement", "serialize_call"]
