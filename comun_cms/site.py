"""The seven sections every STL site must have (source: ``stl_site_sections`` in
``shared/data/stl_sessions.json``, from the co-creation workshop document). Plugins fill the
sections they own through the ``template_slot`` hook (slot ``section.<key>``); core pages can be
placed in any section with ``Page.section``."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Section:
    """A site section: ``key`` (URL and slot name), ``title`` and ``description`` (lazy strings)."""

    key: str
    title: object
    description: object


SECTIONS: tuple[Section, ...] = (
    Section("minutes", _l("Minutes and evidence"),
            _l("Minutes of the Local Technical Secretariat, documentary evidence of its sessions (photos, video, audio) and relevant communiqués.")),
    Section("commitments", _l("Commitments and agenda"),
            _l("Progress of the commitments and the agenda of activities.")),
    Section("contact", _l("Contact"), _l("Contact details of the Executive Secretariat.")),
    Section("open_data", _l("Open data"), _l("Published records as downloadable open data.")),
    Section("links", _l("Links of interest"), _l("Documents and links of interest.")),
    Section("feedback", _l("Questions, complaints and suggestions"),
            _l("Send your questions, complaints and suggestions.")),
    Section("join", _l("Join open government"),
            _l("Tell us you want to take part in the open-government exercises.")),
)
SECTION_KEYS = tuple(s.key for s in SECTIONS)


def get_section(key: str) -> Section | None:
    """Return the section ``key`` or ``None``."""
    return next((s for s in SECTIONS if s.key == key), None)
