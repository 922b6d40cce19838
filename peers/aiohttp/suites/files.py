"""The files suite on aiohttp: a static resource (add_static: FileResponse
with sendfile, ETag, conditional answers and ranges)."""

from aiohttp import web

from catbench_shared import runtime

# None: a run without the files suite, which mounts nothing.
routes = [] if runtime.static_dir() is None else [web.static("/static", runtime.static_dir())]
