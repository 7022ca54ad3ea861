"""Which tick runs when. Jobs live in memory and are rebuilt at start; whatever must
survive a restart lives in our tables (outbox, tickets, alerts), so replicas can share
them: every tick claims its rows, so two replicas running the same job do no work twice."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.engine import Engine

from bot.core import escalation, sla
from bot.delivery import Deliverer
from bot.runtime import Helpdesk
from storage.db import insert_for, session_scope
from storage.models import JobRun, utcnow

log = logging.getLogger(__name__)
#: seconds between two records of a job's runs with the same outcome
RECORD_EVERY = 15.0


class Jobs:
    def __init__(self, helpdesk: Helpdesk, deliverer: Deliverer) -> None:
        self.helpdesk = helpdesk
        self.deliverer = deliverer
        self.escalation = escalation.EscalationPolicy.from_settings(helpdesk.settings)
        self.scheduler = AsyncIOScheduler(timezone=helpdesk.settings.timezone)
        self._recording: set[asyncio.Future[None]] = set()
        self._recorded: dict[str, tuple[float, bool]] = {}  # job → (monotonic, ok)

    async def sla_scan(self, now: datetime | None = None) -> Counter[str]:
        """SLA escalation steps, then alert repeats; the database work runs off the loop."""
        now = now or utcnow()
        engine = self.helpdesk.engine
        done = await asyncio.to_thread(escalation.sla_tick, engine, now, self.escalation)
        done += await asyncio.to_thread(escalation.alert_tick, engine, now, self.escalation)
        if done:
            log.info("sla scan: %s", dict(done))
        return done

    async def plan_unplanned(self, now: datetime | None = None) -> int:
        """Once at start: due times for open tickets older than the SLA clocks."""
        now = now or utcnow()
        total = 0
        while True:
            planned = await asyncio.to_thread(self._plan_batch, now)
            total += planned
            if planned < 1000:
                return total

    def _plan_batch(self, now: datetime) -> int:
        with session_scope(self.helpdesk.engine) as s:
            return sla.plan_unplanned(s, now, limit=1000)

    def start(self) -> None:
        """Needs a running event loop: call from the web app's lifespan."""
        settings = self.helpdesk.settings
        common = {"max_instances": 1, "coalesce": True}
        self.scheduler.add_job(
            self.deliverer.drain,
            "interval",
            seconds=settings.delivery_interval_seconds,
            id="delivery",
            **common,
        )
        self.scheduler.add_job(
            self.sla_scan,
            "interval",
            seconds=settings.sla_scan_interval_seconds,
            id="sla",
            **common,
        )
        self.scheduler.add_job(self.plan_unplanned, id="sla-plan", misfire_grace_time=None)
        add_monitoring_jobs(self.scheduler, self.helpdesk)
        add_report_jobs(self.scheduler, self.helpdesk)
        add_retention_job(self.scheduler, self.helpdesk)
        add_review_job(self.scheduler, self.helpdesk)
        add_problem_job(self.scheduler, self.helpdesk)
        add_backup_jobs(self.scheduler, self.helpdesk)
        self.scheduler.add_listener(self._ran, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        self.scheduler.start()

    def _ran(self, event: JobExecutionEvent) -> None:
        """Runs are recorded off the event loop, for /metrics and /healthz: a job's run
        at most every RECORD_EVERY seconds while its outcome stays the same (the outbox
        runs every two seconds; its row need not be written as often)."""
        error = repr(event.exception)[:500] if event.exception else None
        clock = time.monotonic()
        last = self._recorded.get(event.job_id)
        if last is not None and last[1] == (error is None) and clock - last[0] < RECORD_EVERY:
            return
        self._recorded[event.job_id] = (clock, error is None)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a listener called off the loop: record in this thread
            record_run(self.helpdesk.engine, event.job_id, utcnow(), error)
            return
        future = loop.run_in_executor(
            None, record_run, self.helpdesk.engine, event.job_id, utcnow(), error
        )
        self._recording.add(future)
        future.add_done_callback(self._recording.discard)

    def shutdown(self) -> None:
        self.scheduler.shutdown(wait=False)


def record_run(engine: Engine, name: str, at: datetime, error: str | None = None) -> None:
    """One row per job, updated in place: a failure to record is logged, never the job's."""
    try:
        with session_scope(engine) as s:
            insert = insert_for(s)
            values = {"name": name[:60], "last_run_at": at, "last_error": error, "runs": 1}
            if error is None:
                values["last_ok_at"] = at
            stmt = insert(JobRun).values(**values)
            update = {"last_run_at": at, "last_error": error, "runs": JobRun.runs + 1}
            if error is None:
                update["last_ok_at"] = at
            s.execute(stmt.on_conflict_do_update(index_elements=["name"], set_=update))
    except Exception:
        log.exception("could not record the run of job %s", name)


def add_monitoring_jobs(scheduler: AsyncIOScheduler, helpdesk: Helpdesk) -> None:
    """Availability probes (only with HELPDESK_PROBES=true) and maintenance announcements:
    the maintenance tick sends each due stage (24 h, 1 h, start, end) once, to operator
    groups, the services' users and their subscribers (bot.core.subscriptions), deduped
    per window, stage and chat however often and on however many replicas it runs."""
    from bot.core import maintenance
    from bot.core.probes import Prober

    settings = helpdesk.settings
    common = {"max_instances": 1, "coalesce": True}

    async def maintenance_job() -> None:
        await asyncio.to_thread(
            maintenance.maintenance_tick, helpdesk.engine, utcnow(), settings.timezone
        )

    scheduler.add_job(
        maintenance_job,
        "interval",
        seconds=settings.maintenance_tick_seconds,
        id="maintenance",
        **common,
    )

    async def change_job() -> None:  # incidents linked to changes, emergency reviews chased
        from bot.core.change_reviews import change_tick

        await asyncio.to_thread(change_tick, helpdesk.engine, utcnow())

    scheduler.add_job(
        change_job, "interval", seconds=settings.change_tick_seconds, id="changes", **common
    )

    async def alertmanager_job() -> None:  # outages whose "resolved" was lost expire
        if settings.alertmanager_expire_repeats:
            await asyncio.to_thread(expire_alertmanager_outages, helpdesk, utcnow())

    scheduler.add_job(
        alertmanager_job,
        "interval",
        seconds=settings.alertmanager_tick_seconds,
        id="alertmanager-expiry",
        **common,
    )
    if settings.probes_enabled:
        prober = Prober.from_settings(helpdesk.engine, settings)
        scheduler.add_job(
            prober.tick, "interval", seconds=settings.probe_tick_seconds, id="probes", **common
        )


def expire_alertmanager_outages(helpdesk: Helpdesk, now: datetime) -> list[str]:
    """Alertmanager repeats a firing alert every repeat interval; an outage silent for
    `alertmanager_expire_repeats` of them has lost its "resolved"."""
    from bot.core import alertmanager

    settings = helpdesk.settings
    after = timedelta(
        seconds=settings.alertmanager_repeat_interval_seconds * settings.alertmanager_expire_repeats
    )
    with session_scope(helpdesk.engine) as s:
        return alertmanager.expire(s, now, after, tz=settings.timezone)


def add_report_jobs(scheduler: AsyncIOScheduler, helpdesk: Helpdesk) -> None:
    """The coordinators' daily summary and the weekly and monthly reports, at cron times."""
    from apscheduler.triggers.cron import CronTrigger

    from bot.channels.registry import push_channels
    from bot.core.business_calendar import Holidays
    from bot.reports import scheduled_posts

    settings = helpdesk.settings
    tz, extra = settings.timezone, settings.summary_targets
    push = push_channels()  # every registered push channel: a later one finds its posts
    closed = Holidays(frozenset(settings.cuti_bersama), settings.cuti_bersama_from_holidays)
    posts = {
        "daily-summary": (
            settings.daily_summary_cron,
            lambda: scheduled_posts.daily_summary(
                helpdesk.engine, utcnow(), tz, extra, closed, push_channels=push
            ),
        ),
        "weekly-report": (
            settings.weekly_report_cron,
            lambda: scheduled_posts.weekly_report(
                helpdesk.engine, utcnow(), tz, extra, push_channels=push
            ),
        ),
        "monthly-report": (
            settings.monthly_report_cron,
            lambda: scheduled_posts.monthly_report(
                helpdesk.engine, utcnow(), tz, extra, push_channels=push
            ),
        ),
    }
    for job_id, (cron, work) in posts.items():

        async def run(work: Callable[[], int] = work) -> None:
            await asyncio.to_thread(work)

        scheduler.add_job(
            run,
            CronTrigger.from_crontab(cron, timezone=tz),
            id=job_id,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=3600,
        )


def add_retention_job(scheduler: AsyncIOScheduler, helpdesk: Helpdesk) -> None:
    """Once a day, old conversations, dedupe keys and notices go (bot.core.retention)."""
    from apscheduler.triggers.cron import CronTrigger

    from bot.channels.registry import pull_channels
    from bot.core import retention

    settings = helpdesk.settings
    policy = retention.Policy.from_settings(settings, pull_channels())

    async def prune() -> None:
        counts = await asyncio.to_thread(retention.prune, helpdesk.engine, utcnow(), policy)
        if counts:
            log.info("retention: %s", dict(counts))

    scheduler.add_job(
        prune,
        CronTrigger.from_crontab(settings.retention_cron, timezone=settings.timezone),
        id="retention",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=3600,
    )


def add_review_job(scheduler: AsyncIOScheduler, helpdesk: Helpdesk) -> None:
    """Review follow-up actions: the owner's reminder before the due date, the
    coordinators' escalation once overdue (bot.core.review_actions.review_tick)."""
    from datetime import timedelta

    from bot.core import review_actions

    settings = helpdesk.settings
    lead = timedelta(days=settings.review_reminder_days)

    async def review_job() -> None:
        done = await asyncio.to_thread(
            review_actions.review_tick, helpdesk.engine, utcnow(), settings.timezone, lead
        )
        if done:
            log.info("review follow-up: %s", dict(done))

    scheduler.add_job(
        review_job,
        "interval",
        seconds=settings.review_tick_seconds,
        id="review-follow-up",
        max_instances=1,
        coalesce=True,
    )


def add_problem_job(scheduler: AsyncIOScheduler, helpdesk: Helpdesk) -> None:
    """Fixed problems past their waiting period are verified (or the service manager hears
    of recurring incidents); new clusters of similar incidents are offered as problems."""
    from bot.core import problem_watch

    settings = helpdesk.settings
    policy = problem_watch.Policy.from_settings(settings)

    async def problem_job() -> None:
        done = await asyncio.to_thread(problem_watch.tick, helpdesk.engine, utcnow(), policy)
        if any(done.values()):
            log.info("problems: %s", done)

    scheduler.add_job(
        problem_job,
        "interval",
        seconds=settings.problem_tick_seconds,
        id="problems",
        max_instances=1,
        coalesce=True,
    )


def add_backup_jobs(scheduler: AsyncIOScheduler, helpdesk: Helpdesk) -> None:
    """The helpdesk's own backup and the restore test of the newest one, at cron times
    (an empty cron turns either off); both record their result, failures alert the admins.
    Every replica (and worker process) fires them; the first to claim the scheduled minute
    does the work."""
    from apscheduler.triggers.cron import CronTrigger

    from bot.core import backups

    settings = helpdesk.settings
    policy = backups.Policy.from_settings(settings)
    url = settings.resolved_database_url

    async def backup_job() -> None:
        now = utcnow()
        slot = backups.slot_of("backup", now)
        run = await asyncio.to_thread(
            backups.run_backup, helpdesk.engine, url, policy, now, slot=slot
        )
        if run is not None:  # None: another replica claimed this run
            log.info("backup: %s", run.path if run.ok else run.error)

    async def restore_job() -> None:
        now = utcnow()
        slot = backups.slot_of("restore-test", now)
        test = await asyncio.to_thread(
            backups.restore_test, helpdesk.engine, url, policy, now, slot=slot
        )
        if test is not None:
            log.info("restore test: %s %s s", test.ok or test.error, test.restore_seconds)

    for job_id, cron, work in (
        ("backup", settings.backup_cron, backup_job),
        ("restore-test", settings.restore_test_cron, restore_job),
    ):
        if cron.strip():
            scheduler.add_job(
                work,
                CronTrigger.from_crontab(cron, timezone=settings.timezone),
                id=job_id,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=3600,
            )
