"""Tenant settings edited on the web ("Configuración"), stored over ``tenant.toml``.

``states/<slug>/tenant.toml`` gives the defaults; a tenant admin may change, on the web, the
sections of :data:`SECTIONS` (contact data, colours, social links, answer deadlines, privacy
contacts) and upload a logo. The changes are one :class:`~comun_cms.models.TenantSettings` row
per tenant, and every change is an audit event (``settings.update``) with the values before and
after, so the audit log is the settings' version history.

:func:`effective_tenant` returns the tenant with the stored sections over the file's; the
request routing makes it the current tenant, so templates and plugins read
``current_tenant.contact`` / ``.colors`` / ``.social`` / ``.deadlines`` / ``.privacy`` as
before and see the web values.

Colours are checked for contrast with :func:`colour_problems` (WCAG 2.1 contrast ratio,
https://www.w3.org/TR/WCAG21/#dfn-contrast-ratio and #dfn-relative-luminance).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from comun_cms.extensions import db
from comun_cms.models import TenantSettings
from comun_cms.pagecache import memo_per_generation
from comun_cms.tenancy import DEFAULT_DEADLINES, Tenant

__all__ = ["DEFAULT_DEADLINES", "LABELS", "SECTIONS", "THEME_COLOURS", "colour_problems", "contrast_ratio",
           "effective_tenant", "save_settings", "stored_settings", "web_values"]

#: The sections a tenant admin edits on the web, and their keys, in form order.
SECTIONS: dict[str, tuple[str, ...]] = {
    "contact": ("email", "phone", "address", "hours", "website"),
    "colors": ("primary", "text_on_primary", "secondary", "accent"),
    "social": ("facebook", "x", "instagram", "youtube", "linkedin", "tiktok"),
    "deadlines": ("feedback_days", "join_days"),
    "privacy": ("officer", "email", "phone", "notice_url"),
}

#: Human labels of every setting, ``{section: {key: label}}`` (never show raw keys).
LABELS: dict[str, dict[str, Any]] = {
    "contact": {"email": _l("E-mail"), "phone": _l("Phone"), "address": _l("Address"),
                "hours": _l("Office hours"), "website": _l("Official website")},
    "colors": {"primary": _l("Main colour (header, buttons and links)"),
               "text_on_primary": _l("Text colour on the main colour"),
               "secondary": _l("Light background colour"),
               "accent": _l("Accent colour (keyboard focus outline)")},
    "social": {"facebook": "Facebook", "x": "X", "instagram": "Instagram", "youtube": "YouTube",
               "linkedin": "LinkedIn", "tiktok": "TikTok"},
    "deadlines": {"feedback_days": _l("Days to answer questions, complaints and suggestions"),
                  "join_days": _l("Days to answer a request to join the exercises")},
    "privacy": {"officer": _l("Person or area responsible for personal data"), "email": _l("E-mail"),
                "phone": _l("Phone"), "notice_url": _l("Address of the privacy notice")},
}

#: Colours of the default theme (themes/comun/static/css/comun.css ``:root``) used when neither
#: tenant.toml nor the web sets one; ``text`` is the body text colour.
THEME_COLOURS = {"primary": "#1f3b57", "secondary": "#eef2f6", "accent": "#2a6f97", "text_on_primary": "#ffffff",
                 "text": "#1b1f24", "white": "#ffffff"}

#: WCAG 2.1 minimum contrast: 4.5:1 for text (1.4.3), 3:1 for a focus outline (1.4.11).
TEXT_CONTRAST = 4.5
NON_TEXT_CONTRAST = 3.0


# --------------------------------------------------------------------------- contrast
def _channel(c: int) -> float:
    s = c / 255
    return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    """WCAG relative luminance (0 = black, 1 = white) of ``#RRGGBB`` (sRGB).

    Raises:
        ValueError: not a ``#RRGGBB`` colour.
    """
    value = colour.strip().lstrip("#")
    if len(value) != 6:
        raise ValueError(f"not a #RRGGBB colour: {colour!r}")
    r, g, b = (int(value[i:i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_ratio(a: str, b: str) -> float:
    """WCAG contrast ratio of two ``#RRGGBB`` colours, from 1.0 (same) to 21.0 (black on white).

    ``(L1 + 0.05) / (L2 + 0.05)`` with L1 the lighter relative luminance.
    """
    la, lb = relative_luminance(a), relative_luminance(b)
    hi, lo = max(la, lb), min(la, lb)
    return (hi + 0.05) / (lo + 0.05)


def colour_problems(colors: Mapping[str, str]) -> dict[str, str]:
    """Check the colour pairs the theme uses; returns ``{colour key: message}`` for each failing pair
    (empty when every pair passes). Missing colours take the theme's.

    Pairs: text on the main colour (4.5:1), the main colour as link text on white (4.5:1), body
    text on the light background (4.5:1) and the accent as focus outline on white (3:1).
    """
    c = {**THEME_COLOURS, **{k: v for k, v in colors.items() if v}}
    checks = [
        ("text_on_primary", c["primary"], c["text_on_primary"], TEXT_CONTRAST,
         _l("the text on the main colour (header, buttons)")),
        ("primary", c["primary"], THEME_COLOURS["white"], TEXT_CONTRAST, _l("white (links and buttons on white)")),
        ("secondary", c["secondary"], THEME_COLOURS["text"], TEXT_CONTRAST, _l("the black body text")),
        ("accent", c["accent"], THEME_COLOURS["white"], NON_TEXT_CONTRAST, _l("white (focus outline)")),
    ]
    problems: dict[str, str] = {}
    for key, fg, bg, minimum, against in checks:
        ratio = contrast_ratio(fg, bg)
        if ratio < minimum and key not in problems:
            problems[key] = str(_l("Its contrast with %(against)s is %(ratio).1f:1; at least %(min).1f:1 is needed "
                                   "(WCAG 2.1). Choose a darker or lighter colour.",
                                   against=against, ratio=ratio, min=minimum))
    return problems


# --------------------------------------------------------------------------- stored values
def stored_settings(slug: str) -> dict[str, Any]:
    """The settings of tenant ``slug`` stored on the web (``{}`` when none), read across the
    tenant filter (the routing calls it before the request's tenant is set)."""
    row = db.session.scalar(select(TenantSettings).where(TenantSettings.tenant_id == slug)
                            .execution_options(all_tenants=True))
    return dict(row.data or {}) if row is not None else {}


def web_values(tenant: Tenant, stored: Mapping[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """The effective value of every editable setting: ``{section: {key: value}}``, the web's over
    tenant.toml's over the defaults (deadlines); a key without a value is ``""``."""
    stored = stored if stored is not None else stored_settings(tenant.slug)
    base = {"contact": tenant.contact, "colors": tenant.colors, "social": tenant.social,
            "deadlines": {**DEFAULT_DEADLINES, **tenant.deadlines}, "privacy": tenant.privacy}
    out: dict[str, dict[str, Any]] = {}
    for section, keys in SECTIONS.items():
        values = {**base[section], **(stored.get(section) or {})}
        out[section] = {key: values.get(key, "") for key in keys}
    return out


def effective_tenant(tenant: Tenant) -> Tenant:
    """``tenant`` with its web settings over tenant.toml (the same object when none is stored).

    Empty values are left out of ``contact``, ``colors``, ``social`` and ``privacy`` (so a colour
    left empty falls back to the theme's); an uploaded logo sets ``logo`` (its file name) and
    ``logo_sha256``.
    """
    # settings change through ``admin_change``, which bumps the tenant's generation: read them once
    # per generation (:func:`comun_cms.pagecache.memo_per_generation`), not on every request
    stored = memo_per_generation("web_settings", lambda: stored_settings(tenant.slug), tenant_slug=tenant.slug)
    if not stored:
        return tenant
    values = web_values(tenant, stored)
    changes: dict[str, Any] = {section: {k: v for k, v in values[section].items() if v not in ("", None)}
                               for section in SECTIONS}
    logo = stored.get("logo")
    if logo:
        changes.update(logo=logo["filename"], logo_sha256=logo["sha256"])
    return dataclasses.replace(tenant, **changes)


def save_settings(tenant: Tenant, values: Mapping[str, Mapping[str, Any]], *, logo: Mapping[str, Any] | None = None,
                  reset_logo: bool = False, user=None) -> dict[str, Any]:
    """Store ``values`` (``{section: {key: value}}``, all of :data:`SECTIONS`) as the tenant's web
    settings, with ``logo`` (``{"sha256", "filename", "mimetype"}`` of an uploaded image) or,
    with ``reset_logo``, back to the file's logo. Not committed: call it inside
    :func:`comun_cms.changes.admin_change`.

    Returns:
        The stored data.
    """
    row = db.session.scalar(select(TenantSettings))
    previous = dict(row.data or {}) if row is not None else {}
    data: dict[str, Any] = {section: {key: values.get(section, {}).get(key, "") for key in keys}
                            for section, keys in SECTIONS.items()}
    if logo is not None:
        data["logo"] = dict(logo)
    elif previous.get("logo") and not reset_logo:
        data["logo"] = previous["logo"]
    if row is None:
        row = TenantSettings(tenant_id=tenant.slug)
        db.session.add(row)
    row.data = data
    row.updated_by_id = getattr(user, "id", None)
    return data
