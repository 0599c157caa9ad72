"""Personal data protection (Mexican public sector, LGPDPPSO): privacy notices, consent,
retention and purge, and what ARCO requests need (export and cancellation of one person's data).

* **Privacy notices.** Each tenant has an *aviso de privacidad integral* and a *simplificado*:
  two core pages (slugs :data:`NOTICE_SLUGS`) written by :func:`notice_text` from the tenant's
  data, created and published by :func:`ensure_notices` (``comun init``, ``comun demo``), edited
  by the tenant's staff in Pages and published through :mod:`comun_cms.publishing`, so every
  version is kept and appended to the notary log like any page.
* **Consent.** :class:`ConsentMixin` adds the required consent checkbox and the version of the
  simplified notice shown (a ``Publication`` id) to a public form;
  :meth:`ConsentMixin.consent_fields` gives the columns to store with the submission. The
  template macro ``consent(form)`` of ``_privacy.html`` shows the notice.
* **Retention.** :func:`purge` blanks the personal fields of what is older than the tenant's
  retention period (``Tenant.retention``, days per kind of data) and writes a ``privacy.purge``
  audit event; ``comun privacy purge`` and the mail worker (once a day) run it.
* **A person's data.** :func:`export_person` gathers every row that holds an e-mail address in
  the current tenant (JSON-able; :func:`export_csv` as CSV) and :func:`erase_person` anonymises
  them (an ARCO cancellation). Sources are :class:`PersonalDataSource` objects in
  :data:`SOURCES`; a feature that stores e-mail addresses (subscriptions...) adds its own with
  :func:`register_personal_data`.

Legal basis of the defaults: LGPDPPSO (DOF 26-01-2017) arts. 26-28 (notices), 43-56 (ARCO; art.
51: answer within 20 business days).
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select, update
from wtforms import BooleanField, HiddenField
from wtforms.validators import InputRequired

from comun_cms import publishing
from comun_cms.audit import record_audit
from comun_cms.content_types import jsonable
from comun_cms.extensions import db
from comun_cms.models import (
    ArcoRequest, Feedback, Invitation, MailOutbox, Membership, Page, Publication, User, utcnow,
)
from comun_cms.tenancy import Tenant, get_current_tenant, tenant_context

__all__ = [
    "ARCO_RIGHTS", "ARCO_STATUSES", "ConsentMixin", "NOTICE_SLUGS", "NoticeShown", "PersonalDataSource", "SOURCES",
    "current_notice", "email_digest", "ensure_notices", "erase_person", "export_csv", "export_person", "notice_text", "overdue_filter",
    "purge", "purge_all", "register_personal_data",
]

#: notice kind -> page slug (the public addresses are ``/<tenant>/aviso-de-privacidad`` and
#: ``/<tenant>/aviso-de-privacidad/simplificado``)
NOTICE_SLUGS = {"integral": "aviso-de-privacidad", "simplified": "aviso-de-privacidad-simplificado"}
#: ARCO rights (code -> label): acceso, rectificación, cancelación, oposición
ARCO_RIGHTS = {"access": _l("Access"), "rectification": _l("Rectification"), "cancellation": _l("Cancellation"),
               "opposition": _l("Opposition")}
#: ARCO request statuses (code -> label)
ARCO_STATUSES = {"received": _l("Received"), "answered": _l("Answered"), "done": _l("Closed")}
#: what replaces a blanked e-mail address in rows that must keep one (the mail outbox)
ERASED = ""


# --------------------------------------------------------------------------- notices
def _days(n: int) -> str:
    return f"{n} día" if n == 1 else f"{n} días"


def notice_text(tenant: Tenant, kind: str) -> tuple[str, str, str]:
    """The initial text of a tenant's privacy notice, filled in with its data.

    Args:
        tenant: the tenant (its SESEA is the responsible body; contact, transparency
            authority, ARCO deadline and retention periods come from its ``tenant.toml``).
        kind: ``"integral"`` or ``"simplified"``.

    Returns ``(title, summary, body)``, Spanish, the body in Markdown. The structure follows
    LGPDPPSO arts. 27 (simplified notice) and 28 (integral notice). Raises ``KeyError`` for an
    unknown ``kind``.
    """
    NOTICE_SLUGS[kind]  # noqa: B018 - unknown kinds raise KeyError
    c = tenant.contact
    address = c.get("address") or "el domicilio de la Secretaría Ejecutiva"
    email = c.get("email")
    contact = f"el correo {email} o " if email else ""
    r = tenant.retention
    responsible = (f"La {tenant.secretariat} ({tenant.short_name}), con domicilio en {address}, es la responsable "
                   "del tratamiento de los datos personales que nos proporcione.")
    purposes = (
        "- **Dudas, quejas y sugerencias**: su nombre y correo (opcionales) y su mensaje, para registrar su "
        "solicitud con un folio, darle seguimiento y enviarle la respuesta.\n"
        "- **Registro para participar en gobierno abierto**: nombre, correo, organización y sector, para "
        "invitarle a los ejercicios del Secretariado Técnico Local.\n"
        "- **Suscripciones a avisos por correo**: su correo, para enviarle las publicaciones que eligió "
        "seguir, hasta que cancele la suscripción.\n"
        "- **Solicitudes de derechos ARCO**: nombre, correo y descripción, para atender su solicitud dentro "
        "del plazo legal.\n")
    if kind == "simplified":
        title = "Aviso de privacidad simplificado"
        summary = (f"La {tenant.short_name} usa sus datos personales solo para atender su solicitud, registro o "
                   "suscripción; no los transfiere sin su consentimiento, salvo por mandato legal.")
        body = (f"{responsible}\n\n"
                "# ¿Para qué usamos sus datos?\n\n" + purposes + "\n"
                "# Transferencias\n\n"
                "No transferimos sus datos personales, salvo las transferencias necesarias para atender "
                "requerimientos de una autoridad competente, debidamente fundados y motivados.\n\n"
                "# Sus derechos ARCO\n\n"
                "Usted puede solicitar el acceso, la rectificación o la cancelación de sus datos, u oponerse a su "
                "tratamiento, con el formulario de derechos ARCO de este sitio.\n\n"
                "# Aviso de privacidad integral\n\n"
                "Puede consultar el aviso de privacidad integral en la sección «Aviso de privacidad» de este "
                "sitio, enlazada al pie de cada página.\n")
        return title, summary, body
    title = "Aviso de privacidad integral"
    summary = (f"Cómo la {tenant.short_name} trata los datos personales que recibe en este sitio, cuánto tiempo "
               "los conserva y cómo ejercer sus derechos ARCO.")
    body = (
        "# Responsable\n\n" + responsible + "\n\n"
        "# Datos personales que tratamos y finalidades\n\n" + purposes + "\n"
        "No tratamos datos personales sensibles. No usamos sus datos con fines distintos a los señalados.\n\n"
        "# Fundamento legal\n\n"
        "Ley General de Protección de Datos Personales en Posesión de Sujetos Obligados (artículos 3, 4, 16, "
        "17, 18, 26, 27 y 28) y la ley estatal de la materia.\n\n"
        "# Conservación\n\n"
        f"- Dudas, quejas y sugerencias: {_days(r['complaints'])} después de su respuesta o cierre.\n"
        f"- Registros para participar: {_days(r['join'])} después del registro.\n"
        f"- Suscripciones: {_days(r['subscriptions'])} después de cancelarla.\n"
        f"- Solicitudes ARCO: {_days(r['arco'])} después de atenderla.\n"
        f"- Correos enviados: {_days(r['mail'])}.\n\n"
        "Al vencer el plazo borramos sus datos personales; conservamos solo datos estadísticos sin "
        "identificarle (tipo de solicitud, fechas y plazos).\n\n"
        "# Transferencias\n\n"
        "No realizamos transferencias de datos personales, salvo aquellas necesarias para atender "
        "requerimientos de información de una autoridad competente, debidamente fundados y motivados "
        "(artículos 22, 66 y 70 de la Ley General).\n\n"
        "# Derechos ARCO\n\n"
        "Usted puede solicitar el **acceso** a sus datos, su **rectificación** o su **cancelación**, u "
        f"**oponerse** a su tratamiento, ante la Unidad de Transparencia de la {tenant.short_name}: con el "
        f"formulario «Derechos ARCO» de este sitio, por {contact}en {address}. Recibirá un folio y la "
        f"respuesta en un plazo máximo de {tenant.arco_days} días hábiles. Si no está conforme con la "
        f"respuesta, puede acudir al {tenant.transparency_authority_short} "
        f"({tenant.transparency_authority}).\n\n"
        "# Cambios a este aviso\n\n"
        "Cualquier cambio se publica en esta misma página como una nueva versión; todas las versiones "
        "quedan en su historial y en la bitácora notarial del sitio.\n")
    return title, summary, body


def ensure_notices(tenant: Tenant, user: User | None = None) -> int:
    """Create and publish the tenant's privacy notices that do not exist yet (pages with the
    slugs of :data:`NOTICE_SLUGS`, text from :func:`notice_text`). Runs inside
    ``tenant_context(tenant)``; the caller commits.

    Returns the number of notices created (0, 1 or 2). Raises ``PublishError`` when publishing
    fails (nothing of it is stored).
    """
    created = 0
    for kind, slug in NOTICE_SLUGS.items():
        if db.session.scalar(select(Page.id).where(Page.slug == slug)) is not None:
            continue
        title, summary, body = notice_text(tenant, kind)
        page = Page(slug=slug, title=title, summary=summary, body=body, section="", language="es",
                    source="Plantilla de Común CMS conforme a la LGPDPPSO, con los datos de la Secretaría Ejecutiva.",
                    is_demo=False)
        db.session.add(page)
        publishing.publish(page, user=user, commit=False)
        created += 1
    return created


def current_notice(kind: str = "simplified") -> tuple[Page, Publication] | None:
    """The current tenant's published notice of ``kind`` and its newest version, or ``None``
    when it has none (never created, or retracted)."""
    page = db.session.scalar(select(Page).where(Page.slug == NOTICE_SLUGS[kind], Page.status == "published"))
    if page is None:
        return None
    pub = publishing.latest_publication("page", page.id)
    return (page, pub) if pub is not None else None


# --------------------------------------------------------------------------- consent
@dataclass(frozen=True)
class NoticeShown:
    """The simplified notice a form shows: ``summary`` (text), ``body`` (Markdown) and
    ``version`` (published version number, ``None`` when not published yet)."""

    summary: str
    body: str
    version: int | None


class ConsentMixin:
    """Mix into a public :class:`~flask_wtf.FlaskForm` that collects personal data: a required
    consent checkbox (``privacy_consent``) and the version of the simplified notice shown
    (``privacy_notice``, a ``Publication`` id, hidden).

    Render it with ``{% from "_privacy.html" import consent %}{{ consent(form) }}`` and store
    ``**form.consent_fields()`` with the submission (columns ``consent_notice_id`` and
    ``consent_at``). Without consent the form does not validate: the field error reads "To send
    the form, accept the privacy notice." in the user's language.
    """

    privacy_consent = BooleanField(
        _l("I have read the simplified privacy notice and I consent to the processing of my personal data "
           "for the purposes it describes."),
        validators=[InputRequired(_l("To send the form, accept the privacy notice."))])
    privacy_notice = HiddenField()

    def privacy_notice_shown(self) -> "NoticeShown":
        """What the form shows: the tenant's published simplified notice (and its version, which
        goes into the hidden ``privacy_notice`` field when the form is first shown), or, before
        ``comun init`` published one, the template text of :func:`notice_text` (version
        ``None``)."""
        notice = current_notice("simplified")
        if notice is None:
            _title, summary, body = notice_text(get_current_tenant(), "simplified")
            return NoticeShown(summary, body, None)
        if not self.privacy_notice.data:
            self.privacy_notice.data = str(notice[1].id)
        return NoticeShown(notice[0].summary, notice[0].body, notice[1].version)

    def consent_fields(self) -> dict[str, Any]:
        """``{"consent_notice_id": Publication id | None, "consent_at": aware UTC datetime}``.

        The id is the version the person saw (the hidden field) when it is a version of this
        tenant's simplified notice; else the current version; ``None`` when the tenant has no
        published notice."""
        shown = (self.privacy_notice.data or "").strip()
        pub_id = None
        if shown.isdigit() and len(shown) < 10:
            pub_id = db.session.scalar(select(Publication.id).join(
                Page, Publication.record_id == db.cast(Page.id, db.String)).where(
                Publication.id == int(shown), Publication.content_type == "page",
                Page.slug == NOTICE_SLUGS["simplified"], Publication.tenant_id == Page.tenant_id))
        if pub_id is None:
            notice = current_notice("simplified")
            pub_id = notice[1].id if notice else None
        return {"consent_notice_id": pub_id, "consent_at": utcnow()}


# --------------------------------------------------------------------------- a person's data
@dataclass(frozen=True)
class PersonalDataSource:
    """A table that holds people's e-mail addresses.

    ``name``: key in exports (``feedback``); ``export(email) -> list[dict]``: the current
    tenant's rows of that address (JSON-able values); ``erase(email) -> int``: anonymise or
    delete them, returns how many; ``purge(tenant, now) -> dict[str, int]``: blank what is past
    the tenant's retention (``now`` an aware UTC datetime), returns counts by kind of data.
    Every callable runs inside the tenant's context; none commits.
    """

    name: str
    export: Callable[[str], list[dict]]
    erase: Callable[[str], int]
    purge: Callable[[Tenant, dt.datetime], dict[str, int]]


def _row(obj: Any, fields: tuple[str, ...]) -> dict:
    return {f: jsonable(getattr(obj, f)) for f in fields}


_FEEDBACK_FIELDS = ("id", "kind", "folio", "status", "name", "email", "organization", "sector", "subject",
                    "message", "answer", "created_at", "answered_at", "closed_at", "consent_notice_id", "consent_at")
_FEEDBACK_BLANK = {"name": "", "email": "", "organization": "", "subject": "", "message": "", "answer": "",
                   "ip_hash": "", "tracking_hash": None}


def _same_email(column, email: str):
    return db.func.lower(column) == email.strip().lower()


def _feedback_export(email: str) -> list[dict]:
    rows = db.session.scalars(select(Feedback).where(_same_email(Feedback.email, email)).order_by(Feedback.id))
    return [_row(r, _FEEDBACK_FIELDS) for r in rows]


def _feedback_erase(email: str) -> int:
    return db.session.execute(update(Feedback).where(_same_email(Feedback.email, email))
                              .values(**_FEEDBACK_BLANK, anonymised_at=utcnow())
                              .execution_options(synchronize_session=False)).rowcount or 0


def _feedback_purge(tenant: Tenant, now: dt.datetime) -> dict[str, int]:
    out = {}
    kept = Feedback.anonymised_at.is_(None)
    complaints_cut = now - dt.timedelta(days=tenant.retention["complaints"])
    ref = db.func.coalesce(Feedback.closed_at, Feedback.answered_at, Feedback.created_at)
    out["complaints"] = db.session.execute(
        update(Feedback).where(kept, Feedback.kind != "join", ref < complaints_cut)
        .values(**_FEEDBACK_BLANK, anonymised_at=now).execution_options(synchronize_session=False)).rowcount or 0
    join_cut = now - dt.timedelta(days=tenant.retention["join"])
    out["join"] = db.session.execute(
        update(Feedback).where(kept, Feedback.kind == "join", Feedback.created_at < join_cut)
        .values(**_FEEDBACK_BLANK, anonymised_at=now).execution_options(synchronize_session=False)).rowcount or 0
    return out


_ARCO_FIELDS = ("id", "folio", "right", "status", "name", "email", "description", "answer", "due_on", "created_at",
                "answered_at", "done_at", "consent_notice_id", "consent_at")
_ARCO_BLANK = {"name": "", "email": "", "description": "", "answer": "", "ip_hash": "", "tracking_hash": None}


def _arco_export(email: str) -> list[dict]:
    rows = db.session.scalars(select(ArcoRequest).where(_same_email(ArcoRequest.email, email)).order_by(ArcoRequest.id))
    return [_row(r, _ARCO_FIELDS) for r in rows]


def _arco_erase(email: str) -> int:
    return db.session.execute(update(ArcoRequest).where(_same_email(ArcoRequest.email, email))
                              .values(**_ARCO_BLANK, anonymised_at=utcnow())
                              .execution_options(synchronize_session=False)).rowcount or 0


def _arco_purge(tenant: Tenant, now: dt.datetime) -> dict[str, int]:
    cut = now - dt.timedelta(days=tenant.retention["arco"])
    ref = db.func.coalesce(ArcoRequest.done_at, ArcoRequest.answered_at, ArcoRequest.created_at)
    n = db.session.execute(update(ArcoRequest).where(ArcoRequest.anonymised_at.is_(None), ref < cut)
                           .values(**_ARCO_BLANK, anonymised_at=now)
                           .execution_options(synchronize_session=False)).rowcount or 0
    return {"arco": n}


_MAIL_FIELDS = ("id", "kind", "recipient", "subject", "text_body", "status", "created_at", "sent_at")
_MAIL_BLANK = {"recipient": ERASED, "subject": "", "text_body": "", "html_body": None, "headers": {}}


def _mail_where(email: str):
    return (MailOutbox.tenant == get_current_tenant().slug, _same_email(MailOutbox.recipient, email))


def _mail_export(email: str) -> list[dict]:
    rows = db.session.scalars(select(MailOutbox).where(*_mail_where(email)).order_by(MailOutbox.id))
    return [_row(r, _MAIL_FIELDS) for r in rows]


def _mail_erase(email: str) -> int:
    # messages not sent yet are dropped; sent or failed ones are blanked (kept for the counts),
    # and their .eml files (file backend) deleted
    _remove_eml_files(set(db.session.scalars(select(MailOutbox.id).where(*_mail_where(email)))))
    dropped = db.session.execute(delete(MailOutbox).where(*_mail_where(email), MailOutbox.status == "pending")
                                 .execution_options(synchronize_session=False)).rowcount or 0
    blanked = db.session.execute(update(MailOutbox).where(*_mail_where(email)).values(**_MAIL_BLANK)
                                 .execution_options(synchronize_session=False)).rowcount or 0
    return dropped + blanked


def _purge_mail_rows(tenant_slug: str | None, days: int, now: dt.datetime) -> int:
    """Blank the sent or failed mail of ``tenant_slug`` (``None``: the platform's) older than
    ``days``, and delete the ``.eml`` files the ``file`` backend wrote for those messages."""
    cut = now - dt.timedelta(days=days)
    where = (MailOutbox.tenant.is_(None) if tenant_slug is None else MailOutbox.tenant == tenant_slug,
             MailOutbox.status.in_(("sent", "failed")), MailOutbox.created_at < cut, MailOutbox.recipient != ERASED)
    ids = set(db.session.scalars(select(MailOutbox.id).where(*where)))
    if not ids:
        return 0
    n = db.session.execute(update(MailOutbox).where(MailOutbox.id.in_(ids)).values(**_MAIL_BLANK)
                           .execution_options(synchronize_session=False)).rowcount or 0
    _remove_eml_files(ids)
    return n


def _remove_eml_files(ids: set[int]) -> None:
    """Delete the ``.eml`` files of the outbox rows ``ids`` from ``MAIL_DIR`` (named
    ``<stamp>-<id>-<kind>.eml`` by :mod:`comun_cms.mail`)."""
    folder = Path(current_app.config.get("MAIL_DIR") or Path(current_app.instance_path) / "mail")
    if not folder.is_dir():
        return
    for entry in os.scandir(folder):
        parts = entry.name.split("-", 2)
        if entry.name.endswith(".eml") and len(parts) == 3 and parts[1].isdigit() and int(parts[1]) in ids:
            Path(entry.path).unlink(missing_ok=True)


def _mail_purge(tenant: Tenant, now: dt.datetime) -> dict[str, int]:
    cut = now - dt.timedelta(days=tenant.retention["mail"])
    invitations = db.session.execute(delete(Invitation).where(Invitation.expires_at < cut)
                                     .execution_options(synchronize_session=False)).rowcount or 0
    return {"mail": _purge_mail_rows(tenant.slug, tenant.retention["mail"], now), "invitations": invitations}


def _invitation_export(email: str) -> list[dict]:
    rows = db.session.scalars(select(Invitation).where(_same_email(Invitation.email, email)).order_by(Invitation.id))
    return [_row(r, ("id", "email", "role", "created_at", "expires_at", "accepted_at")) for r in rows]


def _invitation_erase(email: str) -> int:
    return db.session.execute(delete(Invitation).where(_same_email(Invitation.email, email))
                              .execution_options(synchronize_session=False)).rowcount or 0


def _user_export(email: str) -> list[dict]:
    """The staff account of that address, if it has a role in the current tenant."""
    rows = db.session.execute(select(User, Membership.role).join(Membership, Membership.user_id == User.id)
                              .where(_same_email(User.email, email)))
    return [dict(_row(u, ("id", "email", "name", "active", "locale", "created_at")), role=role) for u, role in rows]


def _user_erase(email: str) -> int:
    """Staff accounts are not erased here (they are managed in Users: remove the membership)."""
    return 0


SOURCES: list[PersonalDataSource] = [
    PersonalDataSource("feedback", _feedback_export, _feedback_erase, _feedback_purge),
    PersonalDataSource("arco_requests", _arco_export, _arco_erase, _arco_purge),
    PersonalDataSource("mail_outbox", _mail_export, _mail_erase, _mail_purge),
    PersonalDataSource("invitations", _invitation_export, _invitation_erase, lambda tenant, now: {}),
    PersonalDataSource("users", _user_export, _user_erase, lambda tenant, now: {}),
]


def register_personal_data(source: PersonalDataSource) -> None:
    """Add a table that holds e-mail addresses (e.g. subscriptions) to exports, ARCO
    cancellations and the retention purge. A source of the same ``name`` is replaced."""
    SOURCES[:] = [s for s in SOURCES if s.name != source.name] + [source]


def email_digest(email: str) -> str:
    """SHA-256 (hex) of a lower-cased address: what audit events record instead of the address."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def export_person(email: str) -> dict[str, Any]:
    """Everything the current tenant holds about ``email`` (matched without regard to case).

    Returns ``{"email", "tenant", "generated_at" (ISO 8601 UTC), "sources": {name: [row, ...]}}``
    with one entry per :data:`SOURCES` item (empty lists included)."""
    return {"email": email.strip(), "tenant": get_current_tenant().slug, "generated_at": jsonable(utcnow()),
            "sources": {s.name: s.export(email) for s in SOURCES}}


def export_csv(data: dict[str, Any]) -> str:
    """:func:`export_person`'s result as CSV (RFC 4180), one line per value: ``source,
    record_id, field, value`` (tables differ in columns, so the long format keeps them all)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["source", "record_id", "field", "value"])
    for name, rows in data["sources"].items():
        for row in rows:
            for key, value in row.items():
                writer.writerow([name, row.get("id", ""), key, "" if value is None else value])
    return out.getvalue()


def erase_person(email: str) -> dict[str, int]:
    """Anonymise or delete everything the current tenant holds about ``email`` (an ARCO
    cancellation): each :data:`SOURCES` item's ``erase``. The caller records the audit event
    (with :func:`email_digest`, never the address) and commits in the same transaction.

    Returns ``{source name: rows changed}``."""
    return {s.name: s.erase(email) for s in SOURCES}


# --------------------------------------------------------------------------- retention
def purge(tenant: Tenant, now: dt.datetime | None = None) -> dict[str, int]:
    """Blank the personal data of ``tenant`` that is past its retention periods and add a
    ``privacy.purge`` audit event with the counts (also when nothing expired). Commits.

    Args:
        tenant: whose data (``Tenant.retention``: days per kind of data).
        now: aware UTC datetime (default: now); tests pass a later one.

    Returns ``{kind: rows anonymised or deleted}`` (``complaints``, ``join``, ``arco``,
    ``mail``, ``invitations`` and whatever registered sources report)."""
    now = now or utcnow()
    counts: dict[str, int] = {}
    with tenant_context(tenant):
        try:
            for source in SOURCES:
                for key, n in source.purge(tenant, now).items():
                    counts[key] = counts.get(key, 0) + n
            record_audit("privacy.purge", "tenant", tenant.slug, after={"counts": counts,
                                                                        "retention_days": dict(tenant.retention)},
                         user=None)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        # bytes of redacted files left behind by a redaction that committed without deleting them
        publishing.delete_redacted_files(tenant.slug)
    return counts


def purge_all(now: dt.datetime | None = None) -> dict[str, dict[str, int]]:
    """:func:`purge` every tenant of the running app, then the platform's own mail (rows with
    no tenant, kept ``RETENTION_MAIL_DAYS`` days, default 90). Returns ``{slug: counts}``
    (``""`` for the platform)."""
    now = now or utcnow()
    out = {slug: purge(tenant, now) for slug, tenant in current_app.extensions["comun"].tenants.items()}
    n = _purge_mail_rows(None, int(current_app.config["RETENTION_MAIL_DAYS"]), now)
    db.session.commit()
    out[""] = {"mail": n}
    return out


def overdue_filter(today: dt.date):
    """SQL condition of an ARCO request past its deadline and not answered yet."""
    return (ArcoRequest.status == "received") & (ArcoRequest.due_on < today)

