"""SQLite FTS5 implementation of :class:`~comun_cms.search.backend.SearchBackend`.

Proves the interface is backend-neutral and gives the benchmark a baseline.
It uses the same Spanish analysis as the Whoosh backend: documents and
queries are analyzed in Python (:mod:`comun_cms.search.analysis`) and FTS5
indexes the resulting terms, so matching (accents, stems, codes) is the same;
the query string is parsed by the same Whoosh query parser and translated to
FTS5 ``MATCH`` expressions plus SQL conditions.

Storage: a directory holding ``CURRENT`` (name of the live database file)
and the database files ``db-<stamp>.sqlite3`` (WAL mode)::

    docs(rowid, id UNIQUE, tenant, content_type, status, year, language,
         version, title, body, url, keywords, published_at)
    fts  USING fts5(title, content, codes)   -- analyzed terms, rowid = docs.rowid

``content`` holds the analyzed words of body + title + code parts (in order,
for phrases); ``codes`` holds whole codes (``stl-mex/ord19/2023/01``).

Ranking is FTS5's built-in ``bm25()`` with the title column weighted by
``title_boost``; facets are ``GROUP BY`` over a materialized CTE of the
matching rowids; snippets re-analyze the body of the page's hits.

``rebuild()`` writes a new database file next to the live one and swaps the
``CURRENT`` pointer with ``os.replace``; readers notice and reopen.  (The
database file itself is never replaced in place: its ``-wal``/``-shm``
companions belong to the old file while old connections are open.)  Writes
during a rebuild wait for it (a process lock), unlike the Whoosh backend's
journal.

Sources: SQLite FTS5 (https://www.sqlite.org/fts5.html: query syntax,
``bm25()``, ``tokenchars``, fts5vocab), SQLite WAL
(https://www.sqlite.org/wal.html).
"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
import sqlite3
import threading
import time
from collections import Counter
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Optional

from whoosh import query

from comun_cms.search.analysis import (
    SPANISH_STOP_WORDS,
    fold,
    spanish_analyzer,
    stem_word,
)
from comun_cms.search.backend import (
    FACET_FIELDS,
    TYPE_BOOST,
    CanaryResult,
    ProgressCallback,
    SearchBackend,
    SearchDocument,
    SearchHit,
    SearchQuery,
    SearchResults,
    as_utc,
)
from comun_cms.search.snippets import make_snippet
from comun_cms.search.whoosh_backend import (
    _is_null,
    _plain_words,
    _positive_terms,
    damerau,
    make_parser,
    make_schema,
    parse_user_query,
)

__all__ = ["SQLiteFTSBackend"]

_ANALYZER = spanish_analyzer()
_KEYWORD_COLUMNS = {"tenant", "content_type", "status", "year", "language"}
_SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS docs (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    tenant TEXT NOT NULL,
    content_type TEXT NOT NULL,
    status TEXT NOT NULL,
    year INTEGER NOT NULL,
    language TEXT NOT NULL,
    version TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    url TEXT NOT NULL,
    keywords TEXT NOT NULL,
    published_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS docs_tenant ON docs(tenant, published_at);
CREATE INDEX IF NOT EXISTS docs_date ON docs(published_at);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(
    title, content, codes, tokenize = "unicode61 remove_diacritics 0 tokenchars '-/._'"
);
CREATE VIRTUAL TABLE IF NOT EXISTS vocab USING fts5vocab(fts, 'row');
"""


def _analyzed(text: str) -> tuple[str, str]:
    """(words for ``content``/``title``, whole codes) of ``text``."""
    words, codes = [], []
    for t in _ANALYZER(text, mode="index"):
        (codes if t.compound else words).append(t.text)
    return " ".join(words), " ".join(codes)


def _fts_string(text: str) -> str:
    return '"%s"' % text.replace('"', '""')


class _Untranslatable(Exception):
    pass


class SQLiteFTSBackend(SearchBackend):
    """SQLite FTS5 search backend (single file).

    Args:
        path: directory for the database files (created if missing).
        title_boost: ``bm25()`` weight of the title column (content = 1).
        suggest_below: compute "did you mean" under this many hits.
        snippet_fragments: maximum fragments per snippet.
        lock_timeout: seconds to wait for the write lock.
    """

    def __init__(self, path, *, title_boost: float = 2.0, suggest_below: int = 3,
                 snippet_fragments: int = 2, lock_timeout: float = 600.0):
        self.root = Path(path)
        self.root.mkdir(parents=True, exist_ok=True)
        self.title_boost = float(title_boost)
        self.suggest_below = int(suggest_below)
        self.snippet_fragments = int(snippet_fragments)
        self.lock_timeout = float(lock_timeout)
        self._parser = make_parser(make_schema())
        self._local = threading.local()
        self._conns_lock = threading.Lock()
        self._conns: list = []
        self._thread_lock = threading.RLock()
        with self._write_lock():
            if self._current() is None:
                name = self._new_name()
                self._create(self.root / name).close()
                self._set_current(name)

    def _new_name(self) -> str:
        return "db-%s-%s.sqlite3" % (time.strftime("%Y%m%dT%H%M%S", time.gmtime()), secrets.token_hex(3))

    def _current(self) -> Optional[Path]:
        try:
            name = (self.root / "CURRENT").read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return self.root / name if name else None

    def _set_current(self, name: str) -> None:
        tmp = self.root / ("CURRENT.tmp-%d" % os.getpid())
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(name + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.root / "CURRENT")

    @property
    def path(self) -> Path:
        """The live database file."""
        return self._current()

    # -- connections -------------------------------------------------------

    @staticmethod
    def _create(path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(str(path), check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(_SCHEMA_SQL)
        conn.commit()
        return conn

    def _conn(self) -> sqlite3.Connection:
        st = self._local
        try:
            stt = os.stat(self.root / "CURRENT")
            ino = (stt.st_ino, stt.st_mtime_ns)
        except FileNotFoundError:
            ino = None
        conn = getattr(st, "conn", None)
        if conn is None or st.ino != ino:
            if conn is not None:
                conn.close()
            conn = sqlite3.connect(str(self._current()), check_same_thread=False, timeout=self.lock_timeout)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA temp_store=MEMORY")
            conn.execute("PRAGMA cache_size=-65536")
            st.conn, st.ino = conn, ino
            with self._conns_lock:
                self._conns.append(st)
        return conn

    @contextmanager
    def _write_lock(self):
        with self._thread_lock:
            self.root.mkdir(parents=True, exist_ok=True)
            with open(self.root / ".backend.lock", "a+") as fh:
                deadline = time.monotonic() + self.lock_timeout
                while True:
                    try:
                        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() > deadline:
                            raise TimeoutError("search database write lock busy: %s" % self.root)
                        time.sleep(0.05)
                try:
                    yield
                finally:
                    fcntl.flock(fh, fcntl.LOCK_UN)

    def close(self) -> None:
        """Close every connection opened by this object. Idempotent."""
        with self._conns_lock:
            states, self._conns = self._conns, []
        for st in states:
            c = getattr(st, "conn", None)
            if c is not None:
                try:
                    c.close()
                except Exception:
                    pass
                st.conn = None

    # -- writing -----------------------------------------------------------

    @staticmethod
    def _insert(conn, docs: Iterable[SearchDocument], progress=None, total=None) -> int:
        n = 0
        for d in docs:
            if not isinstance(d, SearchDocument):
                raise TypeError("expected SearchDocument, got %r" % (d,))
            row = conn.execute("SELECT rowid FROM docs WHERE id = ?", (d.id,)).fetchone()
            if row:
                conn.execute("DELETE FROM fts WHERE rowid = ?", row)
                conn.execute("DELETE FROM docs WHERE rowid = ?", row)
            cur = conn.execute(
                "INSERT INTO docs(id, tenant, content_type, status, year, language, version, title,"
                " body, url, keywords, published_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (d.id, fold(d.tenant), fold(d.content_type), fold(d.status), int(d.year),
                 fold(d.language or "es"), str(d.version), d.title or "", d.body or "", d.url or "",
                 "\n".join(d.keywords), int(as_utc(d.published_at).timestamp())),
            )
            title_words, _ = _analyzed(d.title or "")
            content_words, codes = _analyzed("%s\n%s\n%s" % (d.body or "", d.title or "", " ".join(d.keywords)))
            conn.execute(
                "INSERT INTO fts(rowid, title, content, codes) VALUES (?,?,?,?)",
                (cur.lastrowid, title_words, content_words, codes),
            )
            n += 1
            if progress and n % 1000 == 0:
                progress(n, total)
        return n

    def index_documents(self, docs: Iterable[SearchDocument]) -> int:
        """Add or replace documents by id in one transaction (see base class)."""
        docs = list(docs)
        if not docs:
            return 0
        with self._write_lock():
            conn = self._conn()
            with conn:
                return self._insert(conn, docs)

    def delete_documents(self, ids: Iterable[str]) -> int:
        """Delete documents by id in one transaction (see base class)."""
        ids = [str(i) for i in ids]
        if not ids:
            return 0
        with self._write_lock():
            conn = self._conn()
            with conn:
                for i in ids:
                    row = conn.execute("SELECT rowid FROM docs WHERE id = ?", (i,)).fetchone()
                    if row:
                        conn.execute("DELETE FROM fts WHERE rowid = ?", row)
                        conn.execute("DELETE FROM docs WHERE rowid = ?", row)
        return len(ids)

    def delete_tenant(self, tenant: str) -> int:
        """Delete every document of ``tenant``; returns how many there were."""
        with self._write_lock():
            conn = self._conn()
            with conn:
                rows = conn.execute("SELECT rowid FROM docs WHERE tenant = ?", (fold(tenant),)).fetchall()
                conn.executemany("DELETE FROM fts WHERE rowid = ?", rows)
                conn.executemany("DELETE FROM docs WHERE rowid = ?", rows)
        return len(rows)

    def rebuild(self, docs: Iterable[SearchDocument], progress: Optional[ProgressCallback] = None) -> int:
        """Write a new database file aside and ``os.replace`` it over the live one."""
        total = len(docs) if hasattr(docs, "__len__") else None
        with self._write_lock():
            name = self._new_name()
            path = self.root / name
            conn = self._create(path)
            try:
                conn.execute("PRAGMA journal_mode=OFF")
                conn.execute("PRAGMA synchronous=OFF")
                seen: set = set()

                def unique():
                    for d in docs:
                        if d.id not in seen:
                            seen.add(d.id)
                            yield d

                with conn:
                    n = self._insert(conn, unique(), progress, total)
                conn.execute("INSERT INTO fts(fts) VALUES('optimize')")
                conn.commit()
                conn.execute("PRAGMA journal_mode=WAL")
                conn.close()
            except BaseException:
                conn.close()
                path.unlink(missing_ok=True)
                raise
            previous = self._current()
            self._set_current(name)
            # Keep the previous file for readers that opened it just before the swap.
            for p in self.root.glob("db-*.sqlite3*"):
                base = p.name.split(".sqlite3")[0] + ".sqlite3"
                if base not in (name, previous.name if previous else None):
                    p.unlink(missing_ok=True)
        if progress:
            progress(n, total)
        return n

    # -- inventory ---------------------------------------------------------

    def versions(self, tenant: Optional[str] = None) -> dict[str, str]:
        """``{id: version}`` of live documents (of ``tenant`` if given)."""
        conn = self._conn()
        if tenant is None:
            return dict(conn.execute("SELECT id, version FROM docs"))
        return dict(conn.execute("SELECT id, version FROM docs WHERE tenant = ?", (fold(tenant),)))

    def document_ids_by_tenant(self, tenant: str) -> set[str]:
        """Ids of the documents of ``tenant``."""
        return {r[0] for r in self._conn().execute("SELECT id FROM docs WHERE tenant = ?", (fold(tenant),))}

    def count(self, tenant: Optional[str] = None) -> int:
        """Number of documents (of ``tenant`` if given)."""
        conn = self._conn()
        if tenant is None:
            return conn.execute("SELECT count(*) FROM docs").fetchone()[0]
        return conn.execute("SELECT count(*) FROM docs WHERE tenant = ?", (fold(tenant),)).fetchone()[0]

    def canary(self) -> CanaryResult:
        """Count documents and run a MATCH query; never raises."""
        t0 = time.perf_counter()
        try:
            conn = self._conn()
            n = conn.execute("SELECT count(*) FROM docs").fetchone()[0]
            conn.execute("SELECT rowid FROM fts WHERE fts MATCH ? LIMIT 1", ('"zzcanary"',)).fetchall()
            return CanaryResult(True, n, (time.perf_counter() - t0) * 1000.0, str(self._current()))
        except Exception as exc:
            return CanaryResult(False, 0, (time.perf_counter() - t0) * 1000.0, "%s: %s" % (type(exc).__name__, exc))

    # -- query translation -------------------------------------------------

    def _match_expr(self, q) -> str:
        """FTS5 MATCH expression for a query made only of text-field nodes."""
        if isinstance(q, query.Term):
            if q.fieldname == "title":
                return "title : %s" % _fts_string(q.text)
            if q.fieldname == "content":
                col = "codes" if any(c in q.text for c in "-/._") else "content"
                return "%s : %s" % (col, _fts_string(q.text))
            raise _Untranslatable()
        if isinstance(q, query.Phrase):
            col = "title" if q.fieldname == "title" else "content"
            return "%s : %s" % (col, _fts_string(" ".join(q.words)))
        if isinstance(q, query.And):
            pos = [s for s in q.subqueries if not isinstance(s, query.Not)]
            neg = [s.query for s in q.subqueries if isinstance(s, query.Not)]
            if not pos:
                raise _Untranslatable()
            expr = "(" + " AND ".join(self._match_expr(s) for s in pos) + ")"
            for s in neg:
                expr = "(%s NOT %s)" % (expr, self._match_expr(s))
            return expr
        if isinstance(q, query.Or):
            if any(isinstance(s, query.Not) for s in q.subqueries):
                raise _Untranslatable()
            return "(" + " OR ".join(self._match_expr(s) for s in q.subqueries) + ")"
        if isinstance(q, query.AndNot):
            return "(%s NOT %s)" % (self._match_expr(q.a), self._match_expr(q.b))
        if isinstance(q, query.AndMaybe):
            return self._match_expr(q.a)
        raise _Untranslatable()

    def _sql(self, q) -> tuple[str, list]:
        """SQL condition on ``d`` (docs) for any parsed query."""
        try:
            return "d.rowid IN (SELECT rowid FROM fts WHERE fts MATCH ?)", [self._match_expr(q)]
        except _Untranslatable:
            pass
        if _is_null(q):
            return "0", []
        if isinstance(q, query.Every):
            return "1", []
        if isinstance(q, query.Term) and q.fieldname in _KEYWORD_COLUMNS:
            if q.fieldname == "year":
                try:
                    return "d.year = ?", [int(q.text)]
                except ValueError:
                    return "0", []
            return "d.%s = ?" % q.fieldname, [fold(str(q.text))]
        if isinstance(q, query.TermRange) and q.fieldname == "year":
            conds, params = [], []
            if q.start is not None:
                conds.append("d.year %s ?" % (">" if q.startexcl else ">="))
                params.append(int(q.start))
            if q.end is not None:
                conds.append("d.year %s ?" % ("<" if q.endexcl else "<="))
                params.append(int(q.end))
            return "(" + (" AND ".join(conds) or "1") + ")", params
        if isinstance(q, (query.And, query.Or)):
            joiner = " AND " if isinstance(q, query.And) else " OR "
            parts, params = [], []
            for s in q.subqueries:
                sql, p = self._sql(s)
                parts.append(sql)
                params.extend(p)
            return "(" + joiner.join(parts) + ")", params
        if isinstance(q, query.Not):
            sql, p = self._sql(q.query)
            return "NOT (%s)" % sql, p
        if isinstance(q, query.AndNot):
            a, pa = self._sql(q.a)
            b, pb = self._sql(q.b)
            return "(%s AND NOT (%s))" % (a, b), pa + pb
        if isinstance(q, query.AndMaybe):
            return self._sql(q.a)
        return "0", []

    def parse(self, text: str):
        """Parse a user query (shared parser, see ``parse_user_query``)."""
        return parse_user_query(self._parser, text)

    # -- searching ---------------------------------------------------------

    def search(self, sq: SearchQuery) -> SearchResults:
        """Run ``sq``; same semantics as the Whoosh backend (see base class)."""
        if not isinstance(sq, SearchQuery):
            raise TypeError("expected SearchQuery, got %r" % (sq,))
        user_q, fallback = self.parse(sq.text)
        conn = self._conn()
        conds, params = [], []
        if sq.tenant:
            conds.append("d.tenant = ?")
            params.append(fold(sq.tenant))
        for col, values in (("tenant", sq.tenants), ("content_type", sq.content_types),
                            ("status", sq.statuses)):
            if values:
                conds.append("d.%s IN (%s)" % (col, ",".join("?" * len(values))))
                params.extend(fold(v) for v in values)
        if sq.years:
            conds.append("d.year IN (%s)" % ",".join("?" * len(sq.years)))
            params.extend(int(y) for y in sq.years)
        match_expr = None
        if user_q is not None:
            try:
                match_expr = self._match_expr(user_q)
            except _Untranslatable:
                sql, p = self._sql(user_q)
                conds.append(sql)
                params.extend(p)
        where = " AND ".join(conds) or "1"

        if match_expr is not None:
            # CROSS JOIN keeps FTS5 as the outer loop: otherwise SQLite may scan
            # docs by the tenant index and re-run MATCH for every row.
            base = "FROM fts CROSS JOIN docs d ON d.rowid = fts.rowid WHERE fts MATCH ? AND %s" % where
            base_params = [match_expr] + params
        else:
            base = "FROM docs d WHERE %s" % where
            base_params = params

        facets: dict = {f: {} for f in FACET_FIELDS} if sq.facets else {}
        try:
            if sq.facets:
                # One pass over the matching rows gives the facets and the total.
                sql = (
                    "WITH m AS MATERIALIZED (SELECT d.rowid AS r " + base + ") "
                    + " UNION ALL ".join(
                        "SELECT '%s', d.%s, count(*) FROM m JOIN docs d ON d.rowid = m.r GROUP BY d.%s"
                        % (f, f, f)
                        for f in FACET_FIELDS
                    )
                )
                for f, value, n in conn.execute(sql, base_params).fetchall():
                    facets[f][value] = n
                for f in FACET_FIELDS:
                    if f == "year":
                        facets[f] = dict(sorted(facets[f].items(), reverse=True))
                    else:
                        facets[f] = dict(sorted(facets[f].items(), key=lambda kv: (-kv[1], str(kv[0]))))
                total = sum(facets["tenant"].values())
            else:
                total = conn.execute("SELECT count(*) " + base, base_params).fetchone()[0]
        except sqlite3.OperationalError:
            total, base = 0, None

        pages = SearchResults.page_count(total, sq.per_page)
        offset = (sq.page - 1) * sq.per_page
        rows = []
        if base and total and offset < total:
            cols = "d.id, d.tenant, d.content_type, d.title, d.url, d.body, d.published_at, d.status, d.year"
            if match_expr is not None and sq.sort == "relevance":
                # bm25() is negative (lower is better): multiplying by TYPE_BOOST ranks a named type higher
                boost = "".join(" * (CASE WHEN d.content_type = '%s' THEN %f ELSE 1.0 END)" % (fold(ct), TYPE_BOOST)
                                for ct in sq.boost_types if ct.replace("_", "").isalnum())
                sql = "SELECT %s, bm25(fts, %f, 1.0, 1.0)%s AS s %s ORDER BY s LIMIT ? OFFSET ?" % (
                    cols, self.title_boost, boost, base)
            else:
                sql = "SELECT %s, 0.0 AS s %s ORDER BY d.published_at DESC, d.rowid DESC LIMIT ? OFFSET ?" % (
                    cols, base)
            rows = conn.execute(sql, base_params + [sq.per_page, offset]).fetchall()

        terms: list = []
        if user_q is not None:
            _positive_terms(user_q, terms)
        hl_terms = {t for f, t, _b in terms if f == "content"}
        hits = []
        for id_, tenant, ctype, title, url, body, ts, status, year, score in rows:
            snippet = ""
            if sq.highlight:
                spans = []
                if hl_terms:
                    for t in _ANALYZER(body, chars=True, positions=True, mode="index"):
                        if t.text in hl_terms:
                            spans.append((t.text, t.pos, t.startchar, t.endchar))
                snippet = make_snippet(body, spans, self.snippet_fragments)
            hits.append(SearchHit(
                id=id_, tenant=tenant, content_type=ctype, title=title, url=url, snippet_html=snippet,
                published_at=datetime.fromtimestamp(ts, tz=timezone.utc), score=-float(score),
                status=status, year=int(year),
            ))
        suggestion = None
        if sq.text.strip() and total < self.suggest_below:
            suggestion = self._suggest(conn, sq.text)
        return SearchResults(total=total, hits=hits, facets=facets, suggestion=suggestion,
                             fallback_message=fallback, page=sq.page, pages=pages, per_page=sq.per_page)

    def _suggest(self, conn, text: str) -> Optional[str]:
        """Closest frequent indexed word for unknown words (fts5vocab), or None."""
        try:
            out, changed = text, False
            for raw in _plain_words(text):
                w = fold(raw)
                if not 4 <= len(w) <= 30 or not w.isalpha() or w in SPANISH_STOP_WORDS:
                    continue
                stem = stem_word(w)
                if conn.execute("SELECT 1 FROM vocab WHERE term = ?", (stem,)).fetchone():
                    continue
                cands = conn.execute(
                    "SELECT term, doc FROM vocab WHERE term >= ? AND term < ? AND length(term) BETWEEN ? AND ?",
                    (stem[0], chr(ord(stem[0]) + 1), len(stem) - 2, len(stem) + 2),
                ).fetchall()
                scored = [(damerau(stem, c), -n, c) for c, n in cands if c != stem]
                scored = [s for s in scored if s[0] <= 2]
                if not scored:
                    continue
                best = min(scored)[2]
                word = self._surface_form(conn, best)
                if word and damerau(w, fold(word)) <= 3:
                    out = re.sub(r"(?<!\w)%s(?!\w)" % re.escape(raw), word, out, count=1)
                    changed = True
            return out if changed else None
        except Exception:
            return None

    def _surface_form(self, conn, stem: str) -> Optional[str]:
        row = conn.execute(
            "SELECT d.body, d.title FROM fts JOIN docs d ON d.rowid = fts.rowid WHERE fts MATCH ? LIMIT 1",
            ("content : %s" % _fts_string(stem),),
        ).fetchone()
        if not row:
            return None
        text = row[0] + "\n" + row[1]
        forms: Counter = Counter()
        for t in _ANALYZER(text, chars=True, mode="index"):
            if t.text == stem:
                forms[text[t.startchar : t.endchar].lower()] += 1
        return forms.most_common(1)[0][0] if forms else None
