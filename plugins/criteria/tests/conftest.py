"""Fixtures of the criteria plugin's tests: a small published framework (3 criteria, one of each
scoring type) in ``edomex`` and the people of a cycle (two evaluators, an admin and an editor of
the secretariat)."""
from __future__ import annotations

import datetime as dt

import pytest

from comun_cms.toolkit import Membership, User, db, platform_session, tenant_context

SMALL_CSV = (
    "code,category,category_name,points,title,scoring_type,legal_basis,periodicity,evidence_required\n"
    "A-01,A,Marco normativo,40,Publica la ley vigente,scale,LGTAIP 2015 art. 70 fr. I,permanent,yes\n"
    "A-02,A,Marco normativo,30,Publica el directorio,binary,LGTAIP 2015 art. 70 (unverified fraction),quarterly,yes\n"
    "B-01,B,Órganos colegiados,30,Publica las actas en plazo,percentage,,per_session,no\n"
)


def import_small(tenant, csv: str = SMALL_CSV, version: str = "1", publish: bool = True):
    """Import (and publish) a framework version in ``tenant``; returns the framework."""
    from plugins.criteria import services
    with tenant_context(tenant):
        fw = services.import_framework(csv, slug="marco-prueba", version_label=version, name="Marco de prueba",
                                       tenant_slugs=["edomex", "puebla", "hidalgo"])
        if publish:
            services.publish_framework(fw)
        db.session.commit()
        return fw


@pytest.fixture
def edomex(app):
    return app.extensions["comun"].tenants["edomex"]


@pytest.fixture
def puebla(app):
    return app.extensions["comun"].tenants["puebla"]


@pytest.fixture
def framework(app, edomex):
    """A published 3-criterion framework in edomex (A-01 scale 40, A-02 binary 30, B-01 percentage 30)."""
    return import_small(edomex)


def quick_user(email: str, role: str, name: str, tenant: str = "edomex"):
    """A user with ``role`` in ``tenant``, inserted directly (no password hashing: these users
    are logged in with the ``login_as`` fixture, never with a password)."""
    with platform_session(db.session):
        user = User(email=email, name=name)
        db.session.add(user)
        db.session.flush()
        db.session.add(Membership(user_id=user.id, role=role, tenant_id=tenant))
        db.session.commit()
    return user


@pytest.fixture
def people(app):
    """Users of edomex: ``evaluator``, ``evaluator2``, ``admin``, ``editor``."""
    return {
        "evaluator": quick_user("eva@obs.test", "evaluator", "Eva Evaluadora"),
        "evaluator2": quick_user("otro@obs.test", "evaluator", "Otro Evaluador"),
        "admin": quick_user("admin@sesaemm.test", "admin", "Admin SESAEMM"),
        "editor": quick_user("editor@sesaemm.test", "editor", "Editora SESAEMM"),
    }


def new_cycle(tenant, framework, **kw):
    """Create a cycle on ``framework`` in ``tenant`` (stage planned) and commit; returns it."""
    from plugins.criteria import services
    with tenant_context(tenant):
        c = services.create_cycle(framework, title=kw.pop("title", "Ciclo de prueba"), period_label=kw.pop("period", "2026"),
                                  cutoff_date=kw.pop("cutoff", dt.date(2026, 6, 30)), **kw)
        db.session.commit()
        return c


@pytest.fixture
def switch_user(login_as):
    """``login_as`` that can change user within one test: the ``app`` fixture keeps one app
    context for the whole test, so Flask-Login's cached user (``g._login_user``) and the role
    cache (``g._roles``) must be dropped between requests of different users."""
    from flask import g

    def do(user_or_role, tenant: str = "edomex"):
        user = login_as(user_or_role, tenant)
        g.pop("_login_user", None)
        g.pop("_roles", None)
        return user
    return do


@pytest.fixture
def client(app):
    """Test client reading the site in English (``session["lang"] = "en"``): assertions use the
    English msgids, whatever the es_MX catalogs say."""
    c = app.test_client()
    with c.session_transaction() as session:
        session["lang"] = "en"
    return c
