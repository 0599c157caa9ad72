"""Co-creation plugin (``cocreation``): the co-creation process of a plan cycle with the public
timeline of the 13 steps of the local open-government strategy, the public consultation of
problems (step 5b) with moderation, supports and a paper import, and the problem and solution
trees (step 6). Built on ``comun_cms.toolkit`` only; links to the STL minutes and action plans
go through the content-type registry, never through imports of those plugins.

Hook implementations only; see docs/cocreation.md.
"""
from __future__ import annotations

from pathlib import Path

from flask_babel import lazy_gettext as _l

from comun_cms.toolkit import MenuItem, PortalWidget, SettingSpec, hookimpl, register_personal_data

from . import call as _call
from . import content as _content
from . import datasets as _datasets
from . import demo as _demo
from . import ical as _ical  # noqa: F401 - registers the .ics routes on the blueprint
from . import minutes as _minutes  # noqa: F401 - registers the results-minute routes
from . import origin as _origin
from . import portal as _portal
from . import tables as _tables  # noqa: F401 - registers the table routes
from . import training as _training
from . import workshops as _workshops
from .admin import admin_bp
from .models import MODELS
from .privacy import SOURCE
from .services import DEFAULT_THEMES
from .views import bp

__version__ = "0.1.0"

_HERE = Path(__file__).resolve().parent

register_personal_data(SOURCE)
register_personal_data(_call.REGISTRATIONS_SOURCE)


@hookimpl
def register_models():
    """The plugin's models (tables ``cc_*``)."""
    return list(MODELS)


@hookimpl
def register_migrations():
    """Alembic branch ``cocreation`` (depends on the core revision ``0001``)."""
    return str(_HERE / "migrations" / "versions")


@hookimpl
def register_translations():
    """Gettext catalogs of the plugin."""
    return str(_HERE / "translations")


@hookimpl
def tenant_settings():
    """``themes``: the consultation's themes (a list of texts)."""
    return {"themes": SettingSpec(list, list(DEFAULT_THEMES), _l("Themes of the co-creation consultation"))}


@hookimpl
def register_blueprints():
    """Public ``cocreation`` (``/<tenant>/cocreacion/``), ``admin_cocreation`` and
    ``portal_cocreation`` (``/cocreacion/``: cross-state list of problems by theme)."""
    return [bp, admin_bp, _origin.portal_bp]


@hookimpl
def register_content_types():
    """``cocreation_process``, ``cocreation_problem``, ``cocreation_tree``, ``cocreation_table``,
    ``cocreation_minute``, ``cocreation_call`` and ``cocreation_workshop``."""
    return [*_content.CONTENT_TYPES, _tables.TABLE_TYPE, _minutes.MINUTE_TYPE, _call.CALL_TYPE,
            _workshops.WORKSHOP_TYPE]


@hookimpl
def audit_labels():
    """Names of the plugin's audit verbs."""
    return {"merge": _l("Merge"), "reject": _l("Reject"), "step": _l("Step"), "save": _l("Save"),
            "cocreation_proposal.convert": _l("Proposal converted into a draft commitment"),
            "cocreation_registration": _l("Registration to a co-creation table"),
            "cocreation_workshop_material": _l("Workshop material")}


@hookimpl
def public_menu_items(tenant):
    """"Co-creation" in the tenant's menu."""
    return [MenuItem(_l("Co-creation"), "cocreation.index", order=45)]


@hookimpl
def admin_menu_items(tenant):
    """"Co-creation" in the admin menu (admin, editor)."""
    return [MenuItem(_l("Co-creation"), "admin_cocreation.index", order=35, roles=("admin", "editor"))]


@hookimpl
def template_slot(name, tenant, context):
    """``record_footer`` of a published commitment: its citizen origin chain ("Origen
    ciudadano")."""
    if name == "record_footer" and tenant is not None:
        return _origin.render_origin_slot(tenant, context)
    return None


@hookimpl
def search_documents(tenant):
    """A search document per published process, problem, tree, table, results minute, call and
    workshop."""
    yield from _content.search_documents(tenant)
    yield from _content.search_documents(tenant, (_tables.TABLE_TYPE, _minutes.MINUTE_TYPE, _call.CALL_TYPE,
                                                  _workshops.WORKSHOP_TYPE))


@hookimpl
def open_datasets(tenant):
    """``cocreation-problems`` (published problems)."""
    return _datasets.datasets()


@hookimpl
def portal_widgets():
    """"Co-creation: open consultations and problems by theme" on the portal home."""
    return [PortalWidget(_l("Co-creation: open consultations and problems by theme"), _portal.render_portal_widget,
                         order=40),
            PortalWidget(_l("Co-creation: commitments from citizens' problems"), _origin.render_citizens_widget,
                         order=41)]


@hookimpl(trylast=True)
def demo_data(tenant, ctx):
    """Estado de México: a process linked to the real installation minutes and INFOEM plan (runs
    after the other plugins' demo data, which it links to)."""
    _demo.load_demo(tenant, ctx)


def sample_record(content_type, tenant, marker):
    """Conformance-kit factory: an unsaved draft of ``content_type`` whose text holds ``marker``."""
    if content_type.name == "cocreation_call":
        return _call.sample_record(tenant, marker)
    if content_type.name == "cocreation_workshop":
        return _workshops.sample_record(tenant, marker)
    if content_type.name == "cocreation_table":
        return _tables.sample_table(marker)
    if content_type.name == "cocreation_minute":
        return _minutes.sample_minute(marker)
    return _content.sample_record(content_type, tenant, marker)


@hookimpl
def training_scenario(tenant, ctx):
    """The practice co-creation process of a training tenant or workspace (published by
    nobody, no commit); nothing for other tenants."""
    if not tenant.training:
        return 0
    return _training.load_scenario(tenant, ctx)


@hookimpl
def tenant_reset(tenant, phase):
    """Training reset: the links between tables and problems (a table without ``tenant_id``)
    are dropped before and the practice table's are rebuilt after the scenario is restored."""
    if tenant.training:
        _training.reset_links(tenant, phase)


@hookimpl
def training_tasks():
    """Steps 5 to 10 of the local strategy: moderation, tree, open call, workshop, table,
    results minute and "Convertir en compromiso"."""
    return _training.tasks()
