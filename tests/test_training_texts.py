"""Issue 15, defect 9: the training texts match the interface and speak as it does (*usted*).

* Every name an exercise quotes as part of the interface («…» after a verb that acts on the
  interface, and each part of a path "Administración → … → …") is text the interface shows in
  Spanish: a site section's title, an admin menu entry, or a message of the catalogs (a button,
  a heading, a field). Quotes that are examples or data (after "por ejemplo", keywords the
  participant must write, addresses) are not interface names.
* docs/capacitacion.md names only sections and menu entries that exist.
* The Spanish interface and the exercises use *usted*: no *tú* forms.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale

from comun_cms.plugins import flatten, tenant_hook
from comun_cms.site import SECTIONS
from comun_cms.training import exercises

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = [ROOT / "comun_cms" / "translations"] + sorted((ROOT / "plugins").glob("*/translations"))
#: Verbs that act on the interface: the quote after them names a button, a link, a field, a section.
UI_VERB = re.compile(r"\b(pulse|abra|use|elija|entre a|en)\s+(?:la sección\s+|el botón\s+|el enlace\s+)?«([^»]+)»", re.I)
PATH = re.compile(r"Administración\s*→\s*")
#: A later part of a menu path: a quoted name, or words up to punctuation.
NEXT_PART = re.compile(r"\s*→\s*(?:«([^»]+)»|([^→.,;:«»()]+))")
#: Second-person singular (tú) forms; the interface speaks as usted.
TU = re.compile(r"\b(tu|tus|tú|ti|contigo|puedes|haz|súmate|eres|tienes|quieres|estás|publicaste|declaraste|"
                r"llevas|hiciste|guardes|tengas|hayas|entra a|elige|pulsa|revísalo|publícalo|publícala|créalo|"
                r"agrégale|asegúrate|comprobaste|descargaste|te sugerimos)\b", re.I)


def _msgstrs() -> set[str]:
    out = set()
    for folder in CATALOGS:
        po = folder / "es_MX" / "LC_MESSAGES" / "messages.po"
        with po.open("rb") as fh:
            for m in read_po(fh, locale="es_MX"):
                for s in (m.string if isinstance(m.string, tuple) else (m.string,)):
                    if s:
                        out.add(s.strip())
    return out


@pytest.fixture
def spanish_texts(app):
    """``{exercise number: [goal and step texts]}`` of the training tenant, in Spanish, and the
    interface names: section titles and admin menu labels."""
    training = next(t for t in app.extensions["comun"].tenants.values() if t.training and not t.is_workspace)
    with app.test_request_context("/"), force_locale("es_MX"):
        texts = {ex.number: [str(t) for task in ex.tasks for t in (task.title, *task.goals, *task.steps)]
                 for ex in exercises(training)}
        sections = {str(s.title) for s in SECTIONS}
        menu = {str(i.label) for i in flatten(tenant_hook(training, "admin_menu_items")(tenant=training))}
    return texts, sections, menu


def _shows(name: str, ui: set[str], patterns: list[re.Pattern]) -> bool:
    """Whether the interface shows ``name``: a message, section or menu label, a message with
    placeholders filled (``Pasar a la etapa “%(stage)s”``), or a long name inside a message."""
    return (name in ui or any(p.fullmatch(name) for p in patterns)
            or (len(name) > 12 and any(name in s for s in ui)))


def test_exercises_quote_only_names_the_interface_shows(spanish_texts):
    texts, sections, menu = spanish_texts
    ui = _msgstrs() | sections | menu
    patterns = [re.compile(re.sub(r"%\\\(\w+\\\)[sd]", ".+", re.escape(s))) for s in ui if "%(" in s]
    wrong = []
    for number, lines in texts.items():
        for line in lines:
            for m in UI_VERB.finditer(line):
                name = m.group(2).strip()
                if not _shows(name, ui, patterns):
                    wrong.append(f"exercise {number}: «{name}» in: {line[:90]}")
            for m in PATH.finditer(line):
                rest = line[m.end():]
                entry = next((label for label in sorted(menu, key=len, reverse=True) if rest.startswith(label)), None)
                if entry is None:
                    wrong.append(f"exercise {number}: no menu entry “{rest[:30]}…” (menu: {sorted(menu)})")
                    continue
                rest = rest[len(entry):]
                while (part := NEXT_PART.match(rest)) is not None:
                    name = (part.group(1) or part.group(2)).strip()
                    if not _shows(name, ui, patterns):
                        wrong.append(f"exercise {number}: “{name}” after “{entry}” is not in the interface")
                    rest = rest[part.end():]
    assert not wrong, "\n".join(wrong)


def test_exercise_sections_are_the_dropdowns_titles(spanish_texts):
    texts, sections, _menu = spanish_texts
    quoted = {name for lines in texts.values() for line in lines
              for name in re.findall(r"elija «([^»]+)»", line)}
    assert quoted and quoted <= sections, quoted - sections
    assert not any("«links»" in line or "«join»" in line for lines in texts.values() for line in lines)


def test_training_guide_names_existing_sections(spanish_texts):
    _texts, sections, menu = spanish_texts
    guide = (ROOT / "docs" / "capacitacion.md").read_text(encoding="utf-8")
    names = (set(re.findall(r"sección «([^»]+)»", guide)) | set(re.findall(r"secciones? \*\*([^*]+)\*\*", guide))
             | set(re.findall(r"Página en «([^»]+)»", guide)))
    assert names, "the guide names no section"
    missing = {n for n in names if n not in sections}
    assert not missing, f"docs/capacitacion.md names sections that do not exist: {missing} (sections: {sorted(sections)})"
    for stale in ("Súmate", "Actas y evidencias"):
        assert stale not in guide


def test_the_interface_and_the_exercises_speak_as_usted(spanish_texts):
    texts, _sections, _menu = spanish_texts
    found = [f"exercise {n}: {line[:100]}" for n, lines in texts.items() for line in lines if TU.search(line)]
    found += [f"catalog: {s[:100]}" for s in _msgstrs() if TU.search(s)]
    assert not found, "\n".join(found)
