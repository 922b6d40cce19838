"""The async-ops suite on Django under gunicorn's sync workers (WSGI).
/async/io is an async view, which Django runs under WSGI in an event loop of
its own; the upstream call is a blocking http.client call on a kept-alive
connection; the fan-out's ten calls go at once to a pool of ten threads, each
with its own kept-alive connection, while the worker waits; CPU work goes to a
thread pool while the worker waits, as the threaded stack's runAndWait."""

import time
from concurrent.futures import ThreadPoolExecutor

from django.http import JsonResponse
from django.urls import path
from django.views.decorators.http import require_GET

from catbench_shared import async_work as work
from catbench_shared import logging_sink, runtime

FIXTURE = work.write_fixture()
upstream = work.BlockingUpstream()
fanout = work.BlockingFanout()
cpu_pool = ThreadPoolExecutor(max_workers=runtime.pool_threads())


@require_GET
async def async_io(request):
    started = time.perf_counter()
    await work.simulated_io()
    return JsonResponse(work.io_document(logging_sink.micros_since(started)))


@require_GET
def async_fanout(request):
    return JsonResponse(work.fanout_document(fanout.run(request.GET.get("group"))))


@require_GET
def async_upstream(request):
    n = work.parse_upstream_n(request.GET.get("n"))
    return JsonResponse(work.upstream_document(upstream.get(work.upstream_target(n))))


@require_GET
def async_file(request):
    return JsonResponse(work.read_fixture(FIXTURE))


@require_GET
def async_cpu(request):
    seed = work.parse_seed(request.GET.get("seed"))
    return JsonResponse(work.cpu_document(seed, cpu_pool.submit(work.cpu, seed).result()))


@require_GET
def async_sync(request):
    return JsonResponse(work.SYNC_DOCUMENT)


urlpatterns = [
    path("async/io", async_io),
    path("async/fanout", async_fanout),
    path("async/upstream", async_upstream),
    path("async/file", async_file),
    path("async/cpu", async_cpu),
    path("async/sync", async_sync),
]
