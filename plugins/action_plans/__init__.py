"""Action-plans plugin: local open-government action plans, commitments, milestones and progress.

Hook implementations only; see README.md for what each hook returns and when it is called.
"""
from __future__ import annotations

from comun_cms import hookimpl

__version__ = "0.1.0"


@hookimpl
def register_models():
    from plugins.action_plans.models import MODELS
    return list(MODELS)


@hookimpl
def register_migrations():
    from pathlib import Path
    return str(Path(__file__).resolve().parent / "migrations" / "versions")


@hookimpl
def register_translations():
    from pathlib import Path
    path = Path(__file__).resolve().parent / "translations"
    return str(path) if path.is_dir() else None


@hookimpl
def tenant_settings():
    from flask_babel import lazy_gettext as _l

    from comun_cms.plugins import SettingSpec
    from plugins.action_plans.progress import STATUSES
    from plugins.action_plans.services import DEFAULT_SETTINGS as D
    return {
        "default_commitments": SettingSpec(int, D["default_commitments"], _l("Commitments a new plan is expected to have"),
                                           min=1, max=50),
        "validity_months": SettingSpec(int, D["validity_months"], _l("Validity of a new plan, in months"), min=1, max=60),
        "statuses": SettingSpec(list, D["statuses"], _l("Statuses of commitments and milestones, in forward order"),
                                choices=STATUSES),
        "agenda_days": SettingSpec(int, D["agenda_days"], _l("Days ahead shown in the activity agenda"), min=7, max=730),
    }


@hookimpl
def register_blueprints():
    from plugins.action_plans.admin import admin_bp
    from plugins.action_plans.views import bp, portal_bp
    return [bp, admin_bp, portal_bp]


@hookimpl
def register_content_types():
    from plugins.action_plans.services import COMMITMENT_TYPE, PLAN_TYPE
    return [PLAN_TYPE, COMMITMENT_TYPE]


@hookimpl
def register_cli_commands():
    from plugins.action_plans.cli import action_plans_cli
    return [action_plans_cli]


@hookimpl
def admin_menu_items(tenant):
    from flask_babel import lazy_gettext as _l

    from comun_cms.plugins import MenuItem
    return [MenuItem(_l("Action plans"), "admin_action_plans.plans", order=30, roles=("admin", "editor"))]


@hookimpl
def public_menu_items(tenant):
    from flask_babel import lazy_gettext as _l

    from comun_cms.plugins import MenuItem
    return [MenuItem(_l("Action plans"), "action_plans.index", order=40),
            MenuItem(_l("Activity agenda"), "action_plans.agenda_page", order=41)]


@hookimpl
def template_slot(name, tenant, context):
    if name == "head":
        from plugins.action_plans.views import head_slot
        return head_slot()
    if name == "section.commitments" and tenant is not None:
        from plugins.action_plans.views import render_section_slot
        return render_section_slot(tenant)
    return None


@hookimpl
def search_documents(tenant):
    from sqlalchemy import select

    from comun_cms.extensions import db
    from comun_cms.search.service import document_for
    from plugins.action_plans.models import ActionPlan, Commitment
    from plugins.action_plans.services import COMMITMENT_TYPE, PLAN_TYPE
    for plan in db.session.scalars(select(ActionPlan).where(ActionPlan.status == "published")):
        doc = document_for(PLAN_TYPE, plan, tenant)
        if doc is not None:
            yield doc
    for commitment in db.session.scalars(select(Commitment).where(Commitment.status == "published")):
        doc = document_for(COMMITMENT_TYPE, commitment, tenant)
        if doc is not None:
            yield doc


@hookimpl
def demo_data(tenant, ctx):
    from plugins.action_plans.loaders import demo_data as load
    load(tenant, ctx)


@hookimpl
def training_scenario(tenant, ctx):
    from plugins.action_plans.training import training_scenario as load
    return load(tenant, ctx)


@hookimpl
def training_tasks():
    from plugins.action_plans.training import training_tasks as tasks
    return tasks()


@hookimpl
def open_datasets(tenant):
    from plugins.action_plans.datasets import datasets
    return datasets()


@hookimpl
def portal_widgets():
    from flask_babel import lazy_gettext as _l

    from comun_cms.plugins import PortalWidget
    from plugins.action_plans.views import render_portal_widget
    return [PortalWidget(_l("Action plans: progress by state"), render_portal_widget, order=30)]


@hookimpl
def dashboard_widgets(tenant):
    from flask_babel import lazy_gettext as _l

    from comun_cms.plugins import PortalWidget
    from plugins.action_plans.views import render_dashboard_widget
    return [PortalWidget(_l("Action plans: overdue milestones"), lambda: render_dashboard_widget(tenant), order=30)]


def sample_record(content_type, tenant, marker):
    """Conformance-kit factory (not a hook): a draft record of ``content_type`` in ``tenant``
    whose public text contains ``marker``; see :mod:`plugins.action_plans.samples`."""
    from .samples import sample_record as make
    return make(content_type, tenant, marker)
