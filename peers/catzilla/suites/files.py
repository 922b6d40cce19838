"""The files suite on Catzilla: mount_static, its C-native static server
(ETag, conditional answers), as its docs show it but for the hot cache.

The hot cache (on by default) keeps a file's bytes for cache_ttl_seconds
(3600) without looking at the file: catbench saw the old bytes served after
the file was replaced on disk, which the suite's check of a changed file
fails. It is off here, so every answer reads the file."""

from catzilla import RouterGroup

from catbench_shared import runtime

group = RouterGroup()


def setup(app) -> None:
    if runtime.static_dir() is not None:  # None: a run without the files suite
        app.mount_static("/static", runtime.static_dir(), enable_hot_cache=False)
