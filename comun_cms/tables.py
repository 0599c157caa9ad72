"""Bulk entry: a table pasted from a spreadsheet or uploaded as CSV or XLSX, read into rows.

Used where real work is bulk (the members of an STL body, ...): the admin pastes or uploads a
table whose first row names the columns, sees a preview, and confirms; the caller validates every
row and stores all of them or none (naming the row numbers of the bad ones).

* :func:`read_table` reads the text or the file into :class:`TableRow` objects, mapping the
  header names (Spanish or English, accents and case ignored) to the caller's column keys;
* :func:`table_to_text` writes rows back as tab-separated text, so a preview can carry an
  uploaded file's content to the confirmation without the file;
* :class:`TableError` explains, in the user's language, what is wrong with the table itself.

Formats: CSV (RFC 4180; comma, semicolon or tab separated, detected with :class:`csv.Sniffer`,
UTF-8 with or without BOM) and Office Open XML workbooks (``.xlsx``, first sheet, read with
openpyxl in read-only mode, formulas as their cached values).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import unicodedata
import zipfile
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from flask_babel import gettext as _

__all__ = ["MAX_ROWS", "MAX_TABLE_BYTES", "TableError", "TableRow", "read_table", "table_to_text"]

#: Most data rows one table may have.
MAX_ROWS = 500
#: Largest pasted text or uploaded file, in bytes.
MAX_TABLE_BYTES = 2 * 1024 * 1024


class TableError(ValueError):
    """The table cannot be read (format, header, size). ``str(error)`` is the translated message."""


@dataclass(frozen=True)
class TableRow:
    """One data row: ``number`` is its line in the table as the person sees it (the header is
    row 1, so the first data row is 2); ``values`` maps column keys to stripped text (``""``
    when empty; dates from a workbook as ``YYYY-MM-DD``)."""

    number: int
    values: Mapping[str, str]


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", str(text or "")).encode("ascii", "ignore").decode("ascii")
    return " ".join(text.lower().replace("_", " ").split())


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _rows_from_text(text: str) -> list[list[str]]:
    text = text.lstrip("\ufeff")
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return []
    sample = "\n".join(lines[:20])
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters="\t;,")
    except csv.Error:
        dialect = csv.excel_tab if "\t" in sample else csv.excel
    return [[_cell(c) for c in row] for row in csv.reader(io.StringIO("\n".join(lines)), dialect)]


def _rows_from_xlsx(data: bytes) -> list[list[str]]:
    # imported here: openpyxl takes ~0.5 s to import and only spreadsheet uploads need it
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise TableError(_("The file could not be read as an Excel workbook (.xlsx).")) from exc
    try:
        sheet = workbook.worksheets[0]
        rows = []
        for row in sheet.iter_rows(values_only=True):
            cells = [_cell(c) for c in row]
            if any(cells):
                rows.append(cells)
            if len(rows) > MAX_ROWS + 1:
                break
        return rows
    finally:
        workbook.close()


def read_table(columns: Mapping[str, Sequence[str]], *, text: str = "", file: Any = None,
               required: Sequence[str] = ()) -> list[TableRow]:
    """Read a pasted ``text`` or an uploaded ``file`` (werkzeug ``FileStorage``; ``.csv``,
    ``.txt`` or ``.xlsx``) whose first row names the columns.

    Args:
        columns: ``{key: accepted header names}``, e.g. ``{"name": ("Nombre", "Name")}``; header
            cells are compared with accents, case, ``_`` and extra spaces ignored.
        text / file: the table; the file wins when both are given.
        required: keys whose column must be present.

    Returns:
        The non-empty data rows, in order.

    Raises:
        TableError: nothing given, too large, unreadable file, unknown or repeated column,
            missing required column, no data row, more than :data:`MAX_ROWS` rows.
    """
    if file is not None and getattr(file, "filename", ""):
        data = file.read(MAX_TABLE_BYTES + 1)
        if len(data) > MAX_TABLE_BYTES:
            raise TableError(_("The file is larger than %(n)d MB.", n=MAX_TABLE_BYTES // (1024 * 1024)))
        name = file.filename.lower()
        if name.endswith(".xlsx"):
            raw = _rows_from_xlsx(data)
        elif name.endswith((".csv", ".txt", ".tsv")):
            try:
                raw = _rows_from_text(data.decode("utf-8"))
            except UnicodeDecodeError as exc:
                raise TableError(_("The file is not UTF-8 text; save it as “CSV UTF-8” or as .xlsx.")) from exc
        else:
            raise TableError(_("Upload a .csv or .xlsx file."))
    else:
        if len(text.encode("utf-8")) > MAX_TABLE_BYTES:
            raise TableError(_("The pasted table is larger than %(n)d MB.", n=MAX_TABLE_BYTES // (1024 * 1024)))
        raw = _rows_from_text(text or "")
    if not raw:
        raise TableError(_("The table is empty: paste it or upload a file, with the column names in the first row."))
    lookup = {_fold(name): key for key, names in columns.items() for name in (key, *names)}
    header = raw[0]
    keys: list[str | None] = []
    for cell in header:
        if not cell:
            keys.append(None)
            continue
        key = lookup.get(_fold(cell))
        if key is None:
            expected = ", ".join(str(names[0]) if names else key for key, names in columns.items())
            raise TableError(_("Unknown column “%(name)s” in row 1. The columns are: %(expected)s.",
                               name=cell, expected=expected))
        if key in keys:
            raise TableError(_("The column “%(name)s” appears twice in row 1.", name=cell))
        keys.append(key)
    for key in required:
        if key not in keys:
            names = columns.get(key) or (key,)
            raise TableError(_("Row 1 has no column “%(name)s”, which is required.", name=names[0]))
    rows = []
    for number, cells in enumerate(raw[1:], start=2):
        values = {key: (cells[i] if i < len(cells) else "") for i, key in enumerate(keys) if key is not None}
        if any(values.values()):
            rows.append(TableRow(number, {k: values.get(k, "") for k in columns}))
    if not rows:
        raise TableError(_("The table has column names but no data rows."))
    if len(rows) > MAX_ROWS:
        raise TableError(_("The table has more than %(n)d rows; split it.", n=MAX_ROWS))
    return rows


def table_to_text(columns: Sequence[str], rows: Sequence[TableRow]) -> str:
    """Tab-separated text of ``rows`` with ``columns`` (the header names to write, in the
    order of the rows' keys): what a preview carries to the confirmation."""
    out = io.StringIO()
    writer = csv.writer(out, dialect=csv.excel_tab, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(list(row.values.values()))
    return out.getvalue()
