"""Admin views of the CSV round trip of a plan: export (in the tenant's language), then import
in two steps (upload and preview of what is created, updated and — when asked — removed, then
apply all or nothing, confirming any removal). The previewed file is kept server-side under its
SHA-256 (``instance/action_plans_imports/<tenant>/``), which the session remembers with the
choice to remove absent records.
"""
from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from flask import Response, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _, ngettext
from flask_login import current_user

from comun_cms.toolkit import admin_change, content_disposition, db, require_role

from .. import csv_io
from .. import progress as prog
from ..forms import ApplyImportForm, ImportForm
from .common import INVALID, ROLES, labels, plan_or_404

#: Session key of the previewed import: ``{"plan_id", "sha256", "filename", "remove"}``.
IMPORT_SESSION_KEY = "action_plans.import"
#: Previewed files older than this are removed (seconds).
IMPORT_MAX_AGE = 24 * 3600


@require_role(*ROLES)
def plan_export(plan_id: int):
    """Download the plan's commitments and milestones as CSV (UTF-8 with BOM; ``?sep=semicolon``
    for Excel in Spanish locales). Headers, record types and statuses are in the tenant's
    language (:func:`~plugins.action_plans.csv_io.csv_language`) unless ``?idioma=es`` or
    ``?idioma=en`` asks for one."""
    plan = plan_or_404(plan_id)
    delimiter = ";" if request.args.get("sep") == "semicolon" else ","
    language = request.args.get("idioma")
    language = language if language in csv_io.LANGUAGES else csv_io.csv_language(g.tenant)
    text = csv_io.export_csv(plan, delimiter, language)
    suffix = "-excel" if delimiter == ";" else ""
    return Response(text.encode("utf-8"), content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": content_disposition("attachment", f"{g.tenant.slug}-plan-{plan.number}{suffix}.csv"),
                             "X-Content-Type-Options": "nosniff"})


def _import_dir() -> Path:
    """``instance/action_plans_imports/<tenant>``: previewed CSV files named by SHA-256."""
    path = Path(current_app.instance_path) / "action_plans_imports" / g.tenant.slug
    path.mkdir(parents=True, exist_ok=True)
    return path


def _remove_old_imports() -> None:
    """Delete previewed files that were never applied, after :data:`IMPORT_MAX_AGE`."""
    limit = time.time() - IMPORT_MAX_AGE
    for path in _import_dir().glob("*.csv"):
        try:
            if path.stat().st_mtime < limit:
                path.unlink()
        except OSError:
            pass


def _stored_import(sha256: str) -> bytes | None:
    if not sha256 or len(sha256) != 64 or any(ch not in "0123456789abcdef" for ch in sha256):
        return None
    path = _import_dir() / f"{sha256}.csv"
    if not path.is_file():
        return None
    data = path.read_bytes()
    return data if hashlib.sha256(data).hexdigest() == sha256 else None


def _render_import(plan, form, analysis=None, errors=None, apply_form=None, status: int = 200):
    language = csv_io.csv_language(g.tenant)
    return render_template("action_plans/admin/import.html", plan=plan, form=form, analysis=analysis,
                           errors=errors if errors is not None else (analysis.errors if analysis else []),
                           apply_form=apply_form, columns=[csv_io.HEADERS[language][c] for c in csv_io.COLUMNS],
                           required=[csv_io.HEADERS[language][c] for c in csv_io.REQUIRED],
                           statuses=[csv_io.STATUS_NAMES[language][s] for s in prog.STATUSES],
                           records=csv_io.RECORD_NAMES[language], headers=csv_io.HEADERS[language],
                           labels=labels()), status


@require_role(*ROLES)
def plan_import(plan_id: int):
    """Step 1: upload a CSV; it is validated and a preview of every change (or every error,
    with line and column) is shown. The file is kept server-side under its SHA-256, which the
    session remembers; nothing is changed yet."""
    plan = plan_or_404(plan_id)
    form = ImportForm()
    if request.method == "GET":
        return _render_import(plan, form)
    if plan.status == "retracted":
        form.form_errors.append(_("A retracted plan cannot be changed."))
        return _render_import(plan, form, status=409)
    if not form.validate_on_submit():
        return _render_import(plan, form, status=INVALID)
    data = form.file.data.stream.read(csv_io.MAX_BYTES + 1)
    try:
        text = csv_io.decode(data)
    except csv_io.ImportRejected as exc:
        return _render_import(plan, form, errors=exc.errors, status=INVALID)
    remove = bool(form.remove_absent.data)
    analysis = csv_io.analyze(plan, text, g.tenant, remove=remove)
    db.session.rollback()  # the analysis reads only; drop anything it loaded
    if not analysis.ok:
        session.pop(IMPORT_SESSION_KEY, None)
        return _render_import(plan, form, analysis, status=INVALID)
    sha = hashlib.sha256(data).hexdigest()
    _remove_old_imports()
    path = _import_dir() / f"{sha}.csv"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    session[IMPORT_SESSION_KEY] = {"plan_id": plan.id, "sha256": sha, "filename": form.file.data.filename or "",
                                   "remove": remove}
    apply_form = ApplyImportForm(formdata=None)
    apply_form.sha256.data = sha
    return _render_import(plan, form, analysis, apply_form=apply_form)


@require_role(*ROLES)
def plan_import_apply(plan_id: int):
    """Step 2: apply the previewed file. The file is read back from the server by the SHA-256
    kept in the session (the form's copy must match), validated again against the current data
    and applied all or nothing, with corrections of published records (audit events
    ``commitment.import`` per changed commitment and ``action_plan.import``)."""
    plan = plan_or_404(plan_id)
    form = ApplyImportForm()
    pending = session.get(IMPORT_SESSION_KEY) or {}
    data = None
    if pending.get("plan_id") == plan.id and pending.get("sha256") == form.sha256.data:
        data = _stored_import(pending.get("sha256", ""))
    if data is None:
        flash(_("The preview expired or does not match this plan. Upload the file again."), "error")
        return redirect(url_for(".plan_import", plan_id=plan.id), code=303)
    text = csv_io.decode(data)
    remove = bool(pending.get("remove"))
    analysis = csv_io.analyze(plan, text, g.tenant, remove=remove)
    form.require_reason = analysis.needs_reason
    form.require_remove = bool(analysis.of("remove"))
    if not form.validate():
        db.session.rollback()
        return _render_import(plan_or_404(plan_id), ImportForm(formdata=None), analysis, apply_form=form, status=INVALID)
    with admin_change("action_plan.import", plan, object_type="action_plan", before=None, form=form,
                      errors=(csv_io.ImportRejected,)) as change:
        result = csv_io.apply(plan, text, g.tenant, form.reason.data, current_user, remove=remove)
        change.after = {"rows": result.rows, "changes": len(result.changes),
                        "publications": [{"content_type": p.content_type, "record_id": p.record_id,
                                          "version": p.version, "sha256": p.sha256} for p in result.publications]}
    if isinstance(change.error, csv_io.ImportRejected):
        # the file's errors are listed row by row (the form is not shown again)
        return _render_import(plan_or_404(plan_id), ImportForm(formdata=None), errors=change.error.errors, status=INVALID)
    if change.failed:
        return _render_import(plan_or_404(plan_id), ImportForm(formdata=None),
                              csv_io.analyze(plan_or_404(plan_id), text, g.tenant, remove=remove), apply_form=form,
                              status=INVALID)
    session.pop(IMPORT_SESSION_KEY, None)
    try:
        (_import_dir() / f"{pending['sha256']}.csv").unlink()
    except OSError:
        pass
    flash(ngettext("Import applied: %(num)d record changed.", "Import applied: %(num)d records changed.",
                   len(result.changes)), "success")
    return redirect(url_for(".plan_detail", plan_id=plan.id), code=303)
