"""Builds the running product from Settings: database (migrated), samples, knowledge
base and the conversation engine. The web app, the CLI, tests and benchmarks all start
here, so they run the same thing."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot import log_redaction
from bot.config import Settings
from bot.core import catalog, change_policy, people, sla
from bot.core.knowledge_base import KnowledgeBase
from bot.core.limits import Limits
from bot.dialogue.engine import Conversations
from storage import migrate
from storage.db import make_engine, session_scope
from storage.models import Person

log = logging.getLogger(__name__)


@dataclass
class Helpdesk:
    settings: Settings
    engine: Engine
    kb: KnowledgeBase
    conversations: Conversations


def build(
    settings: Settings,
    *,
    upgrade: bool = True,
    engine: Engine | None = None,
    anonymous_channels: Iterable[str] = (),
) -> Helpdesk:
    """`anonymous_channels`: the channels anyone may chat on without an account
    (`bot.channels.registry.anonymous_channels()`, which this module cannot import: the
    channels import it). Whoever serves chats passes them (bot.cli._boot does)."""
    log_redaction.install(settings)  # before anything of ours can log a secret
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = engine or make_engine(settings.resolved_database_url)
    sla.install(engine, sla.Policy.from_settings(settings))
    change_policy.install(engine, change_policy.Policy.from_settings(settings))
    if upgrade:
        migrate.upgrade(engine)
        if settings.load_samples:
            load_samples(settings, engine)
    kb = KnowledgeBase(
        settings.knowledge_dir,
        engine,
        answer_threshold=settings.faq_answer_threshold,
        suggest_threshold=settings.faq_suggest_threshold,
        catalog_file=settings.catalog_file,
    )
    conversations = Conversations(
        engine,
        kb,
        timezone=settings.timezone,
        max_text=settings.max_text_length,
        link_code_ttl=timedelta(minutes=settings.link_code_ttl_minutes),
        limits=Limits.from_settings(settings),
        anonymous_channels=anonymous_channels,
    )
    return Helpdesk(settings, engine, kb, conversations)


def load_samples(settings: Settings, engine: Engine) -> bool:
    """On first start (no people yet) load the bundled people and service catalog."""
    with Session(engine) as s:
        if s.exec(select(Person.id).limit(1)).first() is not None:
            return False
    with session_scope(engine) as s:
        created, _ = people.import_people(s, settings.people_file)
        services, _ = catalog.import_catalog(s, settings.catalog_file)
    log.info("loaded samples: %d people, %d services", created, services)
    return True
