"""Search pages: the portal search across every public state (``/buscar``), each tenant's
search (``/<tenant>/buscar``), the JSON endpoint ``/api/v1/search`` (same parameters) and
OpenSearch descriptions so browsers can add the search engine.

Query parameters (all optional): ``q`` (text), ``estado`` (tenant slug, repeatable; portal),
``tipo`` (content type, repeatable), ``anio`` (year, repeatable), ``situacion`` (status,
repeatable), ``orden`` (``relevancia`` | ``fecha``), ``pagina`` (1-based).
Invalid values are ignored, never an error. Training tenants are only searchable on their own
site.
"""
from __future__ import annotations

import re

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request, url_for
from flask_babel import gettext as _

from comun_cms.extensions import limiter
from comun_cms.search.analysis import fold
from comun_cms.search.backend import SearchQuery, SearchResults
from comun_cms.search.service import get_search
from comun_cms.tenancy import get_current_tenant
from comun_cms.views.subscriptions import new_follow_form
from comun_cms.views.api_v1 import api_rate_limit

portal_bp = Blueprint("search", __name__)
tenant_bp = Blueprint("tenant_search", __name__)
MAX_QUERY = 500  # characters kept from the query text


def public_tenants() -> dict:
    """Non-training tenants, by slug."""
    return current_app.extensions["comun"].public_tenants()


def _word_key(word: str) -> str:
    """A word folded (case, accents) without a plural ending: "Sesiones" -> "sesion"."""
    w = fold(word)
    for ending in ("es", "s"):
        if len(w) > 4 + len(ending) and w.endswith(ending):
            return w[: -len(ending)]
    return w


def named_types(text: str, registry) -> list[str]:
    """Content types the query names: those whose label or plural label, in the user's
    language, shares a word of at least 4 letters with ``text`` ("sesión ordinaria" names the
    minutes and the calls of sessions). Their documents rank higher (``boost_types``)."""
    words = {_word_key(w) for w in re.findall(r"\w+", text) if len(w) >= 4}
    if not words:
        return []
    named = []
    for ct in registry:
        label_words = {_word_key(w) for w in re.findall(r"\w+", f"{ct.label} {ct.label_plural}") if len(w) >= 4}
        if words & label_words:
            named.append(ct.name)
    return named


def build_query(args, tenant=None) -> SearchQuery:
    """Turn request arguments into a :class:`SearchQuery` (bad values dropped, text cut to
    500 characters, control characters removed); content types the text names rank higher
    (:func:`named_types`)."""
    text = "".join(ch for ch in (args.get("q") or "")[:MAX_QUERY] if ch.isprintable() or ch == " ")
    registry = current_app.extensions["comun"].content_types
    types = [t for t in args.getlist("tipo") if t in registry]
    years = [int(y) for y in args.getlist("anio") if y.isascii() and y.isdigit() and len(y) == 4 and 1900 < int(y) < 3000]
    statuses = [s for s in args.getlist("situacion") if s.isidentifier()][:10]
    page = max(1, min(args.get("pagina", 1, type=int) or 1, 1000))
    sort = "date" if args.get("orden") == "fecha" else "relevance"
    boost = named_types(text, registry)
    if tenant is not None:
        return SearchQuery(text=text, tenant=tenant.slug, content_types=types, years=years, statuses=statuses,
                           sort=sort, page=page, per_page=10, boost_types=boost)
    allowed = public_tenants()
    chosen = [s for s in args.getlist("estado") if s in allowed]
    return SearchQuery(text=text, tenants=chosen or list(allowed), content_types=types, years=years,
                       statuses=statuses, sort=sort, page=page, per_page=10, boost_types=boost)


def run_query(query: SearchQuery) -> SearchResults:
    """Run ``query``; on the portal, facet counts only cover public tenants, and with no public
    tenant nothing is searched (an empty tenant list would mean "no filter" to the backend)."""
    if query.tenant is None and not query.tenants:
        return SearchResults(total=0, hits=[], facets={}, suggestion=None, fallback_message=None, page=1, pages=0)
    results = get_search().search(query)
    if query.tenant is None:
        allowed = public_tenants()
        results.facets["tenant"] = {k: v for k, v in results.facets.get("tenant", {}).items() if k in allowed}
    return results


def status_labels() -> dict[str, str]:
    """``{status code: label}`` for the search ``status`` facet: the core's ``published``,
    ``corrected`` and ``retracted``, then each content type's ``status_labels`` (first wins)."""
    labels = {"published": _("Published"), "corrected": _("Corrected"), "retracted": _("Retracted")}
    for ct in current_app.extensions["comun"].content_types:
        for code, label in ct.status_labels.items():
            labels.setdefault(code, str(label))
    return labels


def collapse_shared(hits: list) -> list[tuple]:
    """Group the hits of one results page that are the same document published by several
    states (same content type, title and excerpt, e.g. a shared guide): ``[(hit, also)]``
    where ``also`` lists the other states' hits, in rank order. Ranks and totals are unchanged;
    the first (best ranked) copy stands for the group."""
    groups: dict[tuple, list] = {}
    order = []
    for hit in hits:
        key = (hit.content_type, hit.title.strip().casefold(), hit.snippet_html)
        if key not in groups:
            groups[key] = []
            order.append((hit, key))
        else:
            groups[key].append(hit)
    return [(hit, groups[key]) for hit, key in order]


def _labels() -> dict:
    state = current_app.extensions["comun"]
    return {"tenant": {s: t.state for s, t in state.tenants.items()},
            "content_type": {ct.name: str(ct.label) for ct in state.content_types},
            "status": status_labels()}


def _render(tenant):
    query = build_query(request.args, tenant)
    results = run_query(query) if (query.text or request.args) else None
    rows = collapse_shared(results.hits) if results and tenant is None else [(h, []) for h in (results.hits if results else [])]
    follow_form = new_follow_form(q=query.text) if tenant is not None and query.text else None
    return render_template("search/results.html", query=query, results=results, labels=_labels(), rows=rows,
                           follow_form=follow_form,
                           fallback=bool(results and results.fallback_message),
                           selected={"estado": request.args.getlist("estado"), "tipo": request.args.getlist("tipo"),
                                     "anio": request.args.getlist("anio"),
                                     "situacion": request.args.getlist("situacion")})


@portal_bp.get("/buscar")
def portal_search():
    """Search every public state."""
    return _render(None)


@tenant_bp.get("/buscar")
def tenant_search():
    """Search the current tenant."""
    return _render(get_current_tenant())


@portal_bp.get("/api/v1/search")
@limiter.shared_limit(api_rate_limit, scope="api_v1")
def api_search():
    """JSON search: same parameters as ``/buscar`` plus ``tenant`` (one state).

    Returns ``{"query", "total", "page", "pages", "hits": [{id, tenant, content_type, title,
    url, snippet_html, published_at, score}], "facets", "suggestion", "fallback_message"}``.
    """
    tenant = None
    slug = request.args.get("tenant")
    if slug:
        tenant = public_tenants().get(slug)
        if tenant is None:
            return jsonify(error={"status": 400, "code": "unknown_tenant", "field": "tenant",
                                  "message": _("Unknown state “%(slug)s”.", slug=slug)}), 400
    query = build_query(request.args, tenant)
    results = run_query(query)
    response = jsonify({
        "query": query.text, "total": results.total, "page": results.page, "pages": results.pages,
        "hits": [{"id": h.id, "tenant": h.tenant, "content_type": h.content_type, "title": h.title,
                  "url": h.url, "snippet_html": h.snippet_html, "published_at": h.published_at.isoformat(),
                  "score": h.score} for h in results.hits],
        "facets": {k: {str(kk): vv for kk, vv in v.items()} for k, v in results.facets.items()},
        "suggestion": results.suggestion,
        "fallback_message": _("Your query had a syntax error; only its words were searched.")
        if results.fallback_message else None,
    })
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _opensearch(name: str, search_url: str, home: str) -> Response:
    xml = render_template("search/opensearch.xml", name=name, search_url=search_url, home=home,
                          self_url=url_for(request.endpoint, _external=True))
    return Response(xml, mimetype="application/opensearchdescription+xml")


@portal_bp.get("/opensearch.xml")
def portal_opensearch():
    """OpenSearch 1.1 description of the portal search."""
    return _opensearch("CO+MÚN", url_for("search.portal_search", _external=True), url_for("portal.home", _external=True))


@tenant_bp.get("/opensearch.xml")
def tenant_opensearch():
    """OpenSearch 1.1 description of a tenant's search."""
    tenant = get_current_tenant()
    if tenant is None:
        abort(404)
    return _opensearch(tenant.short_name, url_for("tenant_search.tenant_search", _external=True),
                       url_for("public.home", _external=True))
