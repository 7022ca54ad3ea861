"""The worker processes `helpdesk run` keeps beside its web process.

Python runs one thread at a time per process: when turns ran in the web process, a
burst of updates waited for its acknowledgements behind the turns (Telegram retries a
webhook that answers slowly). With the turns in processes of their own, at a lower CPU
priority, the web process answers at the speed of one write per burst, and the workers
catch up. A worker that dies is started again; its leased events are claimed again when
their lease runs out (bot.intake).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from starlette.applications import Starlette

log = logging.getLogger(__name__)

#: how much lower the workers' CPU priority is than the web process's (nice(2)): at 10 the
#: web process (and PostgreSQL) win the CPU while a burst is worked off, so the platform's
#: acknowledgement does not wait behind the turns (bench/telegram_webhook.py, PostgreSQL
#: split: ack p99 64–73 ms at nice 10 against 73–106 ms at nice 5, same throughput)
NICENESS = 10
#: a worker that exits is started again after this many seconds (doubling up to a minute)
RESTART_DELAY = 1.0


async def hold(app: Starlette, parent: int | None = None) -> None:
    """Run the app's lifespan (channels, inbox workers, outbox, jobs) without serving
    HTTP, until SIGTERM or SIGINT, or until `parent` (the `helpdesk run` that started
    this worker) is gone, even killed: a worker never outlives its web process."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    async def orphaned() -> None:
        while os.getppid() == parent:
            await asyncio.sleep(1.0)
        log.warning("worker %d: its helpdesk run is gone; stopping", os.getpid())
        stop.set()

    async with app.router.lifespan_context(app):
        watch = asyncio.create_task(orphaned()) if parent is not None else None
        log.info("worker %d: working", os.getpid())
        await stop.wait()
        if watch is not None:
            watch.cancel()
    log.info("worker %d: stopped", os.getpid())


def command() -> list[str]:
    return [
        sys.executable,
        *("-m", "bot.cli", "worker"),
        *("--niceness", str(NICENESS), "--parent", str(os.getpid())),
    ]


def exit_on_sigterm() -> None:
    """uvicorn, once it has shut down on SIGTERM, raises the signal again with the
    handler it found: this one ends `helpdesk run` through its `finally` blocks (which
    stop the workers) instead of killing it on the spot."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


@contextmanager
def kept_running(count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`count` worker processes, started again when one exits, stopped on leaving."""
    stopping = threading.Event()
    procs: list[subprocess.Popen[bytes]] = [subprocess.Popen(command()) for _ in range(count)]

    def watch(slot: int) -> None:
        delay = RESTART_DELAY
        while not stopping.is_set():
            began = time.monotonic()
            code = procs[slot].wait()
            if stopping.is_set():
                return
            if time.monotonic() - began > 60:
                delay = RESTART_DELAY  # it ran a while: not a crash loop
            log.error("worker process %d exited (%s); starting it again", procs[slot].pid, code)
            if stopping.wait(delay):
                return
            delay = min(delay * 2, 60.0)
            procs[slot] = subprocess.Popen(command())

    watchers = [threading.Thread(target=watch, args=(n,), daemon=True) for n in range(count)]
    for thread in watchers:
        thread.start()
    try:
        yield procs
    finally:
        stopping.set()
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
