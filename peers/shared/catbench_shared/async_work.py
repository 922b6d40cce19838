"""The async-ops suite's work (SharedLogic/AsyncWork.swift): the simulated I/O,
the upstream calls and their answers, the fixture file, the CPU work, and the
pools a peer runs them on.

/async/fanout?group=G makes FANOUT concurrent calls GET /delay?n=i&ms=1&group=G
(i = 0…9) to the upstream at CATBENCH_UPSTREAM, which answers {"n": i} after ms
milliseconds and counts how many calls of a group overlap: concurrency is
measured from outside the peer. /async/upstream?n=K is one call, /delay?n=K
(2 ms).
"""

import asyncio
import hashlib
import http.client
import json
import multiprocessing
import os
import re
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

from . import basic, runtime

IO_SECONDS = 0.001
FANOUT = 10
FANOUT_DELAY_MS = 1
FILE_BYTES = 64 * 1024
FIXTURE_NAME = "catbench-async-fixture.bin"
UINT64_MAX = (1 << 64) - 1
_MASK64 = (1 << 64) - 1
SYNC_DOCUMENT = {"sync": True}


# ---- simulated I/O ------------------------------------------------------------------

async def simulated_io() -> None:
    """The simulated I/O call: an awaited wait of at least 1 ms. Event loops
    round timers to their own clock (uvloop's is cached per loop iteration), so
    a single sleep(0.001) can end early; wait out the rest."""
    deadline = time.perf_counter() + IO_SECONDS
    while (remaining := deadline - time.perf_counter()) > 0:
        await asyncio.sleep(remaining)


def io_document(waited_us: int) -> dict:
    """GET /async/io: {"io": "done", "waited_us": µs} (waited_us is informative, not checked)."""
    return {"io": "done", "waited_us": waited_us}


# ---- the upstream -------------------------------------------------------------------

def upstream_address() -> tuple[str, int]:
    """(host, port) of the upstream service, from CATBENCH_UPSTREAM (host:port),
    which catbench always sets; 127.0.0.1:8090 when a peer is run by hand without it."""
    host, _, port = os.environ.get("CATBENCH_UPSTREAM", "127.0.0.1:8090").rpartition(":")
    return host.strip("[]"), int(port)


def upstream_base_url() -> str:
    """http://host:port of the upstream, for clients that take a base URL."""
    host, port = upstream_address()
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def parse_upstream_n(raw: str | None) -> int:
    """`n` from the query, as Swift's Int(raw) ?? 0."""
    value = basic.parse_int64(raw)
    return 0 if value is None else value


def upstream_target(n: int) -> str:
    """The request target of /async/upstream's call: /delay?n=K (the upstream's 2 ms)."""
    return f"/delay?n={n}"


def fanout_targets(group: str | None) -> list[str]:
    """The request targets of /async/fanout's FANOUT calls, in answer order."""
    group_text = quote(group or "", safe="")
    return [f"/delay?n={i}&ms={FANOUT_DELAY_MS}&group={group_text}" for i in range(FANOUT)]


def upstream_n(body: bytes) -> int:
    """`n` from the upstream's answer {"n": K}, or -1 when it is not that."""
    try:
        value = json.loads(body).get("n")
    except (ValueError, AttributeError):
        return -1
    return value if isinstance(value, int) and not isinstance(value, bool) else -1


def upstream_document(n: int) -> dict:
    """GET /async/upstream: {"upstream": {"n": K}}."""
    return {"upstream": {"n": n}}


def fanout_document(results: list) -> dict:
    """GET /async/fanout: {"calls": 10, "results": [the upstream's n of each call, in order]}."""
    return {"calls": len(results), "results": results}


class BlockingUpstream:
    """A blocking upstream client for the sync designs: one keep-alive
    http.client connection per thread, reopened when the upstream closed it."""

    def __init__(self):
        self._host, self._port = upstream_address()
        self._local = threading.local()

    def get(self, target: str) -> int:
        """GET `target` on the upstream; n from its answer, -1 on a bad answer."""
        try:
            return self._get(target)
        except (http.client.HTTPException, OSError):
            # Most likely a kept-alive connection the upstream closed: reconnect once.
            self._drop()
            return self._get(target)

    def _get(self, target: str) -> int:
        connection = self._connection()
        connection.request("GET", target)
        return upstream_n(connection.getresponse().read())

    def _drop(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
        self._local.connection = None

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(self._host, self._port, timeout=5)
            self._local.connection = connection
        return connection


class BlockingFanout:
    """The sync designs' fan-out: FANOUT threads, each with its own keep-alive
    connection (BlockingUpstream), make the calls at once while the request's
    thread waits for all of them."""

    def __init__(self):
        self._client = BlockingUpstream()
        self._pool = ThreadPoolExecutor(max_workers=FANOUT, thread_name_prefix="fanout")

    def run(self, group: str | None) -> list[int]:
        return list(self._pool.map(self._client.get, fanout_targets(group)))


# ---- the fixture file ---------------------------------------------------------------

def file_content() -> bytes:
    """The fixture's 64 KiB: xorshift32 from a fixed seed, so its checksum is known."""
    state = 2_463_534_242
    out = bytearray(FILE_BYTES)
    for i in range(FILE_BYTES):
        state ^= (state << 13) & 0xFFFFFFFF
        state ^= state >> 17
        state ^= (state << 5) & 0xFFFFFFFF
        out[i] = state & 0xFF
    return bytes(out)


def checksum(data: bytes) -> str:
    """SHA-256 of data as lowercase hex. hashlib is OpenSSL, as in the Swift
    stacks, so the file workload measures the read, not a hash loop."""
    return hashlib.sha256(data).hexdigest()


def fixture_path() -> str:
    """Where the fixture lives: CATBENCH_SCRATCH, else the system's temporary folder."""
    directory = os.environ.get("CATBENCH_SCRATCH") or tempfile.gettempdir()
    return os.path.join(directory, FIXTURE_NAME)


def write_fixture() -> str:
    """Writes the 64 KiB fixture (at start-up) and returns its path. Atomic, so
    worker processes starting together never read a half-written file."""
    path = fixture_path()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    partial = f"{path}.{os.getpid()}"
    with open(partial, "wb") as file:
        file.write(file_content())
    os.replace(partial, path)
    return path


def read_fixture(path: str) -> dict:
    """Reads the fixture with blocking calls: the /async/file answer."""
    with open(path, "rb") as file:
        data = file.read()
    return {"bytes": len(data), "sha256": checksum(data)}


# ---- CPU work -----------------------------------------------------------------------

def cpu(seed: int) -> str:
    """The CPU work: 50,000 rounds of xorshift mixing from `seed`, as 16 hex digits.
    (About 100 µs in Swift, about 10 ms in CPython.)"""
    x = (seed | 1) & _MASK64
    acc = 0
    for _ in range(50_000):
        x ^= (x << 13) & _MASK64
        x ^= x >> 7
        x ^= (x << 17) & _MASK64
        acc = (acc + x * 0x9E3779B97F4A7C15) & _MASK64
    return f"{acc:016x}"


def parse_seed(raw: str | None) -> int:
    """`seed` from the query, as Swift's UInt64(raw) ?? 1."""
    if raw is None or not re.fullmatch(r"\+?[0-9]+", raw) or int(raw) > UINT64_MAX:
        return 1
    return int(raw)


def cpu_document(seed: int, result: str) -> dict:
    # The seed is answered as a string: a UInt64 does not fit a JSON number everywhere.
    return {"seed": str(seed), "result": result}


def start_cpu_pool(size: int | None = None, start_method: str | None = None) -> ProcessPoolExecutor:
    """A process pool for the CPU work of asyncio peers, its processes started
    now: `size` processes, else runtime.pool_threads() (a peer that serves from
    one process whatever CATBENCH_WORKERS says passes server_pool_size()). CPU
    work in a thread would hold the GIL and stall the event loop; processes run
    it beside the loop. With the default (fork) start method, call it before
    the server makes threads, so the forks are clean; a peer whose framework
    has threads already passes "forkserver"."""
    context = multiprocessing.get_context(start_method) if start_method else None
    pool = ProcessPoolExecutor(max_workers=size or runtime.pool_threads(), mp_context=context)
    # With fork, the first submission starts every process; a fork server starts them as work comes.
    pool.submit(int).result()
    return pool
