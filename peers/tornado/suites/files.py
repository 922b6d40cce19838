"""The files suite on Tornado: its StaticFileHandler (ETag of the content,
Last-Modified, conditional answers and ranges)."""

import tornado.web

from catbench_shared import runtime

# None: a run without the files suite, which mounts nothing.
routes = (
    [] if runtime.static_dir() is None else [(r"/static/(.*)", tornado.web.StaticFileHandler, {"path": runtime.static_dir()})]
)


def settings() -> dict:
    # The suite changes a file while the server runs. Tornado keeps each
    # file's hash (its ETag) for the process's life unless told not to, and
    # then answers 304 to the old ETag for new content; its docs say to turn
    # the cache off where files change. Each answer then hashes its file.
    return {"static_hash_cache": False}
