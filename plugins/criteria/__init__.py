"""Criteria plugin: the criteria framework, evaluation cycles, scores, replies and recommendations.

This module holds the plugin's hook implementations only; the plugin imports the core through
:mod:`comun_cms.toolkit` alone. Layout: ``models``, ``services`` (the workflow rules),
``scoring``, ``framework_io`` (CSV), ``content`` (content types, search, open data), ``views``
(public pages and template helpers), ``admin/`` (admin pages, one module per entity),
``portal`` (cross-state comparison), ``cli``, ``demo``, ``training``, ``samples``.
"""
from __future__ import annotations

from pathlib import Path

from flask_babel import lazy_gettext as _l

from comun_cms.toolkit import VIEW_UNPUBLISHED, MenuItem, PortalWidget, SettingSpec, hookimpl, unpublished_permission

from . import admin, demo, portal, training, views
from .cli import COMMANDS
from .admin.common import EVALUATE
from .content import CONTENT_TYPES, datasets, iter_search_documents
from .models import ALL_MODELS, install_immutability_guard
from .samples import sample_record as sample_record  # conformance-kit factory (not a hook)

__version__ = "0.1.0"


@hookimpl
def register_models():
    """The plugin's ten models; installs the guard that keeps published framework versions immutable."""
    install_immutability_guard()
    return list(ALL_MODELS)


@hookimpl
def register_migrations():
    """The folder of the plugin's Alembic revisions (branch ``criteria``)."""
    return str((Path(__file__).parent / "migrations" / "versions").resolve())


@hookimpl
def register_translations():
    """The plugin's message catalogs, when the folder exists."""
    folder = Path(__file__).parent / "translations"
    return str(folder.resolve()) if folder.is_dir() else None


@hookimpl
def register_cli_commands():
    """The ``comun criteria`` command group (:mod:`plugins.criteria.cli`)."""
    return list(COMMANDS)


@hookimpl
def tenant_settings():
    """``reply_days``: days of the right of reply when the reply stage opens without a deadline."""
    return {"reply_days": SettingSpec(int, 10, str(_l("Days the secretariat has to reply once the reply stage opens.")),
                                      min=1, max=90)}


@hookimpl
def register_blueprints():
    """Public ``criteria``, admin ``admin_criteria`` and portal ``portal_criteria``."""
    return [views.bp, admin.bp, portal.bp]


@hookimpl
def audit_labels():
    """Names of the plugin's audit objects and verbs (``criteria.cycle.stage``...)."""
    return {
        "criteria.cycle": _l("Evaluation cycle"), "criteria.framework": _l("Criteria framework"),
        "criteria.assessment": _l("Assessment"), "criteria.declaration": _l("Evaluator's declaration"),
        "criteria.recommendation": _l("Recommendation"), "criteria.reply": _l("Right of reply"),
        "save": _l("saved"), "stage": _l("stage change"), "answer": _l("answer"), "followup": _l("follow-up"),
        "issue": _l("issued"),
    }


@hookimpl
def register_content_types():
    """``criteria_framework``, ``evaluation_cycle`` and ``recommendation``."""
    return list(CONTENT_TYPES)


@hookimpl
def admin_menu_items(tenant):
    """"Criteria evaluation": the workspace, for any staff role."""
    return [MenuItem(_l("Criteria evaluation"), "admin_criteria.admin_index", order=30)]


@hookimpl
def public_menu_items(tenant):
    """"Criteria evaluation": the public results."""
    return [MenuItem(_l("Criteria evaluation"), "criteria.index", order=60)]


@hookimpl
def template_slot(name, tenant, context):
    """For ``home_main``: a card with the latest published cycle's total; ``None`` otherwise."""
    if name != "home_main" or tenant is None:
        return None
    return views.render_home_slot()


@hookimpl
def search_documents(tenant):
    """The search document of every published framework, cycle and recommendation."""
    yield from iter_search_documents(tenant)


@hookimpl
def demo_data(tenant, ctx):
    """The real framework and the demo cycles and recommendations (idempotent)."""
    demo.load(tenant, ctx)


@hookimpl
def training_scenario(tenant, ctx):
    """The framework and the open training cycle (see :mod:`plugins.criteria.training`)."""
    if not tenant.enables("criteria"):
        return None
    return training.load_scenario(tenant, ctx)


@hookimpl
def training_tasks():
    """Step 12: assess criteria as the evaluator, reply as the secretariat."""
    return training.tasks()


@hookimpl
def open_datasets(tenant):
    """The plugin's four open datasets (:func:`plugins.criteria.content.datasets`)."""
    return datasets()


@hookimpl
def portal_widgets():
    """The totals of each state's latest published cycle, on the portal home."""
    return [PortalWidget(_l("Evaluation of the secretariats by criteria"), portal.portal_widget, order=20)]


@hookimpl
def dashboard_widgets(tenant):
    """Open cycles with what is pending for the user's role, recommendations awaiting an answer
    (for the secretariat's staff and for evaluators)."""
    return [PortalWidget(_l("Criteria evaluation"), admin.dashboard_widget, order=20,
                         permissions=(VIEW_UNPUBLISHED, EVALUATE))]


@hookimpl
def role_permissions(tenant):
    """Evaluators get what an evaluation needs and nothing more: ``criteria.evaluate`` (the
    criteria workspace and its dashboard widget) and the sight of the evidence files of
    assessments before the cycle is published (``content.view_unpublished:criteria_assessment``).
    They do not get ``content.view_unpublished``: the tenant's draft pages, other plugins' drafts
    and non-public files stay closed to them (docs/security.md, "Roles (evaluators)")."""
    return {"evaluator": [EVALUATE, unpublished_permission("criteria_assessment")]}
