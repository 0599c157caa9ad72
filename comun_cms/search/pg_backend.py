"""PostgreSQL full-text implementation of :class:`~comun_cms.search.backend.SearchBackend`.

For deployments with several app hosts: the index is a table of the application's database, so
every host sees the same index and a publication is searchable as soon as its transaction
commits (the ``on_publish`` listener writes the row in that transaction through
:meth:`PostgresBackend.write_in_transaction`; no indexer process is needed).

Matching is the same as the Whoosh and SQLite backends': documents and queries are analyzed in
Python by the Spanish analyzer (:mod:`comun_cms.search.analysis`: accent folding, the Snowball
stemmer with the unaccented-suffix fix, codes kept whole), and the resulting terms are stored
verbatim in a ``tsvector`` (the literal input form, so PostgreSQL's parser never splits a code
such as ``STL-MEX/ORD19/2023/01``). Weights: title ``A``, keywords/codes ``B``, body ``C``;
ranking is ``ts_rank`` with PostgreSQL's default weights (A 1.0, B 0.4, C 0.2). The query string
is parsed by the shared Whoosh query parser (:mod:`comun_cms.search.querylang`) and translated
to a ``tsquery`` (``&``, ``|``, ``!``, ``<->`` for phrases, ``:A`` for ``titulo:``) plus SQL
conditions for the keyword fields (``tipo:``, ``estado:``, ``anio:``...).

Snippets come from ``ts_headline`` with the ``comun_es`` configuration (``unaccent`` then the
Spanish stemmer, created by :mod:`comun_cms.search.pg_schema`); its query is the user's words
(``websearch_to_tsquery``) OR the analyzer's stems as prefixes (``'inform':*``, so
"informaciones" is marked for the query "informacion", whose ``comun_es`` stems differ), over the body with ``<``/``>``
swapped for private-use characters (``ts_headline`` drops HTML tags) and marked with
private-use sentinels; the result is HTML-escaped in Python and the sentinels become
``<mark>``/``</mark>``.

Facets are one ``GROUP BY GROUPING SETS`` query over the matching rows. Suggestions ("¿quiso
decir…?") use ``pg_trgm``: the closest surface word of ``search_words`` by trigram similarity
whose stem is indexed and whose Damerau-Levenshtein distance to the typed word is at most 2.

``rebuild()`` replaces every row in one transaction under ``LOCK TABLE ... IN EXCLUSIVE MODE``:
readers keep seeing the old rows until the commit (MVCC), writers wait for it.

Sources: PostgreSQL manual chapter 12 "Full Text Search" (tsvector/tsquery input syntax,
``setweight`` weights, ``ts_rank``, ``ts_headline`` options), ``pg_trgm`` (F.35), ``GROUPING
SETS`` (7.2.4).
"""
from __future__ import annotations

import html
import re
import time
from datetime import timezone
from typing import Iterable, Optional

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine
from whoosh import query

from comun_cms.search.analysis import SPANISH_STOP_WORDS, fold, spanish_analyzer, stem_word
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
from comun_cms.search.pg_schema import CONFIGURATION, SCHEMA_STATEMENTS
from comun_cms.search.querylang import is_null, make_parser, parse_user_query, plain_words, positive_terms
from comun_cms.search.whoosh_engine import damerau
from comun_cms.search.whoosh_schema import make_schema

__all__ = ["PostgresBackend", "document_tsvector", "TSVECTOR_MAX_POSITION"]

_ANALYZER = spanish_analyzer()
_KEYWORD_COLUMNS = {"tenant", "content_type", "status", "year", "language"}
#: Largest position a tsvector stores (PostgreSQL clamps larger ones to it).
TSVECTOR_MAX_POSITION = 16383
_MAX_POSITIONS_PER_LEXEME = 256
_MAX_LEXEME_BYTES = 2046
# Private-use characters: highlight start/stop, and stand-ins for < and > (ts_headline drops tags).
_START, _STOP, _LT, _GT = "\ue000", "\ue001", "\ue002", "\ue003"
_WORD_RE = re.compile(r"[^\W\d_]{4,30}")
_INSERT_SQL = text(
    "INSERT INTO search_documents (id, tenant, content_type, status, year, language, version, title,"
    " body, url, keywords, published_at, tsv) VALUES (:id, :tenant, :content_type, :status, :year,"
    " :language, :version, :title, :body, :url, :keywords, :published_at, CAST(:tsv AS tsvector))"
    " ON CONFLICT (id) DO UPDATE SET tenant = excluded.tenant, content_type = excluded.content_type,"
    " status = excluded.status, year = excluded.year, language = excluded.language,"
    " version = excluded.version, title = excluded.title, body = excluded.body, url = excluded.url,"
    " keywords = excluded.keywords, published_at = excluded.published_at, tsv = excluded.tsv"
)
_WORDS_SQL = text(
    "INSERT INTO search_words (word, folded) SELECT w, f FROM unnest(CAST(:words AS text[]),"
    " CAST(:folded AS text[])) AS t(w, f) ON CONFLICT (word) DO NOTHING"
)


def _clean(value: str) -> str:
    """``value`` without NUL characters (PostgreSQL text cannot hold them)."""
    return (value or "").replace("\x00", "")


def _lexeme(term: str) -> str:
    """``term`` quoted for the tsvector/tsquery literal syntax (``'`` and ``\\`` doubled)."""
    return "'%s'" % term.replace("\\", "\\\\").replace("'", "''")


def document_tsvector(doc: SearchDocument) -> str:
    """The tsvector literal of ``doc``: analyzed terms with positions and weights.

    Terms come from the Spanish analyzer in index mode. Title terms get weight ``A``, keyword
    terms ``B``, body terms ``C``; positions run on through the three parts (a gap of 8 between
    parts so that a phrase never spans two of them). A code (compound token) takes the position
    of its first part, so phrases over its parts still match.

    Args:
        doc: the document.

    Returns:
        A string accepted by ``CAST(... AS tsvector)``, e.g. ``"'inform':1A,9C 'ley':2A"``;
        empty string for a document without terms.
    """
    positions: dict[str, list[str]] = {}
    pos = 0
    for weight, part in (("A", doc.title), ("B", "\n".join(doc.keywords)), ("C", doc.body)):
        for t in _ANALYZER(_clean(part), mode="index"):
            if len(t.text.encode("utf-8")) > _MAX_LEXEME_BYTES:
                continue
            if t.compound:
                at = pos + 1
            else:
                pos += 1
                at = pos
            plist = positions.setdefault(t.text, [])
            if len(plist) < _MAX_POSITIONS_PER_LEXEME:
                plist.append("%d%s" % (min(at, TSVECTOR_MAX_POSITION), weight))
        pos += 8
    return " ".join("%s:%s" % (_lexeme(term), ",".join(p)) for term, p in positions.items())


def _surface_words(doc: SearchDocument) -> tuple[list[str], list[str]]:
    """(lowercase surface words of 4..30 letters, their folded forms) of title and body."""
    words = sorted({w.lower() for w in _WORD_RE.findall(_clean(doc.title) + "\n" + _clean(doc.body))})
    return words, [fold(w) for w in words]


class _Untranslatable(Exception):
    pass


class PostgresBackend(SearchBackend):
    """PostgreSQL full-text search backend (tables ``search_documents`` and ``search_words``).

    Args:
        engine: a SQLAlchemy :class:`~sqlalchemy.engine.Engine` on PostgreSQL (the app passes
            ``db.engine``) or a database URL (``postgresql://...``; opened with psycopg).
        suggest_below: compute "did you mean" under this many hits.
        snippet_fragments: maximum fragments per snippet (``ts_headline`` ``MaxFragments``).
        create_schema: run :meth:`ensure_schema` when the tables are missing (benchmarks, tests;
            the app's database gets them from the migration).

    Raises:
        ValueError: if the engine's database is not PostgreSQL.
    """

    #: The ``on_publish`` listener writes through :meth:`write_in_transaction` (no outbox).
    writes_in_transaction = True

    def __init__(self, engine, *, suggest_below: int = 3, snippet_fragments: int = 2,
                 create_schema: bool = True):
        self._owns_engine = False
        if isinstance(engine, str):
            url = engine.replace("postgresql://", "postgresql+psycopg://", 1)
            engine = create_engine(url, pool_pre_ping=True)
            self._owns_engine = True
        if not isinstance(engine, Engine) or engine.dialect.name != "postgresql":
            raise ValueError("PostgresBackend needs a PostgreSQL database, got %r" % (engine,))
        self.engine = engine
        self.suggest_below = int(suggest_below)
        self.snippet_fragments = int(snippet_fragments)
        self._parser = make_parser(make_schema())
        if create_schema:
            with self.engine.connect() as conn:
                present = conn.execute(text("SELECT to_regclass('search_documents') IS NOT NULL"
                                            " AND to_regclass('search_words') IS NOT NULL")).scalar()
            if not present:
                self.ensure_schema()

    def ensure_schema(self) -> None:
        """Create the extensions, the ``comun_es`` configuration and the tables if missing
        (:data:`~comun_cms.search.pg_schema.SCHEMA_STATEMENTS`, under an advisory lock so two
        processes do not race)."""
        with self.engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('comun_search_schema'))"))
            for statement in SCHEMA_STATEMENTS:
                conn.exec_driver_sql(statement)

    def close(self) -> None:
        """Dispose of the engine if this object created it from a URL. Idempotent."""
        if self._owns_engine:
            self.engine.dispose()

    # -- writing -----------------------------------------------------------

    @staticmethod
    def _rows(docs: Iterable[SearchDocument]):
        for d in docs:
            if not isinstance(d, SearchDocument):
                raise TypeError("expected SearchDocument, got %r" % (d,))
            yield d, {
                "id": _clean(d.id), "tenant": fold(_clean(d.tenant)),
                "content_type": fold(_clean(d.content_type)), "status": fold(_clean(d.status)),
                "year": int(d.year), "language": fold(_clean(d.language or "es")),
                "version": _clean(str(d.version)), "title": _clean(d.title), "body": _clean(d.body),
                "url": _clean(d.url), "keywords": _clean("\n".join(d.keywords)),
                "published_at": as_utc(d.published_at), "tsv": document_tsvector(d),
            }

    def _write(self, conn: Connection, docs: Iterable[SearchDocument], progress=None, total=None,
               batch: int = 500) -> int:
        n = 0
        rows, words = [], set()
        for d, row in self._rows(docs):
            rows.append(row)
            ws, fs = _surface_words(d)
            words.update(zip(ws, fs))
            if len(rows) >= batch:
                n += self._flush(conn, rows, words)
                rows, words = [], set()
                if progress:
                    progress(n, total)
        if rows:
            n += self._flush(conn, rows, words)
        return n

    @staticmethod
    def _flush(conn: Connection, rows: list, words: set) -> int:
        # Within one batch the last version of an id wins (ON CONFLICT cannot touch a row twice
        # in one statement, and executemany runs one statement per row, so order is kept).
        conn.execute(_INSERT_SQL, rows)
        if words:
            ordered = sorted(words)
            conn.execute(_WORDS_SQL, {"words": [w for w, _ in ordered], "folded": [f for _, f in ordered]})
        return len(rows)

    def write_in_transaction(self, conn: Connection, upserts: Iterable[SearchDocument] = (),
                             deletes: Iterable[str] = ()) -> int:
        """Apply deletions then upserts on ``conn`` without committing (the caller's transaction
        commits or rolls them back with the rest of its work: used by the publishing
        transaction).

        Args:
            conn: a SQLAlchemy connection on this backend's database (e.g.
                ``db.session.connection()``).
            upserts: documents to add or replace.
            deletes: ids to delete; unknown ids are ignored.

        Returns:
            Number of documents written plus ids deleted.
        """
        ids = [_clean(str(i)) for i in deletes]
        if ids:
            conn.execute(text("DELETE FROM search_documents WHERE id = ANY(:ids)"), {"ids": ids})
        return len(ids) + self._write(conn, upserts)

    def index_documents(self, docs: Iterable[SearchDocument]) -> int:
        """Add or replace documents by id in one transaction (see base class)."""
        docs = list(docs)
        if not docs:
            return 0
        with self.engine.begin() as conn:
            return self._write(conn, docs)

    def delete_documents(self, ids: Iterable[str]) -> int:
        """Delete documents by id in one transaction (see base class)."""
        ids = [_clean(str(i)) for i in ids]
        if ids:
            with self.engine.begin() as conn:
                conn.execute(text("DELETE FROM search_documents WHERE id = ANY(:ids)"), {"ids": ids})
        return len(ids)

    def rebuild(self, docs: Iterable[SearchDocument], progress: Optional[ProgressCallback] = None) -> int:
        """Replace every document in one transaction (readers see the old rows until commit;
        other writers wait for it), then ``VACUUM ANALYZE`` the tables. Duplicate ids in
        ``docs``: the first one is kept."""
        total = len(docs) if hasattr(docs, "__len__") else None
        seen: set = set()

        def unique():
            for d in docs:
                if d.id not in seen:
                    seen.add(d.id)
                    yield d

        with self.engine.begin() as conn:
            conn.execute(text("LOCK TABLE search_documents, search_words IN EXCLUSIVE MODE"))
            conn.execute(text("DELETE FROM search_documents"))
            conn.execute(text("DELETE FROM search_words"))
            n = self._write(conn, unique(), progress, total, batch=2000)
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # the replaced rows' space becomes reusable at once (repeated reindexes do not grow the table)
            conn.execute(text("VACUUM ANALYZE search_documents"))
            conn.execute(text("VACUUM ANALYZE search_words"))
        if progress:
            progress(n, total)
        return n

    # -- inventory ---------------------------------------------------------

    def versions(self, tenant: Optional[str] = None) -> dict[str, str]:
        """``{id: version}`` of live documents (of ``tenant`` if given)."""
        with self.engine.connect() as conn:
            if tenant is None:
                return dict(conn.execute(text("SELECT id, version FROM search_documents")).all())
            return dict(conn.execute(text("SELECT id, version FROM search_documents WHERE tenant = :t"),
                                     {"t": fold(tenant)}).all())

    def document_ids_by_tenant(self, tenant: str) -> set[str]:
        """Ids of the documents of ``tenant``."""
        return set(self.versions(tenant))

    def count(self, tenant: Optional[str] = None) -> int:
        """Number of documents (of ``tenant`` if given)."""
        with self.engine.connect() as conn:
            if tenant is None:
                return conn.execute(text("SELECT count(*) FROM search_documents")).scalar()
            return conn.execute(text("SELECT count(*) FROM search_documents WHERE tenant = :t"),
                                {"t": fold(tenant)}).scalar()

    def canary(self) -> CanaryResult:
        """Count documents and run a tsquery through the GIN index; never raises."""
        t0 = time.perf_counter()
        try:
            with self.engine.connect() as conn:
                n = conn.execute(text("SELECT count(*) FROM search_documents")).scalar()
                conn.execute(text("SELECT id FROM search_documents WHERE tsv @@ CAST('zzcanary' AS tsquery)"
                                  " LIMIT 1")).all()
                conn.execute(text("SELECT ts_headline(CAST(:c AS regconfig), 'canario', "
                                  "websearch_to_tsquery(CAST(:c AS regconfig), 'canario'))"),
                             {"c": CONFIGURATION}).all()
            return CanaryResult(True, n, (time.perf_counter() - t0) * 1000.0,
                                "PostgreSQL %s" % self.engine.url.render_as_string(hide_password=True))
        except Exception as exc:
            return CanaryResult(False, 0, (time.perf_counter() - t0) * 1000.0, "%s: %s" % (type(exc).__name__, exc))

    # -- query translation -------------------------------------------------

    def _tsquery(self, q) -> str:
        """tsquery literal for a query made only of text-field nodes, else ``_Untranslatable``."""
        if isinstance(q, query.Term):
            if q.fieldname not in ("title", "content") or not q.text:
                raise _Untranslatable()
            return _lexeme(q.text) + (":A" if q.fieldname == "title" else "")
        if isinstance(q, query.Phrase):
            if q.fieldname not in ("title", "content") or not q.words:
                raise _Untranslatable()
            suffix = ":A" if q.fieldname == "title" else ""
            return "(" + " <-> ".join(_lexeme(w) + suffix for w in q.words) + ")"
        if isinstance(q, query.And):
            pos = [s for s in q.subqueries if not isinstance(s, query.Not)]
            neg = [s.query for s in q.subqueries if isinstance(s, query.Not)]
            if not pos:
                raise _Untranslatable()
            return "(" + " & ".join([self._tsquery(s) for s in pos] + ["!" + self._tsquery(s) for s in neg]) + ")"
        if isinstance(q, query.Or):
            if not q.subqueries or any(isinstance(s, query.Not) for s in q.subqueries):
                raise _Untranslatable()
            return "(" + " | ".join(self._tsquery(s) for s in q.subqueries) + ")"
        if isinstance(q, query.AndNot):
            return "(%s & !%s)" % (self._tsquery(q.a), self._tsquery(q.b))
        if isinstance(q, query.AndMaybe):
            return self._tsquery(q.a)
        raise _Untranslatable()

    def _sql(self, q, params: dict) -> str:
        """SQL condition on ``d`` (search_documents) for any parsed query; fills ``params``."""
        try:
            name = "q%d" % len(params)
            params[name] = self._tsquery(q)
            return "d.tsv @@ CAST(:%s AS tsquery)" % name
        except _Untranslatable:
            params.pop(name, None)
        if is_null(q):
            return "FALSE"
        if isinstance(q, query.Every):
            return "TRUE"
        if isinstance(q, query.Term) and q.fieldname in _KEYWORD_COLUMNS:
            name = "k%d" % len(params)
            if q.fieldname == "year":
                try:
                    params[name] = int(q.text)
                except ValueError:
                    return "FALSE"
            else:
                params[name] = fold(str(q.text))
            return "d.%s = :%s" % (q.fieldname, name)
        if isinstance(q, query.TermRange) and q.fieldname == "year":
            conds = []
            for bound, excl, op in ((q.start, q.startexcl, ">"), (q.end, q.endexcl, "<")):
                if bound is not None:
                    name = "k%d" % len(params)
                    try:
                        params[name] = int(bound)
                    except ValueError:
                        return "FALSE"
                    conds.append("d.year %s :%s" % (op if excl else op + "=", name))
            return "(" + (" AND ".join(conds) or "TRUE") + ")"
        if isinstance(q, (query.And, query.Or)):
            joiner = " AND " if isinstance(q, query.And) else " OR "
            parts = [self._sql(s, params) for s in q.subqueries]
            return "(" + (joiner.join(parts) or "TRUE") + ")"
        if isinstance(q, query.Not):
            return "NOT (%s)" % self._sql(q.query, params)
        if isinstance(q, query.AndNot):
            return "(%s AND NOT (%s))" % (self._sql(q.a, params), self._sql(q.b, params))
        if isinstance(q, query.AndMaybe):
            return self._sql(q.a, params)
        return "FALSE"

    def parse(self, text_: str):
        """Parse a user query (shared parser, see ``parse_user_query``)."""
        return parse_user_query(self._parser, text_)

    # -- searching ---------------------------------------------------------

    def search(self, sq: SearchQuery) -> SearchResults:
        """Run ``sq``; same semantics as the Whoosh backend (see base class)."""
        if not isinstance(sq, SearchQuery):
            raise TypeError("expected SearchQuery, got %r" % (sq,))
        user_q, fallback = self.parse(sq.text)
        params: dict = {}
        conds = []
        if sq.tenant:
            conds.append("d.tenant = :f_tenant")
            params["f_tenant"] = fold(sq.tenant)
        for col, values in (("tenant", sq.tenants), ("content_type", sq.content_types),
                            ("status", sq.statuses)):
            if values:
                conds.append("d.%s = ANY(:f_%ss)" % (col, col))
                params["f_%ss" % col] = [fold(v) for v in values]
        if sq.years:
            conds.append("d.year = ANY(:f_years)")
            params["f_years"] = [int(y) for y in sq.years]
        terms: list = []
        if user_q is not None:
            conds.append(self._sql(user_q, params))
            positive_terms(user_q, terms)
        rank_terms = sorted({(f, t) for f, t, _b in terms if f in ("title", "content") and t})
        where = " AND ".join(conds) or "TRUE"

        facets: dict = {f: {} for f in FACET_FIELDS} if sq.facets else {}
        offset = (sq.page - 1) * sq.per_page
        params.update(p_limit=sq.per_page, p_offset=offset)
        if rank_terms and sq.sort == "relevance":
            params["p_rank"] = " | ".join(_lexeme(t) + (":A" if f == "title" else "") for f, t in rank_terms)
            score, order = "ts_rank(d.tsv, CAST(:p_rank AS tsquery))", "score DESC, published_at DESC, id"
            if sq.boost_types:  # the query names these content types: their scores x TYPE_BOOST
                params["p_boost"] = [fold(ct) for ct in sq.boost_types]
                params["p_boost_factor"] = TYPE_BOOST
                score += " * (CASE WHEN d.content_type = ANY(:p_boost) THEN :p_boost_factor ELSE 1.0 END)"
        else:
            score, order = "CAST(0 AS real)", "published_at DESC, id DESC"
        # One scan of the matching rows (materialized) gives the facets (or the count) and the
        # page's ids: the tsvector of each match is read once, for @@ and ts_rank together.
        if sq.facets:
            counts = ("SELECT 0 AS kind, tenant, content_type, year, status, GROUPING(tenant) AS g_t,"
                      " GROUPING(content_type) AS g_c, GROUPING(year) AS g_y, count(*) AS n, NULL AS id, NULL AS score"
                      " FROM m GROUP BY GROUPING SETS ((tenant), (content_type), (year), (status))")
        else:
            counts = "SELECT 0, NULL, NULL, NULL, NULL, 1, 1, 1, count(*), NULL, NULL FROM m"
        sql = ("WITH m AS MATERIALIZED (SELECT d.id, d.tenant, d.content_type, d.year, d.status, d.published_at,"
               " %s AS score FROM search_documents d WHERE %s) %s UNION ALL SELECT 1, NULL, NULL, NULL, NULL,"
               " 1, 1, 1, row_number() OVER (ORDER BY %s), p.id, p.score FROM (SELECT id, score, published_at FROM m"
               " ORDER BY %s LIMIT :p_limit OFFSET :p_offset) p" % (score, where, counts, order, order))
        with self.engine.connect() as conn:
            if user_q is not None:
                # The planner does not count the cost of decompressing (detoasting) each row's
                # tsvector in a sequential scan, and picks one for frequent words: ~4x slower than
                # the GIN bitmap scan measured at 20,000 documents. Local to this transaction.
                conn.execute(text("SET LOCAL enable_seqscan = off"))
            total, page_ids, scores = 0, [], {}
            for kind, tenant, ctype, year, status, g_t, g_c, g_y, n, id_, score_ in conn.execute(text(sql), params):
                if kind == 1:
                    page_ids.append((n, id_))
                    scores[id_] = score_
                elif not sq.facets:
                    total = n
                elif not g_t:
                    facets["tenant"][tenant] = n
                elif not g_c:
                    facets["content_type"][ctype] = n
                elif not g_y:
                    facets["year"][year] = n
                else:
                    facets["status"][status] = n
            if sq.facets:
                for f in FACET_FIELDS:
                    if f == "year":
                        facets[f] = dict(sorted(facets[f].items(), reverse=True))
                    else:
                        facets[f] = dict(sorted(facets[f].items(), key=lambda kv: (-kv[1], str(kv[0]))))
                total = sum(facets["tenant"].values())
            pages = SearchResults.page_count(total, sq.per_page)
            ids = [i for _n, i in sorted(page_ids)]
            rows = {}
            if ids:
                page_params = {
                    "ids": ids, "p_cfg": CONFIGURATION, "p_words": self._headline_words(sq.text, user_q),
                    "p_prefix": " | ".join(sorted({_lexeme(t) + ":*" for _f, t in rank_terms if t.isalpha()})),
                    "p_opts": "StartSel=%s, StopSel=%s, MaxFragments=%d, MaxWords=30, MinWords=12"
                              % (_START, _STOP, max(1, self.snippet_fragments)),
                    # translate(): the sentinels are dropped from the body and < > become stand-ins
                    "p_strip": "<>" + _START + _STOP, "p_swap": _LT + _GT,
                }
                headline = (
                    "ts_headline(CAST(:p_cfg AS regconfig), translate(p.body, :p_strip, :p_swap),"
                    " websearch_to_tsquery(CAST(:p_cfg AS regconfig), :p_words) || CAST(:p_prefix AS tsquery),"
                    " :p_opts)" if sq.highlight else "''")
                sql = ("SELECT p.id, p.tenant, p.content_type, p.title, p.url, p.published_at, p.status, p.year, %s"
                       " FROM search_documents p WHERE p.id = ANY(:ids)" % headline)
                rows = {r[0]: r for r in conn.execute(text(sql), page_params)}
            hits = []
            for id_ in ids:
                if id_ not in rows:  # deleted between the two statements
                    continue
                _i, tenant, ctype, title, url, published, status, year, snippet = rows[id_]
                hits.append(SearchHit(id=id_, tenant=tenant, content_type=ctype, title=title, url=url,
                                      snippet_html=self._snippet_html(snippet) if sq.highlight else "",
                                      published_at=published.astimezone(timezone.utc),
                                      score=float(scores.get(id_) or 0.0), status=status, year=int(year)))
            suggestion = None
            if sq.text.strip() and total < self.suggest_below:
                suggestion = self._suggest(conn, sq.text)
        return SearchResults(total=total, hits=hits, facets=facets, suggestion=suggestion,
                             fallback_message=fallback, page=sq.page, pages=pages, per_page=sq.per_page)

    @staticmethod
    def _headline_words(raw: str, user_q) -> str:
        """``websearch_to_tsquery`` input highlighting the query's positive words (OR-ed)."""
        negated = {w.lower() for w in re.findall(r"(?:^|\s)-(\S+)", raw or "")}
        words = [w for w in plain_words(raw or "") if w.lower() not in negated]
        return " or ".join(words) if user_q is not None else ""

    @staticmethod
    def _snippet_html(headline: Optional[str]) -> str:
        """Safe HTML from a ``ts_headline`` result: escaped text, sentinels -> ``<mark>``."""
        out = html.escape((headline or "").replace(_LT, "<").replace(_GT, ">"), quote=False)
        return out.replace(_START, "<mark>").replace(_STOP, "</mark>").strip()

    def _stem_indexed(self, conn: Connection, stem: str) -> bool:
        return bool(conn.execute(text("SELECT 1 FROM search_documents WHERE tsv @@ CAST(:q AS tsquery) LIMIT 1"),
                                 {"q": _lexeme(stem)}).first())

    def _suggest(self, conn: Connection, raw_text: str) -> Optional[str]:
        """Replace unknown words by the closest indexed surface word (pg_trgm), or None."""
        try:
            out, changed = raw_text, False
            for raw in plain_words(raw_text):
                w = fold(raw)
                if not 4 <= len(w) <= 30 or not w.isalpha() or w in SPANISH_STOP_WORDS:
                    continue
                if self._stem_indexed(conn, stem_word(w)):
                    continue
                cands = conn.execute(
                    text("SELECT word, folded FROM search_words WHERE folded % :w"
                         " ORDER BY similarity(folded, :w) DESC, word LIMIT 10"), {"w": w}).all()
                for word, folded in cands:
                    if folded != w and damerau(w, folded) <= 2 and self._stem_indexed(conn, stem_word(folded)):
                        out = re.sub(r"(?<!\w)%s(?!\w)" % re.escape(raw), word, out, count=1)
                        changed = True
                        break
            return out if changed else None
        except Exception:
            return None
