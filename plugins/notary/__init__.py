"""Notary plugin: a signed, append-only transparency log of every publication (RFC 6962, C2SP).

Hook implementations, plus :func:`is_logged` for the core's conformance kit; the log logic is
in :mod:`plugins.notary.services`, the pure transparency-log library in
:mod:`plugins.notary.tlog`. See README.md.
"""
from __future__ import annotations

from pathlib import Path

from flask_babel import lazy_gettext as _l

from comun_cms.toolkit import MenuItem, PortalWidget, SettingSpec, hookimpl, register_startup_check
from plugins.notary import portal, services, training, views, witnessing
from plugins.notary.admin import bp as admin_bp
from plugins.notary.cli import notary_group
from plugins.notary.keys import check_shared_keys, ensure_keys
from plugins.notary.models import MODELS
from plugins.notary.views import bp, render_seal

__version__ = "0.1.0"

HERE = Path(__file__).resolve().parent


def is_logged(publication) -> bool:
    """Whether ``publication`` (a :class:`~comun_cms.toolkit.Publication` of the current tenant)
    has an entry in the current tenant's notary log.

    Not a hook: the plugin module's documented attribute for code that must not import the
    notary's modules, such as the core's conformance kit, which finds the plugin with
    ``pm.get_plugin("notary")`` and calls ``plugin.is_logged(publication)``.

    Args:
        publication: a flushed publication (it has an ``id``).
    Returns:
        ``True`` when the log holds it (publishing went through ``on_publish``), else ``False``.
    """
    return services.entry_for_publication(publication.id) is not None


@hookimpl
def register_models():
    return list(MODELS)


@hookimpl
def register_migrations():
    return str(HERE / "migrations" / "versions")


@hookimpl
def register_translations():
    path = HERE / "translations"
    return str(path) if path.is_dir() else None


@hookimpl
def tenant_settings():
    return {
        "origin": SettingSpec(str, "", _l("Origin of a new log (checkpoint first line and key name); empty = "
                                          "<SITE_HOST>/<slug>/notary. Fixed when the log is created: "
                                          "change it with `comun notary move-origin`")),
        "checkpoint_interval": SettingSpec(int, 0, _l("Seconds between signed checkpoints; 0 = sign after "
                                                      "every publication"), min=0, max=86400),
        "witnesses": SettingSpec(list, [], _l("External witnesses: tables {name, url, vkey or vkey_file} or "
                                              "strings \"<witness vkey> <add-checkpoint URL>\"")),
        "witness_timeout": SettingSpec(float, 5.0, _l("Seconds to wait for an external witness"), min=0.5, max=60.0),
        "peer_witnesses": SettingSpec(int, witnessing.DEFAULT_PEERS,
                                      _l("How many other states cosign this log (the next ones in order)"),
                                      min=0, max=64),
        "witness_quorum": SettingSpec(int, 1, _l("Witnesses (k of n) whose cosignatures verifiers require; "
                                                 "0 = none"), min=0, max=256),
        "tsa_url": SettingSpec(str, "", _l("RFC 3161 Time-Stamp Authority URL; empty = checkpoints are not time-stamped")),
        "tsa_chain": SettingSpec(str, "", _l("PEM file with the TSA's certificate chain (relative paths: the instance "
                                             "folder)")),
        "tsa_name": SettingSpec(str, "", _l("Name of the TSA shown to citizens; empty = its certificate's name")),
        "tsa_interval": SettingSpec(int, 0, _l("Minutes between time-stamps; 0 = time-stamp every signed checkpoint"),
                                    min=0, max=1440),
        "tsa_timeout": SettingSpec(float, 10.0, _l("Seconds to wait for the TSA"), min=0.5, max=120.0),
        "tsa_max_delay": SettingSpec(float, 168.0, _l("Hours after its checkpoint within which a time-stamp must fall "
                                                      "(the audit reports later ones)"), min=0.1, max=8760.0),
    }


@hookimpl
def register_blueprints():
    """Each state's ``notary`` endpoints, the admin's witness status (``admin_notary``) and the
    portal's cross-state verify page (``portal_notary``)."""
    return [bp, admin_bp, portal.bp]


@hookimpl
def register_workers(instance_path):
    """``comun run`` starts the witness worker (and the example standalone witness of ``make
    run`` when ``<instance>/witness-demo`` exists)."""
    return witnessing.register_workers(instance_path)


@hookimpl
def admin_menu_items(tenant):
    """"Witnesses": which witnesses cosigned the latest checkpoint (admins)."""
    return [MenuItem(_l("Witnesses"), "admin_notary.witnesses", order=90, roles=("admin",))]


@bp.record_once
def _register_key_check(state) -> None:
    """At start-up of a serving host (``gunicorn comun_cms.wsgi:app``), refuse to start when keys
    are shared (``NOTARY_KEYS_DIR``) and a tenant's keyring is missing."""
    def check(app):
        slugs = [t.slug for t in services.notary_tenants()]
        check_shared_keys(app.instance_path, slugs)
    register_startup_check(state.app, check)


@hookimpl
def register_cli_commands():
    return [notary_group]


@hookimpl
def on_publish(event):
    """Append the publication to the tenant's log inside the publishing transaction (raises ->
    nothing is published) and sign a checkpoint; witnesses are asked after the commit."""
    services.append_publication(event)


@hookimpl
def publication_log(tenant, start, limit):
    """The tenant's notary log as the publication log of the change feed (index = leaf index,
    ``entry_hash`` = RFC 6962 leaf hash)."""
    return services.log_slice(start, limit)


@hookimpl
def template_slot(name, tenant, context):
    if name != "record_footer" or tenant is None:
        return None
    return render_seal(tenant, context)


@hookimpl
def portal_widgets():
    """The portal home's "Verify a publication" box (searches every state's log)."""
    return [PortalWidget(_l("Verify a publication"), portal.render_portal_widget, order=90)]


@hookimpl
def dashboard_widgets(tenant):
    """The monitor's banner: open alarms of ``comun notary monitor`` (split views anywhere it
    looks), first on the dashboard of every notary tenant; nothing when there are none."""
    if not views.open_monitor_alarms():
        return []
    return [PortalWidget(_l("Transparency log monitor"), views.render_monitor_banner, order=0)]


@hookimpl
def public_menu_items(tenant):
    return [MenuItem(_l("Verify"), "notary.verify", order=95)]


@hookimpl
def initialize(tenant, instance_path):
    """``comun init``: create the tenant's log and witness keys and store the log's origin, fixed
    from now on whatever ``SITE_HOST`` becomes (idempotent)."""
    # shared keys (NOTARY_KEYS_DIR) are made here only for a log with nothing stored yet: a host
    # that joins an existing deployment without the keys folder fails instead of forking the log
    ensure_keys(instance_path, tenant.slug, services.log_origin(tenant), may_create=services.log_is_new(tenant))
    services.ensure_origin(tenant)


@hookimpl
def tenant_reset(tenant, phase):
    """A training reset starts a new log (new key) and logs the restored publications again; the
    old key is deleted when the reset commits and comes back if it rolls back."""
    if phase == "before":
        services.start_new_log(tenant)
    elif phase == "after":
        services.relog_publications(tenant)
    elif phase in ("committed", "rolled_back"):
        services.finish_new_log(tenant, committed=phase == "committed")


@hookimpl
def training_tasks():
    """Step 13: verify the receipt of one of your own publications (no ``training_scenario``:
    the log fills itself as the scenario is published)."""
    return training.training_tasks()
