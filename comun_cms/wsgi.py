"""WSGI entry point for gunicorn and for ``comun run --dev`` (``flask run``):
``gunicorn comun_cms.wsgi:app``. Start-up checks (:mod:`comun_cms.startup`) run here, so a host
that fails one does not start. The development server's request log (werkzeug) gets the
:class:`~comun_cms.access_log.RedactingFilter`, so invitation and reset tokens never reach it."""
import logging

from comun_cms.access_log import RedactingFilter
from comun_cms.app import create_app
from comun_cms.startup import run_startup_checks

logging.getLogger("werkzeug").addFilter(RedactingFilter())
app = create_app()
run_startup_checks(app)  # e.g. shared notary keys present (NOTARY_KEYS_DIR): else the host does not start
