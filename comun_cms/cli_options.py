"""Shared ``comun`` command-line options: the one ``--tenant`` option of the core and plugins.

:func:`tenant_option` turns ``--tenant SLUG`` into :class:`~comun_cms.tenancy.Tenant` objects
and refuses an unknown slug (or a tenant that does not enable the command's plugin) with a click
error listing the valid ones, so no command repeats that lookup.
"""
from __future__ import annotations

from typing import Any, Callable

import click
from flask import current_app, has_app_context
from flask.cli import ScriptInfo

__all__ = ["resolve_tenants", "tenant_option"]


def _tenants(ctx: click.Context | None) -> dict[str, Any]:
    """The running application's ``{slug: Tenant}`` (loads the app through click's ScriptInfo
    when no application context is pushed yet, as while options are parsed)."""
    if has_app_context():
        return current_app.extensions["comun"].tenants
    ctx = ctx or click.get_current_context()
    app = ctx.ensure_object(ScriptInfo).load_app()
    return app.extensions["comun"].tenants


def resolve_tenants(slugs: tuple[str, ...] | list[str], *, plugin: str | None = None, training: bool | None = None,
                    default_all: bool = False, param_hint: str = "--tenant", ctx: click.Context | None = None) -> list:
    """Turn slugs into tenants, in the order given.

    Args:
        slugs: tenant slugs from the command line (may be empty).
        plugin: only tenants enabling this plugin are valid.
        training: ``True`` only training tenants, ``False`` only non-training tenants, ``None`` any.
        default_all: with no slug, every valid tenant (else an empty list).
        param_hint: the option's name in error messages.

    Returns:
        A list of :class:`~comun_cms.tenancy.Tenant`.

    Raises:
        click.BadParameter: a slug is unknown or not valid here; the message lists valid slugs.
    """
    tenants = _tenants(ctx)

    def valid(t) -> bool:
        return (plugin is None or t.enables(plugin)) and (training is None or t.training == training)

    allowed = [t for t in tenants.values() if valid(t) and not t.is_workspace]
    names = ", ".join(t.slug for t in allowed) or "none"
    out = []
    for slug in slugs:
        tenant = tenants.get(slug)
        if tenant is None:
            raise click.BadParameter(f"unknown tenant '{slug}'; valid: {names}", param_hint=param_hint)
        if plugin is not None and not tenant.enables(plugin):
            raise click.BadParameter(f"tenant '{slug}' does not enable the {plugin} plugin; valid: {names}",
                                     param_hint=param_hint)
        if training is True and not tenant.training:
            raise click.BadParameter(f"tenant '{slug}' is not a training tenant; valid: {names}", param_hint=param_hint)
        if training is False and tenant.training:
            raise click.BadParameter(f"tenant '{slug}' is a training tenant; valid: {names}", param_hint=param_hint)
        out.append(tenant)
    if not slugs and default_all:
        out = [t for t in tenants.values() if valid(t)]
    return out


def tenant_option(*, required: bool = False, multiple: bool = False, plugin: str | None = None,
                  training: bool | None = None, default_all: bool = False, help: str | None = None,
                  name: str | None = None) -> Callable:
    """Decorator adding ``--tenant SLUG`` to a click command, resolved to tenants.

    Args:
        required: the option must be given.
        multiple: ``--tenant`` may repeat; the command receives a list.
        plugin: only tenants enabling this plugin are accepted (and listed as valid).
        training: ``True``/``False`` restricts to (non-)training tenants; ``None`` accepts any.
        default_all: without ``--tenant``, the command receives every valid tenant (a list).
        help: the option's help text.
        name: keyword the command receives (default ``tenant``, or ``tenants`` for lists).

    The command receives a :class:`~comun_cms.tenancy.Tenant` (or ``None`` when not given), or,
    with ``multiple`` or ``default_all``, a list of tenants.

    Raises (when the command runs):
        click.BadParameter: unknown slug, or a tenant the command cannot act on.
    """
    listing = multiple or default_all
    keyword = name or ("tenants" if listing else "tenant")

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        slugs = tuple(value or ()) if multiple else ((value,) if value else ())
        resolved = resolve_tenants(slugs, plugin=plugin, training=training, default_all=default_all, ctx=ctx)
        return resolved if listing else (resolved[0] if resolved else None)

    text = help or ("Tenant slug (hidalgo, puebla, edomex...)" + ("; may repeat" if multiple else "")
                    + ("; default: every tenant" if default_all else "") + ".")
    return click.option("--tenant", keyword, required=required, multiple=multiple, metavar="SLUG",
                        callback=callback, help=text, expose_value=True)
