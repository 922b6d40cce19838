"""The Django project's settings: production as Django's deployment checklist
says (DEBUG off), no apps; the database is the SQLite file catbench seeded
for the database suite (CATBENCH_SQLITE_PATH), when a run has one. The
suites are urls modules that urls.py includes; nothing here names one."""

import os
import secrets

from catbench_shared import validation_model


def allowed_hosts() -> list[str]:
    """Loopback names and the host catbench binds; any host when it binds every interface."""
    host = os.environ.get("CATBENCH_HOST", "127.0.0.1")
    if host in ("0.0.0.0", "::"):
        return ["*"]
    return ["127.0.0.1", "localhost", "[::1]", f"[{host}]" if ":" in host else host]


DEBUG = False
ALLOWED_HOSTS = allowed_hosts()
SECRET_KEY = secrets.token_urlsafe(32)  # nothing is signed; Django only wants one
ROOT_URLCONF = "urls"
INSTALLED_APPS: list[str] = []
# CommonMiddleware sets Content-Length, which Django's responses lack otherwise.
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
# request.body raises RequestDataTooBig beyond this.
DATA_UPLOAD_MAX_MEMORY_SIZE = validation_model.MAX_BODY_BYTES
USE_I18N = False  # nothing is translated: skip the translation machinery

# The database suite's SQLite file: Django's connection per thread, kept for
# the worker's life (CONN_MAX_AGE None), the pragmas every server gets, and
# write transactions begun IMMEDIATE (Django 5.1's sqlite transaction_mode).
def postgres_database() -> dict:
    """Django's postgresql backend (psycopg) on the server catbench started."""
    from urllib.parse import unquote, urlsplit

    url = urlsplit(os.environ["CATBENCH_POSTGRES_URL"])
    return {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(url.path.lstrip("/")),
            "USER": unquote(url.username or ""),
            "PASSWORD": unquote(url.password or ""),
            "HOST": url.hostname,
            "PORT": url.port or 5432,
            "CONN_MAX_AGE": None,
            "OPTIONS": {"application_name": "catbench-peer-django"},
        }
    }


DATABASES = postgres_database() if os.environ.get("CATBENCH_DATABASE") == "postgres" else (
    {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ["CATBENCH_SQLITE_PATH"],
            "CONN_MAX_AGE": None,
            "OPTIONS": {
                "timeout": 5,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA synchronous = NORMAL",
            },
        }
    }
    if os.environ.get("CATBENCH_SQLITE_PATH")
    else {}
)
