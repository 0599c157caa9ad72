"""Open datasets: published records as CSV (UTF-8 with BOM, RFC 4180) and JSON.

Plugins return :class:`Dataset` objects from the ``open_datasets`` hook; the core lists them in
each tenant's open-data section and streams the downloads. Only published records belong in a
dataset; every row carries its ``version`` and ``content_sha256`` so it can be checked against
the record's publication.
"""
from __future__ import annotations

import csv
import io
import json
from typing import Any, Iterator

from comun_cms.hooktypes import Dataset, DatasetField  # noqa: F401 (re-exported)
from comun_cms.content_types import jsonable


def _cell(value: Any) -> str:
    value = jsonable(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def iter_csv(dataset: Dataset) -> Iterator[str]:
    """Yield the dataset as CSV text chunks: UTF-8 BOM, header, one RFC 4180 line per row (CRLF)."""
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
