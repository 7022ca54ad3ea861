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

A run's reply marks are kept in memory (storage.inbound.collecting) and written in the
commit that marks the run's event done, for many events at once, or, while the run is
still sending, with the next lease renewal: no commit per reply. A crash sends again
at most the replies of the events in hand sent since the last renewal or done flush,
never loses one.

Leases are renewed every third of the lease, for the events in hand and those waiting
for their done mark. A run that is not sure it still holds its event (its renewal is
late, or another worker took the event over) sends nothing more: `check_lease` raises
`LeaseLost`, and the event is left to its new holder.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TypeVar

from sqlalchemy.engine import Engine

from bot.config import Settings
from storage import inbound, inbox
from storage.db import session_scope, urgent_writes
from storage.inbox import Arrival, Claimed
from storage.models import utcnow

log = logging.getLogger(__name__)


class Unreadable(Exception):
    """A handler cannot read its event at all: trying again cannot help, so it is set
    aside as dead at once, with this error, for an admin."""


class LeaseLost(Exception):
    """This run's lease ran out or was taken over: another worker may be running the
    event now, so this one must not send what the other will send."""


@dataclass(frozen=True)
class _Run:
    event_id: int
    intake: Intake


_RUN: ContextVar[_Run | None] = ContextVar("inbox_run", default=None)


def check_lease() -> None:
    """Called by a channel before each reply it sends: raises `LeaseLost` when the
    inbox run it is part of may no longer hold its event. Outside a run: nothing."""
    run = _RUN.get()
    if run is not None and not run.intake.holds(run.event_id):
        raise LeaseLost(f"inbox event {run.event_id}: lease lost")


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
        #: finished events and the reply marks of their runs, written together
        self._done: list[tuple[int, inbound.Marks]] = []
        #: events this process holds (in hand or waiting for their done mark) → the
        #: monotonic time until which their lease is surely ours
        self._held: dict[int, float] = {}
        #: the reply marks of the runs in hand, and what of them is written already
        self._marks: dict[int, inbound.Marks] = {}
        self._written: dict[int, dict[tuple[str, str], tuple[int, int]]] = {}
        self._done_ready = asyncio.Event()
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        # Own threads for the inbox's writes: the loop's default executor is full of turns
        # waiting for the database under load, and an acknowledgement must not queue
        # behind them.
        self._put_thread = ThreadPoolExecutor(1, thread_name_prefix="inbox-put")
        self._book_thread = ThreadPoolExecutor(1, thread_name_prefix="inbox-book")
        # renewals must not queue behind claims and done marks: a late one loses a lease
        self._lease_thread = ThreadPoolExecutor(1, thread_name_prefix="inbox-lease")
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
        self._lease_thread.shutdown(wait=False)

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
                started = time.monotonic()
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
                held = event.id in self._held
                self._held[event.id] = started + self.policy.lease.total_seconds()
                if held:
                    # ours already (its lease ran out while in hand, or it waits for its
                    # done mark): one run of an event at a time; the claim renewed it
                    log.warning("inbox: event %s claimed again while in hand", event.id)
                    continue
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

    def holds(self, event_id: int) -> bool:
        """Whether this process surely still holds the event's lease."""
        return time.monotonic() < self._held.get(event_id, 0.0)

    async def _run(self, event: Claimed) -> None:
        marks = self._marks[event.id] = inbound.Marks()
        _RUN.set(_Run(event.id, self))  # this task's own context, and its threads'
        try:
            with inbound.collecting(marks):
                await self._handlers[event.source](event.payload)
        except LeaseLost:
            log.warning("inbox: %s event %s left to its new holder", event.source, event.key)
            self._held.pop(event.id, None)
            await self._save_marks(marks)
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
            # the replies that did go out first: the retry must not send them again
            await self._save_marks(marks)
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
            finally:
                self._held.pop(event.id, None)
        else:
            self._done.append((event.id, marks))
            self._done_ready.set()
        finally:
            self._in_flight.pop(event.id, None)
            self._marks.pop(event.id, None)
            self._written.pop(event.id, None)
            self._wake.set()

    async def _save_marks(self, marks: inbound.Marks) -> None:
        if marks.sent:
            try:
                await self._on(self._book_thread, self._write_marks, [marks])
            except Exception:
                log.exception("inbox: reply marks not written (those replies may go again)")

    def _write_marks(self, marks: list[inbound.Marks]) -> None:
        with session_scope(self.engine) as session:
            inbound.save_marks(session, marks)

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
        """One commit: the finished events' reply marks, then their done marks (a crash
        before it re-runs them, and they send again what was not marked)."""
        batch, self._done = self._done, []
        if not batch:
            return
        try:
            with session_scope(self.engine) as session:
                inbound.save_marks(session, [marks for _, marks in batch if marks.sent])
                inbox.done(session, [event_id for event_id, _ in batch])
        except Exception:
            self._done[:0] = batch
            raise
        for event_id, _ in batch:
            if event_id not in self._in_flight:
                self._held.pop(event_id, None)

    async def _lease_loop(self) -> None:
        """Renew the leases of the events this process holds, well inside the lease: a
        live run does not lose its event, and one that did (its renewal came back
        without it) stops sending (`check_lease`)."""
        lease = self.policy.lease.total_seconds()
        while True:
            await asyncio.sleep(lease / 3)
            ids = list(self._held)
            if not ids:
                continue
            started = time.monotonic()
            try:
                renewed, written = await self._on(
                    self._lease_thread, self._renew, ids, utcnow() + self.policy.lease
                )
            except Exception:
                log.exception("inbox: lease renewal failed")
                continue
            for event_id, now in written.items():
                if event_id in self._marks:
                    self._written[event_id] = now
            for event_id in ids:
                if event_id not in self._held:
                    continue  # finished meanwhile
                if event_id in renewed:
                    self._held[event_id] = started + lease
                else:
                    log.warning("inbox: the lease of event %s was taken over", event_id)
                    self._held[event_id] = 0.0

    def _renew(
        self, ids: list[int], until: datetime
    ) -> tuple[set[int], dict[int, dict[tuple[str, str], tuple[int, int]]]]:
        """One commit: the leases, and the reply marks the runs in hand made since the
        last renewal (a run sending many replies, or slowly, is not re-sent in full by a
        crash)."""
        fresh: dict[int, dict[tuple[str, str], tuple[int, int]]] = {}
        for event_id, marks in list(self._marks.items()):
            now = marks.sent.copy()  # the runs' threads add to it meanwhile
            if now and now != self._written.get(event_id):
                fresh[event_id] = now
        with urgent_writes(), session_scope(self.engine) as session:
            inbound.save_marks(session, [inbound.Marks(m) for m in fresh.values()])
            renewed = inbox.extend(session, ids, self.name, until)
        return renewed, fresh

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
            if left == 0 and not self._in_flight and not self._done:
                return
            if loop.time() > deadline:
                raise TimeoutError(f"{left} inbox events still unfinished")
            await asyncio.sleep(0.02)
