"""The admin blueprint of the criteria plugin (``admin_criteria``) and what its views share: who
the current user is for the plugin (evaluator or secretariat), the response codes, the tenant's
reply period and the published framework versions."""
from __future__ import annotations

import functools
from pathlib import Path

from flask import Blueprint, abort, g
from flask_login import current_user
from sqlalchemy import select

from comun_cms.toolkit import STAFF_ROLES, db, get_current_tenant, require_role, role_in

from .. import services
from ..models import CriteriaFramework
from ..views import labels

#: The plugin's folder: the blueprint's templates are ``plugins/criteria/templates``.
PLUGIN_ROOT = str(Path(__file__).resolve().parent.parent)

bp = Blueprint("admin_criteria", __name__, template_folder="templates", url_prefix="/criterios",
               root_path=PLUGIN_ROOT)
bp.context_processor(labels)

#: The permission the plugin grants evaluators (``role_permissions`` hook): evaluate.
EVALUATE = "criteria.evaluate"

#: Status of a form sent with invalid input.
INVALID = 422
#: Status of a request the workflow refuses (wrong stage, already published...).
CONFLICT = 409


def current_role() -> str | None:
    """The current user's role in the current tenant (``admin`` for platform admins)."""
    return role_in(current_user, get_current_tenant())


def is_evaluator() -> bool:
    """The current user is an evaluator assigned to the current tenant."""
    return current_role() == "evaluator"


def is_secretariat() -> bool:
    """The current user acts for the secretariat (admin or editor of the tenant)."""
    return current_role() in ("admin", "editor")


def can_manage_frameworks() -> bool:
    """Evaluators and platform administrators manage framework versions."""
    return is_evaluator() or bool(getattr(current_user, "is_platform_admin", False))


def framework_manager_required(view):
    """View decorator: staff of the tenant who may manage frameworks
    (:func:`can_manage_frameworks`), else 403."""
    @functools.wraps(view)
    @require_role(*STAFF_ROLES)
    def wrapper(*args, **kwargs):
        if not can_manage_frameworks():
            abort(403)
        return view(*args, **kwargs)
    return wrapper


def reply_days() -> int:
    """The tenant's ``reply_days`` setting (days of the right of reply)."""
    try:
        return int(g.tenant.setting("criteria", "reply_days"))
    except KeyError:
        return services.DEFAULT_REPLY_DAYS


def published_frameworks() -> list[CriteriaFramework]:
    """The tenant's published framework versions, newest first."""
    return list(db.session.scalars(select(CriteriaFramework).where(CriteriaFramework.status == "published")
                                   .order_by(CriteriaFramework.first_published_at.desc())))


@bp.context_processor
def _admin_context() -> dict:
    # the admin menu and role come from the core's admin context processor
    tenant = get_current_tenant()
    role = role_in(current_user, tenant)
    return {"is_evaluator": role == "evaluator", "is_secretariat": role in ("admin", "editor"),
            "can_manage_frameworks": can_manage_frameworks() if tenant else False}
