"""Admin page of the notary (blueprint ``admin_notary``, mounted at ``/<tenant>/admin/notario``):
the witnesses of the tenant's log, which of them cosigned the latest checkpoint, since when one
is silent, and what the witness worker last got from it (:func:`plugins.notary.witnessing.witness_reports`).

Read-only, for the tenant's admins (:func:`comun_cms.toolkit.require_role`); every read goes
through the tenant filter, so a tenant's admin sees only its own log.
"""
from __future__ import annotations

from flask import Blueprint, render_template

from comun_cms.toolkit import get_current_tenant, require_role
from plugins.notary import witnessing

bp = Blueprint("admin_notary", __name__, url_prefix="/notario", template_folder="templates")


@bp.get("/testigos")
@require_role("admin")
def witnesses():
    """The witness status page: latest checkpoint, k-of-n quorum, one row per witness."""
    tenant = get_current_tenant()
    cp, cfg, reports = witnessing.witness_reports(tenant)
    cosigned = sum(1 for r in reports if r.cosigned_latest)
    return render_template("notary/admin/witnesses.html", checkpoint=cp, config=cfg, reports=reports,
                           cosigned=cosigned)
