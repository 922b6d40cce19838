"""The files suite on FastAPI: Starlette's StaticFiles mounted at /static
(FileResponse: ETag, Last-Modified, conditional answers and ranges)."""

from fastapi import APIRouter
from fastapi.staticfiles import StaticFiles

from catbench_shared import runtime

router = APIRouter()
if runtime.static_dir() is not None:  # None: a run without the files suite
    router.mount("/static", StaticFiles(directory=runtime.static_dir()), name="static")
