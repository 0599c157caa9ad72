"""STL-minutes plugin: collegiate bodies, sessions, attendance, quorum, agreements and evidence,
with a minutes lifecycle that ends locked (draft -> review -> approved -> published; addenda
afterwards). Hook implementations only; see README.md."""
from __future__ import annotations

from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from comun_cms.toolkit import MenuItem, PortalWidget, SettingSpec, db, hookimpl, search_document_for

from . import datasets, demo, samples, training
from .admin import bp as admin_bp, render_dashboard_widget
from .cli import minutes_group
from .content import AGREEMENT_TYPE, BODY_TYPE, CONTENT_TYPES, SESSION_TYPE
from .models import MODELS
from .portal import render_portal_widget
from .views import bp as public_bp, render_section

__version__ = "0.1.0"

_HERE = Path(__file__).resolve().parent


@hookimpl
def register_models():
    """The plugin's models (tables ``stl_*``)."""
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
    return {"state_code": SettingSpec(str, "", _l("State code used in agreement keys (MEX, PUE, HGO); empty = default"))}


@hookimpl
def register_blueprints():
    """Public ``stl_minutes`` (``/<tenant>/actas``) and admin ``admin_stl_minutes``
    (``/<tenant>/admin/actas``)."""
    return [public_bp, admin_bp]


@hookimpl
def audit_labels():
    """Names of the plugin's audit objects and verbs (``stl_member.create``...)."""
    return {
        "stl_member": _l("Body member"), "stl_evidence": _l("Evidence"), "stl_attendance": _l("Attendance"),
        "stl_agenda": _l("Agenda item"), "stl_agenda.standard": _l("Agenda: standard items added"),
        "stl_agenda.move": _l("Agenda: item moved"), "stl_attendance.members": _l("Attendance: members added"),
        "stl_agreement.follow_up": _l("Agreement: follow-up"), "stl_call.document": _l("Session call: document"),
        "stl_session.addendum": _l("Session minutes: addendum"),
    }


@hookimpl
def register_content_types():
    """``stl_body``, ``stl_session``, ``stl_agreement``, ``stl_call``."""
    return list(CONTENT_TYPES)


@hookimpl
def register_cli_commands():
    """``comun minutes load-training --tenant SLUG`` and ``comun minutes overdue --tenant SLUG``."""
    return [minutes_group]


@hookimpl
def admin_menu_items(tenant):
    """"Minutes" and "Agreements" (follow-up) for the tenant's admins and editors."""
    return [MenuItem(_l("Minutes"), "admin_stl_minutes.index", order=20, roles=("admin", "editor")),
            MenuItem(_l("Agreements"), "admin_stl_minutes.agreements", order=21, roles=("admin", "editor"))]


@hookimpl
def public_menu_items(tenant):
    """"Agreements": the public agreements tracker."""
    return [MenuItem(_l("Agreements"), "stl_minutes.agreements", order=11)]


@hookimpl
def template_slot(name, tenant, context):
    """Fills ``section.minutes`` (sessions, calendar, agreements, bodies)."""
    if name == "section.minutes" and tenant is not None:
        return render_section()
    return None


@hookimpl
def search_documents(tenant):
    """Published bodies, minutes and agreements of the tenant."""
    for ct in (BODY_TYPE, SESSION_TYPE, AGREEMENT_TYPE):
        for record in db.session.scalars(select(ct.model).where(ct.model.status == "published")):
            doc = search_document_for(ct, record, tenant)
            if doc is not None:
                yield doc


@hookimpl
def demo_data(tenant, ctx):
    """Real sessions where the data file has them for the tenant (edomex), labelled demo sessions
    otherwise. Training tenants get nothing here (use ``comun minutes load-training``)."""
    if tenant.training:
        return
    data = demo.load_data()
    if any(e.get("tenant") == tenant.slug for e in data["sessions"]):
        demo.load_real_sessions(tenant, ctx, data)
    else:
        demo.load_demo_sessions(tenant, ctx)


@hookimpl
def training_scenario(tenant, ctx):
    """Training material: the Sinaloa STL sessions and the practice STL of the workshop's state
    with its members by sector (published by nobody; flushed, not committed)."""
    if not tenant.training:
        return None
    return training.load_scenario(tenant, ctx)


@hookimpl
def training_tasks():
    """Step 4: record and publish the minutes of the STL's installation session."""
    return training.tasks()


@hookimpl
def open_datasets(tenant):
    """Datasets ``stl_sessions``, ``stl_attendance``, ``stl_agreements`` and ``stl_members``."""
    return datasets.datasets(tenant)


@hookimpl
def dashboard_widgets(tenant):
    """"Minutes and agreements": minutes waiting in review or approval, overdue agreements."""
    return [PortalWidget(_l("Minutes and agreements"), render_dashboard_widget, order=20)]


@hookimpl
def portal_widgets():
    """"Latest STL sessions" of every public tenant that enables the plugin."""
    return [PortalWidget(_l("Latest STL sessions"), render_portal_widget, order=30)]


def sample_record(content_type, tenant, marker):
    """Conformance-kit factory (not a hook): a draft record of ``content_type`` in ``tenant``
    whose public text contains ``marker``; see :mod:`plugins.stl_minutes.samples`."""
    return samples.sample_record(content_type, tenant, marker)
