"""The plugin toolkit: the one module a Común CMS plugin imports from.

Everything a plugin needs from the core is re-exported here, and only what is here is the
**stable plugin API**: a name listed in :data:`__all__` keeps its meaning and signature, and it is
removed or changed only after a release that warns (``DeprecationWarning``) and says so in
docs/plugins.md. Everything else in ``comun_cms`` is internal and may change at any time. The
test helpers for plugin authors live in :mod:`comun_cms.toolkit.testing` (they need pytest).

Plugins (built-in, ``examples/`` and those made by ``comun plugins new``) import the core only
from these two modules, and only names of their ``__all__``: ``tests/test_toolkit_boundary.py``
fails, naming ``file:line``, on any other ``comun_cms`` import, and on a name of ``__all__`` that
has no line in docs/plugins.md.

Modelled on CKAN's ``ckan.plugins.toolkit`` and Datasette's small top-level namespace.

Groups (see docs/plugins.md, "The toolkit", for each name):

* hooks: :data:`hookimpl`;
* hook value types: :class:`ContentType`, :class:`MenuItem`, :class:`PortalWidget`,
  :class:`SettingSpec`, :class:`PublishEvent`, :class:`Dataset`, :class:`DatasetField`,
  :class:`DemoContext`, :class:`TrainingTask`, :class:`CheckItem`, :class:`Participant`,
  :class:`SearchDocument`, :class:`LogSlice`, :class:`LoggedPublication`, :class:`Worker`;
* database and models: :data:`db`, the mixins :class:`TenantScoped`, :class:`Timestamped`,
  :class:`Publishable`, the column type :class:`UTCDateTime`, :func:`utcnow`,
  :data:`REBUILT_ON_RESET`, the core models a plugin reads (:class:`Publication`,
  :class:`Attachment`, :class:`Page`, :class:`User`, :class:`Membership`, :class:`AuditEvent`),
  :func:`atomic`, :func:`one_or_404`, :func:`page_arg`;
* tenants: :class:`Tenant`, :data:`current_tenant`, :func:`get_current_tenant`,
  :func:`tenant_context`, :func:`all_tenants`, :func:`platform_session`, :func:`tenant_hook`,
  :func:`get_tenants`;
* publishing: :func:`publish`, :func:`correct`, :func:`retract`, :func:`redact`, :func:`is_withdrawn`,
  :func:`redaction_tombstone`, :class:`PublishError`,
  :func:`latest_publication`, :func:`history`, :func:`canonical_content`, :func:`jsonable`,
  :func:`content_types`, :func:`content_type_for`, :func:`search_document_for`,
  :func:`create_draft` (a draft of another plugin's content type, through the ``create_draft``
  hook);
* minutes lifecycle: :class:`MinutesLifecycle` (draft → review → approved → published and
  locked, addenda), :class:`MinutesLifecycleMixin`, :class:`LifecycleError`;
* page cache: :func:`bump_generation`, :func:`memo_per_generation`;
* admin writes and audit: :func:`admin_change` (with :class:`ChangeRefused`), :func:`snapshot`,
  :func:`record_audit`;
* editing that forgives: :func:`get_draft`, :func:`save_draft`, :func:`discard_draft`,
  :func:`edit_values`, :func:`diff_values` (:class:`ValueChange`), :func:`text_diff`,
  :func:`publish_draft`; every editor's autosave and Markdown preview: :class:`MarkdownField`,
  :func:`is_autosave`, :func:`autosave_reply`, :func:`wants_preview`, :func:`preview_of`,
  :func:`form_error_list`; the admin macros ``admin/_editing.html`` (``editor_form``,
  ``changes_panel``);
* bulk entry: :func:`read_table` (:class:`TableRow`, :class:`TableError`), :func:`table_to_text`;
* permissions: :func:`require_role`, :func:`has_role`, :func:`role_in`, :data:`STAFF_ROLES`,
  :data:`CONTENT_ROLES`; :func:`can`, :func:`require_permission`, :func:`can_view_unpublished`,
  :func:`unpublished_permission`, :data:`ADMIN_ACCESS`, :data:`VIEW_UNPUBLISHED` (permissions
  that roles get from the core and from plugins' ``role_permissions`` hook);
* forms and files: :class:`Form` (the base of every form), :class:`ConfirmForm`, :class:`ReasonForm`, :func:`store_upload`,
  :class:`UploadError`, :func:`content_disposition`, :data:`csrf`; spreadsheet cells:
  :func:`neutralize_formula` (every CSV/XLSX cell a plugin writes) and :func:`restore_formula`
  (every cell it reads back from its own exports);
* public forms (anonymous visitors): :class:`PublicForm` (honeypot and signed timestamp; with
  :class:`ConsentMixin` when it collects personal data) and :func:`public_form_rate_limit`;
* templates and text: :func:`render_markdown`, :func:`plain_text`, :func:`get_section`,
  :func:`render_slot`; the admin macros ``admin/_publishing.html`` (publish, retract and
  history panels) are documented in docs/plugins.md;
* e-mail: :func:`send_mail` (queued in the current transaction, delivered by the mail worker);
* personal data: :class:`ConsentMixin` (privacy consent of a public form; template macro
  ``consent(form)`` of ``_privacy.html``), :class:`PersonalDataSource` and
  :func:`register_personal_data` (a table of e-mail addresses joins exports, ARCO
  cancellations and the retention purge);
* command line and start-up: :func:`tenant_option`, :func:`resolve_tenants`, :func:`register_startup_check`;
* training: :func:`participant_publications`; :data:`LOCAL_STRATEGY_STEPS` (the 13 steps of the
  local open-government strategy, in order).
"""
from __future__ import annotations

from flask import current_app, render_template

from comun_cms.audit import record_audit, snapshot
from comun_cms.changes import AdminChange, ChangeRefused, admin_change
from comun_cms.cli_options import resolve_tenants, tenant_option
from comun_cms.content_types import content_type_for, get_registry, jsonable
from comun_cms.database import atomic, one_or_404, page_arg
from comun_cms.drafts import (
    ValueChange, diff_values, discard_draft, edit_values, get_draft, publish_draft, save_draft, text_diff,
)
from comun_cms.editing import (
    MarkdownField, autosave_reply, form_error_list, is_autosave, preview_of, wants_preview,
)
from comun_cms.extensions import csrf, db
from comun_cms.forms import ConfirmForm, Form, ReasonForm
from comun_cms.hookspecs import hookimpl
from comun_cms.hooktypes import (
    CheckItem, ContentType, Dataset, DatasetField, DemoContext, LoggedPublication, LogSlice, MenuItem, Participant,
    PortalWidget, PublishEvent, SettingSpec, TrainingTask, Worker,
)
from comun_cms.mail import send_mail
from comun_cms.minutes_lifecycle import LifecycleError, MinutesLifecycle, MinutesLifecycleMixin
from comun_cms.models import (
    REBUILT_ON_RESET, Attachment, AuditEvent, Draft, Membership, Page, Publication, Publishable, TenantScoped,
    Timestamped, User, UTCDateTime, utcnow,
)
from comun_cms.opendata import neutralize_formula, restore_formula
from comun_cms.permissions import (
    ADMIN_ACCESS, CONTENT_ROLES, STAFF_ROLES, VIEW_UNPUBLISHED, can, can_view_unpublished, has_role, require_permission,
    require_role, role_in, unpublished_permission,
)
from comun_cms.pagecache import bump_generation, memo_per_generation
from comun_cms.plugins import tenant_hook
from comun_cms.privacy import ConsentMixin, PersonalDataSource, register_personal_data
from comun_cms.publishing import (
    PublishError, canonical_content, correct, history, is_withdrawn, latest_publication, publish, redact, retract,
)
from comun_cms.richtext import plain_text, render_markdown
from comun_cms.search.backend import SearchDocument
from comun_cms.search.service import document_for as search_document_for
from comun_cms.site import get_section
from comun_cms.startup import register_startup_check
from comun_cms.tables import TableError, TableRow, read_table, table_to_text
from comun_cms.tenancy import (
    Tenant, all_tenants, current_tenant, get_current_tenant, platform_session, tenant_context,
)
from comun_cms.training import participant_publications
from comun_cms.training.exercises import STEPS as LOCAL_STRATEGY_STEPS
from comun_cms.uploads import UploadError, content_disposition, store_upload
from comun_cms.views.public import PublicForm, public_form_rate_limit
from comun_cms.views.templating import render_slot

__all__ = [
    # hooks and their value types
    "hookimpl", "CheckItem", "ContentType", "Dataset", "DatasetField", "DemoContext", "LoggedPublication", "LogSlice",
    "MenuItem", "Participant", "PortalWidget", "PublishEvent", "SearchDocument", "SettingSpec", "TrainingTask",
    "Worker",
    # database and models
    "db", "atomic", "one_or_404", "page_arg", "REBUILT_ON_RESET", "Publishable", "TenantScoped", "Timestamped",
    "UTCDateTime", "utcnow", "Attachment", "AuditEvent", "Membership", "Page", "Publication", "User",
    # tenants
    "Tenant", "all_tenants", "current_tenant", "get_current_tenant", "get_tenants", "platform_session",
    "tenant_context", "tenant_hook",
    # publishing and content types
    "PublishError", "canonical_content", "content_type_for", "content_types", "correct", "history", "jsonable",
    "latest_publication", "publish", "retract", "search_document_for", "redact", "is_withdrawn",
    "redaction_tombstone", "create_draft",
    # minutes lifecycle (draft -> review -> approved -> published and locked, addenda)
    "LifecycleError", "MinutesLifecycle", "MinutesLifecycleMixin",
    # page cache
    "bump_generation", "memo_per_generation",
    # admin writes and audit
    "AdminChange", "ChangeRefused", "admin_change", "record_audit", "snapshot",
    # editing that forgives
    "Draft", "ValueChange", "diff_values", "discard_draft", "edit_values", "get_draft", "publish_draft", "save_draft",
    "text_diff", "MarkdownField", "autosave_reply", "form_error_list", "is_autosave", "preview_of", "wants_preview",
    # bulk entry
    "TableError", "TableRow", "read_table", "table_to_text",
    # permissions
    "CONTENT_ROLES", "STAFF_ROLES", "has_role", "require_role", "role_in",
    "ADMIN_ACCESS", "VIEW_UNPUBLISHED", "can", "can_view_unpublished", "require_permission", "unpublished_permission",
    # forms, files, templates, text
    "ConfirmForm", "Form", "ReasonForm", "UploadError", "content_disposition", "csrf", "get_section", "plain_text",
    "render_markdown", "render_slot", "store_upload", "neutralize_formula", "restore_formula",
    # public forms: spam guard and rate limit
    "PublicForm", "public_form_rate_limit",
    # e-mail
    "send_mail",
    # personal data
    "ConsentMixin", "PersonalDataSource", "register_personal_data",
    # command line and start-up
    "resolve_tenants", "tenant_option", "register_startup_check",
    # training
    "participant_publications", "LOCAL_STRATEGY_STEPS",
]


def get_tenants(*, public_only: bool = False) -> dict[str, Tenant]:
    """The running application's tenants, ``{slug: Tenant}`` in configuration order.

    Args:
        public_only: leave out training tenants and their workspaces (whose data never shows
            on the portal, in search or in open data).

    Raises:
        RuntimeError: outside an application context.
    """
    state = current_app.extensions["comun"]
    return state.public_tenants() if public_only else dict(state.tenants)


def redaction_tombstone(record, content_type: str, section: str | None = None):
    """The public tombstone (410 Gone) of a record whose whole content a redaction removed, or
    ``None`` when its newest version is not such a redaction. Plugin views call it before
    rendering a retracted record, whose content a retraction would leave visible.

    Args:
        record: the record (its ``title`` is shown; the content is not).
        content_type: its content type name.
        section: key of the site section for the breadcrumbs (``None``: none).

    Returns:
        ``(html, 410)`` or ``None``.
    """
    pub = latest_publication(content_type, record.id)
    if pub is None or pub.action != "redact" or pub.redacted_at is None:
        return None
    return render_template("public/retracted.html", record=record, content_type=content_types().get(content_type),
                           publication=pub, section=get_section(section) if section else None), 410


def content_types():
    """The running application's content-type registry (iterate it, ``registry.get(name)``,
    ``registry.for_model(Model)``, ``registry.enabled_for(tenant)``; ``name in registry``).

    Raises:
        RuntimeError: outside an application context.
    """
    return get_registry()


def create_draft(content_type: str, fields: dict, origin: dict, tenant: Tenant | None = None):
    """Ask the plugin that owns ``content_type`` for an unpublished draft pre-filled from
    ``fields`` (hook ``create_draft``, first result wins). Does not commit: call it inside
    ``admin_change`` or ``atomic`` so the draft and the caller's own rows are one transaction.

    Args:
        content_type: content type name (``"commitment"``).
        fields: initial values by the owner's field names (see the owner's docs).
        origin: where the draft comes from (``{"content_type", "record_id", "label", ...}``).
        tenant: the tenant (default: the current one).

    Returns:
        The new record (flushed, with its id), or ``None`` when the content type is unknown, its
        plugin is not enabled for the tenant, or no plugin created it.

    Raises:
        ChangeRefused: the owner refused a value (message names the field).
        RuntimeError: no tenant is given or current.
    """
    tenant = tenant or get_current_tenant()
    if tenant is None:
        raise RuntimeError("create_draft needs a tenant")
    registry = content_types()
    if content_type not in registry or not tenant.enables(registry.get(content_type).plugin):
        return None
    return tenant_hook(tenant, "create_draft")(tenant=tenant, content_type=content_type, fields=dict(fields),
                                                origin=dict(origin))
