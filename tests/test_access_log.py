"""Invitation tokens never reach the logs (issue 19, item 12a): gunicorn's access log as
``comun run`` configures it, the development server's log and the application's error log."""
from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from comun_cms.access_log import GUNICORN_ACCESS_LOG_ARGS, REDACTED, RedactingFilter, redact_url

TOKEN = "tok-Zq8xY3secret-invitation-value"


@pytest.mark.parametrize("text,expected", [
    (f"GET /auth/invitacion/{TOKEN} HTTP/1.1", f"GET /auth/invitacion/{REDACTED} HTTP/1.1"),
    (f"/auth/invitacion/{TOKEN}?lang=en", f"/auth/invitacion/{REDACTED}?lang=en"),
    (f"http://127.0.0.1:5000/auth/invitacion/{TOKEN}", f"http://127.0.0.1:5000/auth/invitacion/{REDACTED}"),
    (f"/x?token={TOKEN}&a=1", f"/x?token={REDACTED}&a=1"),
    (f"POST /auth/contrasena/nueva/{TOKEN} HTTP/1.1", f"POST /auth/contrasena/nueva/{REDACTED} HTTP/1.1"),
    (f"GET /edomex/seguimiento/{TOKEN}?nuevo=1 HTTP/1.1", f"GET /edomex/seguimiento/{REDACTED}?nuevo=1 HTTP/1.1"),
    ("/edomex/admin/paginas?status=draft", "/edomex/admin/paginas?status=draft"),
])
def test_redact_url(text, expected):
    assert redact_url(text) == expected


def test_development_server_filter_redacts_request_lines():
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '%s - - [%s] "%s" %s %s',
                               ("127.0.0.1", "now", f"GET /auth/invitacion/{TOKEN} HTTP/1.1", "200", "-"), None)
    assert RedactingFilter().filter(record)
    assert TOKEN not in record.getMessage() and REDACTED in record.getMessage()


def test_error_log_redacts_the_path(app, client, caplog, monkeypatch):
    from comun_cms.views import auth

    def boom(token):
        raise RuntimeError("failure while reading the invitation")
    monkeypatch.setattr(auth, "_invitation_or_error", boom)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    with caplog.at_level(logging.ERROR):
        assert client.get(f"/auth/invitacion/{TOKEN}").status_code == 500
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert f"/auth/invitacion/{REDACTED}" in logged and TOKEN not in logged


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gunicorn_access_log_of_comun_run_has_no_token(database_url, tmp_path):
    port = _free_port()
    env = dict(os.environ, COMUN_INSTANCE_PATH=str(tmp_path / "instance"), COMUN_DATABASE_URL=database_url,
               PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}",
                                 *GUNICORN_ACCESS_LOG_ARGS, "comun_cms.wsgi:app"], env=env, stdout=out,
                                stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}/auth/invitacion/{TOKEN}"
            for _ in range(600):  # wait for the worker to boot (up to ~60 s on a busy machine)
                try:
                    request = urllib.request.Request(url, headers={"Referer": url})
                    urllib.request.urlopen(request, timeout=5)
                except urllib.error.HTTPError as exc:
                    assert exc.code == 404  # unknown invitation
                    break
                except OSError:
                    assert proc.poll() is None, log.read_text()
                    time.sleep(0.1)
            else:
                pytest.fail("gunicorn did not answer: " + log.read_text())
            for _ in range(100):  # the access line is written after the response
                if REDACTED in log.read_text():
                    break
                time.sleep(0.05)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    text = log.read_text()
    assert f"GET /auth/invitacion/{REDACTED} HTTP/1.1" in text, text
    assert TOKEN not in text
