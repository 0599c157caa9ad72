"""Admin pages of the framework versions (``/<tenant>/admin/criterios/marcos/...``): import a
version from CSV as a draft, look at it, publish it, delete a draft, export any version as CSV.

Importing, publishing and deleting are for evaluators and platform administrators
(:func:`~plugins.criteria.admin.common.framework_manager_required`); every write goes through
:func:`comun_cms.toolkit.admin_change` (one transaction with its audit event).
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from comun_cms.toolkit import (
    STAFF_ROLES, ChangeRefused, ConfirmForm, admin_change, get_tenants, one_or_404, require_role, snapshot,
)

from .. import services
from ..forms import FrameworkImportForm
from ..framework_io import FrameworkImportError
from ..models import CriteriaFramework
from ..views import csv_response
from .common import INVALID, bp, framework_manager_required


@bp.route("/marcos/importar", methods=["GET", "POST"])
@framework_manager_required
def framework_import():
    """Import a framework version from CSV as a draft. A bad file is rejected with every problem
    (line and column) and nothing is stored."""
    form = FrameworkImportForm()
    issues = []
    if form.validate_on_submit():
        data = form.file.data.read()
        with admin_change("criteria.framework.import", object_type="criteria_framework", form=form) as change:
            try:
                fw = services.import_framework(
                    data, slug=form.slug.data, version_label=form.version_label.data, name=form.name.data,
                    description=form.description.data or "", valid_from=form.valid_from.data,
                    source=form.source.data or form.file.data.filename, user=current_user,
                    tenant_slugs=list(get_tenants()))
            except FrameworkImportError as exc:
                issues = exc.issues
                raise ChangeRefused(_("The file was not imported; nothing was stored."), field="file") from exc
            change.record = fw
            change.after = {**snapshot(fw), "criteria": len(fw.criteria)}
        if change.ok:
            flash(_("Framework imported as a draft with %(n)d criteria. Check it and publish it.", n=len(fw.criteria)),
                  "success")
            return redirect(url_for(".framework_detail", framework_id=fw.id), code=303)
    status = INVALID if form.is_submitted() else 200
    return render_template("criteria/admin/framework_import.html", form=form, issues=issues), status


@bp.get("/marcos/<int:framework_id>")
@require_role(*STAFF_ROLES)
def framework_detail(framework_id: int):
    """A framework version (any status) with its criteria, hash and actions."""
    fw = one_or_404(CriteriaFramework, framework_id)
    return render_template("criteria/admin/framework.html", fw=fw, publish_form=ConfirmForm(prefix="publish"),
                           delete_form=ConfirmForm(prefix="delete"))


@bp.post("/marcos/<int:framework_id>/publicar")
@framework_manager_required
def framework_publish(framework_id: int):
    """Publish a draft framework version (its criteria become immutable)."""
    fw = one_or_404(CriteriaFramework, framework_id)
    if not ConfirmForm(prefix="publish").validate_on_submit():
        abort(400)
    with admin_change("criteria.framework.publish", fw, object_type="criteria_framework", before=None,
                      success=_("Framework version published."), errors=(services.CriteriaError,)) as change:
        pub = services.publish_framework(fw, user=current_user)
        change.after = {**snapshot(fw), "sha256": pub.sha256}
    # published, or refused with the reason flashed: back to the version's page either way
    return redirect(url_for(".framework_detail", framework_id=framework_id), code=303)


@bp.post("/marcos/<int:framework_id>/eliminar")
@framework_manager_required
def framework_delete(framework_id: int):
    """Delete a draft framework version not used by any cycle."""
    fw = one_or_404(CriteriaFramework, framework_id)
    if not ConfirmForm(prefix="delete").validate_on_submit():
        abort(400)
    with admin_change("criteria.framework.delete", fw, object_type="criteria_framework", object_id=framework_id,
                      success=_("Draft framework deleted."), errors=(services.CriteriaError,)) as change:
        services.delete_draft_framework(fw)
        change.after = None
    if change.failed:
        return redirect(url_for(".framework_detail", framework_id=framework_id), code=303)
    return redirect(url_for(".admin_index"), code=303)


@bp.get("/marcos/<int:framework_id>.csv")
@require_role(*STAFF_ROLES)
def framework_export(framework_id: int):
    """Any framework version of the tenant (drafts too) as CSV."""
    return csv_response(one_or_404(CriteriaFramework, framework_id))
