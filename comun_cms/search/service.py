"""Search wiring: the outbox written at publication, the single indexer that drains it, full
reindex, and the query entry point used by views and the API.

Whoosh allows one writer per index. Publications therefore never write the index: they add a
:class:`~comun_cms.models.SearchOutbox` row in the publishing transaction (so a rollback drops
it too), and one indexer (``comun search worker``, or :func:`drain_outbox` at the end of a request
when ``SEARCH_SYNC`` is on) applies the rows in batches under a file lock, deleting them only
after the index commit. If the indexer is down nothing is lost: it catches up when it starts.

With ``SEARCH_BACKEND = "postgres"`` the index is a table of the application's PostgreSQL database
(:mod:`comun_cms.search.pg_backend`): the publication writes its search row in the publishing
transaction itself, so it is searchable when that transaction commits, on every app host, with no
outbox row and no worker.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from flask import Flask, current_app, has_request_context
from flask_babel import get_locale
from sqlalchemy import delete, event, func, select
from sqlalchemy.orm import Session, object_session

from comun_cms.config import ConfigError
from comun_cms.extensions import db
from comun_cms.models import SearchOutbox, utcnow
from comun_cms.pagecache import bump_generation, cache_backend, read_generations
from comun_cms.plugins import tenant_hook
from comun_cms.search.backend import SearchDocument, SearchQuery, SearchResults
from comun_cms.search.pg_backend import PostgresBackend
from comun_cms.search.result_cache import ResultCache, normalize_query
from comun_cms.search.sqlite_fts import SQLiteFTSBackend
from comun_cms.search.whoosh_backend import WhooshBackend
from comun_cms.tenancy import tenant_context


def doc_id(tenant_slug: str, content_type: str, record_id: Any) -> str:
    """Search document id: ``"<tenant>:<content type>:<record id>"``."""
    return f"{tenant_slug}:{content_type}:{record_id}"


def document_for(content_type, record, tenant) -> dict | None:
    """Build the JSON-safe search payload of a published record, or ``None`` if it is not indexed.

    Returns ``{"id", "tenant", "content_type", "title", "body", "url", "published_at" (ISO UTC),
    "year", "status", "language", "version", "keywords", "is_demo"}``.
    """
    fields = content_type.search_document(record)
    if fields is None:
        return None
    with _url_context(tenant):
        url = content_type.url(record)
    date = fields.get("date") or record.published_at or utcnow()
    return {
        "id": doc_id(tenant.slug, content_type.name, record.id),
        "tenant": tenant.slug,
        "content_type": content_type.name,
        "title": str(fields.get("title") or content_type.title(record)),
        "body": str(fields.get("body") or ""),
        "url": url,
        "published_at": date.astimezone(dt.timezone.utc).isoformat() if isinstance(date, dt.datetime) else str(date),
        "year": (date.year if isinstance(date, (dt.date, dt.datetime)) else utcnow().year),
        "status": str(fields.get("status") or "published"),
        "language": str(fields.get("language") or "es"),
        "version": int(record.version or 0),
        "keywords": [str(k) for k in (fields.get("keywords") or [])],
        "is_demo": bool(getattr(record, "is_demo", False)),
    }


@contextlib.contextmanager
def _url_context(tenant) -> Iterator[None]:
    if has_request_context():
        yield
        return
    app = current_app._get_current_object()
    host = app.config.get("SITE_HOST", "127.0.0.1:5000")
    with app.test_request_context("/", base_url=f"http://{host}"):
        with tenant_context(tenant):
            yield


#: Commits that inserted outbox rows through the ORM in this process (every application): the
#: end-of-request drain of ``SEARCH_SYNC`` runs only when this moved since its last run (see
#: :func:`init_search`). Counted at the commit, when the rows become visible to the drain.
_outbox_inserts = 0


@event.listens_for(SearchOutbox, "after_insert")
def _mark_outbox_insert(mapper, connection, target) -> None:
    session = object_session(target)
    if session is not None:
        session.info["comun_outbox_inserted"] = True


@event.listens_for(Session, "after_commit")
def _count_outbox_commit(session) -> None:
    global _outbox_inserts
    if session.info.pop("comun_outbox_inserted", False):
        _outbox_inserts += 1
    # after a rollback the mark stays: the next commit of that session drains once for nothing,
    # which is harmless (a savepoint's rollback must not hide the outer transaction's rows)


def enqueue_publication(event) -> None:
    """``on_publish`` listener: add an outbox row for the published record (upsert) or its
    retraction or redaction of the whole record (delete). Adds to the session; the publishing
    transaction commits it.

    With a backend that writes in the transaction (``SEARCH_BACKEND = "postgres"``) the search row
    itself is written (or deleted) on the session's connection instead, in the same transaction.
    """
    tenant, ct, record = event.tenant, event.content_type, event.record
    did = doc_id(tenant.slug, ct.name, record.id)
    service = current_app.extensions["comun"].search
    withdrawn = event.action == "retract" or event.publication.redacted_at is not None
    if service.writes_in_transaction:
        payload = None if withdrawn else document_for(ct, record, tenant)
        conn = db.session.connection()
        if payload is None:
            service.backend.write_in_transaction(conn, deletes=[did])
        else:
            service.backend.write_in_transaction(conn, upserts=[payload_to_document(payload)])
        return
    if withdrawn:
        db.session.add(SearchOutbox(tenant=tenant.slug, doc_id=did, op="delete", payload=None))
        return
    payload = document_for(ct, record, tenant)
    if payload is None:
        db.session.add(SearchOutbox(tenant=tenant.slug, doc_id=did, op="delete", payload=None))
    else:
        db.session.add(SearchOutbox(tenant=tenant.slug, doc_id=did, op="upsert", payload=payload))


class SearchService:
    """The application's search facade: a backend plus the outbox indexer.

    Args:
        app: the Flask app (index folder from ``SEARCH_INDEX_DIR``).
        backend_factory: ``(index_dir: Path) -> SearchBackend``.
        writes_in_transaction: the backend's rows live in the application database and the
            ``on_publish`` listener writes them in the publishing transaction (PostgreSQL backend)
            instead of queueing an outbox row.
    """

    def __init__(self, app: Flask, backend_factory: Callable[[Path], Any], writes_in_transaction: bool = False):
        self.index_dir = Path(app.config["SEARCH_INDEX_DIR"])
        self._factory = backend_factory
        self._backend = None
        self.writes_in_transaction = bool(writes_in_transaction)
        #: ``(hits, misses)`` of the result cache in this process (benchmarks, tests).
        self.cache_stats = [0, 0]
        #: value of the outbox insert counter when the last end-of-request drain started; ``None``:
        #: no drain yet (the first request always drains)
        self.drained_inserts: int | None = None

    def result_cache(self) -> ResultCache | None:
        """The search result cache (in the page cache's backend), or ``None`` when
        ``SEARCH_RESULT_CACHE`` is off."""
        app = current_app._get_current_object()
        if not app.config.get("SEARCH_RESULT_CACHE", True):
            return None
        return ResultCache(cache_backend(app), timeout=int(app.config.get("SEARCH_RESULT_CACHE_TIMEOUT", 3600)))

    def search(self, query: SearchQuery) -> SearchResults:
        """Run ``query``, answered from the result cache when the same query was answered for
        the same generations of its tenants and the same index state
        (:mod:`comun_cms.search.result_cache`).

        Args:
            query: the request; its text is searched with white space collapsed.

        Returns:
            :class:`SearchResults` (a fresh object the caller may change).
        """
        query = normalize_query(query)
        cache = self.result_cache()
        backend = self.backend
        if cache is None:
            return backend.search(query)
        token = backend.index_token()
        if token is None:
            if not self.writes_in_transaction:
                return backend.search(query)  # no way to tell when the index changes
            token = ""
        state = current_app.extensions["comun"]
        slugs = [query.tenant] if query.tenant else (list(query.tenants) or list(state.tenants))
        gens = read_generations()
        key = cache.key(query, generations=[(slug, gens[slug].token if slug in gens else "0") for slug in set(slugs)],
                        index_token=token, epoch=cache.epoch(),
                        language=str(get_locale() or "") if has_request_context() else "")
        results, hit = cache.get_or_compute(key, lambda: backend.search(query))
        self.cache_stats[0 if hit else 1] += 1
        return results

    def retarget(self, index_dir: Path) -> None:
        """Close the backend and use ``index_dir`` from now on (tests reuse one application)."""
        if self._backend is not None:
            close = getattr(self._backend, "close", None)
            if close:
                close()
        self._backend = None
        self.index_dir = Path(index_dir)

    @property
    def backend(self):
        """The search backend (opened lazily)."""
        if self._backend is None:
            self.index_dir.mkdir(parents=True, exist_ok=True)
            self._backend = self._factory(self.index_dir)
        return self._backend

    @contextlib.contextmanager
    def writer_lock(self, blocking: bool = True) -> Iterator[bool]:
        """Inter-process lock serializing index writers (``fcntl.flock`` on ``<index>/.writer.lock``).
        Yields ``True`` if acquired (always, when ``blocking``)."""
        self.index_dir.mkdir(parents=True, exist_ok=True)
        with open(self.index_dir / ".writer.lock", "a+") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def drain_outbox(self, batch: int = 500, blocking: bool = True) -> int:
        """Apply pending outbox rows to the index, oldest first, in batches of ``batch``.

        Rows are deleted only after the index commit, so a crash repeats work but never loses it
        (upserts are idempotent). Returns the number of rows applied (0 if another process holds
        the writer lock and ``blocking`` is false).
        """
        applied = 0
        with self.writer_lock(blocking) as got:
            if not got:
                return 0
            while True:
                rows = list(db.session.scalars(select(SearchOutbox).order_by(SearchOutbox.id).limit(batch)))
                if not rows:
                    break
                latest: dict[str, SearchOutbox] = {}
                for row in rows:
                    latest[row.doc_id] = row
                upserts = [payload_to_document(r.payload) for r in latest.values() if r.op == "upsert"]
                deletes = [r.doc_id for r in latest.values() if r.op == "delete"]
                if deletes:
                    self.backend.delete_documents(deletes)
                if upserts:
                    self.backend.index_documents(upserts)
                ids = [r.id for r in rows]
                db.session.execute(delete(SearchOutbox).where(SearchOutbox.id.in_(ids)))
                for slug in sorted({r.tenant for r in rows}):
                    bump_generation(slug)  # search pages show the new index from now on
                db.session.commit()
                applied += len(rows)
        return applied

    def run_worker(self, interval: float = 0.5, stop: Callable[[], bool] = lambda: False) -> None:
        """Drain the outbox forever (every ``interval`` seconds) until ``stop()`` is true."""
        while not stop():
            try:
                n = self.drain_outbox()
            except Exception:  # keep the worker alive; rows stay queued
                current_app.logger.exception("search indexer failed; retrying")
                db.session.rollback()
                n = 0
            if n == 0:
                time.sleep(interval)

    def iter_all_documents(self, tenants=None, progress: Callable[[str], None] | None = None):
        """Yield every public search document of every (or the given) tenant via the
        ``search_documents`` hook of the plugins each tenant enables."""
        state = current_app.extensions["comun"]
        for tenant in (tenants or state.tenants.values()):
            with tenant_context(tenant):
                for result in tenant_hook(tenant, "search_documents")(tenant=tenant):
                    for payload in result or []:
                        yield payload_to_document(payload)

    def reindex(self, tenants=None, progress: Callable[[int], None] | None = None) -> int:
        """Rebuild the whole index aside and swap it in atomically. With ``tenants`` given, only
        those tenants' documents are replaced in the live index. Returns documents indexed."""
        with self.writer_lock():
            count = 0

            def counted():
                nonlocal count
                for doc in self.iter_all_documents(tenants):
                    count += 1
                    if progress:
                        progress(count)
                    yield doc
            if tenants and self.writes_in_transaction:
                # one transaction: other hosts never see the tenants without their documents
                with self.backend.engine.begin() as conn:
                    ids = set().union(*(self.backend.document_ids_by_tenant(t.slug) for t in tenants))
                    self.backend.write_in_transaction(conn, upserts=counted(), deletes=ids)
            elif tenants:
                for tenant in tenants:
                    self.backend.delete_documents(self.backend.document_ids_by_tenant(tenant.slug))
                self.backend.index_documents(list(counted()))
            else:
                self.backend.rebuild(counted())
            cache = self.result_cache()
            if cache is not None:
                cache.new_epoch()  # cached answers of the old index are never served again
            # the outbox is now reflected in the rebuilt index
            return count


    def expected_versions(self, tenants=None) -> dict[str, str]:
        """``{document id: version}`` of every public document in the database."""
        return {doc.id: str(doc.version) for doc in self.iter_all_documents(tenants)}

    def check(self, tenants=None) -> "CheckReport":
        """Compare the index with the database (pending outbox rows count as applied).

        Returns a :class:`CheckReport` listing missing, extra and stale document ids.
        """
        expected = self.expected_versions(tenants)
        pending = db.session.scalar(select(func.count()).select_from(SearchOutbox)) or 0
        if tenants:
            diffs = [self.backend.check({k: v for k, v in expected.items() if k.startswith(t.slug + ":")}, tenant=t.slug)
                     for t in tenants]
            missing = sorted(i for d in diffs for i in d.missing)
            extra = sorted(i for d in diffs for i in d.extra)
            stale = sorted(i for d in diffs for i in d.stale)
        else:
            d = self.backend.check(expected)
            missing, extra, stale = d.missing, d.extra, d.stale
        return CheckReport(len(expected), missing, extra, stale, pending)

    def ensure_ready(self) -> bool:
        """Run the backend's canary query; if it fails (missing or broken index), rebuild the
        index from the database. Returns ``True`` if a rebuild was needed."""
        result = self.backend.canary()
        if result.ok:
            return False
        current_app.logger.warning("search canary failed (%s); rebuilding the index", result.detail)
        self.retarget(self.index_dir)
        self.reindex()
        return True


@dataclass
class CheckReport:
    """Result of :meth:`SearchService.check`: ``expected`` documents, and the ``missing``,
    ``extra`` and ``stale`` ids; ``pending`` outbox rows not yet applied."""

    expected: int
    missing: list[str]
    extra: list[str]
    stale: list[str]
    pending: int

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.stale)

    def lines(self) -> list[str]:
        """Human-readable report lines."""
        out = [f"{self.expected} documents expected; {self.pending} change(s) waiting in the outbox."]
        for label, ids in (("missing from the index", self.missing), ("in the index but not public", self.extra),
                           ("out of date", self.stale)):
            if ids:
                out.append(f"{len(ids)} {label}: " + ", ".join(ids[:20]) + (" ..." if len(ids) > 20 else ""))
        out.append("OK: index and database agree." if self.ok else "The index differs: run `comun search reindex`.")
        return out


def payload_to_document(payload: dict):
    """Turn an outbox payload (JSON) into a backend ``SearchDocument``."""
    data = dict(payload)
    published = data.get("published_at")
    if isinstance(published, str):
        data["published_at"] = dt.datetime.fromisoformat(published)
    fields = {f for f in SearchDocument.__dataclass_fields__}
    return SearchDocument(**{k: v for k, v in data.items() if k in fields})


def init_search(app: Flask) -> None:
    """Attach the search service to ``app.extensions["comun"].search``."""
    name = app.config.get("SEARCH_BACKEND", "whoosh")
    if name not in ("whoosh", "sqlite", "postgres"):
        raise ConfigError(f"SEARCH_BACKEND: '{name}' is not one of whoosh, sqlite, postgres")
    if name == "postgres" and not str(app.config.get("SQLALCHEMY_DATABASE_URI", "")).startswith("postgresql"):
        raise ConfigError("SEARCH_BACKEND: 'postgres' needs a PostgreSQL database (DATABASE_URL = postgresql://...)")

    def factory(index_dir: Path):
        if name == "sqlite":
            return SQLiteFTSBackend(index_dir)
        if name == "postgres":
            return PostgresBackend(db.engine)
        return WhooshBackend(index_dir)
    service = SearchService(app, factory, writes_in_transaction=(name == "postgres"))
    app.extensions["comun"].search = service

    @app.after_request
    def _drain(response):
        # SEARCH_SYNC (tests, one process): skip the lock and the query when no outbox row was
        # inserted since the last drain (most requests publish nothing)
        if app.config.get("SEARCH_SYNC") and service.drained_inserts != _outbox_inserts:
            try:
                if not (db.session.new or db.session.dirty):
                    seen = _outbox_inserts  # rows committed while draining make the next request drain
                    service.drain_outbox()
                    service.drained_inserts = seen
            except Exception:
                app.logger.exception("search drain failed")
                db.session.rollback()
        return response


def get_search() -> SearchService:
    """Return the running application's :class:`SearchService`."""
    return current_app.extensions["comun"].search
