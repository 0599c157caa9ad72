"""Translations: every catalog (core and each plugin) is complete in es_MX and en, every
translatable string of the sources is in its catalog, pages follow the chosen language, and
dates are shown in Spanish in the tenant's time zone.

Catalogs (domain ``messages``):
    core                 comun_cms/translations/<locale>/LC_MESSAGES/messages.po
                         (sources: comun_cms/, themes/)
    plugin ``<name>``    plugins/<name>/translations/<locale>/LC_MESSAGES/messages.po
                         (sources: plugins/<name>/)

When a test here fails because of a new or changed string, run ``make translations`` (extract,
``pybabel update --no-fuzzy-matching``, compile), then translate the empty ``msgstr`` of the
``es_MX`` catalog (``en``: ``msgstr`` = ``msgid``) and run ``make translations`` again.
"""
from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ("es_MX", "en")
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "_": None}
FIX = ("Run `make translations`, translate the empty msgstr of the es_MX catalog (en: msgstr = msgid), "
       "then run `make translations` again.")


def _plugin_names() -> list[str]:
    return sorted(p.name for p in (ROOT / "plugins").iterdir()
                  if p.is_dir() and (p / "__init__.py").exists() and not p.name.startswith(("_", ".")))


# (catalog name, translations folder, source folders)
CATALOGS = [("core", ROOT / "comun_cms" / "translations", [ROOT / "comun_cms", ROOT / "themes"])] + [
    (name, ROOT / "plugins" / name / "translations", [ROOT / "plugins" / name]) for name in _plugin_names()]
CATALOG_IDS = [c[0] for c in CATALOGS]


def _method_map():
    """Method map and options of ``babel.cfg`` (the same file ``pybabel extract -F`` reads)."""
    from babel.messages import frontend
    parse = getattr(frontend, "parse_mapping_cfg", None)
    text = (ROOT / "babel.cfg").read_text(encoding="utf-8")
    if parse is not None:  # Babel >= 2.14
        return parse(io.StringIO(text), filename=str(ROOT / "babel.cfg"))
    return frontend.parse_mapping(io.StringIO(text))  # pragma: no cover - older Babel


def _po_path(folder: Path, locale: str) -> Path:
    return folder / locale / "LC_MESSAGES" / "messages.po"


def _read(path: Path, locale: str):
    with path.open("rb") as fh:
        return read_po(fh, locale=locale, abort_invalid=True)


def _key(msgid) -> str:
    return msgid[0] if isinstance(msgid, (tuple, list)) else msgid


def _source_msgids(sources: list[Path]) -> dict[str, str]:
    """``{msgid: "file:line"}`` of every translatable string in ``sources``."""
    method_map, options_map = _method_map()
    found: dict[str, str] = {}
    for folder in sources:
        if not folder.is_dir():
            continue
        for filename, lineno, message, _comments, _context in extract_from_dir(
                str(folder), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True):
            key = _key(message)
            if key:
                rel = (folder / filename).relative_to(ROOT)
                found.setdefault(key, f"{rel}:{lineno}")
    return found


# --------------------------------------------------------------------------- (a) complete catalogs
@pytest.mark.parametrize("name,folder,sources", CATALOGS, ids=CATALOG_IDS)
@pytest.mark.parametrize("locale", LOCALES)
def test_catalog_is_complete_without_fuzzy_entries(name, folder, sources, locale):
    path = _po_path(folder, locale)
    if not path.exists():
        if not _source_msgids(sources):
            return  # a component without translatable strings needs no catalog
        pytest.fail(f"Missing catalog {path.relative_to(ROOT)}. Create it: pybabel init -i "
                    f"{(folder / 'messages.pot').relative_to(ROOT)} -d {folder.relative_to(ROOT)} -l {locale}; " + FIX)
    catalog = _read(path, locale)
    untranslated, fuzzy = [], []
    for msg in catalog:
        if not msg.id:
            continue
        strings = msg.string if isinstance(msg.string, (tuple, list)) else (msg.string,)
        if not all(strings):
            untranslated.append(_key(msg.id))
        if msg.fuzzy:
            fuzzy.append(_key(msg.id))
    assert not catalog.fuzzy, f"{path.relative_to(ROOT)}: the catalog header is marked fuzzy"
    assert not untranslated, (f"{path.relative_to(ROOT)}: {len(untranslated)} untranslated message(s):\n  "
                              + "\n  ".join(repr(m) for m in untranslated) + "\n" + FIX)
    assert not fuzzy, (f"{path.relative_to(ROOT)}: {len(fuzzy)} fuzzy message(s) (review them and remove the "
                       "'fuzzy' flag):\n  " + "\n  ".join(repr(m) for m in fuzzy))


@pytest.mark.parametrize("name,folder,sources", CATALOGS, ids=CATALOG_IDS)
@pytest.mark.parametrize("locale", LOCALES)
def test_catalog_placeholders_and_plural_forms_are_valid(name, folder, sources, locale):
    path = _po_path(folder, locale)
    if not path.exists():
        assert not _source_msgids(sources), f"{name} has translatable strings but no {locale} catalog: {FIX}"
        return
    catalog = _read(path, locale)
    assert catalog.num_plurals == 2, f"{path.relative_to(ROOT)}: expected 2 plural forms"
    problems = [f"{_key(msg.id)!r}: {'; '.join(map(str, errors))}" for msg, errors in catalog.check()]
    assert not problems, f"{path.relative_to(ROOT)}: broken translations:\n  " + "\n  ".join(problems)
    placeholder = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[sdifrxXeEgGc]|\{\w+\}")
    mismatched = []
    for msg in catalog:
        if not msg.id or not msg.string:
            continue
        ids = msg.id if isinstance(msg.id, (tuple, list)) else (msg.id,)
        strings = msg.string if isinstance(msg.string, (tuple, list)) else (msg.string,)
        want = set(placeholder.findall(" ".join(ids)))
        for s in strings:
            got = set(placeholder.findall(s))
            # a singular form may drop the count (e.g. "one file"); nothing may be invented
            if not got <= want or (len(ids) == 1 and got != want):
                mismatched.append(f"{_key(msg.id)!r}: {sorted(want)} vs {s!r}")
    assert not mismatched, f"{path.relative_to(ROOT)}: placeholders differ:\n  " + "\n  ".join(mismatched)


def test_english_catalogs_repeat_the_source_text():
    wrong = []
    for name, folder, _sources in CATALOGS:
        path = _po_path(folder, "en")
        if not path.exists():
            continue
        for msg in _read(path, "en"):
            if msg.id and msg.string and tuple(msg.string if isinstance(msg.string, (tuple, list)) else (msg.string,)) \
                    != tuple(msg.id if isinstance(msg.id, (tuple, list)) else (msg.id,)):
                wrong.append(f"{name}: {_key(msg.id)!r} -> {msg.string!r}")
    assert not wrong, "The en catalogs must have msgstr = msgid:\n  " + "\n  ".join(wrong)


def test_a_msgid_has_the_same_translation_in_every_catalog():
    """Flask-Babel merges all catalogs into one (the last folder wins), so a msgid translated
    differently by two catalogs would show one of them everywhere."""
    seen: dict[str, tuple[str, object]] = {}
    conflicts = []
    for name, folder, _sources in CATALOGS:
        path = _po_path(folder, "es_MX")
        if not path.exists():
            continue
        for msg in _read(path, "es_MX"):
            if not msg.id or not msg.string:
                continue
            key = _key(msg.id)
            if key in seen and seen[key][1] != msg.string:
                conflicts.append(f"{key!r}: {seen[key][0]} {seen[key][1]!r} vs {name} {msg.string!r}")
            seen.setdefault(key, (name, msg.string))
    assert not conflicts, "Same msgid, different es_MX translations:\n  " + "\n  ".join(conflicts)


# --------------------------------------------------------------------------- (b) sources ⊆ catalogs
@pytest.mark.parametrize("name,folder,sources", CATALOGS, ids=CATALOG_IDS)
@pytest.mark.parametrize("locale", LOCALES)
def test_every_source_string_is_in_the_catalog(name, folder, sources, locale):
    extracted = _source_msgids(sources)
    if not extracted:
        return  # nothing to translate, nothing can be missing
    path = _po_path(folder, locale)
    assert path.exists(), f"Missing catalog {path.relative_to(ROOT)}. " + FIX
    known = {_key(m.id) for m in _read(path, locale) if m.id}
    missing = sorted(set(extracted) - known)
    assert not missing, (
        f"{len(missing)} translatable string(s) of {name} are not in {path.relative_to(ROOT)}:\n  "
        + "\n  ".join(f"{extracted[m]}: {m!r}" for m in missing) + "\n" + FIX)


# --------------------------------------------------------------------------- plugins' hook
def test_every_plugin_with_catalogs_registers_its_translations(app):
    """Flask-Babel only reads the folders returned by ``register_translations``."""
    registered = {Path(d).resolve() for d in app.extensions["comun"].translation_dirs}
    missing = [f"plugins/{name}/__init__.py" for name, folder, _s in CATALOGS[1:]
               if folder.is_dir() and folder.resolve() not in registered]
    assert not missing, ("These plugins have catalogs but their register_translations hook does not return "
                         "their translations folder (so their Spanish text is never shown): " + ", ".join(missing))


# --------------------------------------------------------------------------- (c) rendered pages
@pytest.fixture
def compiled(app):
    """The .mo files are up to date with the .po files (compiled when older)."""
    from comun_cms.i18n import compile_catalogs
    compile_catalogs(app.extensions["comun"].translation_dirs)
    return app


def test_tenant_home_is_in_spanish_by_default(compiled, spanish, client):
    """As in production (``spanish``: no test-suite English override): the tenant's es_MX."""
    html = client.get("/edomex/").get_data(as_text=True)
    assert 'lang="es-MX"' in html
    assert "Minutas y evidencia" in html
    assert "Minutes and evidence" not in html
    assert "Dudas, quejas y sugerencias" in html


def test_tenant_home_switches_to_english_with_lang_parameter(compiled, spanish, client):
    html = client.get("/edomex/?lang=en").get_data(as_text=True)
    assert 'lang="en"' in html
    assert "Minutes and evidence" in html
    assert "Minutas y evidencia" not in html
    # the choice is remembered in the session, and ?lang=es_MX switches back
    assert "Minutes and evidence" in client.get("/edomex/").get_data(as_text=True)
    assert "Minutas y evidencia" in client.get("/edomex/?lang=es_MX").get_data(as_text=True)


def test_spanish_is_used_for_plugin_strings_too(compiled, client):
    """A plugin string (not in the core catalog) is translated: the plugin catalog is loaded."""
    from flask_babel import force_locale, gettext
    with compiled.test_request_context("/edomex/"):
        with force_locale("es_MX"):
            assert gettext("Minutes and agreements") == "Minutas y acuerdos"  # stl_minutes
            assert gettext("Criteria evaluation") == "Evaluación por criterios"  # criteria
        with force_locale("en"):
            assert gettext("Minutes and agreements") == "Minutes and agreements"


def test_plural_messages_agree_with_the_count(compiled):
    """Counts use ngettext, never "(s)": one and many read correctly in both languages."""
    from flask_babel import force_locale, ngettext
    one, many = "Plan published with %(num)d commitment.", "Plan published with %(num)d commitments."
    with compiled.test_request_context("/edomex/"):
        with force_locale("es_MX"):
            assert ngettext(one, many, 1) == "Plan publicado con 1 compromiso."
            assert ngettext(one, many, 5) == "Plan publicado con 5 compromisos."
        with force_locale("en"):
            assert ngettext(one, many, 1) == "Plan published with 1 commitment."
            assert ngettext(one, many, 0) == "Plan published with 0 commitments."


def test_no_message_marks_plurals_with_parentheses():
    offenders = [f"{name}: {msg.id!r}" for name, folder, _sources in CATALOGS
                 for msg in _read(_po_path(folder, "es_MX"), "es_MX")
                 if msg.id and isinstance(msg.id, str) and re.search(r"\w\(s\)", msg.id) and "http(s)" not in msg.id]
    assert not offenders, "use ngettext for counts:\n  " + "\n  ".join(offenders)


# --------------------------------------------------------------------------- (d) dates
def test_dates_render_in_the_tenant_time_zone_in_spanish(compiled, spanish):
    from flask import render_template_string
    from flask_babel import refresh
    from comun_cms.tenancy import tenant_context

    tenant = compiled.extensions["comun"].tenants["edomex"]
    assert tenant.timezone == "America/Mexico_City"
    moment = dt.datetime(2026, 1, 15, 3, 30, tzinfo=dt.timezone.utc)  # 14 Jan 2026, 21:30 in Mexico City
    # the test keeps one app context open: refresh() drops the locale and zone cached in it
    with compiled.test_request_context("/edomex/?lang=es_MX"), tenant_context(tenant):
        refresh()
        long_date = render_template_string("{{ d|date('long') }}", d=moment)
        long_dt = render_template_string("{{ d|datetime('long') }}", d=moment)
    assert long_date == "14 de enero de 2026"
    assert "14 de enero de 2026" in long_dt
    assert re.search(r"\b9:30(:00)?\W*p\.\W?m\.", long_dt), long_dt  # es-MX uses a 12-hour clock: 9:30 p. m.
    with compiled.test_request_context("/edomex/?lang=en"), tenant_context(tenant):
        refresh()
        assert render_template_string("{{ d|date('long') }}", d=moment) == "January 14, 2026"
        refresh()
