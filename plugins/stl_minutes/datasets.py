"""Open datasets of the STL-minutes plugin (published records only).

Every row carries ``version`` and ``content_sha256``: the number and SHA-256 of the current
publication of the record it comes from (the session for attendance rows, the body for member
rows), so it can be checked against the record's public history.
"""
from __future__ import annotations

from typing import Any, Iterator

from flask import g, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from comun_cms.toolkit import Dataset, DatasetField, Publication, db

from .content import attendance_by_sector
from .models import Agreement, Body, Session
from .services import effective_progress, is_overdue, tenant_today

F = DatasetField


def _hashes(content_type: str) -> dict[str, tuple[int, str]]:
    """``{record id: (version, sha256)}`` of the latest publication of every record of a type."""
    out: dict[str, tuple[int, str]] = {}
    q = select(Publication.record_id, Publication.version, Publication.sha256).where(
        Publication.content_type == content_type).order_by(Publication.version)
    for record_id, version, sha in db.session.execute(q):
        out[record_id] = (version, sha)
    return out


def _sessions() -> list[Session]:
    q = select(Session).where(Session.status == "published").order_by(Session.session_date, Session.id)
    return list(db.session.scalars(q))


def session_rows() -> Iterator[dict[str, Any]]:
    """One row per published session."""
    hashes = _hashes("stl_session")
    for s in _sessions():
        version, sha = hashes.get(str(s.id), (s.version, ""))
        q = s.quorum_snapshot or {}
        yield {"id": s.id, "body_id": s.body_id, "body": s.body.name, "body_kind": s.body.kind, "kind": s.kind,
               "number": s.number, "title": s.title, "session_date": s.session_date, "starts_at": s.starts_at,
               "ends_at": s.ends_at, "modality": s.modality, "place": s.place, "video_url": s.video_url,
               "attendance_count": len(s.attendance), "attendance_by_sector": attendance_by_sector(s),
               "quorum_seats": q.get("seats"), "quorum_present": q.get("present"), "quorum_met": q.get("met"),
               "agreements_count": len(s.agreements), "evidence_count": len(s.evidence),
               "approved_in_id": s.approved_in_id, "addenda_count": len(s.addenda), "source_url": s.source_url,
               "first_published_at": s.first_published_at, "published_at": s.published_at, "version": version,
               "content_sha256": sha, "is_demo": s.is_demo,
               "url": url_for("stl_minutes.session", tenant=s.tenant_id, session_id=s.id, _external=True)}


def attendance_rows() -> Iterator[dict[str, Any]]:
    """One row per attendee of a published session."""
    hashes = _hashes("stl_session")
    for s in _sessions():
        version, sha = hashes.get(str(s.id), (s.version, ""))
        for a in s.attendance:
            yield {"session_id": s.id, "session_title": s.title, "session_date": s.session_date, "body": s.body.name,
                   "name": a.name, "institution": a.institution, "post": a.post, "sector": a.sector,
                   "capacity": a.capacity, "role": a.role,
                   "represents": a.represents.name if a.represents is not None else "",
                   "version": version, "content_sha256": sha, "is_demo": s.is_demo}


def agreement_rows(today=None) -> Iterator[dict[str, Any]]:
    """One row per published agreement, with its status on ``today`` (tenant's local date)."""
    today = today or tenant_today(g.tenant)
    hashes = _hashes("stl_agreement")
    q = select(Agreement).where(Agreement.status == "published").order_by(Agreement.session_id, Agreement.seq)
    for ag in db.session.scalars(q):
        version, sha = hashes.get(str(ag.id), (ag.version, ""))
        last = ag.updates[-1] if ag.updates else None
        yield {"id": ag.id, "key": ag.key, "session_id": ag.session_id, "session_title": ag.session.title,
               "session_date": ag.session.session_date, "body": ag.session.body.name, "text": ag.text,
               "vote": ag.vote, "owner": ag.owner, "due_date": ag.due_date, "current_due_date": ag.current_due_date,
               "progress": ag.progress, "status_today": effective_progress(ag, today),
               "overdue": is_overdue(ag, today), "evaluated_on": today, "commitment_id": ag.commitment_id,
               "commitment_ref": ag.commitment_ref, "updates_count": len(ag.updates),
               "last_update": last.entry_date if last else None, "published_at": ag.published_at,
               "version": version, "content_sha256": sha, "is_demo": ag.is_demo,
               "url": url_for("stl_minutes.agreement", tenant=ag.tenant_id, agreement_id=ag.id, _external=True)}


def member_rows() -> Iterator[dict[str, Any]]:
    """One row per member of a published body."""
    hashes = _hashes("stl_body")
    for b in db.session.scalars(select(Body).where(Body.status == "published").order_by(Body.id)):
        version, sha = hashes.get(str(b.id), (b.version, ""))
        for m in b.members:
            yield {"body_id": b.id, "body": b.name, "body_kind": b.kind, "name": m.name, "institution": m.institution,
                   "post": m.post, "sector": m.sector, "capacity": m.capacity,
                   "alternate_for": m.alternate_for.name if m.alternate_for else "", "term_start": m.term_start,
                   "term_end": m.term_end, "version": version, "content_sha256": sha,
                   "is_demo": b.is_demo or m.is_demo}


_VERSION = (F("version", "integer", _l("Published version of the record the row comes from")),
            F("content_sha256", "string", _l("SHA-256 of that version's canonical JSON")),
            F("is_demo", "boolean", _l("Demo data, not real")))


def datasets(tenant) -> list[Dataset]:
    """The plugin's datasets for ``tenant`` (rows are read in the current tenant)."""
    return [
        Dataset("stl_sessions", _l("Sessions"), _l("Sessions of the collegiate bodies with published minutes."), (
            F("id", "integer", _l("Session identifier")),
            F("body_id", "integer", _l("Body identifier")),
            F("body", "string", _l("Body")),
            F("body_kind", "string", _l("Kind of body (stl, coordinating_committee, ...)")),
            F("kind", "string", _l("Kind of session (inaugural, regular, special)")),
            F("number", "integer", _l("Number of the session")),
            F("title", "string", _l("Official title")),
            F("session_date", "date", _l("Date (local)")),
            F("starts_at", "datetime", _l("Start (UTC)")),
            F("ends_at", "datetime", _l("End (UTC)")),
            F("modality", "string", _l("Modality (in_person, virtual, hybrid; empty = not reported)")),
            F("place", "string", _l("Place")),
            F("video_url", "string", _l("Video of the session")),
            F("attendance_count", "integer", _l("Attendees")),
            F("attendance_by_sector", "string", _l("Attendees by sector (JSON object)")),
            F("quorum_seats", "integer", _l("Seats of the body on that date (empty = no member list)")),
            F("quorum_present", "integer", _l("Seats present")),
            F("quorum_met", "boolean", _l("Quorum met (empty = not determined)")),
            F("agreements_count", "integer", _l("Agreements adopted")),
            F("evidence_count", "integer", _l("Evidence items")),
            F("approved_in_id", "integer", _l("Session that approved the minutes (empty = not reported)")),
            F("addenda_count", "integer", _l("Addenda published")),
            F("source_url", "string", _l("Public source of the facts")),
            F("first_published_at", "datetime", _l("First publication (UTC)")),
            F("published_at", "datetime", _l("Current version (UTC)")),
            *_VERSION,
            F("url", "string", _l("Public address")),
        ), session_rows, plugin="stl_minutes"),
        Dataset("stl_attendance", _l("Session attendance"), _l("Who attended each session with published minutes."), (
            F("session_id", "integer", _l("Session identifier")),
            F("session_title", "string", _l("Session")),
            F("session_date", "date", _l("Date (local)")),
            F("body", "string", _l("Body")),
            F("name", "string", _l("Name")),
            F("institution", "string", _l("Institution or organization")),
            F("post", "string", _l("Post")),
            F("sector", "string", _l("Sector (government, civil_society, guarantor, academia, private)")),
            F("capacity", "string", _l("Capacity (member, alternate, guest, facilitator; empty = not reported)")),
            F("role", "string", _l("Role in the session")),
            F("represents", "string", _l("Member whose seat an alternate covered")),
            *_VERSION,
        ), attendance_rows, plugin="stl_minutes"),
        Dataset("stl_agreements", _l("Agreements"), _l("Agreements of the sessions and their follow-up."), (
            F("id", "integer", _l("Agreement identifier")),
            F("key", "string", _l("Key of the agreement")),
            F("session_id", "integer", _l("Session identifier")),
            F("session_title", "string", _l("Session")),
            F("session_date", "date", _l("Date of the session (local)")),
            F("body", "string", _l("Body")),
            F("text", "string", _l("Agreement")),
            F("vote", "string", _l("Vote (unanimous, majority, no_vote; empty = not reported)")),
            F("owner", "string", _l("Responsible")),
            F("due_date", "date", _l("Due date as adopted")),
            F("current_due_date", "date", _l("Current due date (after extensions)")),
            F("progress", "string", _l("Recorded status (pending, in_progress, done, cancelled, unknown)")),
            F("status_today", "string", _l("Status on the evaluation date (overdue computed)")),
            F("overdue", "boolean", _l("Overdue on the evaluation date")),
            F("evaluated_on", "date", _l("Evaluation date (today in the state's time zone)")),
            F("commitment_id", "integer", _l("Linked action-plan commitment")),
            F("commitment_ref", "string", _l("External identifier of the commitment")),
            F("updates_count", "integer", _l("Follow-up entries")),
            F("last_update", "date", _l("Date of the last follow-up entry")),
            F("published_at", "datetime", _l("Current version (UTC)")),
            *_VERSION,
            F("url", "string", _l("Public address")),
        ), agreement_rows, plugin="stl_minutes"),
        Dataset("stl_members", _l("Members of the bodies"), _l("Members of the published collegiate bodies."), (
            F("body_id", "integer", _l("Body identifier")),
            F("body", "string", _l("Body")),
            F("body_kind", "string", _l("Kind of body")),
            F("name", "string", _l("Name")),
            F("institution", "string", _l("Institution or organization")),
            F("post", "string", _l("Post")),
            F("sector", "string", _l("Sector")),
            F("capacity", "string", _l("Capacity")),
            F("alternate_for", "string", _l("Member whose seat the alternate covers")),
            F("term_start", "date", _l("Term starts")),
            F("term_end", "date", _l("Term ends")),
            *_VERSION,
        ), member_rows, plugin="stl_minutes"),
    ]
