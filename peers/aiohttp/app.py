"""The catbench contract on aiohttp: a web.Application served by gunicorn's
aiohttp.GunicornUVLoopWebWorker, native coroutine handlers.

Run as `gunicorn 'app:create_app()'` in this folder (see peers.json). The app
adds each suite's RouteTableDef — the modules peers.json's "suites" names,
from suites/ — and lets a module that needs more (app keys, sub-applications
with their own middleware, clean-up contexts) set it up through its
`setup(app)`. This module names no suite.
"""

import importlib

from aiohttp import web

from catbench_shared import runtime


def create_app() -> web.Application:
    app = web.Application()
    for name in runtime.suite_modules():
        suite = importlib.import_module(f"suites.{name}")
        app.add_routes(suite.routes)
        setup = getattr(suite, "setup", None)
        if setup is not None:
            setup(app)
    return app
