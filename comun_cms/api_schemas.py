"""Marshmallow schemas of the read API ``/api/v1`` and the OpenAPI 3.1 document built from them.

The same schemas validate the query string (:func:`query_schema`) and describe the responses,
and :func:`build_spec` turns the views' docstrings (YAML after ``---``) and these schemas into
the OpenAPI document with ``apispec`` (Flask and marshmallow plugins), so the document cannot
drift from the routes.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Iterable

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec_webframeworks.flask import FlaskPlugin
from flask import Flask
from flask_babel import gettext as _, lazy_gettext as _l
from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate, validates_schema

API_VERSION = "1.0.0"
OPENAPI_VERSION = "3.1.0"
MAX_LIMIT = 200
DEFAULT_LIMIT = 50
SORTS = ("-published_at", "published_at")
MAX_CURSOR = 200
CURSOR_PATTERN = r"^[A-Za-z0-9_-]*$"
#: Longest request line (method, path, query, protocol) answered, in bytes: gunicorn's default
#: ``limit_request_line``, enforced by the API itself too so every server answers alike (414).
MAX_REQUEST_LINE = 4094
#: Page sizes of the change feed (``/changes``).
MAX_CHANGES_LIMIT = 1000
DEFAULT_CHANGES_LIMIT = 100


class UTCDateTimeField(fields.DateTime):
    """An ISO 8601 / RFC 3339 date-time (or a plain date, meaning midnight UTC); naive values are
    read as UTC. Deserializes to an aware UTC :class:`datetime.datetime`."""

    default_error_messages = {"invalid": "Not a valid ISO 8601 date-time (e.g. 2026-01-31T12:00:00Z)."}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not value.strip() or len(value) > 64:
            raise self.make_error("invalid")
        text = value.strip()
        try:
            if len(text) == 10:
                parsed = dt.datetime.combine(dt.date.fromisoformat(text), dt.time())
            else:
                parsed = dt.datetime.fromisoformat(text.replace("z", "Z"))
        except ValueError:
            raise self.make_error("invalid") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.timezone.utc)
        try:
            return parsed.astimezone(dt.timezone.utc)
        except (OverflowError, ValueError):
            raise self.make_error("invalid") from None


class _QueryBase(Schema):
    class Meta:
        unknown = EXCLUDE

    published_after = UTCDateTimeField(metadata={
        "description": "Only records whose current version was published strictly after this instant (RFC 3339; "
                       "a date means midnight UTC). When `published_before` is given too, `published_after` must "
                       "be earlier than it; otherwise the answer is 400 `invalid_parameter` naming "
                       "`published_after`."})
    published_before = UTCDateTimeField(metadata={
        "description": "Only records whose current version was published strictly before this instant; later "
                       "than `published_after` when both are given (else 400)."})
    updated_since = UTCDateTimeField(metadata={
        "description": "Only records published or corrected at or after this instant (incremental sync)."})
    cursor = fields.String(validate=[validate.Length(max=MAX_CURSOR),
                                     validate.Regexp(CURSOR_PATTERN, error=_l("Not a cursor of this API."))],
                           metadata={
        "description": "Opaque cursor from `next_cursor` of the previous page (URL-safe base64, at most "
                       f"{MAX_CURSOR} characters; longer: 400). Keep the other filters and the sort unchanged while "
                       f"paging. A request line longer than {MAX_REQUEST_LINE} bytes, e.g. with an over-long "
                       "cursor, is answered 414."})
    limit = fields.Integer(load_default=DEFAULT_LIMIT, strict=False,
                           validate=validate.Range(min=1, max=MAX_LIMIT),
                           metadata={"description": f"Page size, 1..{MAX_LIMIT} (default {DEFAULT_LIMIT})."})
    sort = fields.String(load_default=SORTS[0], validate=validate.OneOf(SORTS), metadata={
        "description": "`-published_at` (newest first, default) or `published_at` (oldest first)."})

    @validates_schema
    def _window(self, data, **kwargs):
        after, before = data.get("published_after"), data.get("published_before")
        if after and before and after >= before:
            raise ValidationError(_("published_after must be earlier than published_before."), "published_after")


def query_schema(tenants: Iterable[str], types: Iterable[str], with_tenant: bool = True) -> type[Schema]:
    """Build the query-string schema of the record lists for one application.

    Args:
        tenants: slugs of the public (non-training) tenants, used as the ``tenant`` enum.
        types: registered content type names, used as the ``type`` enum.
        with_tenant: include the ``tenant`` filter (the cross-tenant list has it, the per-tenant
            list takes the tenant from the path).

    Returns:
        A :class:`marshmallow.Schema` subclass; ``load(request.args)`` returns the validated
        filters or raises :class:`marshmallow.ValidationError` (``messages`` keyed by field).
    """
    tenants, types = sorted(tenants), sorted(types)
    attrs: dict[str, Any] = {
        "type": fields.String(validate=validate.OneOf(types),
                              metadata={"description": "Content type name (see `/api/v1/types`)."}),
    }
    if with_tenant:
        attrs["tenant"] = fields.String(validate=validate.OneOf(tenants),
                                        metadata={"description": "Tenant slug (see `/api/v1/tenants`)."})
    name = "RecordQuery" if with_tenant else "TenantRecordQuery"
    return type(name, (_QueryBase,), attrs)


def export_query_schema(tenants: Iterable[str], types: Iterable[str], with_tenant: bool = True) -> type[Schema]:
    """Like :func:`query_schema` without ``cursor`` and ``limit`` (streamed full exports); the
    ``published_after`` < ``published_before`` check is kept."""
    base = query_schema(tenants, types, with_tenant)
    meta = type("Meta", (), {"unknown": RAISE, "exclude": ("cursor", "limit")})  # an unknown parameter is named
    return type("Export" + base.__name__, (base,), {"Meta": meta})


_CHANGES_LIMIT = fields.Integer(
    load_default=DEFAULT_CHANGES_LIMIT, strict=False, validate=validate.Range(min=1, max=MAX_CHANGES_LIMIT),
    metadata={"description": f"Most changes per page, 1..{MAX_CHANGES_LIMIT} (default {DEFAULT_CHANGES_LIMIT})."})


class TenantChangesQuerySchema(Schema):
    """Query of ``/api/v1/<tenant>/changes``: ``after`` (log index already read; absent = from
    the first entry) and ``limit``."""

    class Meta:
        unknown = EXCLUDE

    after = fields.Integer(strict=False, validate=validate.Range(min=0, max=2**62), metadata={
        "description": "Log index of the last change already read (`next_after` of the previous page); "
                       "omit it to start at the first change (index 0)."})
    limit = _CHANGES_LIMIT


class ChangesQuerySchema(Schema):
    """Query of the portal-wide ``/api/v1/changes``: opaque ``cursor`` and ``limit``."""

    class Meta:
        unknown = EXCLUDE

    cursor = fields.String(validate=validate.Length(max=2000), metadata={
        "description": "Opaque cursor from `next_cursor` of the previous page (one log index per tenant); "
                       "omit it to start at the first change of every tenant."})
    limit = _CHANGES_LIMIT


class ErrorBodySchema(Schema):
    """The ``error`` member of every API error."""

    status = fields.Integer(required=True, metadata={"description": "HTTP status code."})
    code = fields.String(required=True, metadata={"description": "Stable machine-readable code, e.g. `invalid_parameter`."})
    message = fields.String(required=True, metadata={"description": "Human-readable explanation (translated)."})
    field = fields.String(required=True, allow_none=True, metadata={"description": "The offending parameter, or null."})


class ErrorSchema(Schema):
    """``{"error": {"status", "code", "message", "field"}}``."""

    error = fields.Nested(ErrorBodySchema, required=True)


class RecordSchema(Schema):
    """One published version of a record (a notarized view: check ``content_sha256`` against the
    version's canonical JSON and the tenant's notary log)."""

    tenant = fields.String(required=True, metadata={"description": "Tenant slug."})
    content_type = fields.String(required=True)
    record_id = fields.String(required=True)
    version = fields.Integer(required=True, metadata={"description": "Published version number (1, 2, ...)."})
    action = fields.String(required=True, validate=validate.OneOf(("publish", "correct", "retract", "redact")))
    reason = fields.String(required=True, metadata={"description": "Reason of a correction or retraction; legal basis of a redaction."})
    title = fields.String(required=True)
    published_at = fields.String(required=True, metadata={"format": "date-time",
                                                          "description": "When this version was published (UTC)."})
    content_sha256 = fields.String(required=True, metadata={
        "description": "Hex SHA-256 of the version's RFC 8785 canonical JSON."})
    url = fields.String(required=True, metadata={"description": "Public history page of the record."})
    canonical_json_url = fields.String(required=True, metadata={
        "description": "The canonical JSON of this version, byte for byte as hashed."})
    is_demo = fields.Boolean(required=True, metadata={"description": "Demo data, not real."})
    content = fields.Dict(required=True, allow_none=True, metadata={
        "description": "The record's public content at this version (null for a retraction, a redaction of the record "
                       "and a redacted version)."})


class RecordListSchema(Schema):
    """A page of records."""

    data = fields.List(fields.Nested(RecordSchema), required=True)
    next_cursor = fields.String(required=True, allow_none=True, metadata={
        "description": "Pass as `cursor` to get the next page; null on the last page."})
    next_url = fields.String(required=True, allow_none=True)


class RecordResponseSchema(Schema):
    """One record."""

    data = fields.Nested(RecordSchema, required=True)


class VersionListSchema(Schema):
    """Every version of a record, oldest first (including corrections and a retraction)."""

    data = fields.List(fields.Nested(RecordSchema), required=True)


class ChangeSchema(Schema):
    """One publication event of a tenant's log (publish, correct, retract...), in log order."""

    index = fields.Integer(required=True, metadata={
        "description": "Zero-based index in the tenant's notary log: gap-free, in commit order."})
    tenant = fields.String(required=True, metadata={"description": "Tenant slug."})
    content_type = fields.String(required=True, metadata={"description": "Record type."})
    record_id = fields.String(required=True)
    version = fields.Integer(required=True, metadata={"description": "Version this event published."})
    action = fields.String(required=True, metadata={
        "description": "`publish`, `correct`, `retract` or `redact` (a redaction: the legal basis is the reason; "
                       "the redacted versions keep their SHA-256 in the log, their content is gone)."})
    published_at = fields.String(required=True, metadata={"format": "date-time", "description": "When (UTC)."})
    content_sha256 = fields.String(required=True, metadata={
        "description": "Hex SHA-256 of the version's RFC 8785 canonical JSON."})
    url = fields.String(required=True, metadata={"description": "The record in this API (its current version)."})
    canonical_json_url = fields.String(required=True, metadata={
        "description": "The canonical JSON of this version, byte for byte as hashed."})
    entry_hash = fields.String(required=True, metadata={
        "description": "Hex RFC 6962 leaf hash of the notary log entry at `index`."})


class TenantChangeListSchema(Schema):
    """A page of one tenant's change feed."""

    data = fields.List(fields.Nested(ChangeSchema), required=True)
    log_size = fields.Integer(required=True, metadata={
        "description": "Entries in the log when the page was read; the feed is complete up to here when "
                       "`next_after` + 1 equals it."})
    next_after = fields.Integer(required=True, allow_none=True, metadata={
        "description": "Pass as `after` for the next page (the last index read; null before the first change)."})
    next_url = fields.String(required=True, metadata={"description": "The next page (poll it for new changes)."})


class ChangeListSchema(Schema):
    """A page of the portal-wide change feed (every public tenant, each in its log order)."""

    data = fields.List(fields.Nested(ChangeSchema), required=True)
    next_cursor = fields.String(required=True, metadata={
        "description": "Pass as `cursor` for the next page (it holds the last index read of each tenant)."})
    positions = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True, metadata={
        "description": "The last index read of each tenant (`-1`: none yet), as encoded in `next_cursor`."})
    next_url = fields.String(required=True, metadata={"description": "The next page (poll it for new changes)."})


class TenantSchema(Schema):
    """A public tenant (state secretariat)."""

    slug = fields.String(required=True)
    state = fields.String(required=True)
    secretariat = fields.String(required=True)
    short_name = fields.String(required=True)
    url = fields.String(required=True, metadata={"description": "Public site."})
    records_url = fields.String(required=True)
    types = fields.List(fields.String(), required=True, metadata={"description": "Content types enabled."})


class TenantListSchema(Schema):
    """``{"data": [Tenant]}``."""

    data = fields.List(fields.Nested(TenantSchema), required=True)


class ContentTypeSchema(Schema):
    """A content type (kind of record)."""

    name = fields.String(required=True)
    plugin = fields.String(required=True)
    label = fields.String(required=True)
    label_plural = fields.String(required=True)
    tenants = fields.List(fields.String(), required=True, metadata={"description": "Tenants that enable it."})


class ContentTypeListSchema(Schema):
    """``{"data": [ContentType]}``."""

    data = fields.List(fields.Nested(ContentTypeSchema), required=True)


SCHEMAS = {"Error": ErrorSchema, "Record": RecordSchema, "RecordList": RecordListSchema,
           "RecordResponse": RecordResponseSchema, "VersionList": VersionListSchema, "Tenant": TenantSchema,
           "TenantList": TenantListSchema, "ContentType": ContentTypeSchema, "ContentTypeList": ContentTypeListSchema,
           "Change": ChangeSchema, "TenantChangeList": TenantChangeListSchema, "ChangeList": ChangeListSchema}


def build_spec(app: Flask, views: Iterable, *, title: str, description: str, server_url: str = "/") -> dict:
    """Build the OpenAPI 3.1 document of the API.

    Args:
        app: the application (its URL map gives each view's path and path parameters).
        views: the view functions to document; each docstring holds the operation in YAML
            after a ``---`` line (apispec's Flask plugin reads it).
        title / description: ``info`` of the document.
        server_url: the ``servers[0].url`` (the site root).

    Returns:
        The document as a dict (``openapi: 3.1.0``).
    """
    spec = APISpec(title=title, version=API_VERSION, openapi_version=OPENAPI_VERSION,
                   plugins=[FlaskPlugin(), MarshmallowPlugin()],
                   info={"description": description,
                         "license": {"name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later"}},
                   servers=[{"url": server_url}])
    for name, schema in SCHEMAS.items():
        spec.components.schema(name, schema=schema)
    spec.components.response("BadRequest", {"description": "Invalid parameter.",
                                            "content": {"application/json": {"schema": "Error"}}})
    spec.components.response("NotFound", {"description": "Unknown tenant, type or record.",
                                          "content": {"application/json": {"schema": "Error"}}})
    spec.components.response("TooManyRequests", {
        "description": "Rate limit exceeded; retry after `Retry-After` seconds.",
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
        "content": {"application/json": {"schema": "Error"}}})
    spec.components.response("UriTooLong", {
        "description": f"The request line is longer than {MAX_REQUEST_LINE} bytes (e.g. an over-long `cursor`); "
                       "shorten the query.",
        "content": {"application/json": {"schema": "Error"}}})
    spec.components.response("NotModified", {"description": "Not modified (the `If-None-Match` ETag matches)."})
    with app.test_request_context():
        for view in views:
            spec.path(view=view, app=app)
    return spec.to_dict()
