"""Issue 15, defect 10 (STL minutes): an approved session no longer offers "Publish call", and
the approving-session dropdown shows dates as words, not ISO codes."""
from __future__ import annotations

import datetime as dt

import pytest

from plugins.stl_minutes import services as svc

from .conftest import make_session


def _in_review(stl):
    s = make_session(stl.body, number=1, day=dt.date(2024, 3, 5))
    later = make_session(stl.body, number=2, day=dt.date(2024, 4, 4))
    svc.submit_for_review(s)
    return s, later


def test_call_is_offered_only_before_the_session_is_held(app, client, login_as, stl):
    s, later = _in_review(stl)
    login_as("editor")
    assert "Publish call" in client.get(f"/edomex/admin/actas/sesiones/{later.id}").get_data(as_text=True)
    assert "Publish call" not in client.get(f"/edomex/admin/actas/sesiones/{s.id}").get_data(as_text=True)
    svc.approve(s, later, today=dt.date(2024, 5, 1))
    assert s.stage == "approved"
    html = client.get(f"/edomex/admin/actas/sesiones/{s.id}").get_data(as_text=True)
    assert "Publish call" not in html
    with pytest.raises(svc.MinutesError, match="was held"):
        svc.publish_call(s)
    r = client.post(f"/edomex/admin/actas/sesiones/{s.id}/convocatoria/publicar", data={})
    assert r.status_code in (303, 302, 400, 404, 405, 422)
    assert svc.call_for(s) is None


def test_approving_session_dropdown_shows_the_date_in_words(app, client, login_as, stl):
    s, later = _in_review(stl)
    login_as("editor")
    html = client.get(f"/edomex/admin/actas/sesiones/{s.id}").get_data(as_text=True)
    assert f'value="{later.id}"' in html
    option = html.split(f'value="{later.id}"', 1)[1].split("</option>", 1)[0]
    assert "April 4, 2024" in option and "2024-04-04" not in option
