"""Admin actions on a session's agenda: add an item, add the standard items, remove, move."""
from __future__ import annotations

from flask import flash, redirect, request
from flask_babel import gettext as _

from comun_cms.toolkit import ConfirmForm, admin_change, one_or_404, require_role

from .. import services as svc
from ..forms import AgendaItemForm
from ..models import AgendaItem
from .common import EDITORS, INVALID, REFUSALS, render_session, session_or_404, session_url


@require_role(*EDITORS)
def agenda_add(session_id: int):
    """Add an agenda item (in the standard order)."""
    s = session_or_404(session_id)
    form = AgendaItemForm(prefix="agenda")
    if not form.validate_on_submit():
        return render_session(s, INVALID, agenda_form=form)
    with admin_change("stl_agenda.create", object_type="stl_session", object_id=s.id, errors=REFUSALS,
                      success=_("Agenda item added.")) as change:
        item = svc.add_agenda_item(s, form.kind.data, form.title.data, form.description.data or "")
        change.after = {"item": item.title}
    return redirect(session_url(s, "agenda"))


@require_role(*EDITORS)
def agenda_standard(session_id: int):
    """Add the standard items that are missing (roll call, agenda approval, previous minutes,
    general matters)."""
    s = session_or_404(session_id)
    if ConfirmForm().validate_on_submit():
        with admin_change("stl_agenda.standard", object_type="stl_session", object_id=s.id,
                          errors=REFUSALS) as change:
            n = svc.add_standard_agenda(s)
            change.after = {"added": n}
        if change.ok:
            flash(_("%(n)d standard items added.", n=n), "success")
    return redirect(session_url(s, "agenda"))


@require_role(*EDITORS)
def agenda_delete(item_id: int):
    """Remove an agenda item."""
    item = one_or_404(AgendaItem, item_id)
    s = item.session
    if ConfirmForm().validate_on_submit():
        with admin_change("stl_agenda.delete", object_type="stl_session", object_id=s.id,
                          before={"item": item.title}, errors=REFUSALS, success=_("Agenda item removed.")):
            svc.remove_agenda_item(item)
    return redirect(session_url(s, "agenda"))


@require_role(*EDITORS)
def agenda_move(item_id: int):
    """Move an agenda item up or down (``direction`` = ``up`` | ``down``)."""
    item = one_or_404(AgendaItem, item_id)
    s = item.session
    direction = request.form.get("direction")
    if ConfirmForm().validate_on_submit() and direction in ("up", "down"):
        with admin_change("stl_agenda.move", object_type="stl_session", object_id=s.id, errors=REFUSALS) as change:
            svc.move_agenda_item(item, direction)
            change.after = {"item": item.title, "direction": direction}
    return redirect(session_url(s, "agenda"))
