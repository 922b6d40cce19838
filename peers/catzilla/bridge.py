"""Async work from sync code. Catzilla's documented way to await in sync code
(middleware, DI factories) is to run the coroutine to completion; a Runner
does that on one reused loop (as Flask and Django use asgiref)."""

import asyncio

RUNNER = asyncio.Runner()


def run(coroutine):
    return RUNNER.run(coroutine)
