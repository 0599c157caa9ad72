"""Open data catalogue of the portal (``/datos``) and the DCAT catalogue and ZIP of each tenant
(``/<tenant>/datos/data.json``, ``/<tenant>/datos/todo.zip``).

Datasets come from the ``open_datasets`` hook of the plugins each tenant enables; the portal
covers every non-training tenant and adds "all states" datasets that concatenate each tenant's
rows with a ``tenant`` column. Downloads stream (CSV with UTF-8 BOM and RFC 4180 line endings,
JSON, and a ZIP built on the fly with :mod:`zipfile` writing into a non-seekable sink). Rows
carry ``version`` and ``content_sha256`` from the plugins, so each can be checked against the
record's publication and the notary log.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import zipfile
from dataclasses import dataclass, replace
from typing import Callable, Iterable, Iterator

from flask import Blueprint, Flask, Response, abort, current_app, g, render_template, request, stream_with_context, url_for
from flask_babel import force_locale, gettext as _, lazy_gettext as _l
from sqlalchemy import func, select

from comun_cms.extensions import db
from comun_cms.models import Publication
from comun_cms.opendata import Dataset, DatasetField, iter_csv, iter_json
from comun_cms.plugins import flatten, tenant_hook
from comun_cms.routing import register_tenant_blueprint
from comun_cms.tenancy import Tenant, all_tenants, tenant_context
from comun_cms.uploads import content_disposition

portal_bp = Blueprint("opendata_portal", __name__)
tenant_bp = Blueprint("opendata_tenant", __name__)

DEFAULT_LICENCE = "CC-BY-4.0"
#: Licence identifier -> (label, URL).
LICENCES = {
    "CC-BY-4.0": ("CC BY 4.0", "https://creativecommons.org/licenses/by/4.0/"),
    "CC-BY-SA-4.0": ("CC BY-SA 4.0", "https://creativecommons.org/licenses/by-sa/4.0/"),
    "CC0-1.0": ("CC0 1.0", "https://creativecommons.org/publicdomain/zero/1.0/"),
    "ODbL-1.0": ("ODbL 1.0", "https://opendatacommons.org/licenses/odbl/1-0/"),
}
TENANT_FIELD = DatasetField("tenant", "string", _l("State (tenant) the record belongs to"))
POD_CONTEXT = "https://project-open-data.cio.gov/v1.1/schema/catalog.jsonld"
POD_SCHEMA = "https://project-open-data.cio.gov/v1.1/schema"


def register(app: Flask) -> None:
    """Mount the portal catalogue at ``/datos`` and the tenant routes at ``/<tenant>/datos``."""
    app.register_blueprint(portal_bp, url_prefix="/datos")
    register_tenant_blueprint(app, tenant_bp)


# --------------------------------------------------------------------------- helpers
def public_tenants() -> list[Tenant]:
    """Every non-training tenant, in slug order."""
    return list(current_app.extensions["comun"].public_tenants().values())


@contextlib.contextmanager
def as_tenant(tenant: Tenant) -> Iterator[Tenant]:
    """Run a block (e.g. a dataset's ``rows()``) as ``tenant``: current tenant for the tenant
    filter and ``g.tenant`` for plugin code that reads it; both are restored afterwards."""
    previous = g.get("tenant")
    g.tenant = tenant
    try:
        with tenant_context(tenant):
            yield tenant
    finally:
        g.tenant = previous


def licence_info(dataset: Dataset) -> dict:
    """Return ``{"id", "label", "url"}`` of a dataset's licence.

    Datasets that keep the default (CC BY 4.0) get the app's ``OPEN_DATA_LICENCE`` setting
    instead; an unknown identifier that is a URL is used as its own URL.
    """
    lic = dataset.licence or DEFAULT_LICENCE
    if lic == DEFAULT_LICENCE:
        lic = current_app.config.get("OPEN_DATA_LICENCE") or DEFAULT_LICENCE
    label, url = LICENCES.get(lic, (lic, lic if str(lic).startswith(("http://", "https://")) else None))
    return {"id": lic, "label": label, "url": url}


def tenant_datasets(tenant: Tenant) -> list[Dataset]:
    """The datasets of the plugins ``tenant`` enables (``open_datasets`` hook)."""
    with as_tenant(tenant):
        return flatten(tenant_hook(tenant, "open_datasets")(tenant=tenant))


def _last_updates() -> dict[tuple[str, str], dt.datetime]:
    """``{(tenant, plugin): newest publication time}`` over every public tenant (one query)."""
    cached = request.environ.get("comun.opendata_updates")  # per request (g may outlive one)
    if cached is not None:
        return cached
    registry = current_app.extensions["comun"].content_types
    plugin_of = {ct.name: ct.plugin for ct in registry}
    slugs = [t.slug for t in public_tenants()]
    out: dict[tuple[str, str], dt.datetime] = {}
    if slugs:
        stmt = all_tenants(select(Publication.tenant_id, Publication.content_type, func.max(Publication.published_at))
                           .where(Publication.tenant_id.in_(slugs))
                           .group_by(Publication.tenant_id, Publication.content_type))
        for slug, ctype, when in db.session.execute(stmt):
            if when is None:
                continue
            if isinstance(when, str):  # aggregate over a TypeDecorator may come back raw
                when = dt.datetime.fromisoformat(when)
            if when.tzinfo is None:
                when = when.replace(tzinfo=dt.timezone.utc)
            key = (slug, plugin_of.get(ctype, ""))
            out[key] = max(out.get(key, when), when)
    request.environ["comun.opendata_updates"] = out
    return out


def last_update(tenant_slug: str, dataset: Dataset) -> dt.datetime | None:
    """Newest publication (publish, correction or retraction) of the dataset plugin's content
    types in the tenant, or ``None`` when it has published nothing."""
    return _last_updates().get((tenant_slug, dataset.plugin))


@dataclass
class CatalogueEntry:
    """One dataset as listed in a catalogue.

    ``dataset`` (with the ``tenant`` field first for combined datasets), ``tenant`` (``None`` for
    "all states"), ``tenants`` (slugs it covers), ``count`` (rows, or ``None`` when not
    counted), ``modified`` (aware UTC or ``None``), ``licence`` (:func:`licence_info`),
    ``csv_url``/``json_url`` (absolute).
    """

    dataset: Dataset
    tenant: Tenant | None
    tenants: list[str]
    count: int | None
    modified: dt.datetime | None
    licence: dict
    csv_url: str
    json_url: str


def _count(tenant: Tenant, dataset: Dataset) -> int:
    """Rows of ``dataset`` in ``tenant``, cached per application until the dataset plugin's
    newest publication in the tenant changes (datasets hold published records only, so only
    publishing changes their size)."""
    cache = current_app.extensions.setdefault("comun_cache_opendata_counts", {})
    key = (tenant.slug, dataset.plugin, dataset.name, last_update(tenant.slug, dataset))
    if key not in cache:
        with as_tenant(tenant):
            cache[key] = sum(1 for _row in dataset.rows())
    return cache[key]


def catalogue(tenants: list[Tenant], *, combined: bool, count: bool = True) -> list[CatalogueEntry]:
    """Describe the datasets of ``tenants``.

    Args:
        tenants: the tenants to cover (public ones).
        combined: add "all states" entries (one per dataset name) first.
        count: count rows (iterates every dataset; leave off for ``data.json``).

    Returns:
        Combined entries (if asked) followed by per-tenant entries in tenant order.
    """
    per_tenant: list[CatalogueEntry] = []
    for tenant in tenants:
        for ds in tenant_datasets(tenant):
            per_tenant.append(CatalogueEntry(
                dataset=ds, tenant=tenant, tenants=[tenant.slug], count=_count(tenant, ds) if count else None,
                modified=last_update(tenant.slug, ds), licence=licence_info(ds),
                csv_url=url_for("public.dataset_download", tenant=tenant.slug, name=ds.name, fmt="csv", _external=True),
                json_url=url_for("public.dataset_download", tenant=tenant.slug, name=ds.name, fmt="json", _external=True)))
    if not combined:
        return per_tenant
    merged: dict[str, CatalogueEntry] = {}
    for entry in per_tenant:
        name = entry.dataset.name
        if name not in merged:
            ds = entry.dataset
            merged[name] = CatalogueEntry(
                dataset=replace(ds, fields=(TENANT_FIELD,) + tuple(f for f in ds.fields if f.name != "tenant")),
                tenant=None, tenants=[], count=0 if count else None, modified=None, licence=entry.licence,
                csv_url=url_for("opendata_portal.combined_download", name=name, fmt="csv", _external=True),
                json_url=url_for("opendata_portal.combined_download", name=name, fmt="json", _external=True))
        m = merged[name]
        m.tenants.append(entry.tenant.slug)
        if count:
            m.count += entry.count or 0
        if entry.modified and (m.modified is None or entry.modified > m.modified):
            m.modified = entry.modified
    return list(merged.values()) + per_tenant


def combined_dataset(name: str) -> Dataset | None:
    """The "all states" dataset ``name``: fields ``tenant`` + the dataset's fields, rows of every
    public tenant in turn (each read as that tenant), or ``None`` when no tenant has it."""
    tenants = public_tenants()
    first = None
    for tenant in tenants:
        first = next((ds for ds in tenant_datasets(tenant) if ds.name == name), None)
        if first is not None:
            break
    if first is None:
        return None

    def rows() -> Iterator[dict]:
        for tenant in tenants:
            ds = next((d for d in tenant_datasets(tenant) if d.name == name), None)
            if ds is None:
                continue
            with as_tenant(tenant):
                for row in ds.rows():
                    yield {**row, "tenant": tenant.slug}

    return replace(first, fields=(TENANT_FIELD,) + tuple(f for f in first.fields if f.name != "tenant"), rows=rows)


def _download(dataset: Dataset, fmt: str, filename: str, meta: dict) -> Response:

    def generate():
        if fmt == "csv":
            yield from iter_csv(dataset)
        else:
            yield from iter_json(dataset, meta)

    mimetype = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
    response = Response(stream_with_context(generate()), content_type=mimetype)
    response.headers["Content-Disposition"] = content_disposition("attachment", filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


class _Sink:
    """A write-only, non-seekable byte sink for :class:`zipfile.ZipFile` (which then writes data
    descriptors after each member, so the archive can be streamed)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        pass

    def drain(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        return out


def iter_zip(members: Iterable[tuple[str, Callable[[], Iterable]]]) -> Iterator[bytes]:
    """Yield a ZIP archive (deflate, ZIP64 members) built while its members are generated.

    Args:
        members: ``(name in the archive, () -> iterable of str or bytes chunks)``; a member's
            chunks are produced only when the archive reaches it.

    Yields:
        Byte chunks of the archive; memory holds about one chunk at a time.
    """
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, make in members:
            with archive.open(name, "w", force_zip64=True) as member:
                for chunk in make():
                    member.write(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)
                    if sink.size and sink.parts:
                        yield sink.drain()
            yield sink.drain()
    yield sink.drain()


def _zip_response(members: list, filename: str) -> Response:
    response = Response(stream_with_context(iter_zip(members)), content_type="application/zip")
    response.headers["Content-Disposition"] = content_disposition("attachment", filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def contact_email(tenant: Tenant | None) -> str:
    """The e-mail address of a catalogue entry's ``contactPoint`` (``hasEmail``, required by
    Project Open Data 1.1).

    The tenant's ``[contact] email`` (``tenant.toml``); for "all states" entries, or a tenant
    without one, the setting ``OPEN_DATA_CONTACT_EMAIL``; without it, ``webmaster@`` the host
    of ``SITE_HOST`` (the mailbox RFC 2142 section 5 reserves for a site's HTTP service).
    """
    if tenant is not None and tenant.contact.get("email"):
        return tenant.contact["email"]
    configured = current_app.config.get("OPEN_DATA_CONTACT_EMAIL")
    if configured:
        return configured
    host = str(current_app.config.get("SITE_HOST") or "localhost").rsplit("@", 1)[-1]
    host = host[1:host.index("]")] if host.startswith("[") else host.split(":", 1)[0]
    return f"webmaster@{host}"


def bcp47(locale: str) -> str:
    """A Babel locale name as a BCP 47 language tag (``es_MX`` -> ``es-MX``)."""
    return locale.replace("_", "-")


def dcat_catalog(entries: list[CatalogueEntry], catalog_url: str, locale: str) -> dict:
    """Build a DCAT-US / Project Open Data 1.1 catalogue of ``entries`` in the language ``locale``.

    Every text (titles, descriptions, keywords, distribution titles) is rendered in ``locale``
    (a Babel locale such as ``es_MX``) whatever the request's language, and each dataset's
    ``language`` says so (``["es-MX"]``). Each dataset has ``title``, ``description``,
    ``keyword``, ``modified`` (ISO 8601; the catalogue time when nothing was published yet),
    ``publisher``, ``contactPoint`` (``fn`` and ``hasEmail`` ``mailto:``, see
    :func:`contact_email`), ``identifier`` (its JSON download URL), ``accessLevel`` ``public``,
    ``license`` (URL), ``spatial``, ``language``, ``landingPage`` and ``distribution`` (CSV and
    JSON with ``downloadURL`` and ``mediaType``). ``bureauCode`` and ``programCode`` are left
    out: the schema requires them of US federal agencies only. The result validates against the
    Project Open Data v1.1 JSON Schema (tests/test_opendata_pod_schema.py).
    """
    with force_locale(locale):
        return _dcat_catalog(entries, catalog_url, [bcp47(locale)])


def _dcat_catalog(entries: list[CatalogueEntry], catalog_url: str, language: list[str]) -> dict:
    now = _iso(dt.datetime.now(dt.timezone.utc))
    site = str(current_app.config.get("OPEN_DATA_PUBLISHER") or "CO+MÚN")
    datasets = []
    for e in entries:
        ds = e.dataset
        contact = {"@type": "vcard:Contact", "fn": e.tenant.secretariat if e.tenant is not None else site,
                   "hasEmail": "mailto:" + contact_email(e.tenant)}
        if e.tenant is not None:
            publisher = {"@type": "org:Organization", "name": e.tenant.secretariat}
            spatial = e.tenant.state
            title = _("%(dataset)s — %(state)s", dataset=str(ds.title), state=e.tenant.state)
            landing = url_for("public.section", tenant=e.tenant.slug, key="open_data", _external=True)
        else:
            publisher = {"@type": "org:Organization", "name": site}
            tenants = current_app.extensions["comun"].tenants
            spatial = ", ".join(tenants[s].state for s in e.tenants if s in tenants)
            title = _("%(dataset)s — all states", dataset=str(ds.title))
            landing = url_for("opendata_portal.catalogue", _external=True) + f"#todos-{ds.name}"
        datasets.append({
            "@type": "dcat:Dataset", "title": title, "description": str(ds.description),
            "keyword": [ds.name, ds.plugin, _("open data"), _("anticorruption")] + ([e.tenant.slug] if e.tenant else []),
            "modified": _iso(e.modified) or now, "publisher": publisher, "contactPoint": contact,
            "identifier": e.json_url, "accessLevel": "public", "license": e.licence["url"] or e.licence["id"],
            "spatial": spatial, "language": language, "landingPage": landing,
            "describedBy": e.json_url, "describedByType": "application/json",
            "distribution": [
                {"@type": "dcat:Distribution", "title": _("CSV (UTF-8 with BOM)"), "format": "CSV",
                 "mediaType": "text/csv", "downloadURL": e.csv_url},
                {"@type": "dcat:Distribution", "title": "JSON", "format": "JSON",
                 "mediaType": "application/json", "downloadURL": e.json_url},
            ],
        })
    return {"@context": POD_CONTEXT, "@id": catalog_url, "@type": "dcat:Catalog", "conformsTo": POD_SCHEMA,
            "describedBy": POD_SCHEMA + "/catalog.json", "dataset": datasets}


def _json_response(doc: dict) -> Response:
    response = current_app.response_class(json.dumps(doc, ensure_ascii=False, indent=1),
                                          mimetype="application/json")
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.add_etag()
    return response.make_conditional(request)


def _zip_members(entries: list[CatalogueEntry]) -> list:
    members = []
    for e in entries:
        ds, tenant = e.dataset, e.tenant
        folder = tenant.slug if tenant else "todos"

        def make(ds=ds, tenant=tenant, fmt="csv"):
            def chunks():
                ctx = as_tenant(tenant) if tenant else contextlib.nullcontext()
                dataset = ds if tenant else combined_dataset(ds.name)
                with ctx:
                    if fmt == "csv":
                        yield from iter_csv(dataset)
                    else:
                        yield from iter_json(dataset, {"tenant": tenant.slug if tenant else None,
                                                       "title": str(ds.title)})
            return chunks

        members.append((f"{folder}/{ds.name}.csv", make(fmt="csv")))
        members.append((f"{folder}/{ds.name}.json", make(fmt="json")))
    return members


def portal_locale() -> str:
    """The language of the portal's catalogue: ``BABEL_DEFAULT_LOCALE`` (``es_MX``)."""
    return current_app.config.get("BABEL_DEFAULT_LOCALE") or "es_MX"


# --------------------------------------------------------------------------- portal routes
@portal_bp.get("", endpoint="catalogue")
@portal_bp.get("/", endpoint="catalogue")
def catalogue_view():
    """The portal's open-data catalogue (``/datos``): "all states" datasets, then each public
    tenant's, each with description, fields dictionary, licence, last update, record count and
    CSV/JSON downloads, plus the ZIP of everything and the DCAT ``data.json``."""
    tenants = public_tenants()
    entries = catalogue(tenants, combined=True)
    return render_template("opendata/catalogue.html", combined=[e for e in entries if e.tenant is None],
                           by_tenant=[(t, [e for e in entries if e.tenant is t]) for t in tenants])


@portal_bp.get("/<name>.<any(csv, json):fmt>")
def combined_download(name: str, fmt: str):
    """Stream the "all states" dataset ``name`` (rows of every public tenant with a ``tenant``
    column) as CSV or JSON; 404 when no tenant has that dataset."""
    dataset = combined_dataset(name)
    if dataset is None:
        abort(404)
    return _download(dataset, fmt, f"todos-{name}.{fmt}", {"tenant": None, "tenants": [t.slug for t in public_tenants()],
                                                          "title": str(dataset.title)})


@portal_bp.get("/data.json")
def portal_data_json():
    """DCAT-US (Project Open Data 1.1) catalogue of every dataset on the portal."""
    entries = catalogue(public_tenants(), combined=True, count=False)
    return _json_response(dcat_catalog(entries, url_for("opendata_portal.portal_data_json", _external=True),
                                       portal_locale()))


@portal_bp.get("/todo.zip")
def portal_zip():
    """ZIP (streamed) of every dataset: ``todos/<name>.csv|json`` and ``<tenant>/<name>.csv|json``."""
    entries = catalogue(public_tenants(), combined=True, count=False)
    members = _zip_members(entries)
    doc = dcat_catalog(entries, url_for("opendata_portal.portal_data_json", _external=True), portal_locale())
    members.append(("data.json", lambda: [json.dumps(doc, ensure_ascii=False, indent=1)]))
    return _zip_response(members, "datos-abiertos.zip")


# --------------------------------------------------------------------------- tenant routes
def _public_tenant() -> Tenant:
    tenant = g.tenant
    if tenant is None:
        abort(404)
    return tenant


@tenant_bp.get("/datos/data.json")
def tenant_data_json():
    """DCAT-US (Project Open Data 1.1) catalogue of the tenant's datasets."""
    tenant = _public_tenant()
    entries = catalogue([tenant], combined=False, count=False)
    return _json_response(dcat_catalog(entries, url_for("opendata_tenant.tenant_data_json", _external=True),
                                       tenant.default_locale))


@tenant_bp.get("/datos/todo.zip")
def tenant_zip():
    """ZIP (streamed) of every dataset of the tenant as CSV and JSON, with its ``data.json``."""
    tenant = _public_tenant()
    entries = catalogue([tenant], combined=False, count=False)
    members = _zip_members(entries)
    doc = dcat_catalog(entries, url_for("opendata_tenant.tenant_data_json", _external=True), tenant.default_locale)
    members.append(("data.json", lambda: [json.dumps(doc, ensure_ascii=False, indent=1)]))
    return _zip_response(members, f"{tenant.slug}-datos-abiertos.zip")
