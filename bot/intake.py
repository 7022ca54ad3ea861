"""The inbox's two sides in a running process: routes `put` what arrives (one commit for
every event that came meanwhile, so a burst is acknowledged at the speed of one write),
and workers claim events lane by lane and hand each to its source's handler.

A handler that raises is tried again with growing delays; after `max_attempts` the
event is set aside as dead with its error, for an admin (`helpdesk inbox`). A worker
that dies leaves its events leased: they are claimed again when the lease runs out, by
this process after a restart or by another replica. Handlers must therefore tolerate a
second run of an event whose first run got as far as the database: turns record the
platform's delivery id in their own transaction (storage.inbound), with the replies
they owe; a second run runs no turn again and sends only the replies not yet marked
sent (bot.dialogue.owed).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import TypeVar

from sqlalchemy.engine import Engine

from bot.config import Settings
from storage import inbox
from storage.inbox import Arrival, Claimed
from storage.models import utcnow

log = logging.getLogger(__name__)


class Unreadable(Exception):
    """A handler cannot read its event at all: trying again cannot help, so it is set
    aside as dead at once, with this error, for an admin."""


#: processes one event's payload; raises to have it retried
Handler = Callable[[str], Awaitable[None]]
T = TypeVar("T")
#: arrivals written in one transaction at most
BATCH = 500


_frozen = False


def freeze_startup_heap() -> None:
    """Move what start-up built (the knowledge base and its indexes, the models, the
    imported modules: hundreds of thousands of objects that live as long as the process)
    out of the garbage collector's sight, once per process. A full collection otherwise
    walks all of it, stalling the event loop for tens of milliseconds in the middle of a
    burst: the acknowledgements waiting on that loop are the tail of the ack times.
    gc.freeze() costs no time itself; what start-up left as garbage stays (once)."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.freeze()


@dataclass(frozen=True)
class IntakePolicy:
    #: events processed at once; 0: this process only stores what arrives (a web process
    #: beside worker processes, `helpdesk run` with HELPDESK_WORKER_PROCESSES)
    concurrency: int = 16
    lease: timedelta = timedelta(seconds=60)
    max_attempts: int = 5
    backoff: timedelta = timedelta(seconds=2)
    max_backoff: timedelta = timedelta(minutes=10)
    #: how often a process looks for events other processes received
    poll: float = 0.05

    @classmethod
    def from_settings(cls, settings: Settings, *, claims: bool = True) -> IntakePolicy:
        return cls(
            concurrency=settings.inbox_workers if claims else 0,
            lease=timedelta(seconds=settings.inbox_lease_seconds),
            max_attempts=settings.inbox_max_attempts,
            poll=settings.inbox_poll_seconds,
        )

    def retry_at_delay(self, attempts: int) -> timedelta:
        return min(self.backoff * (2 ** max(0, attempts - 1)), self.max_backoff)


class Intake:
    def __init__(self, engine: Engine, policy: IntakePolicy | None = None) -> None:
        self.engine = engine
        self.policy = policy or IntakePolicy()
        self.name = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._handlers: dict[str, Handler] = {}
        self._queue: asyncio.Queue[tuple[Arrival, asyncio.Future[bool]]] | None = None
        self._wake = asyncio.Event()
        self._done_ids: list[int] = []
        self._done_ready = asyncio.Event()
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        # Own threads for the inbox's writes: the loop's default executor is full of turns
        # waiting for the database under load, and an acknowledgement must not queue
        # behind them.
        self._put_thread = ThreadPoolExecutor(1, thread_name_prefix="inbox-put")
        self._book_thread = ThreadPoolExecutor(1, thread_name_prefix="inbox-book")
        #: handler failures (event id, error), newest last; tests assert on it
        self.failures: list[tuple[int, BaseException]] = []

    # -- wiring -------------------------------------------------------------------------

    def register(self, source: str, handler: Handler) -> None:
        """A channel's start hook: events of `source` go to `handler` in this process.
        A replica claims only the sources it has handlers for."""
        self._handlers[source] = handler
        self._wake.set()

    @property
    def claims(self) -> bool:
        """Whether this process works on events, not only stores them. What a platform
        pushes over a connection of our own (Telegram long polling, Slack Socket Mode)
        is opened where events are worked on, once, not in every web process."""
        return self.policy.concurrency > 0

    async def start(self) -> None:
        freeze_startup_heap()
        self._queue = asyncio.Queue()
        self._tasks = [asyncio.create_task(self._write_loop(), name="inbox-writer")]
        if self.claims:
            self._tasks += [
                asyncio.create_task(self._work_loop(), name="inbox-worker"),
                asyncio.create_task(self._done_loop(), name="inbox-done"),
                asyncio.create_task(self._lease_loop(), name="inbox-lease"),
            ]

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming, let the events in hand finish, record what finished."""
        self._stopping = True
        self._wake.set()
        if self._in_flight:
            await asyncio.wait(set(self._in_flight.values()), timeout=timeout)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._on(self._book_thread, self._flush_done)
        self._put_thread.shutdown(wait=False)
        self._book_thread.shutdown(wait=False)

    @staticmethod
    async def _on(
        pool: ThreadPoolExecutor, fn: Callable[..., T], *args: object, **kwargs: object
    ) -> T:
        return await asyncio.get_running_loop().run_in_executor(pool, partial(fn, *args, **kwargs))

    # -- arriving -----------------------------------------------------------------------

    async def put(self, arrival: Arrival) -> bool:
        """Returns once the event is committed to the inbox (True) or found there
        already (False, a redelivery): the moment a route may acknowledge it."""
        if self._queue is None:
            raise RuntimeError("the inbox is not started")
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        await self._queue.put((arrival, future))
        return await future

    async def _write_loop(self) -> None:
        assert self._queue is not None
        while True:
            batch = [await self._queue.get()]
            while len(batch) < BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                new = await self._on(
                    self._put_thread, inbox.put_many, self.engine, [a for a, _ in batch]
                )
            except Exception as exc:
                log.exception("inbox: %d arrivals could not be written", len(batch))
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), fresh in zip(batch, new, strict=True):
                if not future.done():
                    future.set_result(fresh)
            self._wake.set()

    # -- working ------------------------------------------------------------------------

    async def _work_loop(self) -> None:
        while not self._stopping:
            self._wake.clear()  # whatever arrives from here on wakes the next round
            free = self.policy.concurrency - len(self._in_flight)
            claimed: list[Claimed] = []
            if free > 0 and self._handlers:
                try:
                    claimed = await self._on(
                        self._book_thread,
                        inbox.claim,
                        self.engine,
                        self.name,
                        limit=free,
                        lease=self.policy.lease,
                        sources=tuple(self._handlers),
                    )
                except Exception:
                    log.exception("inbox: claim failed")
            for event in claimed:
                task = asyncio.create_task(self._run(event), name=f"inbox-{event.id}")
                self._in_flight[event.id] = task
            if claimed and len(claimed) == free:
                await self._wait_slot()
            elif not claimed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.policy.poll)

    async def _wait_slot(self) -> None:
        if self._in_flight:
            await asyncio.wait(set(self._in_flight.values()), return_when=asyncio.FIRST_COMPLETED)

    async def _run(self, event: Claimed) -> None:
        try:
            await self._handlers[event.source](event.payload)
        except Exception as exc:
            self.failures.append((event.id, exc))
            retry = event.attempts < self.policy.max_attempts and not isinstance(exc, Unreadable)
            log.error(
                "inbox: %s event %s (attempt %d) failed%s",
                event.source,
                event.key,
                event.attempts,
                ", retried later" if retry else ", set aside for an admin",
                exc_info=exc,
            )
            retry_at = utcnow() + self.policy.retry_at_delay(event.attempts) if retry else None
            try:
                await self._on(
                    self._book_thread,
                    inbox.failed,
                    self.engine,
                    event.id,
                    f"{type(exc).__name__}: {exc}",
                    retry_at=retry_at,
                )
            except Exception:
                log.exception("inbox: failure of event %s not recorded", event.id)
        else:
            self._done_ids.append(event.id)
            self._done_ready.set()
        finally:
            self._in_flight.pop(event.id, None)
            self._wake.set()

    async def _done_loop(self) -> None:
        """Finished events are marked in batches: a burst costs a few commits, not one
        per event. The next event of a lane waits for its predecessor's mark."""
        while True:
            await self._done_ready.wait()
            self._done_ready.clear()
            try:
                await self._on(self._book_thread, self._flush_done)
            except Exception:
                log.exception("inbox: marking events done failed; retried")
                await asyncio.sleep(1)
                self._done_ready.set()
            self._wake.set()

    def _flush_done(self) -> None:
        ids, self._done_ids = self._done_ids, []
        try:
            inbox.done(self.engine, ids)
        except Exception:
            self._done_ids[:0] = ids
            raise

    async def _lease_loop(self) -> None:
        """Renew the leases of events still in hand, so a slow one is not taken away."""
        every = max(1.0, self.policy.lease.total_seconds() / 3)
        while True:
            await asyncio.sleep(every)
            ids = list(self._in_flight)
            if ids:
                try:
                    await self._on(
                        self._book_thread,
                        inbox.extend,
                        self.engine,
                        ids,
                        self.name,
                        utcnow() + self.policy.lease,
                    )
                except Exception:
                    log.exception("inbox: lease renewal failed")

    # -- waiting (tests, shutdown) --------------------------------------------------------

    async def idle(self, timeout: float = 30.0) -> None:
        """Wait until every event of the registered sources is finished (by this process
        or, when it only stores, by the worker processes)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = await asyncio.to_thread(
                inbox.unfinished_count, self.engine, tuple(self._handlers)
            )
            if left == 0 and not self._in_flight and not self._done_ids:
                return
            if loop.time() > deadline:
                raise TimeoutError(f"{left} inbox events still unfinished")
            await asyncio.sleep(0.02)
