"""Subscriptions: follow a record, a whole tenant or a saved search by e-mail, with double opt-in,
digests (immediate, daily or weekly) and one-click unsubscribe.

The workflow:

1. :func:`subscribe` stores a ``pending`` :class:`~comun_cms.models.Subscription` and queues the
   confirmation e-mail (``mail/subscription_confirm``) with a signed link (itsdangerous,
   ``SUBSCRIPTION_CONFIRM_MAX_AGE`` seconds, default 3 days). Nothing else is ever sent to a
   pending address.
2. :func:`confirm` (the link, once) makes it ``active``; using the link again raises
   :class:`SubscriptionError` (``used``).
3. :func:`record_publication`, called from the core's ``on_publish`` listener inside the
   publishing transaction, writes one :class:`~comun_cms.models.SubscriptionItem` per matching
   active subscription (a publication, correction or retraction of the followed record, any
   publication of the tenant, or one whose title and text contain every word of the saved search,
   compared without accents or case).
4. :func:`run_digest` (``comun subscriptions digest``, and every ``SUBSCRIPTION_DIGEST_INTERVAL``
   seconds in ``comun mail worker``) groups the pending items of every due subscription into one
   e-mail (``mail/subscription_digest``) queued with :func:`comun_cms.mail.send_mail`, with the
   RFC 8058 headers ``List-Unsubscribe: <https://…>`` and ``List-Unsubscribe-Post:
   List-Unsubscribe=One-Click``. Immediate subscriptions are due whenever they have items; daily
   and weekly ones one day or seven days after their last digest (or their confirmation).
5. :func:`unsubscribe` stops a subscription (and drops its pending items).
6. Subscriptions are personal data (:mod:`comun_cms.privacy`): they are in a person's export,
   deleted by an ARCO cancellation, and deleted by the retention purge
   ``Tenant.retention["subscriptions"]`` days after the unsubscription (or after the request, when
   it was never confirmed).

The management link (:func:`manage_token`) does not expire: it is in every message. Changing the
subscription's ``nonce`` invalidates every link issued before.
"""
from __future__ import annotations

import datetime as dt
import secrets
import time
import unicodedata
from collections import defaultdict
from typing import Any

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import Integer, and_, delete, func, inspect as sa_inspect, literal, or_, select, update

from comun_cms.content_types import get_registry, jsonable
from comun_cms.extensions import db
from comun_cms.feeds import publication_url
from comun_cms.mail import send_mail
from comun_cms.models import Publication, Subscription, SubscriptionItem, utcnow
from comun_cms.models.subscriptions import FREQUENCIES
from comun_cms.privacy import PersonalDataSource, register_personal_data
from comun_cms.tenancy import all_tenants, get_current_tenant, tenant_context
from comun_cms.users import UserError, normalize_email

__all__ = ["SubscriptionError", "confirm", "confirm_token", "digest_tick", "erase_personal_data",
           "export_personal_data", "load_managed", "manage_token", "pending_for_token", "purge_personal_data",
           "record_publication", "run_digest", "search_matches", "set_frequency", "subscribe", "target_of",
           "unsubscribe"]

_CONFIRM_SALT = "comun-cms.subscription-confirm"
_MANAGE_SALT = "comun-cms.subscription-manage"
FREQUENCY_LABELS = {"immediate": _l("Immediately"), "daily": _l("Once a day"), "weekly": _l("Once a week")}
ACTION_LABELS = {"publish": _l("Published"), "correct": _l("Corrected"), "retract": _l("Retracted"),
                 "redact": _l("Redacted")}


class SubscriptionError(ValueError):
    """A subscription request or link that cannot be accepted.

    ``field`` names the form field at fault (``email``, ``record``, ``q``, ``frequency``) or
    ``token`` for links; ``code`` is ``invalid``, ``expired`` or ``used`` for links;
    ``str(error)`` is the translated message."""

    def __init__(self, message, field: str, code: str = "invalid"):
        self.field, self.code = field, code
        super().__init__(str(message))


# --------------------------------------------------------------------------- targets
def _record(content_type, record_id: str):
    """The record ``record_id`` of ``content_type`` in the current tenant, or ``None``."""
    pk = sa_inspect(content_type.model).primary_key[0]
    key: Any = record_id
    if isinstance(pk.type, Integer):
        if not (record_id.isascii() and record_id.isdigit()) or not 0 < int(record_id) < 2**31:
            return None
        key = int(record_id)
    return db.session.scalar(select(content_type.model).where(pk == key))


def target_of(content_type: str = "", record_id: str = "", query: str = "") -> tuple[str, str]:
    """Resolve what a subscription request follows, in the current tenant.

    Returns ``(target, label)``: ``("record", "Compromiso: …")`` when ``content_type`` and
    ``record_id`` name a published record of a content type the tenant enables,
    ``("search", 'Búsqueda: "…"')`` for a non-empty ``query``, else ``("tenant", tenant name)``.
    Raises :class:`SubscriptionError` (field ``record``) for an unknown or unpublished record, and
    (field ``q``) for a query longer than 300 characters."""
    tenant = get_current_tenant()
    if content_type or record_id:
        registry = get_registry()
        ct = registry.get(content_type) if content_type in registry else None
        record = _record(ct, record_id) if ct is not None and tenant.enables(ct.plugin) else None
        if record is None or getattr(record, "status", "draft") == "draft":
            raise SubscriptionError(_l("The record you want to follow does not exist or is not published."), "record")
        return "record", f"{ct.label}: {ct.title(record)}"[:400]
    query = " ".join((query or "").split())
    if query:
        if len(query) > 300:
            raise SubscriptionError(_l("Use at most %(max)d characters.", max=300), "q")
        return "search", str(_l("Search: “%(q)s”", q=query))[:400]
    return "tenant", tenant.secretariat[:400]


def _fold(text: str) -> str:
    """Lower case without accents (``Comisión`` -> ``comision``)."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def search_matches(query: str, text: str) -> bool:
    """``True`` when every word of ``query`` occurs in ``text``, compared without accents or case
    (a saved search follows what it would find by words; quotes and operators are ignored)."""
    words = [w.strip('"\'()+-*') for w in _fold(query).split()]
    haystack = _fold(text)
    return all(w in haystack for w in words if w)


# --------------------------------------------------------------------------- tokens
def confirm_token(sub: Subscription) -> str:
    """The signed token of the confirmation link (subscription id and nonce)."""
    return URLSafeTimedSerializer(current_app.secret_key, salt=_CONFIRM_SALT).dumps({"s": sub.id, "n": sub.nonce})


def manage_token(sub: Subscription) -> str:
    """The signed token of the management and unsubscribe links (no expiry)."""
    return URLSafeSerializer(current_app.secret_key, salt=_MANAGE_SALT).dumps({"s": sub.id, "n": sub.nonce})


def _load(data: Any) -> Subscription:
    if not isinstance(data, dict) or not isinstance(data.get("s"), int):
        raise SubscriptionError(_l("This link is not valid."), "token")
    sub = db.session.get(Subscription, data["s"])
    if sub is None or not secrets.compare_digest(sub.nonce, str(data.get("n", ""))):
        raise SubscriptionError(_l("This link is not valid."), "token")
    return sub


def load_managed(token: str) -> Subscription:
    """The subscription of a management token in the current tenant; raises
    :class:`SubscriptionError` (field ``token``) when the token is forged, belongs to another
    tenant or was issued before the subscription's nonce changed."""
    try:
        data = URLSafeSerializer(current_app.secret_key, salt=_MANAGE_SALT).loads(token or "")
    except BadSignature:
        raise SubscriptionError(_l("This link is not valid."), "token") from None
    return _load(data)


# --------------------------------------------------------------------------- workflow
def subscribe(email: str, *, frequency: str, content_type: str = "", record_id: str = "", query: str = "",
              locale: str = "es_MX", consent: dict | None = None) -> Subscription | None:
    """Ask to follow something in the current tenant (double opt-in; the caller commits).

    Args:
        email: the person's address (normalised; raises :class:`SubscriptionError` field
            ``email`` when it is not one).
        frequency: ``immediate``, ``daily`` or ``weekly`` (else error, field ``frequency``).
        content_type / record_id / query: what to follow (see :func:`target_of`).
        locale: language of the e-mails.
        consent: ``{"consent_notice_id", "consent_at"}`` of the privacy consent given in the form
            (:meth:`comun_cms.privacy.ConsentMixin.consent_fields`), stored with the subscription.

    Returns the pending subscription whose confirmation e-mail was queued, or ``None`` when the
    address already follows that target (nothing is sent: the answer to the person is the same,
    so the form does not tell who is subscribed). A pending or stopped subscription to the same
    target gets a new nonce (earlier links stop working) and a new confirmation e-mail."""
    try:
        email = normalize_email(email)
    except UserError as exc:
        raise SubscriptionError(str(exc), "email") from None
    if frequency not in FREQUENCIES:
        raise SubscriptionError(_l("Choose how often you want to receive the e-mails."), "frequency")
    target, label = target_of(content_type, record_id, query)
    if target != "record":
        content_type = record_id = ""
    query = " ".join((query or "").split()) if target == "search" else ""
    sub = db.session.scalar(select(Subscription).where(
        Subscription.email == email, Subscription.target == target, Subscription.content_type == content_type,
        Subscription.record_id == record_id, Subscription.query == query))
    if sub is not None and sub.status == "active":
        return None
    if sub is None:
        sub = Subscription(email=email, target=target, content_type=content_type, record_id=record_id, query=query)
        db.session.add(sub)
    sub.label, sub.frequency, sub.locale = label, frequency, locale
    sub.status, sub.nonce, sub.stopped_at = "pending", secrets.token_urlsafe(24), None
    for key, value in (consent or {}).items():
        if key in ("consent_notice_id", "consent_at"):
            setattr(sub, key, value)
    db.session.flush()
    tenant = get_current_tenant()
    send_mail(email, "subscription_confirm", tenant=tenant, locale=locale, kind="subscription_confirm",
              context={"subscription": sub, "frequency_label": FREQUENCY_LABELS[frequency],
                       "link": url_for("subscriptions.confirm", tenant=tenant.slug, token=confirm_token(sub),
                                       _external=True),
                       "hours": int(current_app.config["SUBSCRIPTION_CONFIRM_MAX_AGE"]) // 3600})
    return sub


def pending_for_token(token: str) -> Subscription:
    """The subscription a confirmation token asks to activate (current tenant), without
    activating it. Raises :class:`SubscriptionError` (field ``token``) with code ``expired``
    (older than ``SUBSCRIPTION_CONFIRM_MAX_AGE``), ``used`` (already confirmed or stopped since)
    or ``invalid``."""
    serializer = URLSafeTimedSerializer(current_app.secret_key, salt=_CONFIRM_SALT)
    try:
        data = serializer.loads(token or "", max_age=int(current_app.config["SUBSCRIPTION_CONFIRM_MAX_AGE"]))
    except SignatureExpired:
        raise SubscriptionError(_l("This confirmation link has expired. Please subscribe again."), "token",
                                "expired") from None
    except BadSignature:
        raise SubscriptionError(_l("This link is not valid."), "token") from None
    sub = _load(data)
    if sub.status != "pending":
        raise SubscriptionError(_l("This confirmation link was already used."), "token", "used")
    return sub


def confirm(token: str) -> Subscription:
    """Activate the subscription of a confirmation token (single use; the caller commits).
    Raises :class:`SubscriptionError` as :func:`pending_for_token`."""
    sub = pending_for_token(token)
    sub.status, sub.confirmed_at = "active", utcnow()
    return sub


def unsubscribe(sub: Subscription) -> None:
    """Stop ``sub`` and drop its pending digest items (the caller commits). Stopping twice is
    harmless."""
    if sub.status != "stopped":
        sub.status, sub.stopped_at = "stopped", utcnow()
    db.session.execute(delete(SubscriptionItem).where(SubscriptionItem.subscription_id == sub.id,
                                                      SubscriptionItem.sent_at.is_(None)))


def set_frequency(sub: Subscription, frequency: str) -> None:
    """Change how often ``sub`` is mailed; raises :class:`SubscriptionError` (field
    ``frequency``) for a value not in :data:`~comun_cms.models.subscriptions.FREQUENCIES`."""
    if frequency not in FREQUENCIES:
        raise SubscriptionError(_l("Choose how often you want to receive the e-mails."), "frequency")
    sub.frequency = frequency


# --------------------------------------------------------------------------- publishing listener
def record_publication(event) -> int:
    """Write the digest items of one publication event (``on_publish``; same transaction).

    One :class:`SubscriptionItem` per active subscription of the event's tenant that follows the
    whole tenant or the record, written with one ``INSERT … SELECT``; saved searches are matched
    with :func:`search_matches` against the record's title and search text. Returns the number of
    items written."""
    pub, tenant = event.publication, event.tenant
    base = (Subscription.tenant_id == tenant.slug) & (Subscription.status == "active")
    follows = or_(Subscription.target == "tenant",
                  and_(Subscription.target == "record", Subscription.content_type == pub.content_type,
                       Subscription.record_id == pub.record_id))
    source = select(Subscription.id, literal(pub.id), literal(tenant.slug), literal(utcnow())).where(base & follows)
    stmt = SubscriptionItem.__table__.insert().from_select(
        ["subscription_id", "publication_id", "tenant_id", "created_at"], source)
    written = db.session.execute(stmt).rowcount or 0
    searches = db.session.execute(select(Subscription.id, Subscription.query)
                                  .where(base & (Subscription.target == "search"))).all()
    if searches:
        doc = event.content_type.search_document(event.record) or {}
        text = " ".join([pub.title or "", event.content_type.title(event.record) or "", str(doc.get("title") or ""),
                         str(doc.get("body") or "")])
        rows = [{"subscription_id": sid, "publication_id": pub.id, "tenant_id": tenant.slug, "created_at": utcnow()}
                for sid, query in searches if search_matches(query, text)]
        if rows:
            db.session.execute(SubscriptionItem.__table__.insert(), rows)
            written += len(rows)
    return written


# --------------------------------------------------------------------------- digests
def _due(now: dt.datetime):
    since = func.coalesce(Subscription.last_digest_at, Subscription.confirmed_at)
    return (Subscription.status == "active") & or_(
        Subscription.frequency == "immediate",
        and_(Subscription.frequency == "daily", since <= now - dt.timedelta(days=1)),
        and_(Subscription.frequency == "weekly", since <= now - dt.timedelta(days=7)))


def _entry(pub: Publication, cache: dict) -> dict:
    """What a digest says about one publication: title, action label, reason, date and the
    record's absolute URL (cached per publication). A version whose content a redaction
    removed says nothing but its title and number (its reason may have described the content)."""
    if pub.id not in cache:
        url = publication_url(pub)
        reason = "" if pub.redaction_id is not None else pub.reason
        cache[pub.id] = {"title": pub.title, "action": pub.action, "reason": reason, "version": pub.version,
                         "published_at": pub.published_at, "url": url}
    return cache[pub.id]


def run_digest(now: dt.datetime | None = None, batch: int = 500) -> tuple[int, int]:
    """Queue one digest e-mail per due subscription (every tenant), oldest subscription first.

    Args:
        now: the current time (aware UTC; default :func:`~comun_cms.models.utcnow`); tests pass
            a later time to make daily and weekly digests due.
        batch: subscriptions per transaction.

    Each batch is one transaction: the e-mails (:func:`~comun_cms.mail.send_mail`) are queued,
    the items marked sent and ``last_digest_at`` set together, so a crash sends nothing twice and
    loses nothing. Returns ``(e-mails queued, items sent)``."""
    now = now or utcnow()
    tenants = current_app.extensions["comun"].tenants
    mails = items = 0
    last_id = 0
    while True:
        pending = select(SubscriptionItem.subscription_id).where(SubscriptionItem.sent_at.is_(None))
        ids = list(db.session.scalars(all_tenants(
            select(Subscription.id).where(_due(now), Subscription.id > last_id, Subscription.id.in_(pending))
            .order_by(Subscription.id).limit(batch))))
        if not ids:
            break
        last_id = ids[-1]
        subs = {s.id: s for s in db.session.scalars(all_tenants(select(Subscription).where(Subscription.id.in_(ids))))}
        rows = db.session.execute(all_tenants(
            select(SubscriptionItem.id, SubscriptionItem.subscription_id, Publication)
            .join(Publication, Publication.id == SubscriptionItem.publication_id)
            .where(SubscriptionItem.subscription_id.in_(ids), SubscriptionItem.sent_at.is_(None))
            .order_by(Publication.published_at, Publication.id))).all()
        grouped: dict[int, list[Publication]] = defaultdict(list)
        item_ids: list[int] = []
        for item_id, sub_id, pub in rows:
            grouped[sub_id].append(pub)
            item_ids.append(item_id)
        cache: dict[int, dict] = {}
        by_tenant: dict[str, list[Subscription]] = defaultdict(list)
        for sub_id in grouped:
            by_tenant[subs[sub_id].tenant_id].append(subs[sub_id])
        for slug, tenant_subs in by_tenant.items():
            tenant = tenants.get(slug)
            if tenant is None:
                continue
            with tenant_context(tenant):
                for sub in tenant_subs:
                    _queue_digest(sub, [_entry(p, cache) for p in grouped[sub.id]], tenant)
                    sub.last_digest_at = now
                    mails += 1
        if item_ids:
            db.session.execute(all_tenants(update(SubscriptionItem).where(SubscriptionItem.id.in_(item_ids))
                                           .values(sent_at=now)))
            items += len(item_ids)
        db.session.commit()
    return mails, items


def _queue_digest(sub: Subscription, entries: list[dict], tenant) -> None:
    token = manage_token(sub)
    unsubscribe_url = url_for("subscriptions.unsubscribe", tenant=tenant.slug, token=token, _external=True)
    send_mail(sub.email, "subscription_digest", tenant=tenant, locale=sub.locale, kind="subscription_digest",
              context={"subscription": sub, "entries": entries, "action_labels": ACTION_LABELS,
                       "manage_url": url_for("subscriptions.manage", tenant=tenant.slug, token=token, _external=True),
                       "unsubscribe_url": unsubscribe_url},
              headers={"List-Unsubscribe": f"<{unsubscribe_url}>",
                       "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"})


_last_tick = {"at": 0.0}


def digest_tick() -> None:
    """Run :func:`run_digest` when ``SUBSCRIPTION_DIGEST_INTERVAL`` seconds (default 60) have
    passed since the last run in this process (the mail worker calls it on every poll)."""
    interval = float(current_app.config["SUBSCRIPTION_DIGEST_INTERVAL"])
    if time.monotonic() - _last_tick["at"] >= interval:
        _last_tick["at"] = time.monotonic()
        run_digest()


# --------------------------------------------------------------------------- personal data
_EXPORT_FIELDS = ("id", "email", "target", "content_type", "record_id", "query", "label", "frequency", "locale",
                  "status", "created_at", "confirmed_at", "last_digest_at", "stopped_at", "consent_notice_id",
                  "consent_at")


def _same_address(email: str):
    return func.lower(Subscription.email) == email.strip().lower()


def _drop(where) -> int:
    """Delete the current tenant's subscriptions matching ``where`` and their digest items."""
    ids = select(Subscription.id).where(where).scalar_subquery()
    db.session.execute(delete(SubscriptionItem).where(SubscriptionItem.subscription_id.in_(ids))
                       .execution_options(synchronize_session=False))
    return db.session.execute(delete(Subscription).where(where)
                              .execution_options(synchronize_session=False)).rowcount or 0


def export_personal_data(email: str) -> list[dict]:
    """Every subscription of ``email`` in the current tenant (any status, case-insensitive), as
    JSON-able dicts of :data:`_EXPORT_FIELDS`, plus ``pending_items`` (publications waiting for
    its next digest). For the ARCO export (:func:`comun_cms.privacy.export_person`)."""
    rows = []
    for sub in db.session.scalars(select(Subscription).where(_same_address(email)).order_by(Subscription.id)):
        row = {f: jsonable(getattr(sub, f)) for f in _EXPORT_FIELDS}
        row["pending_items"] = db.session.scalar(select(func.count()).select_from(SubscriptionItem).where(
            SubscriptionItem.subscription_id == sub.id, SubscriptionItem.sent_at.is_(None))) or 0
        rows.append(row)
    return rows


def erase_personal_data(email: str) -> int:
    """Delete every subscription of ``email`` in the current tenant and its digest items (an
    ARCO cancellation; nothing of them is kept). Returns the subscriptions deleted."""
    return _drop(_same_address(email))


def purge_personal_data(tenant, now: dt.datetime) -> dict[str, int]:
    """Retention of ``tenant`` (``retention["subscriptions"]`` days): delete subscriptions
    stopped longer ago than that, and pending ones never confirmed and untouched for as long
    (their confirmation links expired long before). Returns ``{"subscriptions": n}``."""
    cut = now - dt.timedelta(days=tenant.retention["subscriptions"])
    expired = or_(and_(Subscription.status == "stopped", Subscription.stopped_at < cut),
                  and_(Subscription.status == "pending", Subscription.updated_at < cut))
    return {"subscriptions": _drop(expired)}


register_personal_data(PersonalDataSource("subscriptions", export_personal_data, erase_personal_data,
                                          purge_personal_data))
