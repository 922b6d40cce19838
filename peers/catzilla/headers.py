"""The standard headers. Catzilla's C server writes Content-Type,
Content-Length and Connection only; Date and Server come from the app's
post-route middleware, and from the 404 handler (Catzilla sends a not-found
answer without running middleware)."""

import time
from email.utils import formatdate

from catzilla import JSONResponse

from catbench_shared import basic

_date = [0, ""]


def http_date():
    """The IMF-fixdate of now, formatted once per second."""
    now = int(time.time())
    if now != _date[0]:
        _date[0], _date[1] = now, formatdate(now, usegmt=True)
    return _date[1]


def standard_headers(request, response):
    response.set_header("Date", http_date())
    response.set_header("Server", "Catzilla")


def not_found(request):
    response = JSONResponse(basic.NOT_FOUND, status_code=404)
    standard_headers(request, response)
    return response
