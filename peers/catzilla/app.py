"""The catbench contract on Catzilla: its own C server (libuv, llhttp) and C
router, its RouterGroups, middleware system, DI container, validation models
and asyncio bridge. Catzilla serves from one process: it has no multi-process
mode.

Run as `python app.py` in this folder (see peers.json). Each suite module —
those peers.json's "suites" names, from suites/ — has a RouterGroup, `group`,
that the app includes (`include_routes`), and may have `setup(app)` for what a
group cannot hold: post-route middleware, which Catzilla has only app-wide.
This module names no suite; what is app-wide is here: the loop policy, the
standard headers (headers.py) and the server.
"""

import asyncio
import importlib
from concurrent.futures import ThreadPoolExecutor

from catbench_shared import runtime

# Catzilla serves from one process whatever CATBENCH_WORKERS says, so its pools
# are the whole server's, not one worker's share.
POOL_SIZE = runtime.server_pool_size()


class PooledLoopPolicy(asyncio.DefaultEventLoopPolicy):
    """New asyncio loops get a default executor of POOL_SIZE threads (for the
    file read, as every peer's pool). Catzilla's C extension makes its asyncio
    bridge loop itself, on its own thread, as it is imported, and offers no
    start-up hook; the loop policy is asyncio's way to shape loops made by code
    the app does not control, so it is set before Catzilla is imported."""

    def new_event_loop(self):
        loop = super().new_event_loop()
        loop.set_default_executor(ThreadPoolExecutor(max_workers=POOL_SIZE))
        return loop


asyncio.set_event_loop_policy(PooledLoopPolicy())

from catzilla import Catzilla  # noqa: E402  (after the loop policy)

import headers  # noqa: E402


def create_app() -> Catzilla:
    app = Catzilla(production=True, show_banner=False)
    app.set_not_found_handler(headers.not_found)
    # Lower priorities run first; a suite's post-route middleware comes after these.
    app.middleware(priority=1, pre_route=False, post_route=True)(headers.standard_headers)
    for name in runtime.suite_modules():
        suite = importlib.import_module(f"suites.{name}")
        app.include_routes(suite.group)
        setup = getattr(suite, "setup", None)
        if setup is not None:
            setup(app)
    return app


if __name__ == "__main__":
    create_app().listen(port=runtime.port(), host=runtime.host())
