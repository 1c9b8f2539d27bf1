"""WSGI entry point of the hub (gunicorn/uwsgi: ``hubsite.wsgi:application``, hub/ on the path)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hubsite.settings")

application = get_wsgi_application()
