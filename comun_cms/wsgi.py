"""WSGI entry point for gunicorn and for ``comun run --dev`` (``flask run``):
``gunicorn comun_cms.wsgi:app``. The development server's request log (werkzeug) gets the
:class:`~comun_cms.access_log.RedactingFilter`, so invitation and reset tokens never reach it."""
import logging

from comun_cms.access_log import RedactingFilter
from comun_cms.app import create_app

logging.getLogger("werkzeug").addFilter(RedactingFilter())
app = create_app()
