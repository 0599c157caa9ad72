"""Bulk entry of a body's members: a table pasted from a spreadsheet or uploaded (CSV/XLSX),
previewed row by row, and stored all at once (all rows or none), publishing one correction of
the body when it is published."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata

from flask import flash, redirect, render_template, request, url_for
from flask_babel import force_locale, gettext as _, lazy_gettext as _l
from flask_login import current_user

from comun_cms.toolkit import (
    ChangeRefused, TableError, TableRow, admin_change, db, one_or_404, read_table, require_role, table_to_text,
)

from .. import services as svc
from ..forms import MembersImportForm
from ..models import Body, Member
from ..vocab import CAPACITIES, SECTORS
from .common import EDITORS, INVALID, REFUSALS

#: ``{column key: accepted header names}``; the first name is the one shown and written.
COLUMNS = {
    "name": ("Nombre", "Name", "Nombre completo"),
    "institution": ("Institución", "Institution", "Organización", "Organization"),
    "post": ("Cargo", "Post", "Puesto"),
    "sector": ("Sector",),
    "capacity": ("Calidad", "Capacity", "Carácter"),
    "term_start": ("Inicio del periodo", "Term starts", "Inicio"),
    "term_end": ("Fin del periodo", "Term ends", "Fin"),
    "email": ("Correo", "E-mail", "Email", "Correo electrónico"),
}
LENGTHS = {"name": 200, "institution": 300, "post": 300, "email": 254}
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y")


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii")
    return " ".join(text.lower().replace("_", " ").split())


def _code(value: str, vocabulary: dict) -> str | None:
    """The vocabulary key of ``value`` given as the key or as its label in Spanish or English
    (accents and case ignored), else ``None``."""
    wanted = _fold(value)
    names = {_fold(key): key for key in vocabulary}
    for locale in ("es_MX", "en"):
        with force_locale(locale):
            names.update({_fold(str(label)): key for key, label in vocabulary.items()})
    return names.get(wanted)


def _date(value: str) -> dt.date | None:
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise ValueError(value)


def check_row(row: TableRow) -> tuple[dict, list[str]]:
    """Validate one row: returns the member's values and the problems (translated, each naming
    the column)."""
    v, problems, values = row.values, [], {}
    for key, limit in LENGTHS.items():
        values[key] = v.get(key, "")
        if len(values[key]) > limit:
            problems.append(_("%(column)s: at most %(max)d characters.", column=COLUMNS[key][0], max=limit))
    if not values["name"]:
        problems.append(_("%(column)s: the name is required.", column=COLUMNS["name"][0]))
    if values["email"] and (not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", values["email"])):
        problems.append(_("%(column)s: “%(value)s” is not an e-mail address.", column=COLUMNS["email"][0],
                          value=values["email"]))
    values["sector"] = ""
    if v.get("sector"):
        values["sector"] = _code(v["sector"], SECTORS) or ""
        if not values["sector"]:
            problems.append(_("%(column)s: “%(value)s” is not one of: %(allowed)s.", column=COLUMNS["sector"][0],
                              value=v["sector"], allowed=", ".join(str(label) for label in SECTORS.values())))
    values["capacity"] = "member"
    if v.get("capacity"):
        values["capacity"] = _code(v["capacity"], CAPACITIES) or ""
        if not values["capacity"]:
            problems.append(_("%(column)s: “%(value)s” is not one of: %(allowed)s.", column=COLUMNS["capacity"][0],
                              value=v["capacity"], allowed=", ".join(str(label) for label in CAPACITIES.values())))
    for key in ("term_start", "term_end"):
        values[key] = None
        if v.get(key):
            try:
                values[key] = _date(v[key])
            except ValueError:
                problems.append(_("%(column)s: “%(value)s” is not a date; write it as 2024-03-31 or 31/03/2024.",
                                  column=COLUMNS[key][0], value=v[key]))
    if values["term_start"] and values["term_end"] and values["term_end"] < values["term_start"]:
        problems.append(_("%(column)s: the term cannot end before it starts.", column=COLUMNS["term_end"][0]))
    return values, problems


def _render(body: Body, form: MembersImportForm, rows=None, status: int = 200):
    return render_template("stl_minutes/admin/members_import.html", b=body, form=form, rows=rows or [],
                           columns=COLUMNS, sectors=SECTORS, capacities=CAPACITIES), status


@require_role(*EDITORS)
def members_import(body_id: int):
    """Add several members at once from a pasted or uploaded table. "Preview" shows every row
    with its problems; "Add the members" stores them all (or none, naming the bad rows) and,
    when the body is published, publishes one correction with the reason."""
    body = one_or_404(Body, body_id)
    form = MembersImportForm()
    form.require_reason = body.status == "published" and "confirm" in request.form
    if request.method == "GET":
        return _render(body, MembersImportForm(formdata=None))
    if not form.validate_on_submit():
        return _render(body, form, status=INVALID)
    try:
        table = read_table(COLUMNS, text=form.table.data or "", file=form.file.data, required=("name",))
    except TableError as exc:
        form.table.errors = list(form.table.errors) + [str(exc)]
        return _render(body, form, status=INVALID)
    rows = [(row, *check_row(row)) for row in table]
    # the preview carries the table as text, so the confirmation does not need the file again
    form.table.data = table_to_text([names[0] for names in COLUMNS.values()], table)
    bad = [row.number for row, _values, problems in rows if problems]
    if bad:
        form.form_errors.append(_l("Rows with problems: %(rows)s. Correct them in the table and preview again; "
                                   "no member was added.", rows=", ".join(map(str, bad))))
        return _render(body, form, rows, INVALID)
    if "confirm" not in request.form:
        return _render(body, form, rows)
    with admin_change("stl_member.import", object_type="stl_body", object_id=body.id, form=form, errors=REFUSALS,
                      before={"members": len(body.members)}) as change:
        position = max((m.position for m in body.members), default=-1)
        added = []
        for _row, values, _problems in rows:
            position += 1
            member = Member(body_id=body.id, position=position, **values)
            body.members.append(member)
            added.append(values["name"])
        db.session.flush()
        if body.status == "published" and not (form.reason.data or "").strip():
            raise ChangeRefused(form.reason_missing, field="reason")
        svc.sync_body(body, form.reason.data, user=current_user)
        change.after = {"members": len(body.members), "added": added}
    if change.failed:
        return _render(one_or_404(Body, body_id), form, rows, INVALID)
    flash(_("%(n)d members added.", n=len(added)), "success")
    return redirect(url_for("admin_stl_minutes.body_edit", body_id=body.id) + "#members", code=303)
