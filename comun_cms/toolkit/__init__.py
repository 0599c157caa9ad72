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
  :class:`SearchDocument`;
* database and models: :data:`db`, the mixins :class:`TenantScoped`, :class:`Timestamped`,
  :class:`Publishable`, the column type :class:`UTCDateTime`, :func:`utcnow`,
  :data:`REBUILT_ON_RESET`, the core models a plugin reads (:class:`Publication`,
  :class:`Attachment`, :class:`Page`, :class:`User`, :class:`Membership`, :class:`AuditEvent`),
  :func:`atomic`, :func:`one_or_404`, :func:`page_arg`;
* tenants: :class:`Tenant`, :data:`current_tenant`, :func:`get_current_tenant`,
  :func:`tenant_context`, :func:`all_tenants`, :func:`platform_session`, :func:`tenant_hook`,
  :func:`get_tenants`;
* publishing: :func:`publish`, :func:`correct`, :func:`retract`, :class:`PublishError`,
  :func:`latest_publication`, :func:`history`, :func:`canonical_content`, :func:`jsonable`,
  :func:`content_types`, :func:`content_type_for`, :func:`search_document_for`;
* admin writes and audit: :func:`admin_change` (with :class:`ChangeRefused`), :func:`snapshot`,
  :func:`record_audit`;
* permissions: :func:`require_role`, :func:`has_role`, :func:`role_in`, :data:`STAFF_ROLES`,
  :data:`CONTENT_ROLES`;
* forms and files: :class:`ConfirmForm`, :class:`ReasonForm`, :func:`store_upload`,
  :class:`UploadError`, :func:`content_disposition`, :data:`csrf`;
* templates and text: :func:`render_markdown`, :func:`plain_text`, :func:`get_section`,
  :func:`render_slot`; the admin macros ``admin/_publishing.html`` (publish, retract and
  history panels) are documented in docs/plugins.md;
* e-mail: :func:`send_mail` (queued in the current transaction, delivered by the mail worker);
* personal data: :class:`ConsentMixin` (privacy consent of a public form; template macro
  ``consent(form)`` of ``_privacy.html``), :class:`PersonalDataSource` and
  :func:`register_personal_data` (a table of e-mail addresses joins exports, ARCO
  cancellations and the retention purge);
* command line: :func:`tenant_option`, :func:`resolve_tenants`;
* training: :func:`participant_publications`.
"""
from __future__ import annotations

from flask import current_app

from comun_cms.audit import record_audit, snapshot
from comun_cms.changes import AdminChange, ChangeRefused, admin_change
from comun_cms.cli_options import resolve_tenants, tenant_option
from comun_cms.content_types import content_type_for, get_registry, jsonable
from comun_cms.database import atomic, one_or_404, page_arg
from comun_cms.extensions import csrf, db
from comun_cms.forms import ConfirmForm, ReasonForm
from comun_cms.hookspecs import hookimpl
from comun_cms.hooktypes import (
    CheckItem, ContentType, Dataset, DatasetField, DemoContext, MenuItem, Participant, PortalWidget, PublishEvent,
    SettingSpec, TrainingTask,
)
from comun_cms.mail import send_mail
from comun_cms.models import (
    REBUILT_ON_RESET, Attachment, AuditEvent, Membership, Page, Publication, Publishable, TenantScoped, Timestamped,
    User, UTCDateTime, utcnow,
)
from comun_cms.permissions import CONTENT_ROLES, STAFF_ROLES, has_role, require_role, role_in
from comun_cms.plugins import tenant_hook
from comun_cms.privacy import ConsentMixin, PersonalDataSource, register_personal_data
from comun_cms.publishing import (
    PublishError, canonical_content, correct, history, latest_publication, publish, retract,
)
from comun_cms.richtext import plain_text, render_markdown
from comun_cms.search.backend import SearchDocument
from comun_cms.search.service import document_for as search_document_for
from comun_cms.site import get_section
from comun_cms.tenancy import (
    Tenant, all_tenants, current_tenant, get_current_tenant, platform_session, tenant_context,
)
from comun_cms.training import participant_publications
from comun_cms.uploads import UploadError, content_disposition, store_upload
from comun_cms.views.templating import render_slot

__all__ = [
    # hooks and their value types
    "hookimpl", "CheckItem", "ContentType", "Dataset", "DatasetField", "DemoContext", "MenuItem", "Participant",
    "PortalWidget", "PublishEvent", "SearchDocument", "SettingSpec", "TrainingTask",
    # database and models
    "db", "atomic", "one_or_404", "page_arg", "REBUILT_ON_RESET", "Publishable", "TenantScoped", "Timestamped",
    "UTCDateTime", "utcnow", "Attachment", "AuditEvent", "Membership", "Page", "Publication", "User",
    # tenants
    "Tenant", "all_tenants", "current_tenant", "get_current_tenant", "get_tenants", "platform_session",
    "tenant_context", "tenant_hook",
    # publishing and content types
    "PublishError", "canonical_content", "content_type_for", "content_types", "correct", "history", "jsonable",
    "latest_publication", "publish", "retract", "search_document_for",
    # admin writes and audit
    "AdminChange", "ChangeRefused", "admin_change", "record_audit", "snapshot",
    # permissions
    "CONTENT_ROLES", "STAFF_ROLES", "has_role", "require_role", "role_in",
    # forms, files, templates, text
    "ConfirmForm", "ReasonForm", "UploadError", "content_disposition", "csrf", "get_section", "plain_text",
    "render_markdown", "render_slot", "store_upload",
    # e-mail
    "send_mail",
    # personal data
    "ConsentMixin", "PersonalDataSource", "register_personal_data",
    # command line
    "resolve_tenants", "tenant_option",
    # training
    "participant_publications",
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


def content_types():
    """The running application's content-type registry (iterate it, ``registry.get(name)``,
    ``registry.for_model(Model)``, ``registry.enabled_for(tenant)``; ``name in registry``).

    Raises:
        RuntimeError: outside an application context.
    """
    return get_registry()
