"""The environment catbench gives a peer (peers/README.md, "How catbench runs
a peer") and the manifest's list of suite modules."""

import json
import os

# peers/shared/catbench_shared/runtime.py → peers/peers.json
MANIFEST = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, "peers.json")


def workers() -> int:
    """CATBENCH_WORKERS: the worker processes the run gives every server (1 when unset)."""
    return max(1, int(os.environ.get("CATBENCH_WORKERS", "1") or "1"))


def server_pool_size() -> int:
    """Threads of the one work pool the stacks give a whole server: max(2, workers)."""
    return max(2, workers())


def pool_threads() -> int:
    """Threads (or processes) of one worker process's work pool. A peer of
    several processes has a pool in each, so each gets its share of
    server_pool_size(), rounded up."""
    return -(-server_pool_size() // workers())


def host() -> str:
    """CATBENCH_HOST: the address to bind (127.0.0.1 when run by hand)."""
    return os.environ.get("CATBENCH_HOST", "127.0.0.1")


def port() -> int:
    """CATBENCH_PORT: the port to bind (8000 when run by hand)."""
    return int(os.environ.get("CATBENCH_PORT", "8000"))


def static_dir() -> str | None:
    """CATBENCH_STATIC_DIR: the files suite's folder, which catbench makes and
    fills; None on a run without the files suite (its module then mounts nothing)."""
    return os.environ.get("CATBENCH_STATIC_DIR") or None


def suite_modules(manifest: str = MANIFEST) -> list[str]:
    """The module name of every suite, from peers.json's "suites" (contract
    name → module name), in the manifest's order. A peer's entry module mounts
    each of them from its own package, so adding a suite is new modules and
    one manifest line, never an edit of the entry modules.

    A variant peer (CATBENCH_PEER names an entry with "serves", such as
    flask-sqlalchemy) mounts the modules its "serves" names instead, and the
    basic suite's: catbench's readiness probe is the basic suite's
    GET /plaintext, though it measures the variant on its served suites only."""
    with open(manifest, encoding="utf-8") as file:
        document = json.load(file)
    name = os.environ.get("CATBENCH_PEER")
    for entry in document["peers"]:
        if entry["name"] == name and "serves" in entry:
            return [document["suites"]["basic"]] + list(entry["serves"].values())
    return list(document["suites"].values())
