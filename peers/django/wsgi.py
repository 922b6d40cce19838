"""The catbench contract on Django, served by gunicorn's sync workers (WSGI).

Run as `gunicorn wsgi:application` in this folder (see peers.json): settings.py
is the project's settings, urls.py includes one urls module per suite."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")

application = get_wsgi_application()
