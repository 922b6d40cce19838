"""The catbench contract on FastAPI, served by uvicorn (uvloop, httptools).

Run as `uvicorn app:app` in this folder (see peers.json). The app is an
empty FastAPI that includes one APIRouter per suite: the modules peers.json's
"suites" names, from suites/. This module names no suite; what is app-wide
is here: no OpenAPI pages, the thread pool's size, and how request
validation errors are answered (errors.py).
"""

import importlib
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

import errors
from catbench_shared import runtime


@asynccontextmanager
async def lifespan(app: FastAPI):
    # Starlette's thread pool (def endpoints, run_in_threadpool) is anyio's
    # default limiter: as large as every peer's pool, not anyio's 40.
    anyio.to_thread.current_default_thread_limiter().total_tokens = runtime.pool_threads()
    yield {}


def create_app() -> FastAPI:
    # No OpenAPI schema or docs pages: production serving, and no extra routes to match.
    app = FastAPI(lifespan=lifespan, openapi_url=None)
    errors.install(app)
    for module in runtime.suite_modules():
        # A router's own lifespan (the async-ops suite's pools) joins the app's.
        app.include_router(importlib.import_module(f"suites.{module}").router)
    return app


app = create_app()
