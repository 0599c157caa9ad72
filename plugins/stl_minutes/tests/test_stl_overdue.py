"""Overdue agreements are computed in the tenant's time zone (America/Mexico_City, UTC-6)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from comun_cms.toolkit import db

from plugins.stl_minutes import services as svc
from plugins.stl_minutes.models import Agreement

from .conftest import make_session

UTC = dt.timezone.utc


@pytest.fixture
def published_agreement(stl):
    s = make_session(stl.body, number=1, day=dt.date(2024, 2, 1))
    later = make_session(stl.body, number=2, day=dt.date(2024, 2, 20))
    ag = svc.add_agreement(stl.tenant, s, text="Entregar el informe trimestral.", owner="SESAEMM",
                           due_date=dt.date(2024, 3, 1))
    svc.submit_for_review(s)
    svc.approve(s, later)
    svc.publish_minutes(stl.tenant, s)
    db.session.commit()
    return ag


def _at(monkeypatch, when: dt.datetime) -> None:
    monkeypatch.setattr(svc, "now_utc", lambda: when)


def test_today_is_the_tenant_local_date(stl):
    late_evening = dt.datetime(2024, 3, 2, 3, 0, tzinfo=UTC)     # 21:00 on March 1st in Mexico City
    assert svc.tenant_today(stl.tenant, late_evening) == dt.date(2024, 3, 1)
    assert svc.tenant_today(stl.tenant, dt.datetime(2024, 3, 2, 6, 0, tzinfo=UTC)) == dt.date(2024, 3, 2)


def test_overdue_starts_the_day_after_the_due_date_in_the_tenant_zone(published_agreement, stl, monkeypatch):
    ag = published_agreement
    _at(monkeypatch, dt.datetime(2024, 3, 2, 3, 0, tzinfo=UTC))   # already March 2nd in UTC, not locally
    today = svc.tenant_today(stl.tenant)
    assert not svc.is_overdue(ag, today) and svc.effective_progress(ag, today) == "pending"
    assert db.session.scalar(select(Agreement.id).where(svc.overdue_condition(today))) is None
    _at(monkeypatch, dt.datetime(2024, 3, 2, 6, 1, tzinfo=UTC))   # 00:01 on March 2nd locally
    today = svc.tenant_today(stl.tenant)
    assert svc.is_overdue(ag, today) and svc.effective_progress(ag, today) == "overdue"
    assert db.session.scalar(select(Agreement.id).where(svc.overdue_condition(today))) == ag.id


def test_done_and_cancelled_are_never_overdue(published_agreement):
    ag = published_agreement
    for progress, overdue in (("pending", True), ("in_progress", True), ("unknown", True), ("done", False),
                              ("cancelled", False)):
        ag.progress = progress
        assert svc.is_overdue(ag, dt.date(2024, 6, 1)) is overdue, progress
        db.session.flush()
        found = db.session.scalar(select(Agreement.id).where(svc.overdue_condition(dt.date(2024, 6, 1))))
        assert (found == ag.id) is overdue, progress
    db.session.rollback()


def test_no_due_date_is_never_overdue(stl):
    s = make_session(stl.body, number=5)
    ag = svc.add_agreement(stl.tenant, s, text="Sin plazo")
    assert not svc.is_overdue(ag, dt.date(2099, 1, 1))


def test_extension_and_completion_through_follow_up(published_agreement, stl):
    ag = published_agreement
    today = dt.date(2024, 3, 10)
    assert svc.is_overdue(ag, today)
    with pytest.raises(svc.MinutesError, match="future"):
        svc.record_follow_up(ag, entry_date=dt.date(2024, 3, 11), progress="in_progress", note="x", today=today)
    db.session.rollback()
    svc.record_follow_up(ag, entry_date=today, progress="in_progress", note="Prórroga acordada en sesión",
                         new_due_date=dt.date(2024, 4, 15), today=today)
    db.session.commit()
    assert not svc.is_overdue(ag, today) and ag.due_date == dt.date(2024, 3, 1) and ag.version == 2
    svc.record_follow_up(ag, entry_date=dt.date(2024, 5, 1), progress="done", note="Informe entregado",
                         today=dt.date(2024, 5, 1))
    db.session.commit()
    assert not svc.is_overdue(ag, dt.date(2024, 5, 2)) and ag.version == 3


def test_tracker_highlights_and_filters_overdue_in_the_tenant_zone(app, client, published_agreement, monkeypatch):
    key = published_agreement.key
    _at(monkeypatch, dt.datetime(2024, 3, 2, 3, 0, tzinfo=UTC))
    page = client.get("/edomex/actas/acuerdos").get_data(as_text=True)
    assert key in page and "stl-overdue" not in page
    assert key not in client.get("/edomex/actas/acuerdos?estado=overdue").get_data(as_text=True)
    _at(monkeypatch, dt.datetime(2024, 3, 2, 7, 0, tzinfo=UTC))
    page = client.get("/edomex/actas/acuerdos").get_data(as_text=True)
    assert 'class="stl-overdue"' in page and "stl-status--overdue" in page
    assert key in client.get("/edomex/actas/acuerdos?estado=overdue").get_data(as_text=True)
    assert key not in client.get("/edomex/actas/acuerdos?estado=pending").get_data(as_text=True)
    csv = client.get("/edomex/datos/stl_agreements.csv").get_data(as_text=True)
    assert "overdue" in csv and "2024-03-02" in csv   # status_today and evaluated_on


def test_overdue_command_lists_them_for_the_tenant_given(published_agreement, runner, monkeypatch):
    key = published_agreement.key
    _at(monkeypatch, dt.datetime(2024, 3, 2, 7, 0, tzinfo=UTC))
    result = runner.invoke(args=["minutes", "overdue", "--tenant", "edomex"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{key}\t2024-03-01\tSESAEMM\tEntregar el informe trimestral.")
    assert "1 overdue agreement(s) on 2024-03-02 (America/Mexico_City)." in result.output
    unknown = runner.invoke(args=["minutes", "overdue", "--tenant", "atlantida"])
    assert unknown.exit_code == 2 and "unknown tenant 'atlantida'" in unknown.output and "edomex" in unknown.output
    not_training = runner.invoke(args=["minutes", "load-training", "--tenant", "edomex"])
    assert not_training.exit_code == 2 and "is not a training tenant" in not_training.output
