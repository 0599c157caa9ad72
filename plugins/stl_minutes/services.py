"""Business rules of the STL-minutes plugin: dates in the tenant's time zone, agreement keys
and overdue computation, quorum of a session, the minutes lifecycle and the publication of
bodies, calls, minutes, addenda and agreement follow-up.

Lifecycle of minutes (``Session.stage``)::

    draft --submit--> review --approve (in a later session)--> approved --publish--> published
      ^                 |                                         |
      +----return-------+-------------------reopen----------------+

Editing is allowed in ``draft`` and ``review`` (attendees may comment in review). Evidence can
still be added once approved (the signed minutes usually arrive then). After publication the
record is locked: the only change is an addendum with a reason, each one a new published version
(:func:`comun_cms.toolkit.correct`).

Functions here never commit: the admin views run them inside :func:`comun_cms.toolkit.admin_change`,
which adds the audit event and commits once, so an error leaves nothing half-written (the
publishing functions are called with ``commit=False``; on their failure they roll the
transaction back themselves).
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Any, Callable

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, select

from comun_cms.toolkit import (
    LifecycleError, MinutesLifecycle, Publication, canonical_content, content_type_for, correct, db,
    latest_publication, publish, utcnow,
)

from .models import AgendaItem, Agreement, AgreementUpdate, Attendance, Addendum, Body, Call, Member, Session
from .quorum import QuorumResult, compute_quorum
from .vocab import AGENDA_DEFAULT_TITLES, CLOSED_STATUSES, DEFAULT_PREFIXES, KIND_CODES

#: Stages whose content can be edited (the shared lifecycle's, with review).
EDITABLE_STAGES = ("draft", "review")
EVIDENCE_STAGES = ("draft", "review", "approved")

#: Prefix of agreement keys per body kind (state code appended: ``STL-MEX``).
BODY_KEY_CODES = {"stl": "STL", "coordinating_committee": "CC", "governing_board": "OG",
                  "executive_commission": "CE", "citizen_participation_committee": "CPC"}


class MinutesError(LifecycleError):
    """A rule of the minutes was broken; ``str(error)`` is a translated message and ``field``
    names the form field concerned (``""`` when none). A :class:`comun_cms.toolkit.LifecycleError`."""


#: The shared minutes lifecycle (:class:`comun_cms.toolkit.MinutesLifecycle`) with a review stage,
#: this plugin's error type and its own wording of the refusals.
LIFECYCLE = MinutesLifecycle(review=True, error=MinutesError, messages={
    "locked": _l("The minutes are published and locked; only an addendum can be added."),
    "frozen": _l("The minutes are approved; reopen them as a draft to change them."),
    "not_draft": _l("Only a draft can be sent to review."),
    "not_returnable": _l("Only minutes in review or approved (not published) can go back to draft."),
    "not_approvable": _l("Only minutes in review can be approved."),
    "already_published": _l("These minutes are already published."),
    "not_approved": _l("Record the approval of the minutes in a later session before publishing them."),
    "addendum_unpublished": _l("Addenda are only for published minutes; edit the draft instead."),
    "addendum_reason": _l("Explain the reason of the addendum; it is published."),
})


# --------------------------------------------------------------------------- time
def now_utc() -> dt.datetime:
    """The current aware UTC time (tests replace this function to fix "now")."""
    return utcnow()


def tenant_today(tenant, now: dt.datetime | None = None) -> dt.date:
    """Calendar date in the tenant's time zone at ``now`` (default: :func:`now_utc`).

    At 2024-03-02 03:00 UTC it is still 2024-03-01 in ``America/Mexico_City`` (UTC-6).
    """
    return tenant.today(now or now_utc())


def local_to_utc(tenant, day: dt.date | None, time: dt.time | None) -> dt.datetime | None:
    """Combine a local calendar ``day`` and wall-clock ``time`` of the tenant's zone into an aware
    UTC datetime; ``None`` if either is missing."""
    if day is None or time is None:
        return None
    return dt.datetime.combine(day, time, tzinfo=tenant.tz).astimezone(dt.timezone.utc)


def utc_to_local_time(tenant, value: dt.datetime | None) -> dt.time | None:
    """Wall-clock time in the tenant's zone of an aware UTC datetime (``None`` stays ``None``)."""
    if value is None:
        return None
    return value.astimezone(tenant.tz).time().replace(tzinfo=None)


# --------------------------------------------------------------------------- agreements
def is_overdue(agreement: Agreement, today: dt.date) -> bool:
    """``True`` when the agreement's current due date is before ``today`` (the tenant's local
    date) and it is neither done nor cancelled."""
    due = agreement.current_due_date or agreement.due_date
    return due is not None and due < today and agreement.progress not in CLOSED_STATUSES


def effective_progress(agreement: Agreement, today: dt.date) -> str:
    """The status shown to readers: ``"overdue"`` when :func:`is_overdue`, else the stored one."""
    return "overdue" if is_overdue(agreement, today) else agreement.progress


def overdue_condition(today: dt.date):
    """SQL condition matching overdue agreements on ``today`` (see :func:`is_overdue`)."""
    return and_(Agreement.current_due_date.is_not(None), Agreement.current_due_date < today,
                Agreement.progress.not_in(CLOSED_STATUSES))


def state_code(tenant) -> str:
    """Short state code used in keys: the ``state_code`` setting, else the known abbreviation
    (MEX, PUE, HGO), else the first three letters of the slug in capitals."""
    try:
        code = tenant.setting("stl_minutes", "state_code")
    except KeyError:
        code = ""
    if code:
        return code
    known = DEFAULT_PREFIXES.get(tenant.slug)
    return known.split("-", 1)[1] if known else tenant.slug[:3].upper()


def key_prefix(tenant, body: Body) -> str:
    """Prefix of a body's agreement keys: ``body.key_prefix`` or ``<BODY CODE>-<STATE CODE>``."""
    if body.key_prefix:
        return body.key_prefix
    return f"{BODY_KEY_CODES.get(body.kind, 'ORG')}-{state_code(tenant)}"


def agreement_key(tenant, session: Session, seq: int) -> str:
    """Key of the ``seq``-th agreement of ``session``: ``STL-MEX/ORD19/2023/01``.

    Segments: body prefix; session kind code (ORD regular, EXT special, INS inaugural) and
    two-digit number; the year of the session date (left out when the date is not known);
    the two-digit sequence.
    """
    code = KIND_CODES.get(session.kind, "SES")
    number = f"{session.number:02d}" if session.number else ""
    parts = [key_prefix(tenant, session.body), f"{code}{number}"]
    if session.session_date:
        parts.append(str(session.session_date.year))
    parts.append(f"{seq:02d}")
    return "/".join(parts)


def renumber_agreements(tenant, session: Session) -> None:
    """Give the session's agreements consecutive ``seq`` and fresh keys.

    Raises:
        MinutesError: a key is already used by an agreement of another session.
    """
    db.session.flush()
    agreements = sorted(session.agreements, key=lambda a: (a.seq, a.id or 10**9))
    keys = [agreement_key(tenant, session, seq) for seq in range(1, len(agreements) + 1)]
    for key in keys:
        clash = db.session.scalar(select(Agreement.id).where(Agreement.key == key, Agreement.session_id != session.id))
        if clash is not None:
            raise MinutesError(_l("The agreement key “%(key)s” is already used by another session; check the body's key prefix, the session number and kind.", key=key))
    # keys are unique per tenant: go through temporary values so that swaps never collide
    for ag in agreements:
        ag.key = f"~{ag.id}~{session.id}"
    db.session.flush()
    for seq, (ag, key) in enumerate(zip(agreements, keys), start=1):
        ag.seq, ag.key = seq, key
    session.agreements.sort(key=lambda a: a.seq)
    db.session.flush()


def add_agreement(tenant, session: Session, **fields) -> Agreement:
    """Append an agreement to a session in draft or review and renumber the keys.

    ``fields``: ``text``, ``vote``, ``owner``, ``due_date``, ``commitment_id``,
    ``commitment_ref``. Raises :class:`MinutesError` when the session cannot be edited.
    """
    ensure_editable(session)
    seq = max((a.seq for a in session.agreements), default=0) + 1
    ag = Agreement(seq=seq, key=f"~new~{session.id}~{seq}", is_demo=session.is_demo,
                   progress=fields.pop("progress", "pending"), **fields)
    ag.current_due_date = ag.due_date
    session.agreements.append(ag)
    db.session.flush()
    renumber_agreements(tenant, session)
    return ag


def remove_agreement(tenant, agreement: Agreement) -> None:
    """Delete an agreement of minutes in draft or review and renumber the others."""
    session = agreement.session
    ensure_editable(session)
    session.agreements.remove(agreement)
    db.session.flush()
    renumber_agreements(tenant, session)


# --------------------------------------------------------------------------- quorum
def session_quorum(session: Session) -> QuorumResult:
    """Quorum of the session now, from the body's members and the attendance."""
    return compute_quorum(session.body.members, session.attendance, session.body.quorum_rule or "majority",
                          session.session_date)


def frozen_quorum(session: Session) -> QuorumResult | None:
    """Quorum frozen at approval/publication, or ``None`` when none was frozen."""
    return QuorumResult.from_dict(session.quorum_snapshot)


# --------------------------------------------------------------------------- lifecycle
def ensure_editable(session: Session) -> None:
    """Raise :class:`MinutesError` unless the minutes are in draft or review."""
    LIFECYCLE.ensure_editable(session)


def _ready_for_review(session: Session) -> None:
    if session.session_date is None:
        raise MinutesError(_l("Enter the date of the session before sending the minutes to review."), "session_date")
    if not session.attendance:
        raise MinutesError(_l("Record the attendance before sending the minutes to review."))


def submit_for_review(session: Session) -> None:
    """draft -> review. Needs the date and at least one attendee."""
    LIFECYCLE.submit_for_review(session, check=_ready_for_review)


def _clear_approval(session: Session) -> None:
    session.approved_in_id = None
    session.quorum_snapshot = None


def return_to_draft(session: Session) -> None:
    """review or approved -> draft (an approval is cleared: it must be recorded again)."""
    LIFECYCLE.return_to_draft(session, clear=_clear_approval)


def approving_candidates(session: Session, today: dt.date | None = None) -> list[Session]:
    """Later sessions of the same body that can approve these minutes: dated after this one
    and, when ``today`` (the tenant's local date) is given, already held."""
    if session.session_date is None:
        return []
    q = select(Session).where(Session.body_id == session.body_id, Session.id != session.id,
                              Session.session_date > session.session_date)
    if today is not None:
        q = q.where(Session.session_date <= today)
    return list(db.session.scalars(q.order_by(Session.session_date, Session.number)))


def approve(session: Session, approving: Session, now: dt.datetime | None = None,
            today: dt.date | None = None) -> None:
    """review -> approved in ``approving``, a later session of the same body.

    Freezes the quorum, records when, and adds the item "Approval of the previous minutes" to
    the approving session's agenda when it is still editable and lacks one.

    Args:
        today: the tenant's local date; when given, the approving session must have been held.

    Raises:
        MinutesError: not in review; approving session of another body, the same session, not
            later (both dates are needed), or not held yet.
    """
    def check(_record) -> None:
        if approving.id == session.id or approving.body_id != session.body_id:
            raise MinutesError(_l("The minutes must be approved in another session of the same body."), "approving")
        if session.session_date is None or approving.session_date is None:
            raise MinutesError(_l("Both sessions need a date to record the approval."), "approving")
        if approving.session_date <= session.session_date:
            raise MinutesError(_l("The minutes can only be approved in a later session."), "approving")
        if today is not None and approving.session_date > today:
            raise MinutesError(_l("The approving session has not been held yet."), "approving")

    def after(_record) -> None:
        session.approved_in = approving
        session.quorum_snapshot = session_quorum(session).as_dict()
        if approving.status == "draft" and approving.stage in EDITABLE_STAGES and \
                not any(i.kind == "previous_minutes" for i in approving.agenda_items):
            _insert_agenda_item(approving, "previous_minutes",
                                f"{AGENDA_DEFAULT_TITLES['previous_minutes']}: {session.title}")

    LIFECYCLE.approve(session, now=now or now_utc(), check=check, after=after)


def publish_minutes(tenant, session: Session, user=None, require_approval: bool = True,
                    publisher: Callable[[Any], Publication] | None = None) -> Publication:
    """approved -> published: freeze the minutes (version 1) and publish every agreement.

    Args:
        tenant: the current tenant (for agreement keys).
        session: the session; its body must be published.
        user: who publishes.
        require_approval: ``False`` only for importing real sessions rebuilt from public sources,
            whose formal approval is not reported (the page says so).
        publisher: ``record -> Publication`` used to publish each record (default:
            :func:`comun_cms.toolkit.publish` as ``user`` without committing; ``comun demo``
            passes ``DemoContext.publish``).

    Returns:
        The session's :class:`~comun_cms.toolkit.Publication`. Nothing is committed.

    Raises:
        MinutesError: not approved, already published, body not published, key clash.
        comun_cms.toolkit.PublishError: publication failed (rolled back).
    """
    def before(_record) -> None:
        if session.body.status != "published":
            raise MinutesError(_l("Publish the body “%(name)s” before its minutes.", name=session.body.name))
        renumber_agreements(tenant, session)
        if session.quorum_snapshot is None:
            session.quorum_snapshot = session_quorum(session).as_dict()

    publisher = publisher or (lambda record: publish(record, user=user, commit=False))
    pub = LIFECYCLE.lock(session, publisher=publisher, require_approval=require_approval, before=before)
    for ag in session.agreements:
        if ag.current_due_date is None:
            ag.current_due_date = ag.due_date
        ag.is_demo = ag.is_demo or session.is_demo
        publisher(ag)
    return pub


def add_addendum(session: Session, reason: str, text: str = "", user=None) -> Publication:
    """Add an addendum to published minutes and publish it as a new version.

    Raises:
        MinutesError: the minutes are not published, or ``reason`` is empty.
    """
    def attach(_record, clean_reason: str) -> None:
        session.addenda.append(Addendum(reason=clean_reason, text=(text or "").strip(), version=session.version + 1,
                                        created_at=now_utc(), created_by_id=getattr(user, "id", None)))

    return LIFECYCLE.add_addendum(session, reason, user=user, attach=attach)


# --------------------------------------------------------------------------- calls and bodies
def call_for(session: Session) -> Call | None:
    """The session's call record, or ``None``."""
    if session.id is None:
        return None
    return db.session.scalar(select(Call).where(Call.session_id == session.id))


def publish_call(session: Session, user=None, publisher: Callable[[Any], Publication] | None = None) -> Publication:
    """Publish the call of an upcoming session (date, place, agenda, call document).
    ``publisher`` as in :func:`publish_minutes`.

    Raises:
        MinutesError: no date; body not published; call already published; minutes in review,
        approved or published (the session was held).
    """
    if session.status != "draft":
        raise MinutesError(_l("The minutes of this session are already published."))
    if session.stage != "draft":
        raise MinutesError(_l("The session was held: its minutes are in review or approved, so its call can no "
                              "longer be published."))
    if session.session_date is None:
        raise MinutesError(_l("Enter the date of the session before publishing its call."), "session_date")
    if session.body.status != "published":
        raise MinutesError(_l("Publish the body “%(name)s” before its calls.", name=session.body.name))
    call = call_for(session)
    if call is not None and call.status != "draft":
        raise MinutesError(_l("The call is already published; changes to the session publish corrections of it."))
    if call is None:
        call = Call(session=session, is_demo=session.is_demo)
        db.session.add(call)
        db.session.flush()
    if publisher is not None:
        return publisher(call)
    return publish(call, user=user, commit=False)


def content_changed(record) -> bool:
    """``True`` if the record's content now differs from its latest publication (content and
    evidence files compared; ``True`` when never published)."""
    ct = content_type_for(record)
    db.session.flush()
    pub = latest_publication(ct.name, record.id)
    if pub is None:
        return True
    old = json.loads(pub.canonical_json)
    new = canonical_content(record, ct, pub.tenant_id, pub.version, pub.action, pub.reason)
    return old.get("content") != new["content"] or old.get("attachments") != new["attachments"]


def sync_call(session: Session, reason: str | None, user=None) -> Publication | None:
    """After an edit of a session whose call is published: publish a correction of the call if
    what the call says changed.

    Returns the new publication or ``None`` (nothing to correct).

    Raises:
        MinutesError: the call changed and ``reason`` is empty (field ``reason``).
    """
    call = call_for(session)
    if call is None or call.status != "published":
        return None
    db.session.flush()
    db.session.expire(session)
    if not content_changed(call):
        return None
    if not (reason or "").strip():
        raise MinutesError(_l("The call of this session is published: explain the change; a correction of the call is published."), "reason")
    return correct(call, reason=reason.strip(), user=user, commit=False)


def publish_body(body: Body, user=None) -> Publication:
    """Publish a body (with its members) as version 1. Raises :class:`MinutesError` if published."""
    if body.status != "draft":
        raise MinutesError(_l("The body is already published; changes publish corrections."))
    return publish(body, user=user, commit=False)


def sync_body(body: Body, reason: str | None, user=None) -> Publication | None:
    """After editing a published body or its members: publish a correction with ``reason`` if
    the public content changed. Raises :class:`MinutesError` (field ``reason``) when a reason is
    needed and missing."""
    if body.status != "published":
        return None
    db.session.flush()
    db.session.expire(body)
    if not content_changed(body):
        return None
    if not (reason or "").strip():
        raise MinutesError(_l("The body is published: explain the change; the reason is published with the new version."), "reason")
    return correct(body, reason=reason.strip(), user=user, commit=False)


# --------------------------------------------------------------------------- follow-up
def record_follow_up(agreement: Agreement, *, entry_date: dt.date, progress: str, note: str,
                     new_due_date: dt.date | None = None, link_url: str = "", attachment=None,
                     commitment_id: int | None = None, commitment_ref: str | None = None, user=None,
                     today: dt.date | None = None) -> Publication:
    """Add a follow-up entry to a published agreement and publish it as a correction whose
    reason is ``note``.

    Raises:
        MinutesError: agreement not published; empty note; date in the future (after ``today``,
            the tenant's local date); new due date before the adoption date.
    """
    if agreement.status != "published":
        raise MinutesError(_l("Only agreements of published minutes are followed up."))
    if not (note or "").strip():
        raise MinutesError(_l("Describe the progress; it is published as the reason of the new version."), "note")
    if today is not None and entry_date > today:
        raise MinutesError(_l("The follow-up date cannot be in the future."), "entry_date")
    adopted = agreement.session.session_date
    if new_due_date is not None and adopted is not None and new_due_date < adopted:
        raise MinutesError(_l("The new due date cannot be before the session that adopted the agreement."), "new_due_date")
    agreement.updates.append(AgreementUpdate(
        entry_date=entry_date, progress=progress, note=note.strip(), new_due_date=new_due_date,
        link_url=link_url or "", attachment=attachment, created_at=now_utc(), created_by_id=getattr(user, "id", None)))
    agreement.progress = progress
    if new_due_date is not None:
        agreement.current_due_date = new_due_date
    if commitment_id is not None or commitment_ref is not None:
        agreement.commitment_id = commitment_id
        agreement.commitment_ref = commitment_ref or ""
    db.session.flush()
    return correct(agreement, reason=note.strip(), user=user, commit=False)


# --------------------------------------------------------------------------- agenda and attendance
#: Rank of agenda kinds in the standard order (informative and deliberative items share a rank).
_AGENDA_RANK = {"roll_call": 0, "agenda_approval": 1, "previous_minutes": 2, "informative": 3, "deliberative": 3,
                "general_matters": 4}


def _ordered_agenda(session: Session) -> list[AgendaItem]:
    return sorted(session.agenda_items, key=lambda i: (i.position, i.id or 10**9))


def _renumber_agenda(session: Session, items: list[AgendaItem] | None = None) -> None:
    items = items if items is not None else _ordered_agenda(session)
    for n, item in enumerate(items, start=1):
        item.position = n * 10
    session.agenda_items.sort(key=lambda i: i.position)


def _insert_agenda_item(session: Session, kind: str, title: str, description: str = "") -> AgendaItem:
    items = _ordered_agenda(session)
    rank = _AGENDA_RANK.get(kind, 3)
    index = next((n for n, it in enumerate(items) if _AGENDA_RANK.get(it.kind, 3) > rank), len(items))
    item = AgendaItem(kind=kind, title=title, description=description)
    items.insert(index, item)
    session.agenda_items.append(item)
    _renumber_agenda(session, items)
    return item


def add_agenda_item(session: Session, kind: str, title: str, description: str = "") -> AgendaItem:
    """Add an agenda item in the standard order: roll call, approval of the agenda, approval of
    the previous minutes, informative and deliberative items (in the order added), general
    matters last. Raises :class:`MinutesError` when the minutes cannot be edited."""
    ensure_editable(session)
    return _insert_agenda_item(session, kind, title, description)


def add_standard_agenda(session: Session) -> int:
    """Add the standard items missing from the agenda (roll call, agenda approval, previous
    minutes unless the session is inaugural, general matters). Returns how many were added."""
    ensure_editable(session)
    added = 0
    for kind, title in AGENDA_DEFAULT_TITLES.items():
        if kind == "previous_minutes" and session.kind == "inaugural":
            continue
        if any(i.kind == kind for i in session.agenda_items):
            continue
        _insert_agenda_item(session, kind, title)
        added += 1
    return added


def move_agenda_item(item: AgendaItem, direction: str) -> None:
    """Move an item one place ``"up"`` or ``"down"`` (nothing happens at either end)."""
    session = item.session
    ensure_editable(session)
    items = _ordered_agenda(session)
    i = items.index(item)
    j = i - 1 if direction == "up" else i + 1
    if 0 <= j < len(items):
        items[i], items[j] = items[j], items[i]
    _renumber_agenda(session, items)


def remove_agenda_item(item: AgendaItem) -> None:
    """Remove an item from an editable agenda and renumber the rest."""
    session = item.session
    ensure_editable(session)
    session.agenda_items.remove(item)
    _renumber_agenda(session)


def set_member_attendance(session: Session, present_ids: set[int]) -> tuple[int, int]:
    """Make the member-linked attendance match ``present_ids`` (members of the session's body).

    Returns ``(added, removed)``. Typed-in attendees are left alone. Values are copied from the
    member so the minutes keep what was true that day.
    """
    ensure_editable(session)
    members = {m.id: m for m in session.body.members}
    unknown = present_ids - set(members)
    if unknown:
        raise MinutesError(_l("Choose members of this body only."))
    current = {a.member_id: a for a in session.attendance if a.member_id is not None}
    added = removed = 0
    for member_id, row in list(current.items()):
        if member_id not in present_ids:
            session.attendance.remove(row)
            removed += 1
    next_pos = max((a.position for a in session.attendance), default=0) + 1
    for member in sorted((members[i] for i in present_ids if i not in current), key=lambda m: (m.position, m.id)):
        session.attendance.append(Attendance(
            member_id=member.id, name=member.name, institution=member.institution, post=member.post,
            sector=member.sector, capacity=member.capacity, position=next_pos,
            represents_id=member.alternate_for_id if member.capacity == "alternate" else None))
        next_pos += 1
        added += 1
    return added, removed


# --------------------------------------------------------------------------- queries
def published_call_content(call: Call) -> dict[str, Any] | None:
    """The content of a call's latest publication (JSON), or ``None`` if not published or
    retracted. Public pages render calls from here, never from the editable record."""
    if call.status != "published":
        return None
    pub = latest_publication("stl_call", call.id)
    if pub is None:
        return None
    return json.loads(pub.canonical_json).get("content")


def suggest_number(body_id: int | None, kind: str) -> int | None:
    """Next free number for a session of ``kind`` in the body (``None`` for inaugural)."""
    if body_id is None or kind == "inaugural":
        return None
    top = db.session.scalar(select(func.max(Session.number)).where(Session.body_id == body_id, Session.kind == kind))
    return (top or 0) + 1


def members_in_term(body: Body, on: dt.date) -> list[Member]:
    """Members of ``body`` whose term covers ``on``."""
    return [m for m in body.members if m.in_term(on)]
