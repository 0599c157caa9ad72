"""Languages: Flask-Babel locale and time-zone selection, plugin catalogs, catalog compilation.

Locale order: ``?lang=`` (remembered in the session), the user's saved choice, the setting
``DEFAULT_LOCALE_OVERRIDE`` (``en`` in the test suite), the tenant's default locale, the browser's ``Accept-Language``, then ``es_MX``. The time zone is the tenant's
(portal: ``America/Mexico_City``). Source strings are English; ``es_MX`` and ``en`` catalogs
are complete (a test checks it).
"""
from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import current_app, request, session
from flask_login import current_user

from comun_cms.tenancy import get_current_tenant

LOCALE_NAMES = {"es_MX": "Español", "en": "English"}


def select_locale() -> str:
    """Flask-Babel locale selector; returns ``es_MX`` or ``en``."""
    languages = current_app.config["LANGUAGES"]
    try:
        lang = request.args.get("lang")
        if lang in languages:
            session["lang"] = lang
            return lang
        if session.get("lang") in languages:
            return session["lang"]
    except RuntimeError:  # outside a request
        pass
    if getattr(current_user, "is_authenticated", False) and getattr(current_user, "locale", None) in languages:
        return current_user.locale
    override = current_app.config.get("DEFAULT_LOCALE_OVERRIDE")
    if override in languages:  # tests read the English source strings unless they ask for Spanish
        return override
    tenant = get_current_tenant()
    if tenant is not None:
        return tenant.default_locale
    try:
        best = request.accept_languages.best_match(["es", "en"])
    except RuntimeError:
        best = None
    return "en" if best == "en" else "es_MX"


def select_timezone() -> str:
    """Flask-Babel time-zone selector: the current tenant's IANA zone."""
    tenant = get_current_tenant()
    return tenant.timezone if tenant else current_app.config["BABEL_DEFAULT_TIMEZONE"]


def compile_catalogs(dirs: list[str | Path], force: bool = False) -> int:
    """Compile every ``*.po`` under ``dirs`` to ``*.mo`` when the ``.mo`` is missing or older.

    Returns the number of catalogs compiled. Uses ``babel.messages`` (no subprocess).
    Raises ``babel.messages.pofile.PoFileError`` for a broken catalog.
    """
    count = 0
    for base in dirs:
        for po in Path(base).glob("*/LC_MESSAGES/*.po"):
            mo = po.with_suffix(".mo")
            if not force and mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
                continue
            with po.open("rb") as fh:
                catalog = read_po(fh, locale=po.parent.parent.name, abort_invalid=True)
            with mo.open("wb") as fh:
                write_mo(fh, catalog, use_fuzzy=False)
            count += 1
    return count
