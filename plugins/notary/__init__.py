"""Notary plugin: a signed, append-only transparency log of every publication (RFC 6962, C2SP).

Hook implementations only; the log logic is in :mod:`plugins.notary.services`, the pure
transparency-log library in :mod:`plugins.notary.tlog`. See README.md.
"""
from __future__ import annotations

from comun_cms import hookimpl

__version__ = "0.1.0"


@hookimpl
def register_models():
    from plugins.notary.models import MODELS
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
    return {
        "origin": SettingSpec(str, "", _l("Log origin (checkpoint first line and key name); empty = "
                                          "<SITE_HOST>/<slug>/notary")),
        "checkpoint_interval": SettingSpec(int, 0, _l("Seconds between signed checkpoints; 0 = sign after "
                                                      "every publication"), min=0, max=86400),
        "witnesses": SettingSpec(list, [], _l("Extra witnesses, each \"<witness vkey> <add-checkpoint URL>\"")),
        "witness_timeout": SettingSpec(float, 5.0, _l("Seconds to wait for an extra witness"), min=0.5, max=60.0),
    }


@hookimpl
def register_blueprints():
    from plugins.notary.views import bp
    return [bp]


@hookimpl
def register_cli_commands():
    from plugins.notary.cli import notary_group
    return [notary_group]


@hookimpl
def on_publish(event):
    """Append the publication to the tenant's log inside the publishing transaction (raises ->
    nothing is published) and sign a checkpoint; witnesses are asked after the commit."""
    from plugins.notary.services import append_publication
    append_publication(event)


@hookimpl
def template_slot(name, tenant, context):
    if name != "record_footer" or tenant is None:
        return None
    from plugins.notary.views import render_seal
    return render_seal(tenant, context)


@hookimpl
def public_menu_items(tenant):
    from flask_babel import lazy_gettext as _l

    from comun_cms.plugins import MenuItem
    return [MenuItem(_l("Verify"), "notary.verify", order=95)]


@hookimpl
def initialize(tenant, instance_path):
    """``comun init``: create the tenant's log and witness keys (idempotent)."""
    from plugins.notary.keys import ensure_keys
    from plugins.notary.services import log_origin
    ensure_keys(instance_path, tenant.slug, log_origin(tenant))


@hookimpl
def tenant_reset(tenant, phase):
    """A training reset starts a new log (new key) and logs the restored publications again; the
    old key is deleted when the reset commits and comes back if it rolls back."""
    from plugins.notary import services
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
    from plugins.notary.training import training_tasks as tasks
    return tasks()
