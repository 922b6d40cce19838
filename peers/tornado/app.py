"""The catbench contract on Tornado: its own HTTPServer and IOLoop (on
asyncio), RequestHandler classes, native coroutines; one process per worker
(fork_processes).

Run as `python app.py` in this folder (see peers.json). Each suite module —
those peers.json's "suites" names, from suites/ — has `routes`, a list of
(pattern, handler) that the Application's handler list concatenates, and may
have `settings()`, the Application settings it needs (services, pools),
called in each worker process after the fork and before its event loop
starts, so process pools fork from a single-threaded process. This module
names no suite.
"""

import asyncio
import importlib

import tornado.web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.process import fork_processes

from catbench_shared import runtime


def make_app() -> tornado.web.Application:
    handlers, settings = [], {}
    for name in runtime.suite_modules():
        suite = importlib.import_module(f"suites.{name}")
        handlers += suite.routes
        if hasattr(suite, "settings"):
            settings.update(suite.settings())
    return tornado.web.Application(
        handlers,
        debug=False,
        # The access log is a logging call per request; off, as for every peer.
        log_function=lambda handler: None,
        **settings,
    )


async def serve(sockets, app):
    server = HTTPServer(app)
    server.add_sockets(sockets)
    await asyncio.Event().wait()


def main():
    # Tornado's multi-process recipe: bind, fork, then start an event loop in each process.
    sockets = bind_sockets(runtime.port(), runtime.host())
    if runtime.workers() > 1:
        fork_processes(runtime.workers())
    asyncio.run(serve(sockets, make_app()))


if __name__ == "__main__":
    main()
