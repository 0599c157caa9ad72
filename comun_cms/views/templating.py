"""Template context shared by every page: current tenant, navigation, plugin slots, language
switch, formatting filters and the theme's static files.

Globals (every template): ``current_tenant`` (:class:`~comun_cms.tenancy.Tenant` or ``None``),
``tenants`` (non-training tenants, for the portal navigation), ``public_menu`` (list of
:class:`NavLink`), ``slot(name, **context)``, ``has_role(*roles)``, ``lang_urls``
(``{locale: url}``), ``current_locale``, ``html_lang``, ``locale_names``, ``theme_url(path)``,
``site_name``, ``colors_css_url()``, ``render_widget(widget)``.

Filters: ``datetime`` / ``date`` (Babel, tenant time zone), ``markdown`` (sanitized HTML),
``filesize`` (human size of a byte count). Test: ``web_url`` (an http(s) address).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import zoneinfo
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, abort, current_app, g, has_request_context, request, send_file, url_for
from flask_babel import format_date, format_datetime, format_decimal, get_locale, lazy_gettext as _l, ngettext
from flask_login import current_user
from markupsafe import Markup, escape
from werkzeug.routing import BuildError
from werkzeug.security import safe_join

from comun_cms.hooktypes import ContentType, PortalWidget
from comun_cms.i18n import LOCALE_NAMES
from comun_cms.pagecache import memo_per_generation
from comun_cms.permissions import REDACT, can, has_role
from comun_cms.plugins import flatten, portal_hook, tenant_hook
from comun_cms.editing import preview_of, previewed_here
from comun_cms.publishing import redaction_of
from comun_cms.richtext import render_markdown
from comun_cms.tenancy import Tenant, get_current_tenant
from comun_cms.themes import theme_static_dirs
from comun_cms.views import errors
from comun_cms.web_settings import effective_tenant

log = logging.getLogger(__name__)

#: Name of the cross-state portal (shown in the header when no tenant is current).
SITE_NAME = _l("CO+MÚN · Citizen observatory")
#: Seconds browsers may cache theme files and logos.
STATIC_MAX_AGE = 3600


@dataclass(frozen=True)
class NavLink:
    """A resolved navigation entry: ``label``, ``url`` and ``active`` (the current page)."""

    label: object
    url: str
    active: bool = False


def public_menu(tenant: Tenant | None) -> list[NavLink]:
    """Return the tenant's public navigation.

    Collects ``public_menu_items`` from the plugins the tenant enables, flattens them, sorts
    them by ``order`` and resolves their URLs. Entries whose endpoint cannot be built are logged
    and left out. Returns ``[]`` without a tenant.
    """
    if tenant is None:
        return []
    items = sorted(flatten(tenant_hook(tenant, "public_menu_items")(tenant=tenant)), key=lambda i: i.order)
    links = []
    for item in items:
        try:
            url = url_for(item.endpoint, tenant=tenant.slug, **item.url_kwargs)
        except BuildError:
            log.warning("public menu item %r: endpoint %s cannot be built", item.label, item.endpoint)
            continue
        links.append(NavLink(item.label, url, active=has_request_context() and request.path == url))
    return links


def hook_html(value: Any, source: str) -> Markup:
    """Return what a hook gave as HTML (``template_slot``, a widget's ``render()``) as ``Markup``.

    ``Markup`` (anything with ``__html__``) passes as is; ``None`` or ``""`` becomes empty
    ``Markup``. Anything else, a plain ``str`` above all (``render_template`` returns one), is a
    plugin bug: it is escaped, so it shows as text and never as HTML, and a warning naming
    ``source`` (e.g. ``"slot head"``, ``"widget Minutes and agreements"``) is logged.
    """
    if value is None or value == "":
        return Markup("")
    if hasattr(value, "__html__"):
        return Markup(value.__html__())
    log.warning("%s returned %s instead of Markup: escaped as text", source, type(value).__name__)
    return escape(str(value))


def render_slot(name: str, **context) -> Markup:
    """Return the HTML that plugins put in template slot ``name``.

    Calls ``template_slot(name=, tenant=, context=)`` for the plugins the current tenant enables
    (on the portal: plugins enabled in at least one tenant) and joins the non-empty results,
    each through :func:`hook_html` (``Markup`` as is; a plain string escaped and logged).

    For an anonymous visitor, when every context value is a plain str/number/bool/None, a
    database row (keyed by its class, ``id``, ``version`` and ``status``) or a content type, the
    result is computed once per generation of the tenant (or portal), language and local day
    (:func:`comun_cms.pagecache.memo_per_generation`): slots must show such visitors published
    data only, which changes only with a publication (that bumps the generation). Flags a slot
    sets on ``flask.g`` while computing (plain values, e.g. "the follow form was shown") are replayed when the
    memo answers. Slots for logged-in users, and slots given other objects, run on every call.
    """
    tenant = get_current_tenant()

    def compute() -> Markup:
        caller = tenant_hook(tenant, "template_slot") if tenant else portal_hook("template_slot")
        results = caller(name=name, tenant=tenant, context=context)
        return Markup("").join(hook_html(r, f"slot {name}") for r in results if r)

    vary = _memo_vary(context) if has_request_context() and not getattr(current_user, "is_authenticated", False) \
        else None
    if vary is None:
        return compute()

    def compute_with_flags() -> tuple[Markup, dict[str, Any]]:
        before = set(vars(g))
        html = compute()
        # plain flags only: objects (rows, sessions) belong to the request that made them
        return html, {k: v for k, v in vars(g).items()
                      if k not in before and isinstance(v, (str, int, float, bool, type(None)))}

    # an anonymous visitor's slot shows published data only: once per generation and day
    # (slots list "upcoming" things), not on every request
    today = dt.datetime.now(tenant.tz if tenant else dt.timezone.utc).date()
    plugins = tenant.plugins if tenant else _portal_plugins()
    html, flags = memo_per_generation(f"slot:{name}", compute_with_flags, vary=(today, plugins, vary))
    for key, value in flags.items():
        setattr(g, key, value)
    return html


def _memo_vary(context: dict[str, Any]) -> tuple | None:
    """The memo key of a slot's context, or ``None`` when a value cannot be keyed.

    Plain values key as themselves; a database row as ``(class, id, version, status)`` (a row
    without an ``id`` is not keyed); a :class:`~comun_cms.hooktypes.ContentType` by its name.
    """
    items = []
    for key in sorted(context):
        value = context[key]
        if isinstance(value, (str, int, float, bool, type(None))):
            items.append((key, value))
        elif isinstance(value, ContentType):
            items.append((key, "content_type", value.name))
        elif hasattr(value, "__table__") and getattr(value, "id", None) is not None:
            items.append((key, type(value).__name__, value.id, getattr(value, "version", None),
                          getattr(value, "status", None)))
        else:
            return None
    return tuple(items)


def _portal_plugins() -> tuple[str, ...]:
    """Names of the plugins enabled in at least one tenant (what the portal's hooks call)."""
    return tuple(sorted({name for t in current_app.extensions["comun"].tenants.values() for name in t.plugins}))


def render_widget(widget: PortalWidget) -> Markup:
    """Return the HTML of a ``portal_widgets`` / ``dashboard_widgets`` entry: ``widget.render()``
    through :func:`hook_html` (a plain string is escaped and logged, never shown as HTML)."""
    return hook_html(widget.render(), f"widget {widget.title}")


def lang_urls() -> dict[str, str]:
    """Return ``{locale: url}``: the current URL with ``?lang=<locale>`` for each language
    (``{}`` outside a request, e.g. a template rendered by a CLI command)."""
    if not has_request_context():
        return {}
    urls = {}
    for code in current_app.config["LANGUAGES"]:
        args = request.args.to_dict(flat=False)
        args["lang"] = [code]
        urls[code] = request.path + "?" + urlencode(args, doseq=True)
    return urls


def theme_url(filename: str) -> str:
    """URL of a theme static file, through the tenant's override chain inside a tenant."""
    if get_current_tenant() is not None:
        return url_for("public.theme_static", filename=filename)
    return url_for("theme_static", filename=filename)


# --------------------------------------------------------------------------- filters
def _localize(value: dt.datetime, tz) -> tuple[dt.datetime, bool]:
    """Return ``(value, rebase)``: converted to ``tz`` (a Tenant, zone name or tzinfo) when given."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    if tz is None:
        return value, True
    if isinstance(tz, Tenant):
        tz = tz.tz
    elif isinstance(tz, str):
        tz = zoneinfo.ZoneInfo(tz)
    return value.astimezone(tz), False


def datetime_filter(value: dt.datetime | None, format: str = "medium", tz=None) -> str:
    """Format an aware (or naive UTC) datetime with Babel in the current tenant's time zone.

    ``format`` is ``short``, ``medium``, ``long``, ``full`` or a CLDR pattern; ``tz`` (a Tenant,
    IANA name or tzinfo) overrides the zone, e.g. for another tenant's rows on the portal.
    Returns ``""`` for ``None``.
    """
    if value is None:
        return ""
    value, rebase = _localize(value, tz)
    return format_datetime(value, format, rebase=rebase)


def date_filter(value: dt.date | dt.datetime | None, format: str = "medium", tz=None) -> str:
    """Format a date (or the date of a datetime in the tenant's zone) with Babel; ``""`` for None."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value, rebase = _localize(value, tz)
        return format_date(value, format, rebase=rebase)
    return format_date(value, format, rebase=False)


def filesize_filter(size: int | None) -> str:
    """Human size of a byte count in the user's locale: ``"512 bytes"``, ``"1.5 MB"``."""
    size = int(size or 0)
    if size < 1024:
        return ngettext("%(num)s byte", "%(num)s bytes", size)
    value = float(size)
    for unit in ("KB", "MB", "GB", "TB"):
        value /= 1024
        if value < 1024 or unit == "TB":
            return f"{format_decimal(round(value, 1))}\u00a0{unit}"
    return str(size)  # pragma: no cover


def is_web_url(value) -> bool:
    """Jinja test ``web_url``: ``True`` for an ``http(s)://`` address (safe to use as a link)."""
    return isinstance(value, str) and value.lower().startswith(("https://", "http://"))


# --------------------------------------------------------------------------- static files
def serve_theme_file(filename: str):
    """Send ``filename`` from the first static folder of the theme chain that has it.

    The chain is :func:`comun_cms.themes.theme_static_dirs` of the current tenant (tenant
    ``static/``, tenant theme, default theme). Paths escaping the folders answer 404.
    """
    for folder in theme_static_dirs(get_current_tenant()):
        path = safe_join(str(folder), filename)
        if path is not None and os.path.isfile(path):
            response = send_file(path, max_age=STATIC_MAX_AGE, conditional=True)
            response.headers["X-Content-Type-Options"] = "nosniff"
            return response
    abort(404)


#: Accent of a state's card on the portal when its tenant.toml sets no ``colors.primary``.
DEFAULT_ACCENT = "#1f3b57"


def colors_css(tenant: Tenant | None) -> str:
    """The colour stylesheet of a page (the Content-Security-Policy allows no inline style).

    Inside a tenant: ``:root`` custom properties ``--color-<key>`` (``_`` becomes ``-``) for each
    entry of the tenant's ``colors`` and a ``.swatch--<key>`` class painted with it (the settings
    page). On the portal (``tenant`` is ``None``): ``.state-card--<slug>`` setting
    ``--card-accent`` to each public tenant's primary colour. Keys and values are validated when
    ``tenant.toml`` is loaded (known keys, ``#RRGGBB``), so nothing here can escape the rule.

    Returns:
        CSS text (UTF-8, ends with a newline).
    """
    lines = []
    if tenant is not None:
        props = " ".join(f"--color-{key.replace('_', '-')}: {value};" for key, value in sorted(tenant.colors.items()))
        lines.append(f":root {{ {props} }}")
        lines += [f".swatch--{key.replace('_', '-')} {{ background: {value}; }}"
                  for key, value in sorted(tenant.colors.items())]
    else:
        tenants = sorted(current_app.extensions["comun"].public_tenants().items())
        lines += [f".state-card--{slug} {{ --card-accent: {effective_tenant(t).colors.get('primary', DEFAULT_ACCENT)}; }}"
                  for slug, t in tenants]  # colours changed on the web (Configuración) included
    return "\n".join(lines) + "\n"


def colors_css_url() -> str:
    """URL of :func:`colors_css` for the current page: ``/<tenant>/theme-colors.css`` inside a
    tenant, ``/theme-colors.css`` on the portal, with ``?v=`` the first 12 hex digits of the
    SHA-256 of the text, so browsers may cache it and still see a change at once."""
    tenant = get_current_tenant()
    version = hashlib.sha256(colors_css(tenant).encode()).hexdigest()[:12]
    if tenant is not None:
        return url_for("public.theme_colors", v=version)
    return url_for("theme_colors", v=version)


def serve_colors_css() -> Response:
    """The response of the ``theme_colors`` routes: :func:`colors_css` of the current tenant (or
    of the portal) as ``text/css``, cacheable for :data:`STATIC_MAX_AGE` seconds, with an ETag."""
    text = colors_css(get_current_tenant())
    response = Response(text, mimetype="text/css")
    response.set_etag(hashlib.sha256(text.encode()).hexdigest())
    response.cache_control.public = True
    response.cache_control.max_age = STATIC_MAX_AGE
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response.make_conditional(request)


#: Theme files served when a site has no file of its own: the browsers' ``/favicon.ico`` and
#: the logo of a tenant whose tenant.toml names none (``/<tenant>/logo``).
FAVICON = "img/favicon.ico"
DEFAULT_LOGO = "img/emblem.svg"


def serve_favicon():
    """``/favicon.ico``: the theme's icon (browsers ask for it at the site root)."""
    return serve_theme_file(FAVICON)


# --------------------------------------------------------------------------- wiring
def _context() -> dict:
    """The globals of every template. Computed once per request, tenant and language: a page
    renders several templates (plugin slots render their own) and the navigation calls hooks."""
    tenant = get_current_tenant()
    locale = str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])
    if not has_request_context():
        return _build_context(tenant, locale)
    memo = request.environ.setdefault("comun.template_context", {})
    key = (tenant.slug if tenant is not None else None, locale)
    if key not in memo:
        memo[key] = _build_context(tenant, locale)
    return memo[key]


def _build_context(tenant: Tenant | None, locale: str) -> dict:
    state = current_app.extensions["comun"]
    return {
        "current_tenant": tenant,
        "tenants": list(state.public_tenants().values()),
        "public_menu": public_menu(tenant),
        "slot": render_slot,
        "render_widget": render_widget,
        "has_role": has_role,
        "lang_urls": lang_urls(),
        "current_locale": locale,
        "html_lang": locale.replace("_", "-"),
        "locale_names": LOCALE_NAMES,
        "theme_url": theme_url,
        "colors_css_url": colors_css_url,
        "site_name": SITE_NAME,
    }


def init_app(app: Flask) -> None:
    """Install the template context, filters, the ``/theme/<path>`` route and the error pages."""
    app.context_processor(_context)
    app.add_template_filter(datetime_filter, "datetime")
    app.add_template_filter(date_filter, "date")
    app.add_template_filter(render_markdown, "markdown")
    app.add_template_global(preview_of, "markdown_preview_of")
    app.add_template_global(previewed_here, "previewed_here")
    app.add_template_filter(filesize_filter, "filesize")
    app.add_template_filter(redaction_of, "redaction")
    # a global of the environment (not only of the context), so imported macros such as
    # admin/_publishing.html's history_panel can offer the "Redactar" action
    app.jinja_env.globals["can_redact"] = lambda: can(REDACT)
    app.add_template_test(is_web_url, "web_url")
    app.add_url_rule("/theme/<path:filename>", "theme_static", serve_theme_file)
    app.add_url_rule("/theme-colors.css", "theme_colors", serve_colors_css)
    app.add_url_rule("/favicon.ico", "favicon", serve_favicon)
    errors.init_app(app)


__all__ = ["NavLink", "SITE_NAME", "date_filter", "datetime_filter", "filesize_filter", "init_app", "is_web_url",
           "colors_css", "colors_css_url", "lang_urls", "public_menu", "render_slot", "serve_colors_css",
           "serve_theme_file", "theme_url"]
