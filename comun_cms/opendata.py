"""Open datasets: published records as CSV (UTF-8 with BOM, RFC 4180) and JSON.

CSV cells that a spreadsheet would run as a formula are neutralized (:func:`neutralize_formula`,
OWASP "CSV Injection"); the JSON keeps every value exact.

Plugins return :class:`Dataset` objects from the ``open_datasets`` hook; the core lists them in
each tenant's open-data section and streams the downloads. Only published records belong in a
dataset; every row carries its ``version`` and ``content_sha256`` so it can be checked against
the record's publication.
"""
from __future__ import annotations

import csv
import decimal
import io
import json
import re
from typing import Any, Iterator

from comun_cms.hooktypes import Dataset, DatasetField  # noqa: F401 (re-exported)
from comun_cms.content_types import jsonable


#: First characters that make a spreadsheet cell a formula (OWASP "CSV Injection": ``=``, ``+``,
#: ``-``, ``@``, tab, carriage return), possibly behind quotes already added by us.
_FORMULA_START = re.compile(r"'*[=+\-@\t\r]")
_PLAIN_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\Z")


def neutralize_formula(value: Any) -> Any:
    """Return ``value`` safe to write in a CSV or XLSX cell: a text that starts with ``=``, ``+``,
    ``-``, ``@``, tab or carriage return gets a ``'`` in front, so Excel, LibreOffice and Google
    Sheets show it as text instead of running it (OWASP "CSV Injection").

    Numbers stay numbers: ``int``, ``float`` and ``Decimal`` values, and texts that are plain
    decimal numbers (``-12.5``, ``+52``, ``1e3``), come back unchanged. Texts that already start
    with quotes before such a character get one more, so :func:`restore_formula` undoes exactly
    this function (a round trip is exact). Any other value is returned as is.

    Args:
        value: a cell value (usually ``str``).
    Returns:
        The value to write.
    """
    if isinstance(value, str) and _FORMULA_START.match(value) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def restore_formula(value: Any) -> Any:
    """Undo :func:`neutralize_formula` on a cell read back from one of our CSV exports: drop one
    leading ``'`` when what follows would be neutralized. Other values are returned as is.

    ``restore_formula(neutralize_formula(v)) == v`` for every string ``v``.
    """
    if isinstance(value, str) and value.startswith("'") and _FORMULA_START.match(value, 1):
        return value[1:]
    return value


def _cell(value: Any) -> str:
    if isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool):
        return str(jsonable(value))
    value = jsonable(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return neutralize_formula(str(value))


def iter_csv(dataset: Dataset) -> Iterator[str]:
    """Yield the dataset as CSV text chunks: UTF-8 BOM, header, one RFC 4180 line per row (CRLF).
    Text cells pass through :func:`neutralize_formula`; numbers, booleans and JSON cells do not."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    yield "\ufeff"
    writer.writerow(dataset.field_names)
    for i, row in enumerate(dataset.rows()):
        writer.writerow([_cell(row.get(name)) for name in dataset.field_names])
        if i % 200 == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def iter_json(dataset: Dataset, meta: dict | None = None) -> Iterator[str]:
    """Yield the dataset as a JSON document ``{"dataset": ..., "fields": [...], "records": [...]}``
    in chunks (streamed, one record at a time)."""
    head = {"dataset": dataset.name, "licence": dataset.licence, **(meta or {}),
            "fields": [{"name": f.name, "type": f.type, "description": str(f.description)} for f in dataset.fields]}
    text = json.dumps(head, ensure_ascii=False)
    yield text[:-1] + ', "records": ['
    first = True
    for row in dataset.rows():
        yield ("" if first else ",") + json.dumps({k: jsonable(row.get(k)) for k in dataset.field_names}, ensure_ascii=False)
        first = False
    yield "]}"
