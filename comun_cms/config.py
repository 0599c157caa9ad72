"""Configuration: defaults here, then ``instance/config.toml``, then ``COMUN_*`` environment
variables (``app.config.from_prefixed_env("COMUN")``), then the mapping given to ``create_app``.

``SECRET_KEY`` is never a fixed default: it comes from ``SECRET_KEY`` in ``instance/config.toml``,
``COMUN_SECRET_KEY``, the file named by ``COMUN_SECRET_KEY_FILE`` or, when none is given,
``instance/secret_key``, which :func:`ensure_secret_key` generates (64 random bytes, hex, mode 0600)
when the application serves its first request (not when it is created, so commands that need no
instance folder create none) and reads afterwards. Whatever its source, a key with an estimated entropy under
256 bits (32 bytes) is refused with a :class:`ConfigError` (:func:`check_secret_key`): an empty,
short or repetitive key would let anyone forge session cookies.
"""
from __future__ import annotations

import collections
import math
import os
import secrets
import string
import tempfile
import tomllib
from pathlib import Path

from flask import Flask

from comun_cms.private_files import private_dir

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
    "MAX_IMAGE_PIXELS": 40_000_000,  # pixels per uploaded image (width x height), checked before decoding
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
    "PASSWORD_RESET_RATE_LIMIT": "3 per minute;10 per hour",
    "PASSWORD_RESET_MAX_AGE": 3600,  # seconds a reset link stays valid
    "BABEL_DEFAULT_LOCALE": "es_MX",
    "BABEL_DEFAULT_TIMEZONE": "America/Mexico_City",
    "LANGUAGES": ["es_MX", "en"],
    "PLUGINS": None,  # None = every installed plugin (entry points of the `comun_cms` group); or a list of names
    "LOAD_ENTRY_POINTS": True,  # False = no installed plugin, only the core's own and those given in code
    "TENANTS": None,  # None = every state folder; or a list of slugs
    "PROXY_FIX": False,  # True behind one trusted reverse proxy (X-Forwarded-For/Proto/Host)
    "SITE_HOST": "127.0.0.1:5000",
    "SITE_URL": "http://127.0.0.1:5000",
    "SEARCH_BACKEND": "whoosh",  # whoosh | sqlite (SQLite FTS5) | postgres (PostgreSQL full text, several hosts)
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
    "MAIL_COMMIT_EVERY": 20,  # delivery outcomes committed every N messages (1: after each one)
    "PAGE_CACHE": True,  # anonymous page cache (comun_cms/pagecache.py); tests turn it off unless they test it
    "CACHE_URL": None,  # redis://host:port/db: page cache shared by every worker and host; else a local one
    "PAGE_CACHE_BACKEND": "filesystem",  # without CACHE_URL: filesystem (<instance>/page-cache) | simple (per process)
    "PAGE_CACHE_TIMEOUT": 24 * 3600,  # seconds an entry of a generation is kept
    "PAGE_CACHE_THRESHOLD": 5000,  # entries kept by the local backends
    "PAGE_CACHE_KEY_PREFIX": "comun:",  # Redis key prefix (several sites sharing one Redis)
    "GENERATION_MEMO": True,  # widgets/slots computed once per generation (pagecache.memo_per_generation)
    "PRIVACY_PURGE": True,  # the mail worker runs the retention purge at start and once a day (docs/privacy.md)
    "RETENTION_MAIL_DAYS": 90,  # days the platform's own mail (no tenant) is kept; tenants: [retention] in tenant.toml
    "SUBSCRIPTION_CONFIRM_MAX_AGE": 3 * 24 * 3600,  # seconds a subscription confirmation link stays valid
    "SUBSCRIPTION_DIGEST_INTERVAL": 60,  # seconds between digest runs in `comun mail worker`
    "LOG_FORMAT": "text",  # text | json (one JSON object per line, with request ids; comun_cms/logs.py)
    "LOG_LEVEL": "INFO",
    "METRICS_TOKEN": None,  # /metrics needs `Authorization: Bearer <token>` (comun_cms/metrics.py)
    "METRICS_ALLOWED_NETWORKS": [],  # CIDRs allowed to read /metrics; with no token and no network: 404
    "READY_OUTBOX_MAX_AGE": 900,  # seconds due work may wait in an outbox before /readyz fails (comun_cms/health.py)
    "READY_OUTBOX_MAX_BACKLOG": 10_000,  # rows waiting in an outbox before /readyz fails
    "SEARCH_SYNC": False,  # True: drain the outbox at the end of each publishing request (tests, single process)
}


#: Minimum estimated entropy of ``SECRET_KEY``, in bits (32 bytes).
MIN_SECRET_KEY_BITS = 256
_SECRET_KEY_FIX = ("generate a new one with `python3 -c 'import secrets; print(secrets.token_hex(32))'`, or delete "
                   "instance/secret_key and run `comun init`, which writes a random key there")
_ALPHABETS = (string.digits, string.hexdigits.lower(), string.hexdigits.upper(), string.hexdigits,
              string.ascii_letters + string.digits + "-_", string.ascii_letters + string.digits + "+/=",
              "".join(chr(c) for c in range(32, 127)))


def secret_key_bits(key: str | bytes) -> float:
    """Estimate the entropy of a secret key, in bits (an upper bound, not a proof of randomness).

    The estimate is the smallest of two figures: (1) the length of the key's shortest repeating
    period (``abcabc…`` counts as ``abc``) times ``log2`` of the smallest usual alphabet holding
    every character (digits 10, hexadecimal 16 or 22, base64 64, printable ASCII 95; anything else
    8 bits per UTF-8 byte); (2) twice the key's empirical Shannon entropy (bits per character
    times its length), which catches keys made mostly of one character (``aaaa…b``). A key
    from ``secrets.token_hex(32)`` scores 256, ``secrets.token_urlsafe(32)`` about 258; ``abc``
    12 and ``"a" * 100`` 0.
    """
    if isinstance(key, bytes):
        try:
            key = key.decode("utf-8")
        except UnicodeDecodeError:
            key = key.decode("latin-1")
    if not key:
        return 0.0
    n = len(key)
    # shortest period: ``abcabca`` repeats ``abc`` (a whole number of periods is not needed)
    period = next((p for p in range(1, min(n // 2, 4096) + 1) if key == (key[:p] * (n // p + 1))[:n]), n)
    chars = set(key)
    alphabet = next((a for a in _ALPHABETS if chars <= set(a)), None)
    unit = key[:period]
    per_char = math.log2(len(alphabet)) if alphabet else 8 * len(unit.encode("utf-8")) / len(unit)
    structural = period * per_char
    counts = collections.Counter(key)
    shannon = -sum(c / n * math.log2(c / n) for c in counts.values()) * n
    return min(structural, 2 * shannon)


def check_secret_key(key: str | bytes | None, source: str) -> str | bytes:
    """Return ``key`` if its estimated entropy (:func:`secret_key_bits`) is at least
    :data:`MIN_SECRET_KEY_BITS` (256 bits, 32 bytes).

    Args:
        key: the configured ``SECRET_KEY``.
        source: where it came from, for the message (``instance/secret_key``, ``COMUN_SECRET_KEY``).

    Raises:
        ConfigError: empty, short or low-entropy key; the message names the source and says how
            to generate a good key. There is no fallback to another key.
    """
    if key is None or (isinstance(key, (str, bytes)) and not key.strip()):
        raise ConfigError(f"{source}: the secret key is empty; {_SECRET_KEY_FIX}.")
    if not isinstance(key, (str, bytes)):
        raise ConfigError(f"{source}: the secret key must be a string; {_SECRET_KEY_FIX}.")
    bits = secret_key_bits(key)
    if bits < MIN_SECRET_KEY_BITS:
        raise ConfigError(f"{source}: the secret key is too weak (about {bits:.0f} bits of entropy; at least "
                          f"{MIN_SECRET_KEY_BITS} bits, 32 random bytes, are needed); {_SECRET_KEY_FIX}.")
    return key


def read_secret_key(instance_path: Path) -> str | None:
    """Return the secret key stored in ``instance_path/secret_key`` (checked by
    :func:`check_secret_key`), or ``None`` when there is none yet. Creates nothing.

    Raises:
        ConfigError: the file holds an empty, short or low-entropy key.
    """
    path = Path(instance_path) / "secret_key"
    try:
        key = path.read_text().strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return check_secret_key(key, str(path))


def ensure_secret_key(instance_path: Path) -> str:
    """Return the secret key stored in ``instance_path/secret_key``, creating it (64 random bytes,
    hex, file mode 0600, folder 0700) if missing.

    Raises:
        ConfigError: the file exists but holds an empty, short or low-entropy key
            (:func:`check_secret_key`); it is never replaced or used silently.
    """
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return check_secret_key(path.read_text().strip(), str(path))
    private_dir(path.parent)
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
    return check_secret_key(path.read_text().strip(), str(path))


def load_config(app: Flask, overrides: dict | None = None) -> None:
    """Fill ``app.config`` in order: defaults, ``instance/config.toml``, ``COMUN_*`` environment,
    ``overrides``. Writes nothing (``SECRET_KEY`` stays ``None`` until the first request when
    ``instance/secret_key`` does not exist yet). Raises :class:`ConfigError` for an unreadable config.toml or unknown keys in it."""
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
    key_file = app.config.get("SECRET_KEY_FILE")
    if "SECRET_KEY" in app.config and app.config["SECRET_KEY"] is not None:
        source = "SECRET_KEY (instance/config.toml, COMUN_SECRET_KEY or the application's settings)"
        check_secret_key(app.config["SECRET_KEY"], source)
    elif key_file:
        try:
            key = Path(key_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"SECRET_KEY_FILE: cannot read {key_file}: {exc.strerror}") from None
        app.config["SECRET_KEY"] = check_secret_key(key, f"SECRET_KEY_FILE ({key_file})")
    else:
        # created on the first request (ComunFlask.request_context), never at start-up
        app.config["SECRET_KEY"] = read_secret_key(Path(app.instance_path))
    app.config["SEARCH_INDEX_DIR"] = app.config.get("SEARCH_INDEX_DIR") or str(Path(app.instance_path) / "search")
    app.config["UPLOAD_DIR"] = app.config.get("UPLOAD_DIR") or str(Path(app.instance_path) / "uploads")
