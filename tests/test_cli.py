"""The `comun` command line: users, plugins, init and demo (idempotent), bad arguments."""
from __future__ import annotations

import json

from sqlalchemy import func, select

from comun_cms.extensions import db
from comun_cms.models import Membership, Page, Publication, User


def test_users_create_with_tenant_and_role(app, runner):
    result = runner.invoke(args=["users", "create", "--tenant", "puebla", "--role", "admin",
                                 "--password", "una-clave-larga", "Ana@Puebla.mx"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "ana@puebla.mx"))
    assert user is not None and user.check_password("una-clave-larga")
    assert user.password_hash.startswith("scrypt:")
    roles = db.session.execute(select(Membership.tenant_id, Membership.role)
                               .execution_options(all_tenants=True)).all()
    assert roles == [("puebla", "admin")]


def test_users_create_rejects_bad_input_and_stores_nothing(app, runner):
    cases = [
        (["users", "create", "--tenant", "marte", "--role", "admin", "--password", "x" * 12, "a@b.mx"], "unknown tenant 'marte'"),
        (["users", "create", "--tenant", "puebla", "--role", "jefe", "--password", "x" * 12, "a@b.mx"], "'jefe' is not one of"),
        (["users", "create", "--tenant", "puebla", "--role", "admin", "--password", "corta", "a@b.mx"], "at least 12"),
        (["users", "create", "--tenant", "puebla", "--role", "admin", "--password", "x" * 12, "no-es-correo"], "not a valid e-mail"),
        (["users", "create", "--role", "admin", "--password", "x" * 12, "a@b.mx"], "--role and --tenant go together"),
    ]
    for args, message in cases:
        result = runner.invoke(args=args)
        assert result.exit_code != 0, args
        assert message in result.output, (args, result.output)
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_plugins_list(app, runner):
    result = runner.invoke(args=["plugins", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert {"core", "criteria", "stl_minutes", "action_plans", "notary"} <= set(rows)
    assert set(rows["core"]["enabled_tenants"]) >= {"hidalgo", "puebla", "edomex"}
    assert "register_content_types" in rows["core"]["hooks"]


def test_init_is_idempotent(app, runner):
    for _ in range(2):
        result = runner.invoke(args=["init", "--quiet"])
        assert result.exit_code == 0, result.output


def test_demo_publishes_real_documents_once(app, runner):
    first = runner.invoke(args=["demo", "--quiet", "--tenant", "edomex"])
    assert first.exit_code == 0, first.output
    assert "editor@edomex.demo.comun.mx" in first.output
    count = db.session.scalar(select(func.count()).select_from(Publication).execution_options(all_tenants=True))
    second = runner.invoke(args=["demo", "--quiet", "--tenant", "edomex"])
    assert second.exit_code == 0, second.output
    assert db.session.scalar(select(func.count()).select_from(Publication).execution_options(all_tenants=True)) == count
    slugs = set(db.session.scalars(select(Page.slug).execution_options(all_tenants=True)))
    assert "pal-2021-avances-compromiso-proactivo-infoem" in slugs
    assert "proyecto-comun-observatorio-ciudadano" in slugs
    # the password printed the first time still works the second time (kept in instance/)
    line = next(l for l in second.output.splitlines() if "editor@edomex.demo.comun.mx" in l)
    password = line.split()[1]
    user = db.session.scalar(select(User).where(User.email == "editor@edomex.demo.comun.mx"))
    assert user.check_password(password) and user.is_demo
