"""Rate limits on the production storage (issue 19, item 9): ``COMUN_RATELIMIT_STORAGE_URI=
redis://127.0.0.1:6379`` works (the ``redis`` client is a dependency) and the log-in limit is
counted in Redis, shared by every worker.

Runs against the Redis server at ``COMUN_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``)
when it answers; skipped otherwise, unless ``COMUN_REQUIRE_REDIS=1`` (then a failure)."""
from __future__ import annotations

import os
import uuid

import pytest
import redis

from comun_cms.app import create_app
from comun_cms.extensions import limiter
from comun_cms.testing import redis_url_or_skip

REDIS_URL = os.environ.get("COMUN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="module")
def redis_client():
    client = redis.Redis.from_url(redis_url_or_skip(REDIS_URL), socket_connect_timeout=2)
    yield client
    client.close()


@pytest.fixture
def prefix(redis_client):
    """A key prefix of this test only (the Redis server may be shared); its keys are deleted after."""
    value = f"comun-test-{uuid.uuid4().hex}"
    yield value
    for key in redis_client.scan_iter(f"{value}*"):
        redis_client.delete(key)


@pytest.fixture
def restore_limiter():
    """``limiter`` is one object for every app of the process: give it back its storage after."""
    saved = (limiter._storage, limiter._limiter, dict(limiter._storage_options))
    yield
    limiter._storage, limiter._limiter = saved[0], saved[1]
    limiter._storage_options.clear()
    limiter._storage_options.update(saved[2])


def test_redis_storage_setting_works_and_counts_in_redis(database_url, tmp_path, redis_client, prefix,
                                                         restore_limiter, monkeypatch):
    # the setting exactly as the README gives it, through the environment
    monkeypatch.setenv("COMUN_RATELIMIT_STORAGE_URI", REDIS_URL)
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_PATH": str(tmp_path / "instance"),
                      "TESTING": True, "WTF_CSRF_ENABLED": False, "LOGIN_RATE_LIMIT": "3 per minute",
                      "RATELIMIT_STORAGE_OPTIONS": {"key_prefix": prefix}})
    assert type(limiter._storage).__name__ == "RedisStorage"
    client = app.test_client()
    for _ in range(3):
        assert client.post("/auth/login", data={"email": "x@y.mx", "password": "wrong-password"}).status_code == 401
    assert client.post("/auth/login", data={"email": "x@y.mx", "password": "wrong-password"}).status_code == 429
    keys = list(redis_client.scan_iter(f"{prefix}*"))
    assert keys, "the log-in counter is not in Redis"
    # a second client from the same address is counted together with the first
    assert app.test_client().post("/auth/login", data={"email": "x@y.mx", "password": "p"}).status_code == 429
    # the count lives in Redis only: once removed there, log-in is allowed again
    for key in keys:
        redis_client.delete(key)
    assert client.post("/auth/login", data={"email": "x@y.mx", "password": "wrong-password"}).status_code == 401
