"""Browser protections: a strict Content-Security-Policy on every HTML page and the security
headers every response carries (one ``after_request`` function, installed by ``create_app``).

Every page works with scripts and styles from this origin only: templates hold no inline
``<script>``, ``<style>``, ``style="..."`` or ``on...=`` handler (``tests/test_security_headers.py``
fails on one), the tenant's colours come from a small stylesheet route
(:func:`comun_cms.views.templating.colors_css_url`), and JSON a script needs travels in a
``<script type="application/json">`` data block, which browsers never execute.

A view that needs another policy sets the header itself and keeps it: uploaded files get
``default-src 'none'; sandbox`` (:mod:`comun_cms.views.public`); this module only fills in
headers that are not set yet.

Why a few lines here rather than Flask-Talisman: Talisman's defaults redirect to HTTPS and
rewrite the session cookie flags, which the configuration already owns (``SESSION_COOKIE_SECURE``,
the reverse proxy), and every policy decision would still be spelled out as arguments; what is
left is adding six constant headers.

References: CSP Level 3 (https://www.w3.org/TR/CSP3/), Referrer Policy
(https://www.w3.org/TR/referrer-policy/), Permissions Policy
(https://www.w3.org/TR/permissions-policy-1/), RFC 6797 (HSTS), RFC 7034 (X-Frame-Options) and
the OWASP HTTP Headers Cheat Sheet.
"""
from __future__ import annotations

from flask import Flask, Response, current_app

#: ``Content-Security-Policy`` of every HTML page: scripts, styles, fonts and connections from
#: this origin only (no inline code, no ``eval``), images from this origin or ``data:`` URLs, no
#: plugins, ``<base>`` and form targets on this origin, and no framing by any site.
PAGE_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

#: ``Content-Security-Policy`` of responses that are not HTML (JSON, CSV, XML, text, CSS,
#: scripts): if one is ever opened as a document, it can load nothing and cannot be framed.
RESOURCE_POLICY = "default-src 'none'; frame-ancestors 'none'"

#: ``Permissions-Policy``: powerful browser features no page of the CMS uses, off for every
#: origin (structured-header syntax, ``feature=()`` = allowed nowhere).
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in (
    "accelerometer", "camera", "display-capture", "geolocation", "gyroscope", "magnetometer",
    "microphone", "midi", "payment", "usb", "serial", "xr-spatial-tracking",
))

#: ``Referrer-Policy``: the full URL within the site, only the origin to other HTTPS sites and
#: nothing to HTTP sites (the browsers' default, stated so that no browser does less).
REFERRER_POLICY = "strict-origin-when-cross-origin"

#: ``Strict-Transport-Security`` sent when ``SESSION_COOKIE_SECURE`` is on: one year, this host
#: only (tenant hosts may be sub-domains of a government domain the CMS does not control).
HSTS = "max-age=31536000"

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


def add_security_headers(response: Response) -> Response:
    """Add the browser-protection headers to ``response`` (an ``after_request`` function).

    Headers the view already set are kept. Every response gets ``X-Content-Type-Options:
    nosniff``, ``X-Frame-Options: DENY``, :data:`REFERRER_POLICY`, :data:`PERMISSIONS_POLICY` and,
    when the app's ``SESSION_COOKIE_SECURE`` is on, :data:`HSTS`; HTML responses get
    :data:`PAGE_POLICY` as ``Content-Security-Policy``, other responses :data:`RESOURCE_POLICY`.

    Args:
        response: the response about to be sent.

    Returns:
        The same response, changed in place.
    """
    headers = response.headers
    policy = PAGE_POLICY if response.mimetype in _HTML_TYPES else RESOURCE_POLICY
    headers.setdefault("Content-Security-Policy", policy)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", REFERRER_POLICY)
    headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def init_app(app: Flask) -> None:
    """Install :func:`add_security_headers` on every response of ``app``."""
    app.after_request(add_security_headers)


__all__ = ["HSTS", "PAGE_POLICY", "PERMISSIONS_POLICY", "REFERRER_POLICY", "RESOURCE_POLICY", "add_security_headers",
           "init_app"]
