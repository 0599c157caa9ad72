"""Admin blueprint ``admin`` (mounted at ``/<tenant>/admin``): dashboard, pages and their
publishing workflow, files, users and invitations, settings, moderation and the audit log.

Rules kept by every view here:

* each route is guarded by :func:`comun_cms.permissions.require_role` (content: admin/editor;
  users, settings, audit: admin; the dashboard: permission ``admin.access``, every role);
* records are read with ``select()`` so the global tenant filter applies (another tenant's id is
  a 404), never with ``Session.get``;
* every write goes through :func:`comun_cms.changes.admin_change`: the change and its
  :class:`~comun_cms.models.AuditEvent` commit together, or everything is rolled back and the
  message goes to the form (re-rendered with status 422) or to a flash; bad input stores nothing.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.routing import BuildError

from comun_cms import drafts, publishing, web_settings
from comun_cms.audit import action_label, action_labels, record_audit, snapshot
from comun_cms.changes import ChangeRefused, admin_change
from comun_cms.core_plugin import PAGE_TYPE, page_attachments
from comun_cms.database import one_or_404, page_arg
from comun_cms.extensions import db
from comun_cms.forms import (
    FEEDBACK_STATUS_LABELS, FEEDBACK_STATUSES, ROLE_LABELS, ChangesForm, ConfirmForm, InviteForm,
    ModerationForm, PageForm, PreviewForm, RedactForm, RetractForm, RoleForm, SettingsForm, UploadForm, slugify,
)
from comun_cms.mail import send_mail
from comun_cms.models import (
    Attachment, AuditEvent, Draft, Feedback, Invitation, Membership, Page, Publication, User, utcnow,
)
from comun_cms.editing import PREVIEW_MAX, autosave_reply, form_error_list, is_autosave, wants_preview
from comun_cms.permissions import (
    ADMIN_ACCESS, CONTENT_ROLES, REDACT, STAFF_ROLES, can, has_role, require_permission, require_role,
    role_in,
)
from comun_cms.plugins import flatten, get_pm, plugin_version, tenant_hook
from comun_cms.richtext import render_markdown
from comun_cms.tenancy import get_current_tenant
from comun_cms.uploads import discard_unused, store_upload
from comun_cms.views.public import FEEDBACK_KINDS, SECTORS, _record_for

bp = Blueprint("admin", __name__)

PAGE_STATUSES = ("draft", "published", "retracted")
PAGE_STATUS_LABELS = {"draft": _l("Draft"), "published": _l("Published"), "retracted": _l("Retracted")}
ACTION_LABELS = {"publish": _l("Published"), "correct": _l("Correction"), "retract": _l("Retraction")}
INVITATION_DAYS = 7
PER_PAGE = 50
INVALID = 422  # status of a re-rendered form with errors


# --------------------------------------------------------------------------- helpers
def menu_items(tenant, role: str | None) -> list[dict]:
    """The admin menu: ``admin_menu_items`` of the tenant's plugins, flattened, filtered by
    ``role`` (``MenuItem.roles``; empty = any staff role) and sorted by ``order``.

    Returns ``[{"label", "url", "active"}]``; entries whose endpoint does not exist are skipped.
    """
    items = flatten(tenant_hook(tenant, "admin_menu_items")(tenant=tenant))
    out = []
    for item in sorted(items, key=lambda i: i.order):
        if role is None or (item.roles and role not in item.roles):
            continue
        try:
            url = url_for(item.endpoint, **item.url_kwargs)
        except BuildError:
            current_app.logger.warning("admin menu: unknown endpoint %s", item.endpoint)
            continue
        out.append({"label": item.label, "url": url, "active": request.endpoint == item.endpoint})
    return out


@bp.app_context_processor
def _admin_context() -> dict:
    """Admin layout context (menu, role, labels) for the core admin and every plugin's
    ``admin_*`` blueprint."""
    blueprint = (request.blueprint or "").split(".")[0]
    if blueprint != "admin" and not blueprint.startswith("admin_"):
        return {}
    tenant = get_current_tenant()
    role = role_in(current_user, tenant)
    return {"admin_menu": menu_items(tenant, role) if tenant else [], "admin_role": role,
            "role_labels": ROLE_LABELS, "status_labels": PAGE_STATUS_LABELS, "action_labels": ACTION_LABELS,
            "pretty_json": pretty_json}


def pretty_json(value: Any) -> str:
    """Indented JSON of ``value`` for reading (keys sorted, accents kept)."""
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)


def _flush_page() -> None:
    """Flush the session; a page address another page already uses refuses the change (the
    message goes to the ``slug`` field)."""
    try:
        db.session.flush()
    except IntegrityError as exc:
        raise ChangeRefused(_("Another page already uses this address; choose another one."), field="slug") from exc


def _public_url(page: Page) -> str | None:
    if not page.is_public:
        return None
    try:
        return PAGE_TYPE.url(page)
    except BuildError:
        return None


def _render_edit(page: Page, status: int = 200, **forms) -> tuple[str, int]:
    """Render the page editor with its sub-forms ``form`` (edit), ``publish_form``,
    ``changes_form`` (publish the draft of a published page), ``discard_form``,
    ``retract_form`` and ``upload_form``; a form given in ``forms`` (e.g. one carrying errors)
    replaces the empty default. On a published page the edit form shows the draft's values and
    the changes against the published version; after the "Preview" button the body's
    preview comes from the submitted form (:func:`comun_cms.editing.preview_of`)."""
    published = page.status == "published"
    draft = drafts.get_draft(page) if published else None
    defaults = {
        "form": lambda: PageForm(formdata=None, page=page, data=drafts.edit_values(page, PageForm.page_fields, draft)),
        "publish_form": lambda: ConfirmForm(formdata=None, prefix="publish"),
        "changes_form": lambda: ChangesForm(formdata=None, prefix="changes"),
        "discard_form": lambda: ConfirmForm(formdata=None, prefix="discard"),
        "retract_form": lambda: RetractForm(formdata=None, prefix="retract"),
        "upload_form": lambda: UploadForm(formdata=None, prefix="upload"),
    }
    context = {name: forms[name] if forms.get(name) is not None else make() for name, make in defaults.items()}
    context["upload_form"].require_reason = published
    changes = []
    if draft is not None:
        form = context["form"]
        changes = drafts.diff_values({name: getattr(page, name) for name in PageForm.page_fields}, draft.data,
                                     form.labels(), form.choice_labels())
    context.update(page=page, draft=draft, changes=changes,
                   history=publishing.history("page", page.id), attachments=page_attachments(page),
                   public_url=_public_url(page))
    return render_template("admin/page_edit.html", **context), status


# --------------------------------------------------------------------------- dashboard
@bp.route("/")
@require_permission(ADMIN_ACCESS)
def dashboard():
    """Dashboard: counts of draft and published pages and pending moderation, recent
    publications, recent audit events (admins) and the plugins' ``dashboard_widgets``."""
    tenant = get_current_tenant()
    def count(model, *where) -> int:
        return db.session.scalar(select(func.count()).select_from(model).where(*where))

    counts = {
        "draft": count(Page, Page.status == "draft"),
        "published": count(Page, Page.status == "published"),
        "feedback": count(Feedback, Feedback.status == "new"),
        "overdue": count(Feedback, Feedback.status.in_(OPEN_STATUSES), Feedback.due_on < tenant.today()),
    }
    publications = db.session.scalars(select(Publication).order_by(Publication.published_at.desc(),
                                                                   Publication.id.desc()).limit(8)).all()
    events = []
    if has_role("admin"):
        events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                                    .limit(8)).all()
    widgets = sorted((w for w in flatten(tenant_hook(tenant, "dashboard_widgets")(tenant=tenant))
                      if any(can(p) for p in w.permissions)), key=lambda w: w.order)
    return render_template("admin/dashboard.html", counts=counts, publications=publications, events=events,
                           widgets=widgets, can_edit=has_role(*CONTENT_ROLES), action_label=action_label,
                           action_labels=action_labels() if events else {})


# --------------------------------------------------------------------------- pages
@bp.route("/paginas")
@require_role(*CONTENT_ROLES)
def pages():
    """List the tenant's pages, newest change first; ``?status=draft|published|retracted`` filters.
    Published pages with a draft of their next version are marked "Unpublished changes"."""
    status = request.args.get("status", "")
    query = select(Page).order_by(Page.updated_at.desc(), Page.id.desc())
    if status in PAGE_STATUSES:
        query = query.where(Page.status == status)
    else:
        status = ""
    pagination = db.paginate(query, page=page_arg(), per_page=PER_PAGE, error_out=False)
    drafted = set(db.session.scalars(select(Draft.record_id).where(Draft.content_type == PAGE_TYPE.name)))
    return render_template("admin/pages.html", pagination=pagination, status=status, statuses=PAGE_STATUSES,
                           drafted=drafted)


@bp.route("/paginas/nueva", methods=["GET", "POST"])
@require_role(*CONTENT_ROLES)
def page_new():
    """Create a draft page; redirects to its editor."""
    form = PageForm()
    if wants_preview():  # the "Preview" button: render the text, store nothing
        form.validate()
        return render_template("admin/page_new.html", form=form)
    if form.validate_on_submit():
        page = Page()
        form.populate_page(page)
        with admin_change("page.create", page, object_type="page", form=form, success=_("Draft saved.")) as change:
            db.session.add(page)
            _flush_page()
        if change.ok:
            return redirect(url_for(".page_edit", page_id=page.id), code=303)
    return render_template("admin/page_new.html", form=form), INVALID if form.is_submitted() else 200


@bp.route("/paginas/<int:page_id>", methods=["GET", "POST"])
@require_role(*CONTENT_ROLES)
def page_edit(page_id: int):
    """Edit a page. A draft page is saved in place. Saving a published page stores a draft of
    the next version (the public keeps seeing the published one until "Publicar cambios",
    :func:`page_publish_changes`). A retracted page is read-only (POST answers 409).

    Form buttons: ``preview`` renders the submitted Markdown beside the text without saving;
    ``autosave=1`` (sent by ``js/editing.js``) saves and answers JSON instead of a page.
    """
    page = one_or_404(Page, page_id)
    if request.method == "GET":
        return _render_edit(page)
    autosave = is_autosave()
    form = PageForm(page=page)
    if page.status == "retracted":
        form.form_errors.append(_("A retracted page cannot be edited."))
        if autosave:
            return autosave_reply(False, form, status=409, message=_("Not saved."))
        return _render_edit(page, 409, form=form)
    if wants_preview():
        form.validate()  # show the problems too, but store nothing
        return _render_edit(page, form=form)
    if not form.validate_on_submit():
        if autosave:
            return autosave_reply(False, form)
        return _render_edit(page, INVALID, form=form)
    if page.status == "published":
        previous = drafts.get_draft(page)
        with admin_change("page.draft", page, object_type="page", form=form,
                          before=dict(previous.data) if previous else None) as change:
            draft = drafts.save_draft(page, form.values(), user=current_user)
            change.after = dict(draft.data) if draft is not None else None
        message = (_("Changes saved as a draft. The public still sees version %(n)d until you publish the changes.",
                     n=page.version) if change.after else _("The draft is the same as the published version."))
    else:
        with admin_change("page.update", page, object_type="page", form=form) as change:
            form.populate_page(page)
            _flush_page()
        message = _("Draft saved.")
    if autosave:
        return autosave_reply(change.ok, form)
    if change.failed:
        return _render_edit(page, INVALID, form=form)
    flash(message, "success")
    return redirect(url_for(".page_edit", page_id=page.id), code=303)


@bp.route("/paginas/<int:page_id>/publicar", methods=["POST"])
@require_role(*CONTENT_ROLES)
def page_publish(page_id: int):
    """Publish a draft page as version 1."""
    page = one_or_404(Page, page_id)
    form = ConfirmForm(prefix="publish")
    if not form.validate_on_submit():
        return _render_edit(page, INVALID, publish_form=form)
    with admin_change("page.publish", page, object_type="page", form=form, success=_("Page published.")) as change:
        pub = publishing.publish(page, user=current_user, commit=False)
        change.after = {**snapshot(page), "sha256": pub.sha256}
    if change.failed:
        return _render_edit(page, INVALID, publish_form=form)
    return redirect(url_for(".page_edit", page_id=page.id), code=303)


@bp.route("/paginas/<int:page_id>/publicar-cambios", methods=["POST"])
@require_role(*CONTENT_ROLES)
def page_publish_changes(page_id: int):
    """"Publicar cambios": publish the draft of a published page as a correction with the
    reason given (one new version, one notary leaf); the draft is deleted."""
    page = one_or_404(Page, page_id)
    form = ChangesForm(prefix="changes")
    if drafts.get_draft(page) is None:
        flash(_("There are no unpublished changes to publish."), "error")
        return redirect(url_for(".page_edit", page_id=page.id), code=303)
    if not form.validate_on_submit():
        return _render_edit(page, INVALID, changes_form=form)

    def apply(record: Page, data: dict) -> None:
        for name, value in data.items():
            if name in PageForm.page_fields:
                setattr(record, name, value)
        _flush_page()

    with admin_change("page.correct", page, object_type="page", form=form) as change:
        pub = drafts.publish_draft(page, reason=form.reason.data, apply=apply, user=current_user)
        change.after = {**snapshot(page), "reason": pub.reason, "sha256": pub.sha256}
    if change.failed:
        return _render_edit(page, INVALID, changes_form=form)
    flash(_("Changes published (version %(n)d).", n=page.version), "success")
    return redirect(url_for(".page_edit", page_id=page.id), code=303)


@bp.route("/paginas/<int:page_id>/descartar-cambios", methods=["POST"])
@require_role(*CONTENT_ROLES)
def page_discard_changes(page_id: int):
    """Delete the draft of a published page; the published version stays as it is."""
    page = one_or_404(Page, page_id)
    form = ConfirmForm(prefix="discard")
    if not form.validate_on_submit():
        return _render_edit(page, INVALID, discard_form=form)
    draft = drafts.get_draft(page)
    if draft is None:
        flash(_("There are no unpublished changes to discard."), "info")
        return redirect(url_for(".page_edit", page_id=page.id), code=303)
    with admin_change("page.draft_discard", page, object_type="page", before=dict(draft.data),
                      success=_("Unpublished changes discarded.")) as change:
        drafts.discard_draft(page)
        change.after = None
    return redirect(url_for(".page_edit", page_id=page.id), code=303)


@bp.route("/vista-previa", methods=["POST"])
@require_role(*STAFF_ROLES)
def markdown_preview():
    """Render the Markdown of the form field ``text`` as sanitized HTML (a fragment), for the
    live preview of ``js/editing.js`` (any staff role of the tenant: every admin editor with a
    :class:`~comun_cms.editing.MarkdownField` uses it, evaluators' recommendations too).
    Nothing is stored; the renderer is the public pages' (:func:`comun_cms.richtext.render_markdown`).
    CSRF-protected like every POST; a missing ``text`` renders nothing; control characters answer
    400 with the problem, naming the field, as plain text. Without JavaScript each
    editor's "Preview" button renders the same on the server (:func:`comun_cms.editing.preview_of`)."""
    headers = {"Cache-Control": "no-store"}
    form = PreviewForm(meta={"csrf": False})  # CSRFProtect has checked the token
    if not form.validate():
        return " ".join(form_error_list(form)), 400, {**headers, "Content-Type": "text/plain; charset=utf-8"}
    text = (form.text.data or "")[:PREVIEW_MAX]
    return render_markdown(text), 200, {**headers, "Content-Type": "text/html; charset=utf-8"}


@bp.route("/paginas/<int:page_id>/retirar", methods=["POST"])
@require_role(*CONTENT_ROLES)
def page_retract(page_id: int):
    """Retract a published page; the reason is required and stays public."""
    page = one_or_404(Page, page_id)
    form = RetractForm(prefix="retract")
    if not form.validate_on_submit():
        return _render_edit(page, INVALID, retract_form=form)
    with admin_change("page.retract", page, object_type="page", form=form, success=_("Page retracted.")) as change:
        pub = publishing.retract(page, reason=form.reason.data, user=current_user, commit=False)
        change.after = {**snapshot(page), "reason": pub.reason, "sha256": pub.sha256}
    if change.failed:
        return _render_edit(page, INVALID, retract_form=form)
    return redirect(url_for(".page_edit", page_id=page.id), code=303)


@bp.route("/redactar/<content_type>/<record_id>", methods=["GET", "POST"])
@require_permission(REDACT)
def redact(content_type: str, record_id: str):
    """"Redactar": confirm and run the redaction of a published or retracted record of any
    enabled content type (:func:`comun_cms.publishing.redact`): legal basis (required), scope
    (the whole record, or one earlier version). Admin and privacy roles only (``content.redact``);
    the audit log records ``<type>.redact`` with the scope, versions and legal basis (never the
    content). 404 for unknown types, records of other tenants and drafts; 422 with the form's
    errors (nothing changed) for bad input."""
    tenant = get_current_tenant()
    enabled = {ct.name: ct for ct in current_app.extensions["comun"].content_types.enabled_for(tenant)}
    ct = enabled.get(content_type)
    record = _record_for(ct, record_id) if ct is not None else None
    if record is None or getattr(record, "status", "draft") not in ("published", "retracted"):
        abort(404)
    versions = publishing.history(ct.name, record.id)
    if not versions:
        abort(404)
    live = record.status == "published"
    with_content = [p for p in versions if p.redaction_id is None and p.action != "retract"
                    and json.loads(p.canonical_json).get("content") is not None]
    form = RedactForm()
    form.version.choices = [(str(p.version), _("Version %(n)d", n=p.version)) for p in with_content
                            if not (live and p.version == versions[-1].version)]
    status = 200
    if request.method == "POST":
        status = INVALID
        if form.validate_on_submit():
            scope = form.scope.data
            with admin_change(f"{ct.name}.redact", record, object_type=ct.name, object_id=record.id, before=None,
                              form=form, success=_("The content was redacted.")) as change:
                pub = publishing.redact(record, legal_basis=form.legal_basis.data, scope=scope,
                                        version=int(form.version.data) if scope == "version" else None,
                                        user=current_user, commit=False)
                change.after = {"scope": scope, "versions": publishing.redaction_of(pub).get("versions", []),
                                "legal_basis": pub.reason, "version": pub.version, "sha256": pub.sha256}
            if change.ok:
                publishing.delete_redacted_files(tenant.slug)
                return redirect(url_for(".redact", content_type=ct.name, record_id=record.id), code=303)
    return render_template("admin/redact.html", record=record, content_type=ct, title=ct.title(record),
                           versions=versions, form=form, can_redact_more=bool(with_content)), status


@bp.route("/redacciones")
@require_permission(REDACT)
def redactions():
    """Every redaction of the tenant, newest first (50 per page, ``?page=``), with its legal
    basis and links to the record's history and its "Redactar" form. To redact a record, open its
    public history (or its admin page) and choose "Redactar"."""
    pagination = db.paginate(select(Publication).where(Publication.action == "redact")
                             .order_by(Publication.published_at.desc(), Publication.id.desc()),
                             page=page_arg(), per_page=PER_PAGE, error_out=False)
    return render_template("admin/redactions.html", pagination=pagination)


@bp.route("/paginas/<int:page_id>/archivos", methods=["POST"])
@require_role(*CONTENT_ROLES)
def page_upload(page_id: int):
    """Attach an uploaded file to a page. On a published page a reason is required and a
    correction is published, so the file's SHA-256 enters the published content."""
    page = one_or_404(Page, page_id)
    form = UploadForm(prefix="upload")
    form.require_reason = page.status == "published"
    if page.status == "retracted":
        form.form_errors.append(_("A retracted page cannot receive files."))
        return _render_edit(page, 409, upload_form=form)
    if not form.validate_on_submit():
        return _render_edit(page, INVALID, upload_form=form)
    published = page.status == "published"
    att = None
    # on a published page the upload event comes first and the correction is the change's own
    # event; on a draft the upload is the change
    with admin_change("page.correct" if published else "attachment.upload", page if published else None,
                      object_type="page" if published else "attachment", form=form) as change:
        att = store_upload(form.file.data, owner_type="page", owner_id=str(page.id), title=form.title.data,
                           user_id=current_user.id)
        db.session.flush()
        uploaded = {**att.describe(), "owner": f"page/{page.id}"}
        if published:
            record_audit("attachment.upload", "attachment", att.id, None, uploaded)
            pub = publishing.correct(page, reason=form.reason.data, user=current_user, commit=False)
            change.after = {**snapshot(page), "reason": pub.reason, "sha256": pub.sha256}
        else:
            change.object_id, change.after = att.id, uploaded
    if change.failed:
        if att is not None:  # the row was rolled back: drop the stored file unless shared
            discard_unused(get_current_tenant().slug, att.sha256)
        return _render_edit(page, INVALID, upload_form=form)
    flash(_("File “%(name)s” attached.", name=att.filename), "success")
    return redirect(url_for(".page_edit", page_id=page.id) + "#archivos", code=303)


@bp.route("/archivos")
@require_role(*CONTENT_ROLES)
def attachments():
    """Every file uploaded in the tenant, newest first, with the record it belongs to."""
    pagination = db.paginate(select(Attachment).order_by(Attachment.created_at.desc(), Attachment.id.desc()),
                             page=page_arg(), per_page=PER_PAGE, error_out=False)
    return render_template("admin/attachments.html", pagination=pagination)


# --------------------------------------------------------------------------- users
def _admin_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Membership).where(Membership.role == "admin"))


def _render_users(status: int = 200, forms: dict[int, Any] | None = None) -> tuple[str, int]:
    """Render the members list; ``forms`` maps a membership id to a form carrying errors."""
    forms = forms or {}
    memberships = db.session.scalars(select(Membership).join(Membership.user).order_by(User.email)).all()
    rows = [{"membership": m,
             "role_form": forms.get(m.id) or RoleForm(prefix=f"m{m.id}", formdata=None, role=m.role),
             "remove_form": ConfirmForm(prefix=f"r{m.id}", formdata=None)} for m in memberships]
    invitations = db.session.scalars(select(Invitation).where(Invitation.accepted_at.is_(None),
                                                              Invitation.expires_at > utcnow())
                                     .order_by(Invitation.created_at.desc())).all()
    return render_template("admin/users.html", rows=rows, invitations=invitations), status


def _last_admin_error(membership: Membership) -> str | None:
    if membership.role == "admin" and _admin_count() <= 1:
        return _("%(email)s is the only administrator of this site; name another administrator first.",
                 email=membership.user.email)
    return None


@bp.route("/usuarios")
@require_role("admin")
def users():
    """Members of the tenant with their roles, and pending invitations."""
    return _render_users()


@bp.route("/usuarios/<int:membership_id>/rol", methods=["POST"])
@require_role("admin")
def user_role(membership_id: int):
    """Change a member's role (the last administrator cannot be demoted)."""
    membership = one_or_404(Membership, membership_id)
    form = RoleForm(prefix=f"m{membership.id}")
    if form.validate_on_submit() and form.role.data != membership.role:
        error = _last_admin_error(membership)
        if error:
            form.role.errors.append(error)
        else:
            with admin_change("membership.role", membership, object_type="membership",
                              before={"email": membership.user.email, "role": membership.role},
                              success=_("Role of %(email)s changed.", email=membership.user.email)) as change:
                membership.role = form.role.data
                change.after = {"email": membership.user.email, "role": membership.role}
            return redirect(url_for(".users"), code=303)
    elif form.is_submitted() and not form.errors:
        return redirect(url_for(".users"), code=303)  # same role: nothing to do
    return _render_users(INVALID, {membership.id: form})


@bp.route("/usuarios/<int:membership_id>/quitar", methods=["POST"])
@require_role("admin")
def user_remove(membership_id: int):
    """Remove a member from the tenant (the user account stays; the last administrator cannot
    be removed)."""
    membership = one_or_404(Membership, membership_id)
    form = RoleForm(prefix=f"m{membership.id}", formdata=None, role=membership.role)
    error = _last_admin_error(membership)
    if error or not ConfirmForm(prefix=f"r{membership.id}").validate_on_submit():
        form.role.errors = [error or _("The request expired; try again.")]
        return _render_users(INVALID, {membership.id: form})
    email, user_id = membership.user.email, membership.user_id
    with admin_change("membership.remove", object_type="membership", object_id=membership.id,
                      before={"email": email, "role": membership.role},
                      success=_("%(email)s no longer has access to this site.", email=email)):
        db.session.delete(membership)
    if user_id == current_user.id:
        return redirect(url_for("auth.account"), code=303)
    return redirect(url_for(".users"), code=303)


@bp.route("/usuarios/invitar", methods=["GET", "POST"])
@require_role("admin")
def user_invite():
    """Invite a person: stores the SHA-256 of a random token valid for 7 days, queues the
    invitation e-mail in the same transaction (:func:`comun_cms.mail.send_mail`) and shows the
    acceptance link once, for when the e-mail does not arrive."""
    form = InviteForm()
    if form.validate_on_submit():
        member = db.session.scalar(select(Membership).join(Membership.user).where(User.email == form.email.data))
        if member is not None:
            form.email.errors.append(_("%(email)s is already a member of this site.", email=form.email.data))
        else:
            token = secrets.token_urlsafe(32)
            invitation = Invitation(email=form.email.data, role=form.role.data,
                                    token_hash=hashlib.sha256(token.encode()).hexdigest(),
                                    invited_by_id=current_user.id,
                                    expires_at=utcnow() + dt.timedelta(days=INVITATION_DAYS))
            with admin_change("invitation.create", invitation, object_type="invitation") as change:
                db.session.add(invitation)
                db.session.flush()
                change.after = {"email": invitation.email, "role": invitation.role, "expires_at": invitation.expires_at}
                link = url_for("auth.accept_invitation", token=token, _external=True)
                send_mail(invitation.email, "invitation", tenant=get_current_tenant(), kind="invitation",
                          context={"link": link, "inviter": current_user.name or current_user.email,
                                   "role": ROLE_LABELS.get(invitation.role, invitation.role),
                                   "expires": invitation.expires_at})
            response = current_app.make_response(render_template("admin/invite_done.html", invitation=invitation, link=link))
            response.headers["Cache-Control"] = "no-store"
            return response
    return render_template("admin/invite.html", form=form, days=INVITATION_DAYS), INVALID if form.is_submitted() else 200


# --------------------------------------------------------------------------- settings
def setting_display(spec, value) -> str:
    """A plugin setting's value as the Settings page shows it: "Sí"/"No" for booleans, the
    ``choice_labels`` of a :class:`~comun_cms.hooktypes.SettingSpec` (or the values) joined by
    commas for lists and choices, "—" when empty, else the value as text. A table inside a list
    (e.g. the notary's external witnesses) shows as ``{key = value; ...}``."""
    labels = getattr(spec, "choice_labels", None) or {}
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, (list, tuple)):
        return ", ".join("{" + "; ".join(f"{k} = {x}" for k, x in v.items()) + "}" if isinstance(v, dict)
                         else str(labels.get(v, v)) for v in value) or "—"
    if value in ("", None):
        return "—"
    return str(labels.get(value, value))


def _plugin_settings(tenant) -> list[dict]:
    """``[{"name", "version", "settings": [{"key", "label", "value"}]}]`` of the tenant's plugins:
    each setting named by its ``SettingSpec.description`` and shown by :func:`setting_display`."""
    pm = get_pm()
    specs = {pm.get_name(impl.plugin): impl.function() or {} for impl in pm.hook.tenant_settings.get_hookimpls()}
    plugins = []
    for name in tenant.plugins:
        values = dict(tenant.plugin_settings.get(name, {}))
        rows = []
        for key, value in sorted(values.items()):
            spec = specs.get(name, {}).get(key)
            rows.append({"key": key, "label": (spec.description if spec is not None and spec.description else key),
                         "value": setting_display(spec, value)})
        plugins.append({"name": name, "version": plugin_version(pm, name) if pm.get_plugin(name) else "?",
                        "settings": rows})
    return plugins


LOGO_MIMETYPES = ("image/png", "image/jpeg", "image/webp", "image/gif")


def _render_settings(form: SettingsForm | None = None, status: int = 200) -> tuple[str, int]:
    """The Configuración page: the web-editable settings form (``form`` when it carries errors),
    the identity and plugins read from tenant.toml, and the last changes from the audit log."""
    tenant = get_current_tenant()
    plugins = _plugin_settings(tenant)
    form = form or SettingsForm.from_values(web_settings.web_values(tenant))
    changes = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "settings.update")
                                 .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(10)).all()
    return render_template("admin/settings.html", t=tenant, plugins=plugins, form=form, changes=changes,
                           labels=web_settings.LABELS, sections=web_settings.SECTIONS), status


@bp.route("/configuracion", methods=["GET", "POST"])
@require_role("admin")
def settings():
    """Configuración: the tenant admin changes contact data, colours (refused when a pair fails
    the WCAG contrast check), social links, answer deadlines, privacy contacts and the logo.
    Stored over tenant.toml (:mod:`comun_cms.web_settings`); each change is a
    ``settings.update`` audit event with the values before and after."""
    if request.method == "GET":
        return _render_settings()
    tenant = get_current_tenant()
    form = SettingsForm()
    if not form.validate_on_submit():
        return _render_settings(form, INVALID)
    values = form.values()
    for key, message in web_settings.colour_problems(values["colors"]).items():
        getattr(form, f"colors_{key}").errors = list(getattr(form, f"colors_{key}").errors or []) + [message]
    if any(f.errors for f in form.fields_of("colors")):
        return _render_settings(form, INVALID)
    before = {**web_settings.web_values(tenant), "logo": web_settings.stored_settings(tenant.slug).get("logo")}
    att = None
    with admin_change("settings.update", None, object_type="tenant_settings", object_id=tenant.slug, before=before,
                      form=form, success=_("Settings saved. The public site shows them now.")) as change:
        logo = None
        if form.logo.data and getattr(form.logo.data, "filename", ""):
            att = store_upload(form.logo.data, owner_type="tenant_logo", owner_id=tenant.slug, kinds=("image",),
                               field="logo", title=_("Logo"), user_id=current_user.id)
            if att.mimetype not in LOGO_MIMETYPES:
                raise ChangeRefused(_("The logo must be a PNG, JPG, WebP or GIF image."), field="logo")
            att.public = True
            logo = {"sha256": att.sha256, "filename": att.filename, "mimetype": att.mimetype}
        data = web_settings.save_settings(tenant, values, logo=logo, reset_logo=form.logo_reset.data,
                                             user=current_user)
        change.after = {**{section: data[section] for section in web_settings.SECTIONS}, "logo": data.get("logo")}
    if change.failed:
        if att is not None:
            discard_unused(tenant.slug, att.sha256)
        return _render_settings(form, INVALID)
    return redirect(url_for(".settings"), code=303)


# --------------------------------------------------------------------------- moderation
#: statuses of a request still waiting for its answer (received, in review)
OPEN_STATUSES = ("new", "accepted")


def _render_moderation(status_filter: str, code: int = 200, forms: dict[int, ModerationForm] | None = None):
    forms = forms or {}
    today = get_current_tenant().today()
    query = select(Feedback).order_by(Feedback.created_at.desc(), Feedback.id.desc())
    if status_filter in FEEDBACK_STATUSES:
        query = query.where(Feedback.status == status_filter)
    elif status_filter == "overdue":
        query = query.where(Feedback.status.in_(OPEN_STATUSES), Feedback.due_on < today)
    pagination = db.paginate(query, page=page_arg(), per_page=PER_PAGE, error_out=False)
    rows = [(item, forms.get(item.id) or ModerationForm(prefix=f"f{item.id}", formdata=None, obj=item))
            for item in pagination.items]
    return render_template("admin/moderation.html", pagination=pagination, rows=rows, status=status_filter,
                           statuses=FEEDBACK_STATUSES, feedback_labels=FEEDBACK_STATUS_LABELS,
                           kind_labels={**dict(FEEDBACK_KINDS), "join": _l("Request to join")},
                           sector_labels=dict(SECTORS), today=today, open_statuses=OPEN_STATUSES,
                           confirm=ConfirmForm()), code


@bp.route("/moderacion")
@require_role(*CONTENT_ROLES)
def moderation():
    """Public submissions (questions, complaints, suggestions, sign-ups); ``?status=`` filters
    (a status, or ``overdue``: received or in review past their answer deadline)."""
    status = request.args.get("status", "new")
    return _render_moderation(status if status in FEEDBACK_STATUSES or status == "overdue" else "")


@bp.route("/moderacion/<int:feedback_id>", methods=["POST"])
@require_role(*CONTENT_ROLES)
def moderate(feedback_id: int):
    """Change a submission's status and answer."""
    item = one_or_404(Feedback, feedback_id)
    form = ModerationForm(prefix=f"f{item.id}")
    back = request.args.get("status", "")
    if not form.validate_on_submit():
        return _render_moderation(back, INVALID, {item.id: form})
    with admin_change("feedback.moderate", item, object_type="feedback",
                      before={"status": item.status, "answer": item.answer}, success=_("Submission updated.")) as change:
        newly_answered = form.status.data == "answered" and (item.status != "answered" or item.answer != form.answer.data)
        item.status, item.answer, item.moderated_by_id = form.status.data, form.answer.data, current_user.id
        if newly_answered:
            item.answered_at = utcnow()
            if item.email and item.folio:  # the answer reaches the person (same transaction)
                send_mail(item.email, "request_answered", tenant=get_current_tenant(), locale=item.locale,
                          kind="request_answered", context={"item": item})
        if item.status == "closed" and item.closed_at is None:
            item.closed_at = utcnow()
        change.after = {"status": item.status, "answer": item.answer}
    return redirect(url_for(".moderation", status=back or None) + f"#f{item.id}", code=303)


@bp.route("/moderacion/<int:feedback_id>/respuesta-publica", methods=["POST"])
@require_role(*CONTENT_ROLES)
def public_answer(feedback_id: int):
    """Prepare the "Respuestas públicas" page of an answered request whose author consented: a
    draft page of the feedback section with the question and the answer and no personal data
    of the request (name, e-mail). The editor reviews it and publishes it like any page. 409 if
    the request is not answered or the person did not consent; a second call opens the same page."""
    item = one_or_404(Feedback, feedback_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if item.public_page_id is not None:
        return redirect(url_for(".page_edit", page_id=item.public_page_id), code=303)
    if item.status not in ("answered", "closed") or not item.answer or not item.publish_consent:
        abort(409)
    page = Page(title=item.subject[:300], slug=slugify(f"respuesta {item.folio or item.id} {item.subject}"),
                summary=_("Public answer to request %(folio)s.", folio=item.folio or item.id),
                body=f"**{_('Question')}**\n\n{item.message}\n\n**{_('Answer')}**\n\n{item.answer}\n",
                section="feedback", language=(item.locale or "es")[:2], source="")
    with admin_change("feedback.public_answer", page, object_type="page",
                      success=_("Draft of the public answer created. Remove any personal data before you publish it.")) as change:
        db.session.add(page)
        _flush_page()
        item.public_page_id = page.id
        change.after = {"feedback": item.folio or item.id, "page": page.id}
    if not change.ok:
        return redirect(url_for(".moderation") + f"#f{item.id}", code=303)
    return redirect(url_for(".page_edit", page_id=page.id), code=303)


# --------------------------------------------------------------------------- audit
@bp.route("/auditoria")
@require_role("admin", "privacy")
def audit():
    """The audit log, newest first, 50 per page (``?page=``); admin and privacy roles."""
    pagination = db.paginate(select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()),
                             page=page_arg(), per_page=PER_PAGE, error_out=False)
    return render_template("admin/audit.html", pagination=pagination, action_label=action_label,
                           action_labels=action_labels())
