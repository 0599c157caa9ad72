"""Configuration: secret key generation, COMUN_* environment settings, instance config.toml."""
from __future__ import annotations

import stat

import pytest

from comun_cms.app import create_app
from comun_cms.config import ConfigError
from comun_cms.demo import demo_logins_path, ensure_demo_users


def test_secret_key_generated_once_into_instance_on_the_first_request(tmp_path, database_url):
    inst = tmp_path / "inst"
    app1 = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_PATH": str(inst)})
    key_file = inst / "secret_key"
    assert not inst.exists() and app1.config["SECRET_KEY"] is None  # creating the app writes nothing
    app1.test_client().get("/")
    assert key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(app1.config["SECRET_KEY"]) >= 64
    app2 = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_PATH": str(inst)})
    assert app2.config["SECRET_KEY"] == app1.config["SECRET_KEY"]
    other = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_PATH": str(tmp_path / "other")})
    with other.test_request_context("/"):
        assert other.config["SECRET_KEY"] != app1.config["SECRET_KEY"]


def test_environment_and_instance_config(tmp_path, database_url, monkeypatch):
    inst = tmp_path / "inst"
    inst.mkdir()
    (inst / "config.toml").write_text('SITE_HOST = "observatorio.example"\n')
    monkeypatch.setenv("COMUN_LOGIN_RATE_LIMIT", "3 per minute")
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_PATH": str(inst)})
    assert app.config["SITE_HOST"] == "observatorio.example"
    assert app.config["LOGIN_RATE_LIMIT"] == "3 per minute"
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_bad_instance_config_is_reported(tmp_path, database_url):
    inst = tmp_path / "inst"
    inst.mkdir()
    (inst / "config.toml").write_text("site_host = 1\n")
    with pytest.raises(ConfigError, match="key 'site_host'"):
        create_app({"SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_PATH": str(inst)})


def test_sqlite_fts_search_backend_is_selectable(tmp_path, database_url):
    from comun_cms.search.sqlite_fts import SQLiteFTSBackend
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_PATH": str(tmp_path / "i"),
                      "SEARCH_BACKEND": "sqlite"})
    with app.app_context():
        assert isinstance(app.extensions["comun"].search.backend, SQLiteFTSBackend)
    with pytest.raises(ConfigError, match="SEARCH_BACKEND"):
        create_app({"SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_PATH": str(tmp_path / "j"),
                    "SEARCH_BACKEND": "elastic"})


def test_concurrent_first_starts_agree_on_one_secret_key(tmp_path):
    from concurrent.futures import ThreadPoolExecutor
    from comun_cms.config import ensure_secret_key
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: ensure_secret_key(tmp_path), range(16)))
    assert len(keys) == 1 and (tmp_path / "secret_key").read_text().strip() in keys


@pytest.mark.parametrize("content", ["", "\n", "abc", "a" * 200, "abc" * 40, "0123456789abcdef" * 4,
                                     "secrets.token_hex(16)", "0" * 63 + "1"])
def test_weak_secret_key_file_refuses_to_start(tmp_path, database_url, content):
    inst = tmp_path / "inst"
    inst.mkdir()
    (inst / "secret_key").write_text(content)
    with pytest.raises(ConfigError) as info:
        create_app({"SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_PATH": str(inst)})
    message = str(info.value)
    assert str(inst / "secret_key") in message and "token_hex(32)" in message and "comun init" in message
    assert (inst / "secret_key").read_text() == content  # never replaced behind the user's back


@pytest.mark.parametrize("key", ["", "abc", "x" * 64, "short-but-not-empty"])
def test_weak_secret_key_from_settings_or_environment_is_refused(tmp_path, database_url, monkeypatch, key):
    with pytest.raises(ConfigError, match="SECRET_KEY.*(empty|too weak)"):
        create_app({"SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_PATH": str(tmp_path / "a"), "SECRET_KEY": key})
    monkeypatch.setenv("COMUN_SECRET_KEY", key)
    with pytest.raises(ConfigError, match="SECRET_KEY.*(empty|too weak)"):
        create_app({"SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_PATH": str(tmp_path / "b")})
    assert not (tmp_path / "b" / "secret_key").exists()  # no silent fallback to a generated key


def test_good_secret_keys_from_every_source(tmp_path, database_url, monkeypatch):
    import secrets
    good = secrets.token_hex(32)
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_PATH": str(tmp_path / "a"), "SECRET_KEY": good})
    assert app.config["SECRET_KEY"] == good
    key_file = tmp_path / "key"
    key_file.write_text(secrets.token_urlsafe(32) + "\n")
    monkeypatch.setenv("COMUN_SECRET_KEY_FILE", str(key_file))
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_PATH": str(tmp_path / "b")})
    assert app.config["SECRET_KEY"] == key_file.read_text().strip()
    assert not (tmp_path / "b" / "secret_key").exists()
    key_file.write_text("abc")
    with pytest.raises(ConfigError, match="SECRET_KEY_FILE.*too weak"):
        create_app({"SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_PATH": str(tmp_path / "c")})
    monkeypatch.setenv("COMUN_SECRET_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="SECRET_KEY_FILE: cannot read"):
        create_app({"SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_PATH": str(tmp_path / "d")})


def test_secret_key_entropy_estimate():
    import secrets
    from comun_cms.config import MIN_SECRET_KEY_BITS, secret_key_bits
    for _ in range(200):  # random keys of the documented recipes always pass
        assert secret_key_bits(secrets.token_hex(32)) >= MIN_SECRET_KEY_BITS
        assert secret_key_bits(secrets.token_urlsafe(32)) >= MIN_SECRET_KEY_BITS
        assert secret_key_bits(secrets.token_bytes(32)) >= MIN_SECRET_KEY_BITS
    assert secret_key_bits("") == 0 and secret_key_bits("a" * 500) == 0
    assert secret_key_bits("abc") < 16
    assert secret_key_bits("abcd" * 100 + "a") < 20
    assert secret_key_bits("a" * 300 + "b") < MIN_SECRET_KEY_BITS


def test_writers_make_the_instance_folder(app, tmp_path):
    """Creating the application makes no instance folder, so what writes in it makes it: the demo
    logins file here (the secret key, search index, uploads and notary keys likewise)."""
    app.instance_path = str(tmp_path / "nueva" / "instance")
    ensure_demo_users(app, [app.extensions["comun"].tenants["puebla"]])
    path = demo_logins_path(app)
    assert path.is_file() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_text().splitlines()) == 3
