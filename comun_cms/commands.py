"""The core commands of the ``comun`` command line and their registration on ``app.cli``.

Commands: ``init``, ``demo``, ``run``, ``users create|list|set-password|logout``, ``plugins list|new``, plus the
groups of :mod:`comun_cms.training.cli` (``training``) and :mod:`comun_cms.search.cli`
(``search``); plugins add their own groups through the ``register_cli_commands`` hook. The
console script itself (``comun``, building the application) is :func:`comun_cms.cli.main`.
Commands that act on one tenant take the shared ``--tenant SLUG`` option
(:func:`comun_cms.cli_options.tenant_option`). Long work shows progress; ``--quiet`` hides it.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from comun_cms import scaffold
from comun_cms.access_log import GUNICORN_ACCESS_LOG_ARGS
from comun_cms.models import ROLES
from comun_cms.audit import record_audit
from comun_cms.backup_cli import backup_cmd, restore_cmd
from comun_cms.cli_options import tenant_option
from comun_cms.config import DEFAULTS as CONFIG_DEFAULTS
from comun_cms.demo import run_demo
from comun_cms.extensions import db
from comun_cms.filestore import uploads_group
from comun_cms.i18n import compile_catalogs
from comun_cms.mail_cli import mail_group
from comun_cms.subscriptions_cli import subscriptions_group
from comun_cms.models import Membership, User
from comun_cms.plugins import describe_plugins
from comun_cms.private_files import private_dir
from comun_cms.privacy_cli import privacy_group
from comun_cms.search.cli import search_group
from comun_cms.setup import initialize_plugins, sync_tenants, upgrade_database
from comun_cms.supervisor import STOP_TIMEOUT, Child, Supervisor
from comun_cms.tenancy import Tenant, tenant_context
from comun_cms.training.cli import training_group
from comun_cms.users import UserError, create_user, find_user, revoke_sessions, set_password

__all__ = ["demo_cmd", "init_cmd", "plugins_group", "register_cli", "run_cmd", "users_group"]


def register_cli(app: Flask) -> None:
    """Add the core commands and the plugins' commands to ``app.cli``."""
    app.cli.add_command(init_cmd)
    app.cli.add_command(demo_cmd)
    app.cli.add_command(run_cmd)
    app.cli.add_command(users_group)
    app.cli.add_command(plugins_group)
    plugins_group.add_command(scaffold.new_cmd)
    app.cli.add_command(training_group)
    app.cli.add_command(search_group)
    app.cli.add_command(mail_group)
    app.cli.add_command(privacy_group)
    app.cli.add_command(subscriptions_group)
    app.cli.add_command(backup_cmd)
    app.cli.add_command(restore_cmd)
    app.cli.add_command(uploads_group)
    for result in app.extensions["comun"].pm.hook.register_cli_commands():
        for command in result or []:
            app.cli.add_command(command)


@click.command("init")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
@with_appcontext
def init_cmd(quiet: bool) -> None:
    """Create or upgrade the database, load the tenants, create plugin keys. Idempotent."""
    say = (lambda *a: None) if quiet else click.echo
    app = current_app._get_current_object()
    n = compile_catalogs(app.extensions["comun"].translation_dirs)
    say(f"Translations: {n} catalog(s) compiled.")
    upgrade_database(app)
    say("Database: migrated to the latest revision.")
    created = sync_tenants(app)
    tenants = app.extensions["comun"].tenants.values()
    names = [t.slug + (f" (+{t.workspaces} participant workspaces)" if t.workspaces else "")
             for t in tenants if not t.is_workspace]
    say(f"Tenants: {', '.join(names)} ({len(created)} new).")
    initialize_plugins(app)
    say("Plugins: initialized.")


@click.command("demo")
@click.option("--quiet", is_flag=True, help="Print nothing but the demo logins.")
@tenant_option(help="Only this tenant (default: every tenant but the participant workspaces).")
@with_appcontext
def demo_cmd(quiet: bool, tenant: Tenant | None) -> None:
    """Load the real documents and each plugin's real and demo content; create demo users and
    print their logins. Running it again changes nothing that exists."""
    app = current_app._get_current_object()
    tenants = [tenant] if tenant is not None else None
    logins = run_demo(app, tenants=tenants, log=(lambda m: None) if quiet else click.echo)
    click.echo("\nDemo logins (Dato de ejemplo):")
    for email, password, role in logins:
        click.echo(f"  {email:38} {password:22} {role}")


@click.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option("--dev", is_flag=True, help="Use Flask's development server with reload instead of gunicorn.")
@with_appcontext
def run_cmd(host: str, port: int, workers: int, dev: bool) -> None:
    """Serve the site (gunicorn with WORKERS processes) and run the search indexer, the mail
    worker and the plugins' workers (hook ``register_workers``) beside it.

    All run as children of a supervisor (:class:`~comun_cms.supervisor.Supervisor`): SIGTERM,
    SIGINT (Ctrl-C) and SIGHUP stop them and exit 0, leaving no process behind to hold the port;
    if the server ends on its own (e.g. the port is taken), the workers are stopped and its exit
    code is returned; a worker is started again if it dies.
    """
    app = current_app._get_current_object()
    if workers > 1 and str(app.config.get("RATELIMIT_STORAGE_URI", "")).startswith("memory://"):
        click.echo(f"Warning: rate limits are counted per process ({workers} workers); set "
                   "COMUN_RATELIMIT_STORAGE_URI=redis://127.0.0.1:6379 to share them.", err=True)
    env = dict(os.environ, COMUN_INSTANCE_PATH=app.instance_path,
               COMUN_LOG_FORMAT=str(app.config.get("LOG_FORMAT") or "text"))
    env["PROMETHEUS_MULTIPROC_DIR"] = str(prepare_metrics_dir(app.instance_path, env.get("PROMETHEUS_MULTIPROC_DIR")))
    default_url = CONFIG_DEFAULTS["SITE_URL"]
    if app.config.get("SITE_URL") == default_url and f"http://{host}:{port}" != default_url:
        # links in e-mails and feeds are built from SITE_URL: without a setting, follow --host/--port
        if host in ("0.0.0.0", "::", ""):
            click.echo(f"Warning: links in e-mails and feeds use {default_url}; set COMUN_SITE_URL (and "
                       "COMUN_SITE_HOST) to the address people use.", err=True)
        else:
            env.update(COMUN_SITE_URL=f"http://{host}:{port}", COMUN_SITE_HOST=f"{host}:{port}")
    if dev:
        server = [sys.executable, "-m", "flask", "--app", "comun_cms.wsgi:app", "run", "--debug", "--no-reload",
                  "--host", host, "--port", str(port)]
    else:
        server = [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"{host}:{port}",
                  "--graceful-timeout", str(int(STOP_TIMEOUT) - 5), *GUNICORN_ACCESS_LOG_ARGS, "comun_cms.wsgi:app"]
    children = [Child("search worker", [sys.executable, "-m", "comun_cms.cli", "search", "worker"], restart=True),
                Child("mail worker", [sys.executable, "-m", "comun_cms.cli", "mail", "worker"], restart=True)]
    for result in app.extensions["comun"].pm.hook.register_workers(instance_path=app.instance_path):
        children += [Child(w.name, list(w.argv), restart=w.restart) for w in result or []]
    supervisor = Supervisor([*children, Child("web server", server)], env)
    sys.exit(supervisor.run())


def prepare_metrics_dir(instance_path: str, given: str | None = None) -> Path:
    """The folder of the workers' Prometheus values (:mod:`comun_cms.metrics`, multiprocess mode):
    ``given`` (``$PROMETHEUS_MULTIPROC_DIR``) or ``<instance>/prometheus``, created (0700) and
    emptied of a previous run's ``*.db`` files, so counters start from zero with the server."""
    folder = Path(given) if given else Path(instance_path) / "prometheus"
    private_dir(folder)
    for old in folder.glob("*.db"):
        old.unlink()
    return folder


# --------------------------------------------------------------------------- users
@click.group("users")
def users_group() -> None:
    """Manage user accounts."""


@users_group.command("create")
@click.argument("email")
@tenant_option()
@click.option("--role", type=click.Choice(list(ROLES)), help="Role in --tenant.")
@click.option("--platform-admin", is_flag=True, help="Administer every tenant.")
@click.option("--name", default="", help="Display name.")
@click.option("--password", envvar="COMUN_NEW_PASSWORD", help="Password (default: asked, hidden).")
@with_appcontext
def users_create(email: str, tenant: Tenant | None, role: str | None, platform_admin: bool, name: str,
                 password: str | None) -> None:
    """Create a user EMAIL (or give an existing one a role): --tenant puebla --role admin."""
    if bool(role) != bool(tenant):
        raise click.UsageError("--role and --tenant go together")
    if not role and not platform_admin:
        raise click.UsageError("give --tenant and --role, or --platform-admin")
    if find_user(email) is None and not password:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create_user(email, password=password or "", role=role, tenant=tenant, platform_admin=platform_admin,
                           name=name, commit=False)
        if tenant is not None:
            with tenant_context(tenant):
                record_audit("user.create", "user", user.id, None, {"email": user.email, "role": role})
        db.session.commit()
    except UserError as exc:
        db.session.rollback()
        raise click.BadParameter(str(exc), param_hint=exc.field) from None
    click.echo(f"User {user.email} ready" + (f" with role {role} in {tenant.slug}." if role else " as platform admin."))


@users_group.command("set-password")
@click.argument("email")
@click.option("--password", envvar="COMUN_NEW_PASSWORD", help="New password (default: asked, hidden).")
@with_appcontext
def users_set_password(email: str, password: str | None) -> None:
    """Give EMAIL a new password (password policy applies) and end all of their sessions."""
    user = find_user(email)
    if user is None:
        raise click.BadParameter(f"no user with e-mail {email}", param_hint="email")
    if not password:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        set_password(user, password)
        _audit_user_everywhere(user, "user.password_reset")
        db.session.commit()
    except UserError as exc:
        db.session.rollback()
        raise click.BadParameter(str(exc), param_hint=exc.field) from None
    click.echo(f"Password of {user.email} changed; their sessions were closed.")


@users_group.command("logout")
@click.argument("email")
@with_appcontext
def users_logout(email: str) -> None:
    """End every session of EMAIL (server side), e.g. for a lost or stolen device."""
    user = find_user(email)
    if user is None:
        raise click.BadParameter(f"no user with e-mail {email}", param_hint="email")
    _audit_user_everywhere(user, "user.sessions_revoked")
    revoke_sessions(user)
    click.echo(f"Every session of {user.email} was closed.")


def _audit_user_everywhere(user: User, action: str) -> None:
    """Add the audit event ``action`` about ``user`` in every tenant where the user has a role."""
    tenants = current_app.extensions["comun"].tenants
    slugs = db.session.scalars(select(Membership.tenant_id).where(Membership.user_id == user.id)
                               .execution_options(all_tenants=True)).all()
    for slug in slugs:
        if slug in tenants:
            with tenant_context(tenants[slug]):
                record_audit(action, "user", user.id, None, {"email": user.email})
                db.session.flush()


@users_group.command("list")
@tenant_option(help="Only the members of this tenant.")
@with_appcontext
def users_list(tenant: Tenant | None) -> None:
    """List users and their roles."""
    tenant_slug = tenant.slug if tenant is not None else None
    memberships = db.session.scalars(select(Membership).execution_options(all_tenants=True)
                                      .order_by(Membership.tenant_id, Membership.role)).all()
    for m in memberships:
        if tenant_slug and m.tenant_id != tenant_slug:
            continue
        click.echo(f"{m.tenant_id:12} {m.role:10} {m.user.email}")
    if not tenant_slug:
        for u in db.session.scalars(select(User).where(User.is_platform_admin.is_(True))):
            click.echo(f"{'*':12} {'platform':10} {u.email}")


# --------------------------------------------------------------------------- plugins
@click.group("plugins")
def plugins_group() -> None:
    """Inspect plugins."""


@plugins_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
def plugins_list(as_json: bool) -> None:
    """List installed plugins: name, version, hooks and the tenants that enable them."""
    rows = describe_plugins()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(f"{row['name']} {row['version']}")
        click.echo(f"  tenants: {', '.join(row['enabled_tenants']) or '-'}")
        click.echo(f"  hooks:   {', '.join(row['hooks'])}")
