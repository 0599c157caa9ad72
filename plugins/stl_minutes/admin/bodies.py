"""Admin pages of collegiate bodies: create, edit (a correction once published), publish."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from comun_cms.toolkit import ConfirmForm, admin_change, db, history, one_or_404, require_role

from .. import services as svc
from ..content import serialize_body
from ..forms import BodyForm
from ..models import Body
from .common import EDITORS, INVALID, REFUSALS

def _populate_body(form: BodyForm, body: Body) -> None:
    for name in ("kind", "name", "short_name", "description", "key_prefix", "quorum_rule", "source", "is_demo"):
        value = getattr(form, name).data
        setattr(body, name, value if value is not None else "")


def _body_name_taken(name: str, body_id: int | None) -> bool:
    q = select(Body.id).where(Body.name == name)
    if body_id is not None:
        q = q.where(Body.id != body_id)
    return db.session.scalar(q) is not None


@require_role(*EDITORS)
def body_new():
    """Create a body (a draft until published)."""
    form = BodyForm()
    if not form.is_submitted():
        form.kind.data = "stl"
    if form.validate_on_submit():
        if _body_name_taken(form.name.data, None):
            form.name.errors.append(_("Another body already has this name."))
        else:
            with admin_change("stl_body.create", object_type="stl_body", form=form, errors=REFUSALS,
                              success=_("Body created as a draft. Add its members, then publish it.")) as change:
                body = Body()
                _populate_body(form, body)
                db.session.add(body)
                change.record = body
                change.after = {"name": body.name, "kind": body.kind}
            if change.ok:
                return redirect(url_for("admin_stl_minutes.body_edit", body_id=body.id))
    return render_template("stl_minutes/admin/body.html", form=form, b=None), \
        INVALID if form.errors or form.form_errors else 200


@require_role(*EDITORS)
def body_edit(body_id: int):
    """Edit a body; once published, saving publishes a correction with the reason given."""
    body = one_or_404(Body, body_id)
    form = BodyForm(obj=body)
    if form.validate_on_submit():
        if _body_name_taken(form.name.data, body.id):
            form.name.errors.append(_("Another body already has this name."))
        else:
            with admin_change("stl_body.update", object_type="stl_body", object_id=body.id,
                              before=serialize_body(body), form=form, errors=REFUSALS) as change:
                _populate_body(form, body)
                pub = svc.sync_body(body, form.reason.data, user=current_user)
                change.after = serialize_body(body)
            if change.ok:
                flash(_("Correction published.") if pub else _("Body saved."), "success")
                return redirect(url_for("admin_stl_minutes.body_edit", body_id=body.id))
            body = one_or_404(Body, body_id)
    return render_template("stl_minutes/admin/body.html", form=form, b=body, confirm=ConfirmForm(),
                           versions=history("stl_body", body.id)), INVALID if form.errors or form.form_errors else 200


@require_role(*EDITORS)
def body_publish(body_id: int):
    """Publish a body with its members (version 1)."""
    body = one_or_404(Body, body_id)
    if ConfirmForm().validate_on_submit():
        with admin_change("stl_body.publish", object_type="stl_body", object_id=body.id, errors=REFUSALS,
                          success=_("Body published.")) as change:
            svc.publish_body(body, user=current_user)
            change.after = {"version": 1}
    return redirect(url_for("admin_stl_minutes.body_edit", body_id=body_id))
