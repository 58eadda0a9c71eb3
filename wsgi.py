"""WSGI entry point: `gunicorn wsgi:app`."""

from pledge_registry import create_app

app = create_app()
