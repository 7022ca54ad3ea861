"""Which tick runs when. Jobs live in memory and are rebuilt at start; whatever must
survive a restart lives in our tables (outbox, tickets), so replicas can share them."""

from __future__ import annotations

import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.delivery import Deliverer
from bot.runtime import Helpdesk

log = logging.getLogger(__name__)


class Jobs:
    def __init__(self, helpdesk: Helpdesk, deliverer: Deliverer) -> None:
        self.helpdesk = helpdesk
        self.deliverer = deliverer
        self.scheduler = AsyncIOScheduler(timezone=helpdesk.settings.timezone)

    def start(self) -> None:
        """Needs a running event loop: call from the web app's lifespan."""
        self.scheduler.add_job(
            self.deliverer.tick,
            "interval",
            seconds=self.helpdesk.settings.delivery_interval_seconds,
            id="delivery",
            max_instances=1,
            coalesce=True,
        )
        self.scheduler.start()

    def shutdown(self) -> None:
        self.scheduler.shutdown(wait=False)
