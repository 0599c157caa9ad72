"""Action-plans plugin: local open-government action plans, commitments, milestones and progress.

Hook implementations only; see README.md for what each hook returns and when it is called.
"""
from __future__ import annotations

from pathlib import Path

from flask_babel import lazy_gettext as _l

from comun_cms.toolkit import MenuItem, PortalWidget, SettingSpec, hookimpl

from . import datasets as _datasets
from . import loaders as _loaders
from . import origin as _origin
from . import samples as _samples
from . import training as _training
from . import views as _views
from .admin import admin_bp
from .cli import action_plans_cli
from .content import CONTENT_TYPES, iter_search_documents
from .models import MODELS
from .progress import STATUS_LABELS, STATUSES
from .services import DEFAULT_SETTINGS

__version__ = "0.1.0"

_HERE = Path(__file__).resolve().parent


@hookimpl
def register_models():
    """The plugin's models (tables ``ap_*``)."""
    return list(MODELS)


@hookimpl
def register_migrations():
    """Alembic branch ``action_plans`` (depends on the core revision ``0001``)."""
    return str(_HERE / "migrations" / "versions")


@hookimpl
def register_translations():
    """Gettext catalogs of the plugin."""
    path = _HERE / "translations"
    return str(path) if path.is_dir() else None


@hookimpl
def tenant_settings():
    """``default_commitments``, ``validity_months``, ``statuses`` and ``agenda_days``."""
    d = DEFAULT_SETTINGS
    return {
        "default_commitments": SettingSpec(int, d["default_commitments"], _l("Commitments a new plan is expected to have"),
                                           min=1, max=50),
        "validity_months": SettingSpec(int, d["validity_months"], _l("Validity of a new plan, in months"), min=1, max=60),
        "statuses": SettingSpec(list, d["statuses"], _l("Statuses of commitments and milestones, in forward order"),
                                choices=STATUSES, choice_labels=STATUS_LABELS),
        "agenda_days": SettingSpec(int, d["agenda_days"], _l("Days ahead shown in the activity agenda"), min=7, max=730),
    }


@hookimpl
def register_blueprints():
    """Public ``action_plans``, admin ``admin_action_plans`` and ``portal_action_plans`` (static files)."""
    return [_views.bp, admin_bp, _views.portal_bp]


@hookimpl
def audit_labels():
    """Names of the plugin's audit objects and verbs (``milestone.create``...)."""
    return {"milestone": _l("Milestone"), "progress_report": _l("Progress report"),
            "commitment.weights": _l("Commitment: milestone weights")}


@hookimpl
def register_content_types():
    """``action_plan`` and ``commitment``."""
    return list(CONTENT_TYPES)


@hookimpl
def register_cli_commands():
    """The ``comun action-plans`` group (``load-training``, ``export``)."""
    return [action_plans_cli]


@hookimpl
def admin_menu_items(tenant):
    """"Action plans" in the admin menu (admin, editor)."""
    return [MenuItem(_l("Action plans"), "admin_action_plans.plans", order=30, roles=("admin", "editor"))]


@hookimpl
def public_menu_items(tenant):
    """"Action plans" and "Activity agenda" in the tenant's menu."""
    return [MenuItem(_l("Action plans"), "action_plans.index", order=40),
            MenuItem(_l("Activity agenda"), "action_plans.agenda_page", order=41)]


@hookimpl
def template_slot(name, tenant, context):
    """``head``: the plugin's stylesheet; ``section.commitments``: progress charts and agenda."""
    if name == "head":
        return _views.head_slot()
    if name == "section.commitments" and tenant is not None:
        return _views.render_section_slot(tenant)
    return None


@hookimpl
def create_draft(tenant, content_type, fields, origin):
    """A draft commitment pre-filled by another plugin (co-creation's "Convertir en
    compromiso"); ``None`` for other content types. See :mod:`plugins.action_plans.origin`."""
    return _origin.create_draft(content_type, fields, origin)


@hookimpl
def search_documents(tenant):
    """A search document per published plan and commitment."""
    return iter_search_documents(tenant)


@hookimpl
def demo_data(tenant, ctx):
    """Real plans for Estado de México, a labelled demo plan elsewhere, training plans in a
    training tenant (idempotent)."""
    _loaders.demo_data(tenant, ctx)


@hookimpl
def training_scenario(tenant, ctx):
    """The training plans, published by nobody (no commit)."""
    return _training.training_scenario(tenant, ctx)


@hookimpl
def training_tasks():
    """Steps 11 (co-create a plan) and 13 (report progress)."""
    return _training.training_tasks()


@hookimpl
def open_datasets(tenant):
    """``action-plans``, ``commitments`` and ``milestones`` (published only)."""
    return _datasets.datasets()


@hookimpl
def portal_widgets():
    """"Action plans: progress by state" on the portal home."""
    return [PortalWidget(_l("Action plans: progress by state"), _views.render_portal_widget, order=30)]


@hookimpl
def dashboard_widgets(tenant):
    """"Action plans: overdue milestones" on the tenant's admin dashboard."""
    return [PortalWidget(_l("Action plans: overdue milestones"), lambda: _views.render_dashboard_widget(tenant),
                         order=30)]


def sample_record(content_type, tenant, marker):
    """Conformance-kit factory (not a hook): a draft record of ``content_type`` in ``tenant``
    whose public text contains ``marker``; see :mod:`plugins.action_plans.samples`."""
    return _samples.sample_record(content_type, tenant, marker)
