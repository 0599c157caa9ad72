"""Domain logic of the co-creation plugin: consultation dates, links of the timeline, the
outline format of the trees, supports with double opt-in, moderation and the paper import.

Nothing here commits: callers run inside ``admin_change`` (admin) or ``atomic`` (public forms),
so a failure leaves nothing half stored.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import current_app, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from comun_cms.toolkit import (
    ChangeRefused, TableError, content_types, current_tenant, db, publish, read_table, retract, send_mail, utcnow,
)

from .models import STRATEGY_STEPS, Problem, Process, ProcessStep, Support, Tree

PLUGIN = "cocreation"
#: Content types of other plugins a timeline step may link to (looked up in the registry, so the
#: plugin imports none of them; a type that is not installed or not enabled is simply absent).
LINKABLE_TYPES = ("stl_session", "action_plan", "commitment", "page")
#: Default themes of the consultation (setting ``themes``).
DEFAULT_THEMES = ["Transparencia y acceso a la información", "Participación ciudadana", "Rendición de cuentas",
                  "Integridad pública", "Servicios públicos", "Contrataciones públicas", "Otro"]
#: Field limits (characters).
TITLE_MAX, DESCRIPTION_MAX, MUNICIPALITY_MAX, REASON_MAX, OUTLINE_MAX_LINES = 200, 5000, 120, 1000, 200
#: Days a support confirmation link is valid.
CONFIRM_DAYS = 7


class ImportRefused(ValueError):
    """A paper-problem table with bad rows; ``str(error)`` lists every bad row by number."""


# --------------------------------------------------------------------------- dates
def tenant_today(tenant=None) -> dt.date:
    """Today's date in the tenant's timezone (``tenant.timezone``, IANA name)."""
    tenant = tenant or current_tenant
    return utcnow().astimezone(ZoneInfo(tenant.timezone)).date()


def consultation_state(process: Process, today: dt.date | None = None) -> str:
    """``"open"``, ``"not_yet"``, ``"closed"`` or ``"unscheduled"`` (no dates) for ``today``
    (default: today in the current tenant); both dates are included."""
    if process.consultation_opens is None or process.consultation_closes is None:
        return "unscheduled"
    today = today or tenant_today()
    if today < process.consultation_opens:
        return "not_yet"
    if today > process.consultation_closes:
        return "closed"
    return "open"


def themes(tenant=None) -> list[str]:
    """The tenant's consultation themes (setting ``cocreation.themes``)."""
    return list((tenant or current_tenant).setting(PLUGIN, "themes"))


# --------------------------------------------------------------------------- timeline links
@dataclass(frozen=True)
class StepLink:
    """What a timeline step points to: a ``label`` and a public ``url``."""

    label: str
    url: str


def _enabled_linkable(tenant) -> list:
    enabled = {ct.name for ct in content_types().enabled_for(tenant)}
    return [content_types().get(name) for name in LINKABLE_TYPES if name in enabled]


def linkable_choices(tenant) -> list[tuple[str, str]]:
    """``[("stl_session:12", "Session minutes: 1ª sesión de instalación"), ...]``: the published
    records of :data:`LINKABLE_TYPES` a step may link to, for a select field."""
    choices = []
    for ct in _enabled_linkable(tenant):
        rows = db.session.scalars(select(ct.model).where(ct.model.status == "published").order_by(ct.model.id))
        choices.extend((f"{ct.name}:{row.id}", f"{ct.label}: {ct.title(row)}") for row in rows)
    return choices


def resolve_link(link_type: str, link_id: int | None) -> StepLink | None:
    """The public link of a step's record, or ``None`` when there is none, the type is not
    installed or enabled, or the record is not public (drafts are never linked)."""
    if not link_type or link_id is None or link_type not in content_types():
        return None
    ct = content_types().get(link_type)
    if ct.name not in {c.name for c in content_types().enabled_for(current_tenant)}:
        return None
    record = db.session.get(ct.model, link_id)
    if record is None or record.tenant_id != current_tenant.slug or record.status not in ("published", "retracted"):
        return None
    return StepLink(f"{ct.label}: {ct.title(record)}", ct.url(record))


def find_record(type_name: str, **where) -> tuple[str, int] | None:
    """``(type_name, id)`` of the first published record of a content type whose columns equal
    ``where`` (e.g. ``kind="inaugural"``) or whose ``title`` contains ``title_contains``;
    ``None`` when the type is absent or nothing matches. Used by the demo loader."""
    if type_name not in content_types():
        return None
    model = content_types().get(type_name).model
    query = select(model.id).where(model.status == "published").order_by(model.id)
    contains = where.pop("title_contains", None)
    for key, value in where.items():
        query = query.where(getattr(model, key) == value)
    if contains:
        query = query.where(model.title.contains(contains))
    found = db.session.scalar(query)
    return (type_name, found) if found is not None else None


def ensure_steps(process: Process) -> list[ProcessStep]:
    """Give ``process`` its 13 steps (missing ones created empty). Returns them in order."""
    have = {s.number for s in process.steps}
    for number in range(1, len(STRATEGY_STEPS) + 1):
        if number not in have:
            process.steps.append(ProcessStep(number=number))
    process.steps.sort(key=lambda s: s.number)
    return list(process.steps)


# --------------------------------------------------------------------------- trees (outlines)
@dataclass
class Node:
    """One item of an outline: ``text`` and its ``children`` (Nodes)."""

    text: str
    children: list["Node"]


def parse_outline(text: str, field_label: str) -> list[Node]:
    """Parse an indented outline: one item per line; each level indented by two spaces (a
    leading ``-``, ``*`` or ``•`` is dropped; tabs count as two spaces).

    Returns the top-level nodes. Raises ``ValueError`` naming ``field_label`` and the line
    when a line jumps more than one level deeper, is longer than 300 characters, or there are
    more than :data:`OUTLINE_MAX_LINES` items.
    """
    roots: list[Node] = []
    stack: list[tuple[int, Node]] = []
    count = 0
    for number, raw in enumerate((text or "").replace("\t", "  ").splitlines(), start=1):
        if not raw.strip():
            continue
        count += 1
        if count > OUTLINE_MAX_LINES:
            raise ValueError(_("%(field)s: use at most %(n)d items.", field=field_label, n=OUTLINE_MAX_LINES))
        level = (len(raw) - len(raw.lstrip(" "))) // 2
        item = raw.strip().lstrip("-*•").strip()
        if not item:
            continue
        if len(item) > 300:
            raise ValueError(_("%(field)s, line %(line)d: use at most 300 characters.", field=field_label, line=number))
        depth = stack[-1][0] + 1 if stack else 0
        if level > depth:
            raise ValueError(_("%(field)s, line %(line)d: indent one level (two spaces) at a time.",
                               field=field_label, line=number))
        while stack and stack[-1][0] >= level:
            stack.pop()
        node = Node(item, [])
        (stack[-1][1].children if stack else roots).append(node)
        stack.append((level, node))
    return roots


def outline_data(nodes: list[Node]) -> list[dict]:
    """Nodes as JSON-safe ``[{"text": ..., "children": [...]}, ...]`` (frozen at publication)."""
    return [{"text": n.text, "children": outline_data(n.children)} for n in nodes]


# --------------------------------------------------------------------------- validation
def problem_errors(values: dict, allowed_themes: list[str]) -> dict[str, str]:
    """Check a problem's ``title``, ``description``, ``theme`` and ``municipality``.

    Returns ``{field: message}`` (empty when valid), messages in the user's language. The
    texts are stored as plain text and always shown escaped, so HTML is harmless."""
    errors = {}
    title = (values.get("title") or "").strip()
    description = (values.get("description") or "").strip()
    if not title:
        errors["title"] = _("Write the problem's title.")
    elif len(title) > TITLE_MAX:
        errors["title"] = _("Use at most %(max)d characters.", max=TITLE_MAX)
    if not description:
        errors["description"] = _("Describe the problem.")
    elif len(description) > DESCRIPTION_MAX:
        errors["description"] = _("Use at most %(max)d characters.", max=DESCRIPTION_MAX)
    if (values.get("theme") or "").strip() not in allowed_themes:
        errors["theme"] = _("Choose one of the themes: %(themes)s.", themes="; ".join(allowed_themes))
    if len((values.get("municipality") or "").strip()) > MUNICIPALITY_MAX:
        errors["municipality"] = _("Use at most %(max)d characters.", max=MUNICIPALITY_MAX)
    return errors


# --------------------------------------------------------------------------- supports
def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def support_count(problem_id: int) -> int:
    """Confirmed supports of a problem (one per verified e-mail address)."""
    return db.session.scalar(select(func.count(Support.id)).where(
        Support.problem_id == problem_id, Support.confirmed_at.is_not(None))) or 0


def request_support(problem: Problem, email: str, consent: dict) -> str:
    """Ask for a support of ``problem`` from ``email``: store an unconfirmed row and queue the
    confirmation mail (double opt-in) in the current transaction.

    Returns ``"sent"`` (mail queued) or ``"already"`` (this address already supports it; no
    mail). ``consent`` is ``form.consent_fields()``."""
    email = email.strip().lower()
    row = db.session.scalar(select(Support).where(Support.problem_id == problem.id, Support.email == email))
    if row is not None and row.confirmed_at is not None:
        return "already"
    if row is None and db.session.scalar(select(Support.id).where(
            Support.problem_id == problem.id, Support.email == support_pseudonym(email))) is not None:
        return "already"  # counted long ago; the purge replaced the address by its pseudonym
    token = secrets.token_urlsafe(24)
    if row is None:
        row = Support(problem_id=problem.id, email=email)
        db.session.add(row)
    row.token_hash = _token_hash(token)
    row.consent_notice_id, row.consent_at = consent.get("consent_notice_id"), consent.get("consent_at")
    db.session.flush()
    link = url_for("cocreation.confirm_support", token=token, _external=True)
    send_mail(email, "cocreation_support_confirm", {"problem": problem, "link": link, "days": CONFIRM_DAYS},
              tenant=current_tenant, kind="cocreation_support_confirm")
    return "sent"


def support_pseudonym(email: str) -> str:
    """What the retention purge keeps of a counted support's address: ``"hmac:"`` + the
    HMAC-SHA-256 (hex, RFC 2104) of the lower-cased address keyed with the application's secret
    key. It still makes one support per address (the form compares it) but is not the address:
    without the key it cannot be turned back into it or matched against a list."""
    key = str(current_app.secret_key or "").encode()
    return "hmac:" + hmac.new(key, email.strip().lower().encode(), hashlib.sha256).hexdigest()


def support_for_token(token: str) -> Support | None:
    """The support whose mailed token is ``token`` and is still valid (:data:`CONFIRM_DAYS`)."""
    if not token or len(token) > 100:
        return None
    row = db.session.scalar(select(Support).where(Support.token_hash == _token_hash(token)))
    if row is None or row.updated_at < utcnow() - dt.timedelta(days=CONFIRM_DAYS):
        return None
    return row


def confirm_support(row: Support) -> bool:
    """Count the support. Returns ``False`` when it was already counted (nothing changes)."""
    if row.confirmed_at is not None:
        return False
    row.confirmed_at = utcnow()
    row.token_hash = ""
    return True


# --------------------------------------------------------------------------- moderation
def publish_problem(problem: Problem, user) -> None:
    """Publish a pending problem (through the core workflow, which indexes and notarizes).
    Raises :class:`ChangeRefused` when it is not pending."""
    if problem.moderation != "pending":
        raise ChangeRefused(_("Only pending problems can be published."))
    problem.moderation, problem.moderated_at = "published", utcnow()
    publish(problem, user=user, commit=False)


def merge_problem(problem: Problem, target: Problem | None, user) -> int:
    """Merge the duplicate ``problem`` into the published ``target`` of the same process: the
    duplicate links to the target, its supports move to it (an address that supports both counts
    once) and, if it was public, it is retracted with a reason that names the target.

    Returns how many supports moved. Raises :class:`ChangeRefused` (field ``target``) when the
    target is missing, the same problem, another process's or not published."""
    if target is None or target.id == problem.id or target.process_id != problem.process_id:
        raise ChangeRefused(_("Choose another published problem of the same process."), field="target")
    if target.moderation != "published":
        raise ChangeRefused(_("A problem can only be merged into a published problem."), field="target")
    if problem.moderation not in ("pending", "published"):
        raise ChangeRefused(_("This problem was already moderated."))
    was_public = problem.moderation == "published"
    problem.moderation, problem.merged_into_id, problem.moderated_at = "merged", target.id, utcnow()
    have = set(db.session.scalars(select(Support.email).where(Support.problem_id == target.id)))
    moved = 0
    for row in db.session.scalars(select(Support).where(Support.problem_id == problem.id)).all():
        if row.email in have:
            db.session.delete(row)
        else:
            row.problem_id = target.id
            moved += 1
    if was_public:
        retract(problem, reason=_("Duplicate: merged into problem %(n)d, “%(title)s”.", n=target.id,
                                  title=target.title), user=user, commit=False)
    return moved


def reject_problem(problem: Problem, reason: str, user) -> None:
    """Reject a problem with a public ``reason`` (required, at most :data:`REASON_MAX`
    characters); a published one is retracted with that reason. Raises :class:`ChangeRefused`."""
    reason = (reason or "").strip()
    if not reason:
        raise ChangeRefused(_("Write the public reason for rejecting it."), field="reason")
    if len(reason) > REASON_MAX:
        raise ChangeRefused(_("Use at most %(max)d characters.", max=REASON_MAX), field="reason")
    if problem.moderation not in ("pending", "published"):
        raise ChangeRefused(_("This problem was already moderated."))
    was_public = problem.moderation == "published"
    problem.moderation, problem.reject_reason, problem.moderated_at = "rejected", reason, utcnow()
    if was_public:
        retract(problem, reason=reason, user=user, commit=False)


# --------------------------------------------------------------------------- paper import
IMPORT_COLUMNS = {
    "title": ("Título", "Titulo", "Problema", "Title"),
    "description": ("Descripción", "Description"),
    "theme": ("Tema", "Theme"),
    "municipality": ("Municipio", "Municipality"),
    "paper_reference": ("Folio", "Folio de papel", "Reference"),
}
_IMPORT_LABELS = {"title": "Título", "description": "Descripción", "theme": "Tema", "municipality": "Municipio",
                  "paper_reference": "Folio"}


def import_paper_problems(process: Process, *, text: str = "", file=None) -> list[Problem]:
    """Add the problems of a CSV/XLSX table of a paper consultation to ``process``, marked
    ``source="paper"`` and pending moderation. All or nothing: nothing is added when any row
    is bad.

    Columns (first row; accents and case ignored): Título, Descripción, Tema, Municipio
    (optional), Folio (optional). Returns the new problems (flushed). Raises
    :class:`ImportRefused` whose message lists every bad row by its number in the table (the
    header is row 1), or when the table itself cannot be read."""
    try:
        rows = read_table(IMPORT_COLUMNS, text=text, file=file, required=("title", "description", "theme"))
    except TableError as exc:
        raise ImportRefused(str(exc)) from exc
    allowed = themes()
    problems, bad = [], []
    for row in rows:
        errors = problem_errors(row.values, allowed)
        if len(row.values.get("paper_reference", "")) > 120:
            errors["paper_reference"] = _("Use at most %(max)d characters.", max=120)
        if errors:
            detail = "; ".join(f"{_IMPORT_LABELS[k]}: {v}" for k, v in errors.items())
            bad.append(_("Row %(n)d: %(detail)s", n=row.number, detail=detail))
            continue
        v = row.values
        problems.append(Problem(process_id=process.id, title=v["title"].strip(), description=v["description"].strip(),
                                theme=v["theme"].strip(), municipality=v.get("municipality", "").strip(),
                                paper_reference=v.get("paper_reference", "").strip(), source="paper"))
    if bad:
        raise ImportRefused(_("Nothing was imported. Correct these rows and upload the table again:") + " "
                            + " ".join(bad))
    db.session.add_all(problems)
    db.session.flush()
    return problems


# --------------------------------------------------------------------------- trees
def tree_for(problem: Problem, kind: str) -> Tree | None:
    """The problem's tree of ``kind`` (``problem`` or ``solution``), or ``None``."""
    return db.session.scalar(select(Tree).where(Tree.problem_id == problem.id, Tree.kind == kind))
