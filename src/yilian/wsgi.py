"""WSGI entry point (gunicorn yilian.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yilian.settings")
application = get_wsgi_application()
