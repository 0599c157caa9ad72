"""The core's default behaviour, itself a plugin (registered as ``core``, hooks ``trylast``):
the ``page`` content type, core menus, the search outbox and subscription listeners, the feed
link and "Seguir" form slots, page search documents and datasets, the real documents loaded by
``comun demo`` and the privacy notices created by ``comun init`` and ``comun demo``."""
from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from comun_cms import models, subscriptions
from comun_cms.demo import load_documents
from comun_cms.extensions import db
from comun_cms.hookspecs import hookimpl
from comun_cms.hooktypes import ContentType, Dataset, DatasetField, MenuItem
from comun_cms.models import Attachment, Page, Publication
from comun_cms.permissions import CORE_ROLE_PERMISSIONS
from comun_cms.privacy import ensure_notices
from comun_cms.richtext import plain_text
from comun_cms.search.service import document_for, enqueue_publication
from comun_cms.site import SECTIONS
from comun_cms.views.subscriptions import feed_links, follow_box, footer_links


def page_attachments(page: Page) -> list[Attachment]:
    """Attachments of a page, oldest first."""
    if page.id is None:
        return []
    return list(db.session.scalars(select(Attachment).where(
        Attachment.owner_type == "page", Attachment.owner_id == str(page.id)).order_by(Attachment.id)))


def serialize_page(page: Page) -> dict:
    """Public content of a page for canonical JSON."""
    return {"slug": page.slug, "title": page.title, "summary": page.summary, "body": page.body,
            "section": page.section, "language": page.language, "source": page.source}


def page_search_document(page: Page) -> dict:
    """Search document fields of a page."""
    return {"title": page.title, "body": (page.summary + " " + plain_text(page.body)).strip(),
            "status": "published", "date": page.published_at, "language": page.language}


PAGE_TYPE = ContentType(
    name="page", plugin="core", model=Page, label=_l("Page"), label_plural=_l("Pages"),
    serialize=serialize_page, title=lambda p: p.title,
    url=lambda p: url_for("public.page", tenant=p.tenant_id, slug=p.slug),
    search_document=page_search_document, attachments=page_attachments,
    admin_url=lambda p: url_for("admin.page_edit", tenant=p.tenant_id, page_id=p.id),
    field_labels={"slug": _l("Address (slug)"), "title": _l("Title"), "summary": _l("Summary"), "body": _l("Text"),
                  "section": _l("Section"), "language": _l("Language"), "source": _l("Source")},
)


@hookimpl(trylast=True)
def register_models():
    return [models.Page, models.Attachment, models.Publication, models.User, models.Membership,
            models.Invitation, models.AuditEvent, models.Feedback, models.SearchOutbox, models.TenantRow,
            models.ArcoRequest]


@hookimpl(trylast=True)
def register_content_types():
    return [PAGE_TYPE]


@hookimpl(trylast=True)
def audit_labels():
    """The common verbs of audit actions and the core's own objects."""
    return {
        "create": _l("creation"), "update": _l("change"), "delete": _l("deletion"), "publish": _l("publication"),
        "correct": _l("correction"), "retract": _l("retraction"), "redact": _l("redaction"), "import": _l("import"), "approve": _l("approval"),
        "review": _l("sent to review"), "draft": _l("back to draft"), "comment": _l("comment"),
        "upload": _l("upload"), "moderate": _l("moderation"), "accept": _l("acceptance"), "remove": _l("removal"),
        "role": _l("role change"),
        "user": _l("User"), "membership": _l("Membership"), "invitation": _l("Invitation"),
        "feedback": _l("Public submission"), "attachment": _l("File"),
        "privacy.purge": _l("Retention purge of personal data"),
    }


@hookimpl(trylast=True)
def admin_menu_items(tenant):
    return [
        MenuItem(_l("Dashboard"), "admin.dashboard", order=0),
        MenuItem(_l("Pages"), "admin.pages", order=10, roles=("admin", "editor")),
        MenuItem(_l("Files"), "admin.attachments", order=11, roles=("admin", "editor")),
        MenuItem(_l("Moderation"), "admin.moderation", order=80, roles=("admin", "editor")),
        MenuItem(_l("Privacy"), "admin_privacy.overview", order=85, roles=("admin",)),
        MenuItem(_l("Users"), "admin.users", order=90, roles=("admin",)),
        MenuItem(_l("Settings"), "admin.settings", order=91, roles=("admin",)),
        MenuItem(_l("Redactions"), "admin.redactions", order=86, roles=("admin", "privacy")),
        MenuItem(_l("Audit log"), "admin.audit", order=92, roles=("admin", "privacy")),
    ]


@hookimpl(trylast=True)
def role_permissions(tenant):
    """The core's grants: :data:`comun_cms.permissions.CORE_ROLE_PERMISSIONS`."""
    return {role: sorted(permissions) for role, permissions in CORE_ROLE_PERMISSIONS.items()}


@hookimpl(trylast=True)
def public_menu_items(tenant):
    return [MenuItem(s.title, "public.section", order=10 + i, url_kwargs={"key": s.key})
            for i, s in enumerate(SECTIONS)]


@hookimpl(trylast=True)
def on_publish(event):
    """Queue the search-index change and the subscribers' digest items in the same transaction
    (outbox pattern)."""
    enqueue_publication(event)
    subscriptions.record_publication(event)


@hookimpl(trylast=True)
def template_slot(name, tenant, context):
    """``head``: the Atom feed link (tenant or portal); ``record_footer``: the "Seguir" form;
    ``site_footer``: links to follow the site by e-mail and to its feed."""
    if name == "head":
        return feed_links(tenant)
    if name == "record_footer" and tenant is not None:
        return follow_box(context)
    if name == "site_footer":
        return footer_links(tenant)
    return None


@hookimpl(trylast=True)
def search_documents(tenant):
    pages = db.session.scalars(select(Page).where(Page.status == "published"))
    for page in pages:
        doc = document_for(PAGE_TYPE, page, tenant)
        if doc is not None:
            yield doc


def _page_rows():
    q = (select(Page, Publication.sha256).join(Publication, (Publication.content_type == "page")
         & (Publication.record_id == db.cast(Page.id, db.String)) & (Publication.version == Page.version)
         & (Publication.tenant_id == Page.tenant_id))
         .where(Page.status == "published").order_by(Page.id))
    for page, sha in db.session.execute(q):
        yield {"id": page.id, "slug": page.slug, "title": page.title, "summary": page.summary,
               "section": page.section, "language": page.language, "source": page.source,
               "published_at": page.published_at, "first_published_at": page.first_published_at,
               "version": page.version, "content_sha256": sha, "is_demo": page.is_demo,
               "url": url_for("public.page", tenant=page.tenant_id, slug=page.slug, _external=True)}


@hookimpl(trylast=True)
def open_datasets(tenant):
    return [Dataset(
        name="pages", title=_l("Pages"), description=_l("Published content pages of the secretariat."),
        fields=(
            DatasetField("id", "integer", _l("Record identifier")),
            DatasetField("slug", "string", _l("Address of the page")),
            DatasetField("title", "string", _l("Title")),
            DatasetField("summary", "string", _l("Summary")),
            DatasetField("section", "string", _l("Site section")),
            DatasetField("language", "string", _l("Language")),
            DatasetField("source", "string", _l("Source of the content")),
            DatasetField("published_at", "datetime", _l("Date of the current version (UTC)")),
            DatasetField("first_published_at", "datetime", _l("Date of first publication (UTC)")),
            DatasetField("version", "integer", _l("Published version number")),
            DatasetField("content_sha256", "string", _l("SHA-256 of the version's canonical JSON")),
            DatasetField("is_demo", "boolean", _l("Demo data, not real")),
            DatasetField("url", "string", _l("Public address")),
        ),
        rows=_page_rows)]


@hookimpl(trylast=True)
def initialize(tenant, instance_path):
    """Create and publish the tenant's privacy notices if missing (``comun init``)."""
    ensure_notices(tenant)


@hookimpl(trylast=True)
def demo_data(tenant, ctx):
    load_documents(tenant, ctx)
    n = ensure_notices(tenant, ctx.user)
    if n:
        ctx.log(f"  {tenant.slug}: {n} privacy notice(s)")
