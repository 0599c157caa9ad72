"""Anonymous page cache invalidated by publication, and per-generation memos.

**Generations.** Every tenant has a :class:`~comun_cms.models.CacheGeneration` row. Whatever
changes what its public pages show bumps it *in the same transaction*: a publication, correction
or retraction (:mod:`comun_cms.publishing`), any admin change (:func:`comun_cms.changes.admin_change`,
which covers settings), the search indexer applying outbox rows. The portal's generation is
derived from every public tenant's. A request reads all generations with one small query
(memoized for the request), so a page is never served from a generation older than the database's:
staleness after a publication is zero, on every worker and host.

**Page cache.** Anonymous ``GET``/``HEAD`` requests (no session or remember-me cookie, no
``Authorization``) are answered from the cache when an entry exists for
``(tenant or portal, generation token, language, path, query string)``. A ``200 text/html``
response is stored only if it sets no cookie, did not touch the session (so it carries no CSRF
token, no flash message and no language choice) and does not say ``Cache-Control: private`` or
``no-store``. Pages with forms (feedback, sign-up, log-in) are therefore rendered for each
visitor; every other public page is rendered once per generation. Cached and cacheable responses
carry an ``ETag`` (SHA-256 of the body) and ``Last-Modified`` (the generation's time) and answer
conditional requests with ``304 Not Modified``; ``X-Page-Cache`` says ``hit`` or ``miss``.

**Backends** (cachelib): Redis when ``CACHE_URL`` (``COMUN_CACHE_URL``) is set, shared by every
worker and host; otherwise a ``FileSystemCache`` in ``<instance>/page-cache`` (shared by the
workers of one host), or a per-process ``SimpleCache`` with ``PAGE_CACHE_BACKEND = "simple"``.
Entries are keyed by generation token, so they are never invalidated one by one: old
generations simply stop being asked for and expire after ``PAGE_CACHE_TIMEOUT`` seconds.

Settings: ``PAGE_CACHE`` (bool, default ``True``), ``GENERATION_MEMO`` (bool, default ``True``), ``CACHE_URL`` (``redis://...``),
``PAGE_CACHE_BACKEND`` (``filesystem`` | ``simple``), ``PAGE_CACHE_TIMEOUT`` (seconds),
``PAGE_CACHE_THRESHOLD`` (entries kept by the local backends), ``PAGE_CACHE_KEY_PREFIX``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, TypeVar

from cachelib import BaseCache, FileSystemCache, RedisCache, SimpleCache
from flask import Flask, Response, current_app, has_request_context, request, session
from flask_babel import get_locale
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from comun_cms.extensions import db
from comun_cms.models import CacheGeneration, utcnow
from comun_cms.tenancy import get_current_tenant

__all__ = ["Generation", "PORTAL", "bump_generation", "cache_backend", "current_generation", "init_app",
           "memo_per_generation", "read_generations"]

T = TypeVar("T")

#: Scope name of the cross-state portal (pages outside any tenant).
PORTAL = "*portal*"
_G_GENERATIONS = "_comun_generations"
_G_KEY = "_comun_page_cache_key"
_G_HIT = "_comun_page_cache_hit"
_BACKEND_KEY = "comun_cache_pages"  # app.extensions key: dropped with the other caches by tests
_MEMO_KEY = "comun_cache_generation_memo"
#: Entries kept by :func:`memo_per_generation` in one process before it starts over.
_MEMO_MAX = 10_000
#: Blueprints never cached (staff pages and log-in; they also require a session anyway).
_NEVER_CACHED_BLUEPRINTS = ("admin", "auth", "training")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class Generation:
    """The generation of a scope (a tenant, or the portal): ``token`` (opaque text that changes
    on every bump; the cache key) and ``changed_at`` (aware UTC datetime of the last bump)."""

    token: str
    changed_at: dt.datetime


def _per_request() -> dict:
    """Scratch space of the running request (kept in the WSGI environ, not ``flask.g``: an
    application context may outlive one request in tests and CLI code)."""
    return request.environ.setdefault("comun.pagecache", {})


# --------------------------------------------------------------------------- generations
def bump_generation(tenant_slug: str, session: Session | None = None) -> None:
    """Bump ``tenant_slug``'s generation inside the caller's transaction (one upsert; the row is
    created on first use). The caller commits; a rollback undoes the bump with the change.

    ``session`` is the SQLAlchemy session of that transaction (default: ``db.session``).

    Concurrent bumps of one tenant serialize on its row until the first commits (PostgreSQL
    row lock; SQLite locks the whole database anyway).
    """
    values = {"tenant": tenant_slug, "generation": 1, "token": secrets.token_hex(8), "changed_at": utcnow()}
    session = session if session is not None else db.session
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(CacheGeneration).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[CacheGeneration.tenant],
        set_={"generation": CacheGeneration.generation + 1, "token": stmt.excluded.token,
              "changed_at": stmt.excluded.changed_at})
    session.execute(stmt)
    if has_request_context():
        _per_request().pop(_G_GENERATIONS, None)


def read_generations() -> dict[str, Generation]:
    """Return ``{tenant slug: Generation}`` for every tenant that has a row (one query, memoized
    for the rest of the request). A tenant never bumped has no row and counts as generation
    ``"0"``."""
    if has_request_context() and _G_GENERATIONS in _per_request():
        return _per_request()[_G_GENERATIONS]
    rows = db.session.execute(select(CacheGeneration.tenant, CacheGeneration.token, CacheGeneration.changed_at)).all()
    result = {slug: Generation(token, changed_at) for slug, token, changed_at in rows}
    if has_request_context():
        _per_request()[_G_GENERATIONS] = result
    return result


def current_generation(tenant_slug: str | None = None) -> Generation:
    """Return the generation of ``tenant_slug`` (default: the current tenant; the portal when
    there is none). The portal's token combines every public tenant's, so it changes whenever
    any of them publishes; its ``changed_at`` is the newest of theirs."""
    if tenant_slug is None:
        tenant = get_current_tenant()
        tenant_slug = tenant.slug if tenant is not None else PORTAL
    gens = read_generations()
    if tenant_slug != PORTAL:
        return gens.get(tenant_slug) or Generation("0", _EPOCH)
    slugs = sorted(current_app.extensions["comun"].public_tenants())
    parts = [(slug, gens.get(slug) or Generation("0", _EPOCH)) for slug in slugs]
    token = hashlib.sha256("|".join(f"{slug}={gen.token}" for slug, gen in parts).encode()).hexdigest()[:20]
    changed = max((gen.changed_at for _slug, gen in parts), default=_EPOCH)
    return Generation(token, changed)


def memo_per_generation(name: str, compute: Callable[[], T], *, tenant_slug: str | None = None,
                        vary: Iterable[Any] = ()) -> T:
    """Return ``compute()``, computed once per generation of the scope and kept in this process.

    For widgets and template slots that query the database on every request: their result
    changes only when the tenant (or, on the portal, any tenant) publishes.

    Args:
        name: what is computed (unique per caller, e.g. ``"action_plans.portal_widget"``).
        compute: a function of no arguments; its result must depend only on published data
            (never on the user) and on ``vary``.
        tenant_slug: the scope (default: the current tenant, or the portal outside tenants).
        vary: more values the result depends on (the current language is always added).

    Returns:
        The memoized value (the same object for every request of a generation); with the
        setting ``GENERATION_MEMO`` off, ``compute()`` itself.
    """
    if not current_app.config.get("GENERATION_MEMO", True):
        return compute()
    if tenant_slug is None:
        tenant = get_current_tenant()
        tenant_slug = tenant.slug if tenant is not None else PORTAL
    token = current_generation(tenant_slug).token
    locale = str(get_locale() or "") if has_request_context() else ""
    key = (name, tenant_slug, locale, tuple(vary))
    memo: dict = current_app.extensions.setdefault(_MEMO_KEY, {})
    entry = memo.get(key)
    if entry is not None and entry[0] == token:
        return entry[1]
    value = compute()
    if len(memo) >= _MEMO_MAX and key not in memo:
        memo.clear()  # keys carry days and query values: start over rather than grow for ever
    memo[key] = (token, value)
    return value


# --------------------------------------------------------------------------- backend
def cache_backend(app: Flask | None = None) -> BaseCache:
    """Return the application's page-cache backend (built on first use).

    Redis (:class:`cachelib.RedisCache`) when ``CACHE_URL`` is set; else
    :class:`cachelib.FileSystemCache` in ``<instance>/page-cache`` or, with
    ``PAGE_CACHE_BACKEND = "simple"``, a per-process :class:`cachelib.SimpleCache`.
    """
    app = app or current_app
    backend = app.extensions.get(_BACKEND_KEY)
    if backend is not None:
        return backend
    cfg = app.config
    timeout = int(cfg["PAGE_CACHE_TIMEOUT"])
    prefix = cfg.get("PAGE_CACHE_KEY_PREFIX") or "comun:"
    if cfg.get("CACHE_URL"):
        import redis  # only where Redis is configured: the library takes ~1 s to import

        backend = RedisCache(host=redis.Redis.from_url(cfg["CACHE_URL"]), default_timeout=timeout, key_prefix=prefix)
    elif cfg.get("PAGE_CACHE_BACKEND") == "simple":
        backend = SimpleCache(threshold=int(cfg["PAGE_CACHE_THRESHOLD"]), default_timeout=timeout)
    else:
        folder = Path(app.instance_path) / "page-cache"
        backend = FileSystemCache(str(folder), threshold=int(cfg["PAGE_CACHE_THRESHOLD"]), default_timeout=timeout,
                                  mode=0o600)
    app.extensions[_BACKEND_KEY] = backend
    return backend


# --------------------------------------------------------------------------- request hooks
def _cacheable_request() -> bool:
    cfg = current_app.config
    if not cfg.get("PAGE_CACHE") or request.method not in ("GET", "HEAD") or request.endpoint is None:
        return False
    if (request.blueprint or "").split(".")[0].startswith(_NEVER_CACHED_BLUEPRINTS):
        return False
    cookies = request.cookies
    if cfg.get("SESSION_COOKIE_NAME", "session") in cookies or \
            cfg.get("REMEMBER_COOKIE_NAME", "remember_token") in cookies:
        return False
    return "Authorization" not in request.headers


def _page_key(generation: Generation) -> str:
    tenant = get_current_tenant()
    scope = tenant.slug if tenant is not None else PORTAL
    query = "&".join(sorted(request.query_string.decode("latin-1").split("&"))) if request.query_string else ""
    locale = str(get_locale() or "")
    raw = f"{scope}|{generation.token}|{locale}|{request.path}|{query}"
    return "page:" + hashlib.sha256(raw.encode("utf-8", "surrogateescape")).hexdigest()


def _finish(response: Response, generation: Generation, hit: bool) -> Response:
    response.headers["X-Page-Cache"] = "hit" if hit else "miss"
    response.cache_control.no_cache = True  # browsers revalidate: a 304 costs one cache look-up
    response.cache_control.public = True
    if not response.get_etag()[0]:
        response.set_etag(hashlib.sha256(response.get_data()).hexdigest()[:32])
    response.last_modified = generation.changed_at
    return response.make_conditional(request)


def _serve_from_cache():
    if not _cacheable_request():
        return None
    generation = current_generation()
    key = _page_key(generation)
    _per_request()[_G_KEY] = (key, generation)
    entry = cache_backend().get(key)
    if entry is None:
        return None
    status, headers, body = entry
    _per_request()[_G_HIT] = True
    return _finish(Response(body, status=status, headers=headers), generation, hit=True)


_UNSTORED_HEADERS = {"set-cookie", "content-length", "date", "etag", "last-modified", "x-page-cache"}


def _store(response: Response) -> Response:
    stash = _per_request().get(_G_KEY)
    if stash is None or _per_request().get(_G_HIT):
        return response
    key, generation = stash
    if (response.status_code != 200 or response.mimetype != "text/html" or response.is_streamed
            or response.direct_passthrough or "Set-Cookie" in response.headers
            or session.modified or "_flashes" in session or "csrf_token" in session
            or response.cache_control.private or response.cache_control.no_store):
        return response
    headers = [(k, v) for k, v in response.headers.items() if k.lower() not in _UNSTORED_HEADERS]
    cache_backend().set(key, (response.status_code, headers, response.get_data()))
    return _finish(response, generation, hit=False)


def init_app(app: Flask) -> None:
    """Install the page cache on ``app`` (after the tenant routing, so the tenant is known)."""
    app.before_request(_serve_from_cache)
    app.after_request(_store)
