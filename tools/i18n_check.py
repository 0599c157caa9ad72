#!/usr/bin/env python3
"""Translation helper for Común CMS catalogs (core and plugins, domain ``messages``).

Usage (from the repository root, with the project's virtualenv):

    .venv/bin/python tools/i18n_check.py              # status of every catalog (exit 1 if incomplete)
    .venv/bin/python tools/i18n_check.py --update     # extract, update (no fuzzy matching), fill en, compile
    .venv/bin/python tools/i18n_check.py --missing    # list the untranslated es_MX msgids
    .venv/bin/python tools/i18n_check.py --unwrapped  # user-facing text not wrapped for translation

``--update`` does what ``make translations`` does, then copies msgid to msgstr in the ``en``
catalogs (English is the source language) and compiles again. New ``es_MX`` strings stay
empty: translate them by hand (glossary: shared/GLOSSARY.md), then run ``--update`` again.
"""
from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYBABEL = ROOT / ".venv" / "bin" / "pybabel"
LOCALES = ("es_MX", "en")
KEYWORDS = ["-k", "_l", "-k", "lazy_gettext", "-k", "_"]


def catalogs() -> list[tuple[str, Path, list[str]]]:
    """``(name, translations folder, source folders)`` for the core and every plugin."""
    out = [("core", ROOT / "comun_cms" / "translations", ["comun_cms", "themes"])]
    for p in sorted((ROOT / "plugins").iterdir()):
        if p.is_dir() and (p / "__init__.py").exists() and not p.name.startswith(("_", ".")):
            out.append((p.name, p / "translations", [f"plugins/{p.name}"]))
    return out


def _po(folder: Path, locale: str) -> Path:
    return folder / locale / "LC_MESSAGES" / "messages.po"


def _run(*args: str) -> None:
    subprocess.run([str(PYBABEL), "-q", *args], cwd=ROOT, check=True)


def update() -> None:
    from babel.messages.pofile import read_po, write_po
    for name, folder, sources in catalogs():
        folder.mkdir(parents=True, exist_ok=True)
        pot = folder / "messages.pot"
        _run("extract", "-F", "babel.cfg", *KEYWORDS, "--project", "Común CMS", "--copyright-holder", "Común CMS",
             "-o", str(pot.relative_to(ROOT)), *sources)
        for locale in LOCALES:
            po = _po(folder, locale)
            if po.exists():
                _run("update", "-i", str(pot), "-d", str(folder), "-l", locale, "--no-fuzzy-matching")
            else:
                _run("init", "-i", str(pot), "-d", str(folder), "-l", locale)
            if locale == "en":
                with po.open("rb") as fh:
                    cat = read_po(fh, locale=locale)
                for msg in cat:
                    if msg.id:
                        msg.string = msg.id
                        msg.flags.discard("fuzzy")
                cat.fuzzy = False
                with po.open("wb") as fh:
                    write_po(fh, cat, width=76)
        _run("compile", "-d", str(folder))


def status(show_missing: bool) -> int:
    from babel.messages.pofile import read_po
    bad = 0
    for name, folder, _sources in catalogs():
        for locale in LOCALES:
            po = _po(folder, locale)
            if not po.exists():
                print(f"{name:14} {locale:6} MISSING {po.relative_to(ROOT)}")
                bad += 1
                continue
            with po.open("rb") as fh:
                cat = read_po(fh, locale=locale)
            msgs = [m for m in cat if m.id]
            empty = [m for m in msgs if not all(m.string if isinstance(m.string, tuple) else (m.string,))]
            fuzzy = [m for m in msgs if m.fuzzy]
            print(f"{name:14} {locale:6} {len(msgs):5} messages  {len(empty):4} untranslated  {len(fuzzy):4} fuzzy")
            bad += bool(empty or fuzzy)
            if show_missing and locale == "es_MX":
                for m in empty + fuzzy:
                    print(f"    {m.id!r}  ({', '.join(f'{f}:{n}' for f, n in m.locations[:2])})")
    return 1 if bad else 0


# --------------------------------------------------------------------------- unwrapped strings
_JINJA = re.compile(r"\{#.*?#\}|\{%-?\s*trans\b.*?endtrans\s*-?%\}|\{%.*?%\}|\{\{.*?\}\}", re.S)
_TAGS = re.compile(r"<(script|style)\b.*?</\1>|<!--.*?-->|<[^>]+>", re.S | re.I)
_ATTR = re.compile(r"\b(title|placeholder|aria-label|alt|value|content|label)=\"([^\"{}]*[A-Za-z]{3,}[^\"{}]*)\"")
_TECHNICAL = {"SHA", "JSON", "IP", "CSV", "ZIP", "URL", "API", "data", "json", "PDF", "DCAT", "OpenAPI", "RFC",
              "UTC", "CC", "BY", "iCalendar", "tlog", "proof", "OGP", "STL", "SDG", "ODS"}
_WORDS = re.compile(r"[A-Za-zÁÉÍÓÚáéíóúñÑ]{2,}")


def unwrapped_templates() -> list[str]:
    found = []
    dirs = [ROOT / "comun_cms", ROOT / "themes", ROOT / "plugins"]
    for base in dirs:
        for path in sorted(base.rglob("templates/**/*.html")) + sorted(base.rglob("templates/**/*.txt")):
            text = path.read_text(encoding="utf-8")
            plain = _JINJA.sub(lambda m: "\n" * m.group(0).count("\n"), text)
            for m in _ATTR.finditer(plain):
                if m.group(1) in ("value", "content") and not re.search(r"\s", m.group(2)):
                    continue
                line = plain.count("\n", 0, m.start()) + 1
                found.append(f"{path.relative_to(ROOT)}:{line}: {m.group(1)}=\"{m.group(2)}\"")
            stripped = _TAGS.sub(lambda m: "\n" * m.group(0).count("\n"), plain)
            for lineno, line in enumerate(stripped.splitlines(), 1):
                words = line.strip()
                if not _WORDS.search(words) or words.startswith(("&", "//")):
                    continue
                if re.fullmatch(r"[\W\d_]*(?:&\w+;[\W\d_]*)*", words):
                    continue
                if not [w for w in _WORDS.findall(words) if w not in _TECHNICAL]:
                    continue  # SHA-256, JSON, IP...
                if re.fullmatch(r"[a-z][a-z0-9_-]*", words):
                    continue  # a CSS class or block name
                if words.startswith("content=") or words.startswith(("http://", "https://")):
                    continue
                found.append(f"{path.relative_to(ROOT)}:{lineno}: {words[:100]}")
    return found


_UI_CALLS = {"flash", "ValidationError", "StopValidation", "abort", "BadRequest", "Forbidden", "NotFound"}
_FIELDS = re.compile(r".*(Field|Radio|Select|Check)$")


def unwrapped_python() -> list[str]:
    found = []
    files = sorted((ROOT / "comun_cms").rglob("*.py")) + sorted((ROOT / "plugins").rglob("*.py"))
    for path in files:
        if "/tests/" in str(path) or "/migrations/" in str(path) or path.name.startswith("test_"):
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            fn = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            candidates = []
            if fn in _UI_CALLS or (_FIELDS.match(fn or "") and fn != "DatasetField"):
                candidates += node.args[:1]
                candidates += [k.value for k in node.keywords if k.arg in ("label", "description", "message")]
            for c in candidates:
                if isinstance(c, ast.Constant) and isinstance(c.value, str) and re.search(r"[A-Za-z]{3,}", c.value):
                    found.append(f"{path.relative_to(ROOT)}:{c.lineno}: {fn}({c.value[:80]!r})")
                elif isinstance(c, ast.JoinedStr):
                    found.append(f"{path.relative_to(ROOT)}:{c.lineno}: {fn}(f-string)")
        # Jinja templates kept in Python strings: pybabel's python extractor does not see their _()
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "{{" in node.value:
                for m in re.finditer(r"""_\(\s*(["'])(.+?)\1""", node.value):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: inline template, not extracted: {m.group(2)[:70]!r}")
    return found


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--update", action="store_true", help="extract, update, fill en, compile")
    ap.add_argument("--missing", action="store_true", help="list untranslated es_MX msgids")
    ap.add_argument("--unwrapped", action="store_true", help="list text not wrapped for translation")
    args = ap.parse_args()
    if args.unwrapped:
        for line in unwrapped_templates() + unwrapped_python():
            print(line)
        return 0
    if args.update:
        update()
    return status(args.missing)


if __name__ == "__main__":
    sys.exit(main())
