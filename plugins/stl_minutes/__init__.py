"""STL-minutes plugin: collegiate bodies, sessions, attendance, quorum, agreements and evidence,
with a minutes lifecycle that ends locked (draft -> review -> approved -> published; addenda
afterwards). Hook implementations only; see README.md."""
from __future__ import annotations

from pathlib import Path

from comun_cms import hookimpl

__version__ = "0.1.0"

_HERE = Path(__file__).resolve().parent


@hookimpl
def register_models():
    """The plugin's models (tables ``stl_*``)."""
    from .models import MODELS
    return list(MODELS)


@hookimpl
def register_migrations():
    """Alembic branch ``stl_minutes`` (depends on the core revision ``0001``)."""
    return str(_HERE / "migrations" / "versions")


@hookimpl
def register_translations():
    """Gettext catalogs of the plugin (folder may be empty until catalogs are produced)."""
    path = _HERE / "translations"
    return str(path) if path.is_dir() else None


@hookimpl
def tenant_settings():
    """``state_code``: state abbreviation in agreement keys (``STL-MEX/...``); empty = the known
    one for edomex (MEX), puebla (PUE), hidalgo (HGO), else the slug's first letters."""
    from flask_babel import lazy_gettext as _l

    from comun_cms.plugins import SettingSpec
    return {"state_code": SettingSpec(str, "", _l("State code used in agreement keys (MEX, PUE, HGO); empty = default"))}


@hookimpl
def register_blueprints():
    """Public ``stl_minutes`` (``/<tenant>/actas``) and admin ``admin_stl_minutes``
    (``/<tenant>/admin/actas``)."""
    from .admin import bp as admin_bp
    from .views import bp
    return [bp, admin_bp]


@hookimpl
def register_content_types():
    """``stl_body``, ``stl_session``, ``stl_agreement``, ``stl_call``."""
    from .content import CONTENT_TYPES
    return list(CONTENT_TYPES)


@hookimpl
def register_cli_commands():
    """``comun minutes load-training --tenant SLUG`` and ``comun minutes overdue --tenant SLUG``."""
    from .cli import minutes_group
    return [minutes_group]


@hookimpl
def admin_menu_items(tenant):
    from flask_babel import lazy_gettext as _l
    from comun_cms.plugins import MenuItem
    return [MenuItem(_l("Minutes"), "admin_stl_minutes.index", order=20, roles=("admin", "editor")),
            MenuItem(_l("Agreements"), "admin_stl_minutes.agreements", order=21, roles=("admin", "editor"))]


@hookimpl
def public_menu_items(tenant):
    from flask_babel import lazy_gettext as _l
    from comun_cms.plugins import MenuItem
    return [MenuItem(_l("Agreements"), "stl_minutes.agreements", order=11)]


@hookimpl
def template_slot(name, tenant, context):
    """Fills ``section.minutes`` (sessions, calendar, agreements, bodies)."""
    if name == "section.minutes" and tenant is not None:
        from .views import render_section
        return render_section()
    return None


@hookimpl
def search_documents(tenant):
    """Published bodies, minutes and agreements of the tenant."""
    from sqlalchemy import select
    from comun_cms.extensions import db
    from comun_cms.search.service import document_for
    from .content import AGREEMENT_TYPE, BODY_TYPE, SESSION_TYPE
    for ct in (BODY_TYPE, SESSION_TYPE, AGREEMENT_TYPE):
        for record in db.session.scalars(select(ct.model).where(ct.model.status == "published")):
            doc = document_for(ct, record, tenant)
            if doc is not None:
                yield doc


@hookimpl
def demo_data(tenant, ctx):
    """Real sessions where the data file has them for the tenant (edomex), labelled demo sessions
    otherwise. Training tenants get nothing here (use ``comun minutes load-training``)."""
    from .demo import load_data, load_demo_sessions, load_real_sessions
    if tenant.training:
        return
    data = load_data()
    if any(e.get("tenant") == tenant.slug for e in data["sessions"]):
        load_real_sessions(tenant, ctx, data)
    else:
        load_demo_sessions(tenant, ctx)


@hookimpl
def training_scenario(tenant, ctx):
    """Training material: the Sinaloa STL sessions and the practice STL of the workshop's state
    with its members by sector (published by nobody; flushed, not committed)."""
    if not tenant.training:
        return None
    from .training import load_scenario
    return load_scenario(tenant, ctx)


@hookimpl
def training_tasks():
    """Step 4: record and publish the minutes of the STL's installation session."""
    from .training import tasks
    return tasks()


@hookimpl
def open_datasets(tenant):
    """Datasets ``stl_sessions``, ``stl_attendance``, ``stl_agreements`` and ``stl_members``."""
    from .datasets import datasets
    return datasets(tenant)


@hookimpl
def dashboard_widgets(tenant):
    from flask_babel import lazy_gettext as _l
    from comun_cms.plugins import PortalWidget
    from .admin import render_dashboard_widget
    return [PortalWidget(_l("Minutes and agreements"), render_dashboard_widget, order=20)]


@hookimpl
def portal_widgets():
    from flask_babel import lazy_gettext as _l
    from comun_cms.plugins import PortalWidget
    from .portal import render_portal_widget
    return [PortalWidget(_l("Latest STL sessions"), render_portal_widget, order=30)]


def sample_record(content_type, tenant, marker):
    """Conformance-kit factory (not a hook): a draft record of ``content_type`` in ``tenant``
    whose public text contains ``marker``; see :mod:`plugins.stl_minutes.samples`."""
    from .samples import sample_record as make
    return make(content_type, tenant, marker)
