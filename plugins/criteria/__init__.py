"""Criteria plugin: the criteria framework, evaluation cycles, scores, replies and recommendations."""
from __future__ import annotations

from pathlib import Path

from comun_cms import hookimpl

__version__ = "0.1.0"


@hookimpl
def register_models():
    from .models import ALL_MODELS, install_immutability_guard
    install_immutability_guard()
    return list(ALL_MODELS)


@hookimpl
def register_migrations():
    return str((Path(__file__).parent / "migrations" / "versions").resolve())


@hookimpl
def register_translations():
    folder = Path(__file__).parent / "translations"
    return str(folder.resolve()) if folder.is_dir() else None


@hookimpl
def register_cli_commands():
    from .cli import COMMANDS
    return list(COMMANDS)


@hookimpl
def tenant_settings():
    from flask_babel import lazy_gettext as _l

    from comun_cms.plugins import SettingSpec
    return {"reply_days": SettingSpec(int, 10, str(_l("Days the secretariat has to reply once the reply stage opens.")),
                                      min=1, max=90)}


@hookimpl
def register_blueprints():
    from .views import BLUEPRINTS
    return list(BLUEPRINTS)


@hookimpl
def register_content_types():
    from .content import CONTENT_TYPES
    return list(CONTENT_TYPES)


@hookimpl
def admin_menu_items(tenant):
    from flask_babel import lazy_gettext as _l

    from comun_cms.plugins import MenuItem
    return [MenuItem(_l("Criteria evaluation"), "admin_criteria.admin_index", order=30)]


@hookimpl
def public_menu_items(tenant):
    from flask_babel import lazy_gettext as _l

    from comun_cms.plugins import MenuItem
    return [MenuItem(_l("Criteria evaluation"), "criteria.index", order=60)]


@hookimpl
def template_slot(name, tenant, context):
    if name != "home_main" or tenant is None:
        return None
    from flask import render_template
    from markupsafe import Markup

    from .services import published_cycles
    from .views import _labels
    cycles = published_cycles()
    if not cycles:
        return None
    return Markup(render_template("criteria/_home_slot.html", cycle=cycles[0], **_labels()))


@hookimpl
def search_documents(tenant):
    from .content import iter_search_documents
    yield from iter_search_documents(tenant)


@hookimpl
def demo_data(tenant, ctx):
    from .demo import load
    load(tenant, ctx)


@hookimpl
def training_scenario(tenant, ctx):
    """The framework and the open training cycle (see :mod:`plugins.criteria.training`)."""
    if not tenant.enables("criteria"):
        return None
    from .training import load_scenario
    return load_scenario(tenant, ctx)


@hookimpl
def training_tasks():
    """Step 12: assess criteria as the evaluator, reply as the secretariat."""
    from .training import tasks
    return tasks()


@hookimpl
def open_datasets(tenant):
    from .content import datasets
    return datasets()


@hookimpl
def portal_widgets():
    from flask_babel import lazy_gettext as _l

    from comun_cms.plugins import PortalWidget

    from .views import portal_widget
    return [PortalWidget(_l("Evaluation of the secretariats by criteria"), portal_widget, order=20)]


@hookimpl
def dashboard_widgets(tenant):
    from flask_babel import lazy_gettext as _l

    from comun_cms.plugins import PortalWidget

    from .views import dashboard_widget
    return [PortalWidget(_l("Criteria evaluation"), dashboard_widget, order=20)]


def sample_record(content_type, tenant, marker):
    """Conformance-kit factory (not a hook): a draft record of ``content_type`` in ``tenant``
    whose public text contains ``marker``; see :mod:`plugins.criteria.samples`."""
    from .samples import sample_record as make
    return make(content_type, tenant, marker)
