"""Open dataset of the co-creation plugin (``open_datasets`` hook): the published problems of
the consultations, each row with the ``version`` and ``content_sha256`` of its publication."""
from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from comun_cms.toolkit import Dataset, DatasetField, Publication, db

from . import services as svc
from .models import Problem

F = DatasetField


def problem_rows():
    """Rows of the ``cocreation-problems`` dataset (published problems, never e-mail addresses)."""
    problems = list(db.session.scalars(select(Problem).where(Problem.status == "published").order_by(Problem.id)))
    wanted = {str(p.id): p.version for p in problems}
    shas = {}
    if wanted:
        for pub in db.session.scalars(select(Publication).where(Publication.content_type == "cocreation_problem",
                                                                Publication.record_id.in_(list(wanted)))):
            if wanted.get(pub.record_id) == pub.version:
                shas[pub.record_id] = pub.sha256
    for p in problems:
        yield {"id": p.id, "process_id": p.process_id, "title": p.title, "description": p.description,
               "theme": p.theme, "municipality": p.municipality, "source": p.source,
               "supports": svc.support_count(p.id), "published_at": p.published_at, "is_demo": p.is_demo,
               "version": p.version, "content_sha256": shas.get(str(p.id)),
               "url": url_for("cocreation.problem", tenant=p.tenant_id, problem_id=p.id, _external=True)}


def datasets() -> list[Dataset]:
    """The plugin's dataset ``cocreation-problems``."""
    return [Dataset(
        name="cocreation-problems", title=_l("Public problems of the co-creation consultations"), plugin="cocreation",
        description=_l("Problems stated by people in the consultations (online or on paper) and published "
                       "after moderation, with their confirmed supports."),
        fields=(F("id", "integer", _l("Record identifier")), F("process_id", "integer", _l("Process identifier")),
                F("title", "string", _l("Title")), F("description", "string", _l("Description")),
                F("theme", "string", _l("Theme")), F("municipality", "string", _l("Municipality")),
                F("source", "string", _l("Source: online or paper")),
                F("supports", "integer", _l("Supports confirmed by e-mail")),
                F("published_at", "datetime", _l("Date of the current version (UTC)")),
                F("is_demo", "boolean", _l("Demo data, not real")),
                F("version", "integer", _l("Published version number")),
                F("content_sha256", "string", _l("SHA-256 of the version's canonical JSON")),
                F("url", "string", _l("Public address"))),
        rows=problem_rows)]
