"""Pluggy markers and every hook specification of Común CMS.

Plugins implement these with ``@comun_cms.hookimpl``. Hooks *return data*; the core does the
wiring (registers blueprints, adds menu entries, indexes documents...). Each hook is documented in
``docs/plugins.md`` and has a test (``tests/test_hooks.py`` fails when one is missing).

Two scopes:

* **install scope** (``register_models``, ``register_migrations``, ``register_translations``,
  ``register_cli_commands``, ``tenant_settings``, ``register_blueprints``,
  ``register_content_types``, ``audit_labels``, ``register_workers``): called once for every *installed*
  plugin when the application is created (``register_workers`` when ``comun run`` starts).
* **tenant scope** (everything else): called only for plugins the tenant enables, through
  :func:`comun_cms.plugins.tenant_hook` (``pm.subset_hook_caller``). Portal-wide hooks
  (``portal_widgets``) are called for plugins enabled in at least one tenant.

Source: pluggy documentation, "Writing hook specifications" (https://pluggy.readthedocs.io/).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

import pluggy

if TYPE_CHECKING:  # pragma: no cover - typing only
    import click
    from flask import Blueprint

    from comun_cms.hooktypes import (
        ContentType, Dataset, DemoContext, LogSlice, MenuItem, PortalWidget, PublishEvent, SettingSpec, TrainingTask,
        Worker,
    )
    from comun_cms.search.backend import SearchDocument
    from comun_cms.tenancy import Tenant

PROJECT_NAME = "comun_cms"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

#: Hooks called for every installed plugin, whatever the tenant.
INSTALL_SCOPE_HOOKS = (
    "register_models",
    "register_migrations",
    "register_translations",
    "register_cli_commands",
    "tenant_settings",
    "register_blueprints",
    "register_content_types",
    "audit_labels",
    "register_workers",
)


# --------------------------------------------------------------------------- install scope
@hookspec
def register_models() -> list[type]:
    """Return the SQLAlchemy model classes the plugin defines.

    Called once at start-up so the models are imported (mapped on the shared metadata) before
    migrations or queries run. Returns a list of classes; may be empty.
    """


@hookspec
def register_migrations() -> str | None:
    """Return the absolute path of the plugin's Alembic ``versions`` folder, or ``None``.

    The folder is appended to Alembic's ``version_locations``. The plugin's first revision must
    carry ``branch_labels = ("<plugin name>",)`` and ``depends_on`` the core revision it needs.
    """


@hookspec
def register_translations() -> str | None:
    """Return the absolute path of the plugin's ``translations`` folder (gettext catalogs, domain
    ``messages``), or ``None``. The core adds it to Flask-Babel's translation directories."""


@hookspec
def register_cli_commands() -> list["click.Command"]:
    """Return click commands or groups to add under the ``comun`` command line."""


@hookspec
def tenant_settings() -> dict[str, "SettingSpec"]:
    """Return the plugin's settings schema: ``{key: SettingSpec}``.

    Values come from ``[plugin_settings.<name>]`` in ``states/<slug>/tenant.toml``; unknown keys and
    values of the wrong type stop start-up with an error naming file, key and problem.
    """


@hookspec
def register_blueprints() -> list["Blueprint"]:
    """Return the plugin's Flask blueprints.

    A blueprint whose name starts with ``admin_`` is mounted under ``/<tenant>/admin``; one whose
    name starts with ``portal_`` is mounted at the site root; every other one under
    ``/<tenant>``. The blueprint's own ``url_prefix`` is appended. Requests for a tenant that has
    not enabled the plugin answer 404.
    """


@hookspec
def register_content_types() -> list["ContentType"]:
    """Return the plugin's :class:`~comun_cms.hooktypes.ContentType` descriptions
    (publishable record kinds: how they serialize, render, index and export)."""


@hookspec
def audit_labels() -> dict[str, Any]:
    """Return names (lazy gettext strings) for the codes of the plugin's audit events.

    An audit action is ``"<object>.<verb>"`` (``"stl_member.create"``). Keys may be an object
    type (``"stl_member"``), a verb (``"follow_up"``) or a whole action
    (``"stl_agenda.standard"``); the dashboard and the audit log show the whole action's label,
    else "<object label>: <verb label>", where content types' labels name their objects. The
    core gives the common verbs (create, update, delete, publish, correct, retract, import...).
    """


@hookspec
def register_workers(instance_path: str) -> list["Worker"]:
    """Return the background processes ``comun run`` starts beside the web server and the core's
    search and mail workers (a plugin's outbox worker, an example service).

    Args:
        instance_path: the instance folder ``comun run`` uses (a plugin may start a process
            only when something it needs exists there).
    Returns a list of :class:`~comun_cms.hooktypes.Worker`; may be empty.
    """


# --------------------------------------------------------------------------- tenant scope
@hookspec
def admin_menu_items(tenant: "Tenant") -> list["MenuItem"]:
    """Return entries for the tenant's admin navigation (only called if the plugin is enabled)."""


@hookspec
def public_menu_items(tenant: "Tenant") -> list["MenuItem"]:
    """Return entries for the tenant's public navigation."""


@hookspec
def template_slot(name: str, tenant: "Tenant | None", context: dict[str, Any]) -> Any:
    """Return HTML (``markupsafe.Markup``) to insert at template slot ``name``, or ``None``.

    Slots used by the core templates: ``head``, ``site_footer``, ``record_footer`` (context has
    ``record``, ``content_type`` and ``publication``), ``home_main``, and one per STL site
    section: ``section.minutes``, ``section.commitments``, ``section.contact``,
    ``section.open_data``, ``section.links``, ``section.feedback``, ``section.join``.
    Results of every enabled plugin are joined in plugin order. A result that is not
    ``Markup`` (e.g. the plain ``str`` of ``render_template``) is escaped, so it shows as text,
    and a warning is logged: wrap templates as ``Markup(render_template(...))``.
    """


@hookspec
def on_publish(event: "PublishEvent") -> None:
    """Called for every publish, correction, retraction and redaction, inside the publishing
    transaction.

    ``event`` has ``publication``, ``record``, ``content_type``, ``tenant`` and ``action``. For a
    redaction (``redact``) ``publication.redacted_at`` is set when the whole record was redacted
    (treat it as a withdrawal, like ``retract``); the earlier versions' content is already gone.
    Listeners add rows to ``db.session`` (they must not commit). Raising any exception aborts the
    publication: the whole transaction is rolled back and nothing is published.
    """


@hookspec(firstresult=True)
def publication_log(tenant: "Tenant", start: int, limit: int) -> "LogSlice | None":
    """Return up to ``limit`` consecutive entries of the tenant's publication log from index
    ``start`` (zero-based), or ``None`` when the plugin keeps no such log.

    The log must give every publication (publish, correct, retract, redact) of the tenant an index that
    is gap-free and assigned in commit order, so that a reader never sees index ``n + 1``
    committed before ``n``: the change feed ``/api/v1/<tenant>/changes`` pages on it. Runs with
    ``tenant`` as the current tenant. The first non-``None`` result wins (the notary plugin).
    """


@hookspec(firstresult=True)
def create_draft(tenant: "Tenant", content_type: str, fields: dict[str, Any], origin: dict[str, Any]) -> Any:
    """Create an **unpublished draft** record of ``content_type`` pre-filled from ``fields``, on
    behalf of another plugin (cross-plugin work without imports: co-creation turns a proposal
    into a draft commitment), or return ``None`` when the plugin does not own ``content_type``.

    Runs with ``tenant`` as the current tenant, inside the caller's transaction: add rows to
    ``db.session`` and flush, never commit (the caller's ``admin_change`` or ``atomic`` commits
    or rolls everything back). Never publishes. The first non-``None`` result wins.

    Args:
        tenant: the tenant the draft belongs to.
        content_type: the name of the content type wanted (``"commitment"``).
        fields: initial values, by the owner's field names; the owner documents which keys it
            reads (unknown keys are ignored) and validates every one.
        origin: where the draft comes from, for the owner's audit and source notes:
            ``{"content_type": str, "record_id": int, "label": str, ...}``.
    Returns the new record (flushed, with its id), or ``None``.
    Raises ``ChangeRefused`` (translated message, naming the field) when a value is refused,
    e.g. a parent record id that is not one of the tenant's.
    """


@hookspec
def search_documents(tenant: "Tenant") -> Iterable["SearchDocument"]:
    """Yield every public search document of the tenant owned by the plugin (full reindex).

    Incremental updates do not use this hook: they come from ``ContentType.search_document``
    on publication.
    """


@hookspec
def demo_data(tenant: "Tenant", ctx: "DemoContext") -> None:
    """Load the plugin's demo or real content into ``tenant``.

    Must be idempotent: ``comun demo`` may run many times. ``ctx`` gives the shared data folder,
    a demo user to publish as, and ``ctx.log(message)`` for progress.
    """


@hookspec
def open_datasets(tenant: "Tenant") -> list["Dataset"]:
    """Return the plugin's open datasets for the tenant (CSV/JSON downloads of published records)."""


@hookspec
def portal_widgets() -> list["PortalWidget"]:
    """Return widgets shown on the portal home page (cross-state comparisons, latest items)."""


@hookspec
def dashboard_widgets(tenant: "Tenant") -> list["PortalWidget"]:
    """Return widgets shown on the tenant's admin dashboard (``render()`` returns ``Markup``;
    anything else is escaped and logged, as for ``template_slot``)."""


@hookspec
def role_permissions(tenant: "Tenant") -> dict[str, list[str]]:
    """Return the permissions the plugin grants to tenant roles in ``tenant``:
    ``{role: [permission, ...]}`` (e.g. ``{"evaluator": ["criteria.evaluate"]}``).

    Grants only add: the results of every enabled plugin and the core's defaults
    (:data:`comun_cms.permissions.CORE_ROLE_PERMISSIONS`) are joined. Views check them with
    :func:`comun_cms.permissions.can` / ``require_permission``. Name a plugin's own permissions
    ``<plugin>.<verb>``; ``content.view_unpublished:<owner_type>`` lets a role see the
    unpublished records and non-public files of that owner type.
    """


@hookspec
def initialize(tenant: "Tenant", instance_path: str) -> None:
    """Called by ``comun init`` for every tenant enabling the plugin, after migrations: create
    what the plugin needs to run (keys in the instance folder, default rows). Must be
    idempotent. Install-scope plugins that need nothing do not implement it."""


@hookspec
def tenant_reset(tenant: "Tenant", phase: str) -> None:
    """Called when a training tenant's data is restored to its scenario (``comun training reset``).

    ``phase`` is ``"before"`` (before the tenant's rows are deleted: drop data that references
    them or that must not survive, e.g. the notary starts a new log with a new key) or
    ``"after"`` (the scenario rows are back: rebuild derived data); both run inside the reset's
    transaction (add to ``db.session``, do not commit) and raising aborts the reset. Then, outside
    the transaction, ``"committed"`` or ``"rolled_back"`` tells how it ended, for what a database
    transaction does not cover (files: the notary deletes or restores the old keyring).
    """


@hookspec
def training_scenario(tenant: "Tenant", ctx: "DemoContext") -> int | None:
    """Load the plugin's training material into a training tenant or a participant's workspace
    (``comun training load`` and ``comun training participants``).

    ``tenant.training`` is always true here; ``ctx.user`` is ``None`` (scenario records are
    published by nobody, so participants' work is told apart by its publisher). Must be
    idempotent and must not commit (the caller commits once per tenant). Returns the number
    of records created (``None`` counts as 0).
    """


@hookspec
def training_tasks() -> list["TrainingTask"]:
    """Return the plugin's tasks for the training exercises (:class:`comun_cms.hooktypes.TrainingTask`).

    Each task belongs to one of the 13 steps of the local strategy (``task.step``); an exercise
    whose step has plugin tasks uses them instead of the core's "write and publish a page" task.
    ``task.check(participant)`` inspects the participant's workspace ("check my work") and
    ``task.solve(participant)`` does the model answer (``comun training reset --exercise N``
    applies the answers of the exercises before N). Both run inside the workspace's tenant context.
    """
