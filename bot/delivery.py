"""Hands outbox notices to the push channels with bounded retries.

A channel registers a `Transport`; `tick(now)` claims due notices (a lease: FOR UPDATE
SKIP LOCKED on PostgreSQL, a conditional UPDATE … RETURNING on SQLite), sends them, and
records sent, retry-later with exponential backoff, or failed with the reason. A replica
killed in the middle leaves leased rows that any replica claims again once the lease
expires, so no notice is lost (a send cut off mid-way may be repeated: at least once).

A notice that keeps failing is marked failed and reported to every admin on each chat
they linked, never dropped silently. Per-platform rate limits pace the sends; a notice
that would have to wait long is given back to the outbox for later, untried.

Nothing here knows a platform by name: each channel's `Pacing` comes with its spec
(bot.channels), and the settings may replace the whole table.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.core import alerts, change_posts, escalation, notices
from bot.core.roles import Role
from bot.i18n import t
from storage.db import session_scope
from storage.models import Notice, utcnow

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BASE_BACKOFF = timedelta(seconds=5)
MAX_BACKOFF = timedelta(minutes=30)
FAILURE_KIND = "notice.failed"
#: kinds whose sent message is kept (its reference returned) so it can be edited later
POST_KINDS = frozenset({"alert.post", change_posts.POST})
#: kinds that edit a kept message in place (payload["message_ref"])
EDIT_KINDS = frozenset({"alert.edit", change_posts.EDIT})


class TransportError(Exception):
    """A send that failed; `permanent` means retrying cannot help (blocked bot, bad chat)."""

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class Transport(Protocol):
    """Sends one notice. Kinds: POST_KINDS ("alert.post", "change.post": return the
    platform's message reference, so the post can be edited later), EDIT_KINDS
    ("alert.edit", "change.edit": payload["message_ref"] to edit), anything else is a
    plain message: payload["text"] with optional payload["choices"]."""

    async def send(self, notice: Notice) -> str | None: ...


def _never(_target: str) -> bool:
    return False


@dataclass(frozen=True)
class Pacing:
    """How fast one platform takes notices: `rate` per second over the whole platform,
    `interval` seconds between two notices to one chat, and `group_interval` instead for
    the chats `is_group` picks (a platform's own group rule, e.g. Telegram's negative
    chat ids). Zero or None: no limit of that kind."""

    rate: float = 0.0
    interval: float = 0.0
    group_interval: float | None = None
    is_group: Callable[[str], bool] = _never


@dataclass
class RateLimiter:
    """Spacing of sends per platform (`rates`: notices per second) and per chat
    (`intervals`: seconds between two notices to one chat; "<channel>_group" applies to
    the chats `groups[channel]` says are groups). In-process: each replica paces itself."""

    rates: dict[str, float] = field(default_factory=dict)
    intervals: dict[str, float] = field(default_factory=dict)
    clock: Callable[[], float] = time.monotonic
    groups: dict[str, Callable[[str], bool]] = field(default_factory=dict)
    _channel_free: dict[str, float] = field(default_factory=dict)
    _target_free: dict[tuple[str, str], float] = field(default_factory=dict)

    @classmethod
    def for_channels(
        cls,
        pacing: Mapping[str, Pacing],
        rates: Mapping[str, float] | None = None,
        intervals: Mapping[str, float] | None = None,
    ) -> RateLimiter:
        """The channels' own pacing; `rates` or `intervals` given (DELIVERY_CHANNEL_RATES,
        DELIVERY_TARGET_INTERVALS) replace that whole table, as they always did."""
        if rates is None:
            rates = {name: p.rate for name, p in pacing.items() if p.rate}
        if intervals is None:
            intervals = {name: p.interval for name, p in pacing.items() if p.interval}
            intervals |= {
                f"{name}_group": p.group_interval
                for name, p in pacing.items()
                if p.group_interval is not None
            }
        groups = {name: p.is_group for name, p in pacing.items()}
        return cls(dict(rates), dict(intervals), groups=groups)

    def _interval(self, channel: str, target: str) -> float:
        group = f"{channel}_group"
        if group in self.intervals and self.groups.get(channel, _never)(target):
            return self.intervals[group]
        return self.intervals.get(channel, 0.0)

    def delay(self, channel: str, target: str) -> float:
        """Seconds until a notice to this chat may go out."""
        now = self.clock()
        free = max(
            self._channel_free.get(channel, 0.0), self._target_free.get((channel, target), 0.0)
        )
        return max(free - now, 0.0)

    def taken(self, channel: str, target: str) -> None:
        now = self.clock()
        rate = self.rates.get(channel, 0.0)
        if rate > 0:
            self._channel_free[channel] = (
                max(self._channel_free.get(channel, 0.0), now) + 1.0 / rate
            )
        interval = self._interval(channel, target)
        if interval > 0:
            self._target_free[(channel, target)] = now + interval
            if len(self._target_free) > 10_000:  # forget chats whose pause is long over
                self._target_free = {k: v for k, v in self._target_free.items() if v > now}


@dataclass
class _Outcome:
    sent: list[tuple[Notice, str | None]] = field(default_factory=list)
    failed: list[tuple[Notice, TransportError]] = field(default_factory=list)
    released: list[tuple[Notice, datetime, str | None]] = field(default_factory=list)


@dataclass
class Deliverer:
    engine: Engine
    transports: dict[str, Transport] = field(default_factory=dict)
    lease: timedelta = notices.LEASE
    max_attempts: int = MAX_ATTEMPTS
    limiter: RateLimiter = field(default_factory=RateLimiter)
    #: a rate-limited notice waits in the tick up to this long; longer, it goes back to the outbox
    max_wait: float = 1.0
    #: chats served at the same time (each chat's notices stay in order)
    concurrency: int = 16

    @classmethod
    def from_settings(
        cls, engine: Engine, settings: Settings, pacing: Mapping[str, Pacing] | None = None
    ) -> Deliverer:
        """`pacing`: each channel's own limits by channel name (from the channel specs)."""
        return cls(
            engine,
            lease=timedelta(seconds=settings.delivery_lease_seconds),
            max_attempts=settings.delivery_max_attempts,
            limiter=RateLimiter.for_channels(
                pacing or {}, settings.delivery_channel_rates, settings.delivery_target_intervals
            ),
        )

    def register(self, channel: str, transport: Transport) -> None:
        self.transports[channel] = transport

    async def tick(self, now: datetime | None = None, limit: int = 50) -> int:
        """One delivery pass; returns how many notices were sent.

        Chats are served concurrently, each chat's notices in order. What happened is
        recorded in one transaction at the end; a crash before that leaves the batch
        leased, and it is sent again after the lease (at least once, never lost)."""
        if not self.transports:
            return 0
        now = now or utcnow()
        batch = await asyncio.to_thread(self._claim, now, limit)
        if not batch:
            return 0
        chats: dict[tuple[str, str], list[Notice]] = {}
        for notice in batch:
            chats.setdefault((notice.channel, notice.target), []).append(notice)
        outcome = _Outcome()
        deadline = time.monotonic() + self.lease.total_seconds() / 2
        gate = asyncio.Semaphore(self.concurrency)

        async def serve(queue: list[Notice]) -> None:
            async with gate:
                for i, notice in enumerate(queue):
                    wait = await self._pace(notice, deadline)
                    if wait is not None:  # too long to wait: back to the outbox, in order
                        outcome.released += [
                            (n, now + timedelta(seconds=wait), None) for n in queue[i:]
                        ]
                        return
                    try:
                        ref = await self.transports[notice.channel].send(notice)
                    except TransportError as exc:
                        outcome.failed.append((notice, exc))
                        if (
                            exc.retry_after is not None
                        ):  # the chat is told to wait: the rest waits too
                            later = now + timedelta(seconds=exc.retry_after)
                            outcome.released += [(n, later, str(exc)) for n in queue[i + 1 :]]
                            return
                    except Exception as exc:  # an adapter bug must not stop delivery of the rest
                        log.exception(
                            "transport %s crashed on notice %s", notice.channel, notice.id
                        )
                        outcome.failed.append((notice, TransportError(repr(exc))))
                    else:
                        outcome.sent.append((notice, ref))

        await asyncio.gather(*(serve(queue) for queue in chats.values()))
        await asyncio.to_thread(self._record, outcome, now)
        return len(outcome.sent)

    async def _pace(self, notice: Notice, deadline: float) -> float | None:
        """Wait for the rate limits; None when the notice may go now, else how long it
        would still have to wait (more than `max_wait`, or past half the lease)."""
        while (wait := self.limiter.delay(notice.channel, notice.target)) > 0:
            if wait > self.max_wait or time.monotonic() + wait > deadline:
                return wait
            await asyncio.sleep(wait)
        self.limiter.taken(notice.channel, notice.target)
        return None

    async def drain(
        self, now: datetime | None = None, limit: int = 50, max_passes: int = 100
    ) -> int:
        """Ticks until nothing due is left (or `max_passes`): catches up after a pause."""
        total = 0
        for _ in range(max_passes):
            sent = await self.tick(now, limit)
            total += sent
            if sent < limit:
                break
        return total

    def _claim(self, now: datetime, limit: int) -> list[Notice]:
        with session_scope(self.engine) as s:
            batch = notices.claim(
                s, channels=set(self.transports), now=now, limit=limit, lease=self.lease
            )
            for notice in batch:
                if notice.kind.startswith("alert."):
                    alerts.refresh_payload(s, notice)
                elif notice.kind.startswith("change."):
                    change_posts.refresh_payload(s, notice)
            return batch

    def _record(self, outcome: _Outcome, now: datetime) -> None:
        with session_scope(self.engine) as s:
            notices.mark_sent_many(s, sorted(n.id or 0 for n, _ in outcome.sent), now=utcnow())
            for notice, ref in outcome.sent:
                if notice.kind == "alert.post":
                    alerts.record_post(
                        s,
                        notice.payload["alert_id"],
                        notice.channel,
                        notice.target,
                        ref,
                        notice.payload.get("text", ""),
                        seq=int(notice.payload.get("seq") or 0),
                    )
                elif notice.kind == change_posts.POST:
                    change_posts.record_post(s, notice, ref)
            # the rest row by row in id order, as the claim locks them
            released = {n.id: (at, why) for n, at, why in outcome.released}
            failed = {n.id: (n, exc) for n, exc in outcome.failed}
            for notice_id in sorted({*released, *failed}, key=lambda i: i or 0):
                if notice_id in released:
                    at, why = released[notice_id]
                    notices.release(s, notice_id or 0, at=at, reason=why)
                else:
                    self._failed(s, *failed[notice_id], now)

    def _failed(self, session: Session, notice: Notice, exc: TransportError, now: datetime) -> None:
        give_up = exc.permanent or notice.attempts >= self.max_attempts
        if exc.retry_after is not None:
            delay = timedelta(seconds=exc.retry_after)
        else:
            delay = min(BASE_BACKOFF * (2 ** max(notice.attempts - 1, 0)), MAX_BACKOFF)
        log.warning(
            "notice %s to %s failed (attempt %s): %s",
            notice.id,
            notice.channel,
            notice.attempts,
            exc,
        )
        notices.mark_failed(
            session, notice.id or 0, str(exc), permanent=give_up, retry_at=now + delay
        )
        if give_up:
            report_failure(session, notice, str(exc), now)


def report_failure(session: Session, notice: Notice, error: str, now: datetime) -> int:
    """Tell every admin, on each chat they linked, that a notice was given up; returns how
    many reports were queued. A failed report is only logged (no report about a report)."""
    if notice.kind == FAILURE_KIND:
        log.error(
            "failure report %s to %s:%s failed too: %s",
            notice.id,
            notice.channel,
            notice.target,
            error,
        )
        return 0
    admins = escalation.people_with_role(session, Role.ADMIN)
    lang = {p.id: p.lang or "id" for p in admins}
    queued = 0
    for person in admins:
        for channel, target in escalation.chats_of(session, [person]):
            if (channel, target) == (notice.channel, notice.target):
                continue
            text = t(
                "sla.delivery_failed",
                lang[person.id],
                id=notice.id,
                kind=notice.kind,
                channel=notice.channel,
                target=notice.target,
                attempts=notice.attempts,
                error=error[:300],
            )
            queued += notices.enqueue(
                session,
                channel=channel,
                target=target,
                kind=FAILURE_KIND,
                payload={"text": text, "notice_id": notice.id},
                dedupe_key=f"notice:{notice.id}:failed:{channel}:{target}",
                now=now,
            )
    if not queued:
        log.error(
            "notice %s to %s:%s given up (%s) and no admin chat to report it to",
            notice.id,
            notice.channel,
            notice.target,
            error,
        )
    return queued
