"""Admin view of progress reports: add a report (period, narrative, evidence) to a commitment;
on a published commitment it is published as a correction with the reason given. The report's
figure is the commitment's progress when it is filed (:meth:`Commitment.figures`, the one
definition), not a number typed apart.
"""
from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from comun_cms.toolkit import admin_change, db, record_audit, require_role, store_upload

from .. import services
from ..forms import ReportForm
from ..models import OWNER_REPORT, ProgressReport
from .common import INVALID, ROLES, audit_pubs, commitment_or_404, commitment_snapshot, flash_pubs, labels


@require_role(*ROLES)
def report_new(commitment_id: int):
    """Add a progress report (narrative, evidence) to a commitment; it records the commitment's
    progress at that moment (:meth:`Commitment.figures`)."""
    c = commitment_or_404(commitment_id)
    if c.status == "retracted":
        abort(409)
    form = ReportForm()
    form.require_reason = c.status == "published"
    if request.method == "GET":
        form.reported_by.data = current_user.name or current_user.email
    elif form.validate_on_submit():
        r = ProgressReport(period_start=form.period_start.data, period_end=form.period_end.data,
                           narrative=form.narrative.data, progress=services.figures(c).progress,
                           reported_by=form.reported_by.data,
                           evidence_url=form.evidence_url.data or "")
        with admin_change("progress_report.create", r, object_type="ap_progress_report",
                          before=commitment_snapshot(c), form=form) as change:
            c.reports.append(r)
            db.session.flush()
            if form.file.data and getattr(form.file.data, "filename", ""):
                att = store_upload(form.file.data, owner_type=OWNER_REPORT, owner_id=str(r.id), user_id=current_user.id,
                                   field="file")
                db.session.flush()
                record_audit("attachment.upload", "attachment", att.id, None, {**att.describe(), "owner": f"{OWNER_REPORT}/{r.id}"})
            pubs = services.republish([c], c.plan, form.reason.data, current_user)
            change.after = {**commitment_snapshot(c), "publications": audit_pubs(pubs)}
        if change.ok:
            flash_pubs(pubs, _("Progress report saved."))
            return redirect(url_for(".commitment_edit", commitment_id=c.id) + "#reportes", code=303)
        c = commitment_or_404(commitment_id)
    return render_template("action_plans/admin/report_form.html", form=form, c=c, labels=labels()), \
        INVALID if request.method == "POST" else 200
