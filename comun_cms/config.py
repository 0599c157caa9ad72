"""Configuration: defaults here, then ``instance/config.toml``, then ``COMUN_*`` environment
variables (``app.config.from_prefixed_env("COMUN")``), then the mapping given to ``create_app``.

``SECRET_KEY`` is never a fixed default: :func:`ensure_secret_key` generates 64 random bytes into
``instance/secret_key`` (mode 0600) on first start and reads it afterwards.
"""
from __future__ import annotations

import os
import secrets
import tempfile
import tomllib
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


class ConfigError(Exception):
    """Bad configuration; ``str(error)`` names the source, the key and the problem."""


DEFAULTS = {
    "STATES_DIR": str(ROOT / "states"),
    "THEMES_DIR": str(ROOT / "themes"),
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "SQLALCHEMY_TRACK_MODIFICATIONS": False,
    "MAX_CONTENT_LENGTH": 110 * 1024 * 1024,  # bytes; per-kind limits below
    "UPLOAD_MAX_BYTES": {"image": 15 * 1024 * 1024, "pdf": 30 * 1024 * 1024,
                         "audio": 50 * 1024 * 1024, "video": 100 * 1024 * 1024,
                         "document": 20 * 1024 * 1024},
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "PERMANENT_SESSION_LIFETIME": 8 * 3600,  # seconds
    "WTF_CSRF_TIME_LIMIT": 8 * 3600,  # seconds
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_HEADERS_ENABLED": True,
    "RATELIMIT_ENABLED": True,
    "LOGIN_RATE_LIMIT": "10 per minute;50 per hour",
    "FEEDBACK_RATE_LIMIT": "5 per minute;30 per day",
    "BABEL_DEFAULT_LOCALE": "es_MX",
    "BABEL_DEFAULT_TIMEZONE": "America/Mexico_City",
    "LANGUAGES": ["es_MX", "en"],
    "PLUGINS": None,  # None = every installed plugin (entry points of the `comun_cms` group); or a list of names
    "LOAD_ENTRY_POINTS": True,  # False = no installed plugin, only the core's own and those given in code
    "TENANTS": None,  # None = every state folder; or a list of slugs
    "PROXY_FIX": False,  # True behind one trusted reverse proxy (X-Forwarded-For/Proto/Host)
    "SITE_HOST": "127.0.0.1:5000",
    "SITE_URL": "http://127.0.0.1:5000",
    "SEARCH_BACKEND": "whoosh",  # whoosh | sqlite (SQLite FTS5, same interface)
    "SEARCH_INDEX_DIR": None,  # default: <instance>/search
    "UPLOAD_DIR": None,  # default: <instance>/uploads
    "PASSWORD_HASH_METHOD": "scrypt:32768:8:1",  # werkzeug method string (scrypt N, r, p)
    "MAIL_BACKEND": "file",  # file (.eml under MAIL_DIR) | smtp; see comun_cms/mail.py
    "MAIL_DIR": None,  # default: <instance>/mail
    "MAIL_HOST": "localhost",
    "MAIL_PORT": 25,
    "MAIL_STARTTLS": False,
    "MAIL_TLS": False,  # implicit TLS (port 465)
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    "MAIL_TIMEOUT": 10,  # seconds
    "MAIL_SENDER": "Común CMS <no-responder@comun.localhost>",
    "MAIL_SENDERS": {},  # tenant slug -> From
    "MAIL_MAX_ATTEMPTS": 12,
    "MAIL_RETRY_BASE": 30,  # seconds; doubles after each failed attempt
    "MAIL_RETRY_MAX": 3600,  # seconds
    "MAIL_CLAIM_TIMEOUT": 300,  # seconds before a message claimed by a dead worker is sent again
    "PRIVACY_PURGE": True,  # the mail worker runs the retention purge at start and once a day (docs/privacy.md)
    "RETENTION_MAIL_DAYS": 90,  # days the platform's own mail (no tenant) is kept; tenants: [retention] in tenant.toml
    "SEARCH_SYNC": False,  # True: drain the outbox at the end of each publishing request (tests, single process)
}


def ensure_secret_key(instance_path: Path) -> str:
    """Return the secret key stored in ``instance_path/secret_key``, creating it (64 random bytes,
    hex, file mode 0600) if missing."""
    path = Path(instance_path) / "secret_key"
    if path.exists():
        key = path.read_text().strip()
        if len(key) >= 32:
            return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(64)
    # write aside, then link into place: of several processes starting at once, exactly one
    # key wins and every process reads that one
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret_key-")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(key + "\n")
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp)
    return path.read_text().strip()


def load_config(app: Flask, overrides: dict | None = None) -> None:
    """Fill ``app.config`` in order: defaults, ``instance/config.toml``, ``COMUN_*`` environment,
    ``overrides``. Raises :class:`ConfigError` for an unreadable config.toml or unknown keys in it."""
    app.config.update(DEFAULTS)
    toml_path = Path(app.instance_path) / "config.toml"
    if toml_path.exists():
        try:
            data = tomllib.loads(toml_path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{toml_path}: invalid TOML: {exc}") from None
        for key, value in data.items():
            if not key.isupper():
                raise ConfigError(f"{toml_path}: key '{key}': configuration keys are UPPER_CASE")
            app.config[key] = value
    app.config.from_prefixed_env("COMUN")
    if overrides:
        app.config.update(overrides)
    if app.config.get("DATABASE_URL") and not (overrides or {}).get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"]
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{Path(app.instance_path) / 'comun.db'}"
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgresql://"):
        app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + uri[len("postgresql://"):]
    if app.config["MAIL_BACKEND"] not in ("file", "smtp"):
        raise ConfigError(f"MAIL_BACKEND: '{app.config['MAIL_BACKEND']}' is not a mail backend (use 'file' or 'smtp')")
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = ensure_secret_key(Path(app.instance_path))
    app.config["SEARCH_INDEX_DIR"] = app.config.get("SEARCH_INDEX_DIR") or str(Path(app.instance_path) / "search")
    app.config["UPLOAD_DIR"] = app.config.get("UPLOAD_DIR") or str(Path(app.instance_path) / "uploads")
