"""Admin actions on a session's evidence (files and links): add (an addendum once the minutes
are published) and remove (drafts only)."""
from __future__ import annotations

from flask import flash, redirect
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user

from comun_cms.toolkit import ConfirmForm, admin_change, db, one_or_404, require_role, store_upload

from .. import services as svc
from .. import vocab
from ..forms import EvidenceForm
from ..models import Evidence
from ..services import MinutesError
from .common import EDITORS, INVALID, REFUSALS, render_session, session_or_404, session_url


@require_role(*EDITORS)
def evidence_add(session_id: int):
    """Add evidence (file or link). Files are validated by :func:`comun_cms.toolkit.store_upload`
    (size limit, type sniffed from the content, name sanitized, SHA-256). On published minutes the
    reason is required and the evidence is published as an addendum."""
    s = session_or_404(session_id)
    form = EvidenceForm(prefix="ev")
    published = s.status == "published"
    form.require_reason = published
    if not form.validate_on_submit():
        return render_session(s, INVALID, evidence_form=form)
    with admin_change("stl_evidence.create", object_type="stl_session", object_id=s.id, form=form,
                      errors=REFUSALS) as change:
        if not published and (s.status != "draft" or s.stage not in svc.EVIDENCE_STAGES):
            raise MinutesError(_l("Evidence cannot be added to these minutes now."))
        category = form.category.data
        att = None
        if form.file.data and getattr(form.file.data, "filename", ""):
            att = store_upload(form.file.data, owner_type="stl_session", owner_id=str(s.id),
                               title=form.title.data or "", kinds=vocab.EVIDENCE_KINDS[category],
                               field="file", user_id=current_user.id)
            db.session.flush()
        ev = Evidence(category=category, title=form.title.data or (att.filename if att else ""),
                      url=form.url.data or "", attachment=att,
                      position=max((e.position for e in s.evidence), default=0) + 1)
        s.evidence.append(ev)
        db.session.flush()
        if published:
            what = ev.title or ev.url
            svc.add_addendum(s, form.reason.data, _("Evidence added: %(what)s (%(kind)s).", what=what,
                                                     kind=vocab.EVIDENCE_CATEGORIES[category]), user=current_user)
        change.after = {"category": category, "sha256": att.sha256 if att else None, "url": ev.url}
    if change.failed:
        return render_session(session_or_404(session_id), INVALID, evidence_form=form)
    flash(_("Evidence added.") + (" " + _("An addendum was published.") if published else ""), "success")
    return redirect(session_url(s, "evidence"))


@require_role(*EDITORS)
def evidence_delete(evidence_id: int):
    """Remove evidence of minutes not yet published (its file, if not public, is deleted too)."""
    ev = one_or_404(Evidence, evidence_id)
    s = ev.session
    if ConfirmForm().validate_on_submit():
        if s.status != "draft":
            flash(_("The minutes are published; evidence cannot be removed, only added by an addendum."), "error")
            return redirect(session_url(s, "evidence"))
        with admin_change("stl_evidence.delete", object_type="stl_session", object_id=s.id,
                          before={"title": ev.title}, success=_("Evidence removed.")):
            att = ev.attachment
            s.evidence.remove(ev)
            db.session.flush()
            if att is not None and not att.public:
                db.session.delete(att)
    return redirect(session_url(s, "evidence"))
