"""WSGI entry point for gunicorn: ``gunicorn comun_cms.wsgi:app``."""
from comun_cms.app import create_app

app = create_app()
