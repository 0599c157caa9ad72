"""Sample records for the conformance kit (:func:`comun_cms.toolkit.testing.check_plugin`).

``sample_record(content_type, tenant, marker)`` returns a **draft** record of one of the
plugin's content types in the current tenant whose public text contains ``marker``. Parent rows
the record needs (a published framework version for cycles and recommendations) are created
through the plugin's own services the first time and reused afterwards; numbers are taken from
the services so repeated calls never clash with the unique constraints. Nothing is committed
here (the kit adds the record and commits).
"""
from __future__ import annotations

from sqlalchemy import select

from comun_cms.toolkit import db

from . import services
from .models import CriteriaFramework

#: Lineage of the published framework version that sample cycles and recommendations use.
PARENT_SLUG = "conformance-sample"
PARENT_VERSION = "1"


def _framework_csv(title: str) -> str:
    """A valid one-criterion framework CSV (100 points)."""
    return ("code,category,category_name,points,title\r\n"
            f"S-01,S,Categoría de ejemplo,100,{title}\r\n")


def draft_framework(marker: str) -> CriteriaFramework:
    """A new draft framework version (one category, one criterion) named after ``marker``."""
    return services.import_framework(
        _framework_csv(f"Criterio de ejemplo {marker}"), slug=f"cnf-{marker}"[:80], version_label="1",
        name=f"Marco de ejemplo {marker}", description=f"Descripción de ejemplo {marker}",
        source="conformance kit")


def parent_framework() -> CriteriaFramework:
    """The tenant's published sample framework version (imported and published once)."""
    fw = db.session.scalar(select(CriteriaFramework).where(CriteriaFramework.slug == PARENT_SLUG,
                                                           CriteriaFramework.version_label == PARENT_VERSION))
    if fw is None:
        fw = services.import_framework(_framework_csv("Criterio de ejemplo"), slug=PARENT_SLUG,
                                       version_label=PARENT_VERSION, name="Marco de ejemplo",
                                       source="conformance kit")
    if fw.status == "draft":
        services.publish_framework(fw)
    return fw


def sample_record(content_type, tenant, marker: str):
    """Draft ``criteria_framework``, ``evaluation_cycle`` or ``recommendation`` containing
    ``marker`` (conformance kit). ``content_type`` is a ContentType or its name."""
    name = getattr(content_type, "name", content_type)
    today = services.today(tenant)
    if name == "criteria_framework":
        return draft_framework(marker)
    if name == "evaluation_cycle":
        cycle = services.create_cycle(parent_framework(), title=f"Evaluación de ejemplo {marker}",
                                      period_label=str(today.year), cutoff_date=today,
                                      methodology=f"Metodología de ejemplo {marker}")
        # the kit publishes with comun_cms.toolkit.publish, not services.publish_cycle: store the
        # score snapshot publish_cycle would store, so the record is complete when published
        cycle.scores = services.scores_snapshot(cycle)
        return cycle
    if name == "recommendation":
        fw = parent_framework()
        return services.issue_recommendation(title=f"Recomendación de ejemplo {marker}",
                                             body=f"Texto de ejemplo {marker}", criteria=list(fw.criteria),
                                             issued_on=today, issuer_name="Evaluador de ejemplo",
                                             publish=False)
    raise LookupError(f"criteria has no content type '{name}'")
