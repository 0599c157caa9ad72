"""Bulk entry tables (``comun_cms.tables``): pasted text, CSV and XLSX files, header mapping,
errors that name the problem."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import Workbook
from werkzeug.datastructures import FileStorage

from comun_cms.tables import MAX_ROWS, TableError, read_table, table_to_text

COLUMNS = {"name": ("Nombre", "Name"), "sector": ("Sector",), "term_start": ("Inicio del periodo", "Term starts")}


def upload(data: bytes, filename: str) -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=filename)


@pytest.mark.parametrize("text", [
    "Nombre,Sector\nAna Pérez,gobierno\n\nLuis Gómez,academia\n",
    "NOMBRE;sector\nAna Pérez;gobierno\nLuis Gómez;academia",
    "nombre\tSector\nAna Pérez\tgobierno\nLuis Gómez\tacademia",  # pasted from a spreadsheet
])
def test_pasted_text_in_any_separator(app, text):
    with app.test_request_context():
        rows = read_table(COLUMNS, text=text, required=("name",))
    assert [(r.number, r.values["name"], r.values["sector"], r.values["term_start"]) for r in rows] == [
        (2, "Ana Pérez", "gobierno", ""), (3, "Luis Gómez", "academia", "")]


def test_xlsx_with_dates_and_english_headers(app):
    wb = Workbook()
    ws = wb.active
    ws.append(["Name", "Term starts"])
    ws.append(["Ana Pérez", dt.datetime(2024, 3, 1)])
    ws.append([None, None])
    ws.append(["Luis Gómez", None])
    buffer = io.BytesIO()
    wb.save(buffer)
    with app.test_request_context():
        rows = read_table(COLUMNS, file=upload(buffer.getvalue(), "integrantes.xlsx"))
    assert [(r.number, dict(r.values)) for r in rows] == [
        (2, {"name": "Ana Pérez", "sector": "", "term_start": "2024-03-01"}),
        (3, {"name": "Luis Gómez", "sector": "", "term_start": ""})]


def test_csv_file_with_bom_and_round_trip(app):
    data = "\ufeffNombre,Inicio del periodo\n\"Pérez, Ana\",2024-01-15\n".encode("utf-8")
    with app.test_request_context():
        rows = read_table(COLUMNS, file=upload(data, "tabla.csv"))
        assert rows[0].values["name"] == "Pérez, Ana"
        again = read_table(COLUMNS, text=table_to_text(["Nombre", "Sector", "Inicio del periodo"], rows))
    assert again == rows


@pytest.mark.parametrize("kwargs,message", [
    ({"text": ""}, "The table is empty"),
    ({"text": "Nombre,Edad\nAna,30"}, "Unknown column “Edad” in row 1"),
    ({"text": "Sector\ngobierno"}, "Row 1 has no column “Nombre”"),
    ({"text": "Nombre,Name\nAna,Ana"}, "appears twice in row 1"),
    ({"text": "Nombre\n"}, "no data rows"),
    ({"file": "x.pdf"}, "Upload a .csv or .xlsx file"),
    ({"file": "x.xlsx"}, "could not be read as an Excel workbook"),
    ({"text": "Nombre\n" + "\n".join(f"P{i}" for i in range(MAX_ROWS + 1))}, f"more than {MAX_ROWS} rows"),
])
def test_bad_tables_are_explained(app, kwargs, message):
    if "file" in kwargs:
        kwargs = {"file": upload(b"not a workbook", kwargs["file"])}
    with app.test_request_context(), pytest.raises(TableError, match=message):
        read_table(COLUMNS, required=("name",), **kwargs)
