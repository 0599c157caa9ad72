"""Controlled vocabularies of the STL-minutes plugin (code values and translated labels).

Code values are stable English identifiers stored in the database and in published content;
labels are lazy gettext strings with English msgids (the UI shows es-MX). Sector codes follow
the project glossary (``shared/GLOSSARY.md``).
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

#: Collegiate bodies a tenant may record.
BODY_KINDS = {
    "stl": _l("Local Technical Secretariat"),
    "coordinating_committee": _l("Coordinating Committee"),
    "governing_board": _l("Governing Board"),
    "executive_commission": _l("Executive Commission"),
    "citizen_participation_committee": _l("Citizen Participation Committee"),
}

#: Sectors of members and attendees (glossary: gobierno, sociedad civil, órgano garante,
#: academia, iniciativa privada).
SECTORS = {
    "government": _l("Government"),
    "civil_society": _l("Civil society"),
    "guarantor": _l("Transparency authority"),
    "academia": _l("Academia"),
    "private": _l("Private sector"),
}

#: Capacity in which a person sits in a body or attends a session ("" = not reported).
CAPACITIES = {
    "member": _l("Member"),
    "alternate": _l("Alternate"),
    "guest": _l("Guest"),
    "facilitator": _l("Facilitator"),
}

SESSION_KINDS = {
    "inaugural": _l("Inaugural session"),
    "regular": _l("Regular session"),
    "special": _l("Special session"),
}

MODALITIES = {
    "in_person": _l("In person"),
    "virtual": _l("Virtual"),
    "hybrid": _l("Hybrid"),
}

#: Standard agenda item kinds, in their usual order.
AGENDA_KINDS = {
    "roll_call": _l("Roll call and quorum"),
    "agenda_approval": _l("Approval of the agenda"),
    "previous_minutes": _l("Approval of the previous minutes"),
    "informative": _l("Informative item"),
    "deliberative": _l("Deliberative item"),
    "general_matters": _l("General matters"),
}

#: Default Spanish titles of standard agenda items (record text, not UI).
AGENDA_DEFAULT_TITLES = {
    "roll_call": "Lista de asistencia y declaración de quórum",
    "agenda_approval": "Lectura y aprobación del orden del día",
    "previous_minutes": "Aprobación del acta de la sesión anterior",
    "general_matters": "Asuntos generales",
}

VOTES = {
    "unanimous": _l("Unanimous"),
    "majority": _l("By majority"),
    "no_vote": _l("No vote"),
}

#: Stored agreement statuses. ``overdue`` is never stored: it is computed (see
#: :func:`plugins.stl_minutes.services.effective_status`). ``unknown`` marks real agreements
#: whose follow-up the source does not report.
AGREEMENT_STATUSES = {
    "pending": _l("Pending"),
    "in_progress": _l("In progress"),
    "done": _l("Done"),
    "cancelled": _l("Cancelled"),
    "unknown": _l("No follow-up recorded"),
}
OVERDUE_LABEL = _l("Overdue")
#: Statuses an agreement can no longer be overdue in.
CLOSED_STATUSES = ("done", "cancelled")
#: Statuses of the public filter (stored ones plus the computed ``overdue``).
FILTER_STATUSES = {**AGREEMENT_STATUSES, "overdue": OVERDUE_LABEL}

EVIDENCE_CATEGORIES = {
    "signed_minutes": _l("Signed minutes (PDF)"),
    "attendance_sheet": _l("Attendance sheet"),
    "photo": _l("Photo"),
    "audio": _l("Audio"),
    "video": _l("Video"),
    "presentation": _l("Presentation or document"),
    "other": _l("Other"),
}
#: Upload kinds (see comun_cms.toolkit.store_upload) accepted per evidence category.
EVIDENCE_KINDS = {
    "signed_minutes": ("pdf",),
    "attendance_sheet": ("pdf", "image", "document"),
    "photo": ("image",),
    "audio": ("audio",),
    "video": ("video",),
    "presentation": ("pdf", "document"),
    "other": ("pdf", "image", "audio", "video", "document"),
}

#: Minutes lifecycle stages (the record's publishing status is separate).
STAGES = {
    "draft": _l("Draft"),
    "review": _l("In review"),
    "approved": _l("Approved"),
    "published": _l("Published and locked"),
}

QUORUM_RULES = {
    "majority": _l("Majority of the members"),
    "majority_each_sector": _l("Majority of the members of each sector"),
    "majority_all_sectors": _l("Majority of the members, with at least one member of each sector"),
}

#: Kind codes used in agreement keys (``STL-MEX/ORD19/2023/01``).
KIND_CODES = {"regular": "ORD", "special": "EXT", "inaugural": "INS"}

#: Default agreement-key prefixes of the known tenants (state abbreviations used by the SESEA).
DEFAULT_PREFIXES = {"edomex": "STL-MEX", "puebla": "STL-PUE", "hidalgo": "STL-HGO"}


def label(vocabulary: dict, code: str | None, empty=None):
    """Return the label of ``code`` in ``vocabulary``; ``empty`` (default "Not reported") for
    an empty code and the code itself when unknown."""
    if not code:
        return empty if empty is not None else _l("Not reported")
    return vocabulary.get(code, code)


def choices(vocabulary: dict, blank=None) -> list[tuple[str, object]]:
    """``(code, label)`` pairs for a WTForms ``SelectField``; ``blank`` adds a first empty choice."""
    out = [(k, v) for k, v in vocabulary.items()]
    return ([("", blank)] if blank is not None else []) + out
