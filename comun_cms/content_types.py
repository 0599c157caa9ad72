"""Registry of content types: the kinds of publishable records (core pages and plugin records).

A plugin describes each of its record kinds with a :class:`ContentType` returned from the
``register_content_types`` hook; the core uses it to publish (canonical JSON), render history,
index for search and check tenant isolation.
"""
from __future__ import annotations

import datetime as dt
import decimal
import enum
from typing import Any, Iterable

from flask import current_app

from comun_cms.hooktypes import ContentType  # noqa: F401 (re-exported)


def jsonable(value: Any) -> Any:
    """Convert ``value`` to JSON-safe data for RFC 8785 canonicalization.

    Datetimes become ISO 8601 UTC strings ending in ``Z`` (seconds precision), dates ISO dates,
    decimals and enums their string values, sets sorted lists; mappings and sequences recurse.

    Raises:
        TypeError: for values with no JSON form.
    """
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise TypeError("naive datetime in published content")
        return value.astimezone(dt.timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted(jsonable(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    raise TypeError(f"value of type {type(value).__name__} has no JSON form")


class ContentTypeRegistry:
    """All content types of the installed plugins, by name."""

    def __init__(self) -> None:
        self._types: dict[str, ContentType] = {}

    def register(self, content_type: ContentType) -> None:
        """Add a content type. Raises ``ValueError`` when the name is taken."""
        if content_type.name in self._types:
            raise ValueError(f"content type '{content_type.name}' is registered twice")
        self._types[content_type.name] = content_type

    def get(self, name: str) -> ContentType:
        """Return the content type ``name``; raises ``KeyError`` if unknown."""
        return self._types[name]

    def __contains__(self, name: str) -> bool:
        return name in self._types

    def __iter__(self):
        return iter(self._types.values())

    def for_model(self, model: type) -> ContentType:
        """Return the content type whose model is ``model``; raises ``KeyError``."""
        for ct in self._types.values():
            if ct.model is model:
                return ct
        raise KeyError(model.__name__)

    def enabled_for(self, tenant) -> list[ContentType]:
        """Content types of plugins ``tenant`` enables (core types always)."""
        return [ct for ct in self._types.values() if tenant.enables(ct.plugin)]


def get_registry() -> ContentTypeRegistry:
    """Return the running application's content-type registry."""
    return current_app.extensions["comun"].content_types


def content_type_for(record: Any) -> ContentType:
    """Return the content type of a record instance; raises ``KeyError`` if unregistered."""
    return get_registry().for_model(type(record))


def iter_enabled(tenant) -> Iterable[ContentType]:
    """Iterate the content types enabled in ``tenant``."""
    return get_registry().enabled_for(tenant)
