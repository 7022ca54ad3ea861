"""Service subscriptions (langganan): any chat may ask to hear of a service's outages,
maintenance and releases (guideline ch. 7.1.6 c–d, ch. 7.3 item 1: one-way information).

A subscription is a chat (channel + chat id), not a person: the notices go where the
user asked for them, a Telegram group or a web chat session alike. `announce` is what
the rest of the core calls (outages, maintenance, and releases through the integrator):
it writes one outbox notice per active subscription, in the subscriber's language, with
a "Berhenti" button, so unsubscribing is always one press away. The notice's dedupe key
is the event's key plus the chat, the same key the maintenance and outage code use for
their own recipients, so a chat that is both a reporter and a subscriber, or subscribed
to two services one event touches, hears of it once; and a tick that runs twice (or on
two replicas) writes nothing new.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.core import catalog, notices, web_sessions
from bot.core.errors import NotFound
from bot.i18n import fmt_dt, t
from storage.db import insert_for
from storage.models import (
    Conversation,
    Person,
    Service,
    Subscription,
    SubscriptionEvent,
    WebSession,
)

TOPICS = frozenset({"outage", "maintenance", "release"})
#: chat actions the notices and service answers carry: "sub:<service id>", "unsub:<id>"
SUBSCRIBE_ACTION = "sub"
STOP_ACTION = "unsub"
#: where a start or stop came from, for the audit trail; "session_ended": the web chat
#: session it lived in ended or expired, so nobody could ever read its notices
VIA = frozenset({"command", "button", "status_page", "session_ended"})
#: a clear winner among fuzzy matches scores at least this much more than the next
CLEAR_LEAD = 50
_KEY_LIMIT = 200


@dataclass(frozen=True)
class Chat:
    """Where a subscription lives and who asked: the chat, and its person when known."""

    channel: str
    chat_id: str
    person: Person | None = None
    lang: str | None = None


def candidates(session: Session, text: str, limit: int = 5) -> list[Service]:
    """The services `text` may mean: its id or exact name, else a clear fuzzy winner,
    else every close match (the caller lets the user pick); empty when nothing is close."""
    text = text.strip()
    if not text:
        return []
    exact = session.get(Service, text.lower())
    if exact is not None and exact.active:
        return [exact]
    wanted = text.casefold()
    services = catalog.list_services(session)
    named = [s for s in services if s.name.casefold() == wanted]
    if named:
        return named[:1]
    ranked = catalog.search_services(session, text, limit=limit)
    if len(ranked) == 1 or (ranked and ranked[0][1] - ranked[1][1] >= CLEAR_LEAD):
        return [ranked[0][0]]
    return [s for s, _ in ranked]


def active_service(session: Session, service_id: str) -> Service:
    service = session.get(Service, service_id)
    if service is None or not service.active:
        raise NotFound("subscription.unknown_service", service=service_id[:60])
    return service


def subscription_of(session: Session, service_id: str, chat: Chat) -> Subscription | None:
    """The chat's active subscription to the service, if any."""
    return session.exec(
        select(Subscription).where(
            Subscription.service_id == service_id,
            Subscription.channel == chat.channel,
            Subscription.chat_id == chat.chat_id,
            col(Subscription.ended_at).is_(None),
        )
    ).first()


def subscribe(
    session: Session, service_id: str, chat: Chat, *, via: str, now: datetime
) -> tuple[Subscription, bool]:
    """The chat's subscription to the service; True if it starts now (False: it already
    ran). Two presses at once make one row (the unique key), and one start event."""
    active_service(session, service_id)
    insert = insert_for(session)
    session.execute(
        insert(Subscription)
        .values(
            service_id=service_id,
            channel=chat.channel,
            chat_id=chat.chat_id,
            person_id=chat.person.id if chat.person else None,
            lang=chat.lang,
            created_at=now,
            ended_at=now,  # started below, with its event, by whoever gets the row lock
        )
        .on_conflict_do_nothing(index_elements=["service_id", "channel", "chat_id"])
    )
    # a conditional UPDATE, so of two concurrent starts exactly one sees a row change
    started = session.execute(
        sa.update(Subscription)
        .where(
            col(Subscription.service_id) == service_id,
            col(Subscription.channel) == chat.channel,
            col(Subscription.chat_id) == chat.chat_id,
            col(Subscription.ended_at).is_not(None),
        )
        .values(
            ended_at=None,
            created_at=now,
            lang=chat.lang,
            person_id=chat.person.id if chat.person else None,
        )
        .returning(col(Subscription.id)),
        execution_options={"synchronize_session": False},
    ).scalar_one_or_none()
    sub = session.exec(
        select(Subscription)
        .where(
            Subscription.service_id == service_id,
            Subscription.channel == chat.channel,
            Subscription.chat_id == chat.chat_id,
        )
        .execution_options(populate_existing=True)
    ).one()
    if started is not None:
        _record(session, sub, "subscribed", via, chat.person, now)
    return sub, started is not None


def unsubscribe(
    session: Session, sub: Subscription, *, by: Person | None, via: str, now: datetime
) -> bool:
    """Stop it; False if it had already stopped (a second press changes nothing)."""
    if sub.ended_at is not None:
        return False
    sub.ended_at = now
    session.add(sub)
    _record(session, sub, "unsubscribed", via, by, now)
    return True


def owned(session: Session, subscription_id: int, chat: Chat) -> Subscription:
    """The subscription behind a "Berhenti" button, if it is this chat's: a button value
    naming another chat's subscription is refused like an unknown one."""
    sub = session.get(Subscription, subscription_id)
    if sub is None or (sub.channel, sub.chat_id) != (chat.channel, chat.chat_id):
        raise NotFound("subscription.not_found")
    return sub


def of_chat(session: Session, chat: Chat) -> list[tuple[Subscription, Service]]:
    """The chat's active subscriptions, by service name."""
    rows = session.exec(
        select(Subscription, Service)
        .join(Service, col(Service.id) == col(Subscription.service_id))
        .where(
            Subscription.channel == chat.channel,
            Subscription.chat_id == chat.chat_id,
            col(Subscription.ended_at).is_(None),
        )
        .order_by(col(Service.name))
    ).all()
    return [(sub, svc) for sub, svc in rows]


def _record(
    session: Session, sub: Subscription, kind: str, via: str, by: Person | None, now: datetime
) -> None:
    if via not in VIA:
        raise ValueError(f"unknown origin {via!r}")
    session.add(
        SubscriptionEvent(
            subscription_id=sub.id or 0, at=now, kind=kind, via=via, person_id=by.id if by else None
        )
    )
    session.flush()


def notice_key(event_key: str, channel: str, chat_id: str) -> str:
    """One notice per event and chat; a key too long for the column is hashed whole, not
    cut, so two long keys cannot meet."""
    key = f"{event_key}:{channel}:{chat_id}"
    if len(key) <= _KEY_LIMIT:
        return key
    return f"{event_key[:100]}:#{hashlib.sha256(key.encode()).hexdigest()}"


def stop_choice(sub: Subscription, lang: str) -> dict[str, str]:
    return {"label": t("subscription.stop_button", lang), "action": f"{STOP_ACTION}:{sub.id}"}


def _localise(params: Mapping[str, Any], lang: str, tz: str) -> dict[str, Any]:
    """Times are shown in the reader's language and the agency's zone; a callable is
    asked for the reader's language (a duration, a state name)."""
    out: dict[str, Any] = {}
    for name, value in params.items():
        if isinstance(value, datetime):
            out[name] = fmt_dt(value, lang, tz)
        elif callable(value):
            out[name] = value(lang)
        else:
            out[name] = value
    return out


def _languages(session: Session, subs: list[Subscription]) -> dict[int, str]:
    """Each subscriber's language: its person's, else its chat's, else the one it had
    when it subscribed, else Indonesian."""
    person_ids = {s.person_id for s in subs if s.person_id is not None}
    people = (
        {p.id: p.lang for p in session.exec(select(Person).where(col(Person.id).in_(person_ids)))}
        if person_ids
        else {}
    )
    chats = {s.chat_id for s in subs}
    convs = {
        (c.channel, c.chat_id): c.lang
        for c in session.exec(select(Conversation).where(col(Conversation.chat_id).in_(chats)))
    }
    return {
        s.id or 0: (
            (people.get(s.person_id) if s.person_id is not None else None)
            or convs.get((s.channel, s.chat_id))
            or s.lang
            or "id"
        )
        for s in subs
    }


def _dead_web_chats(session: Session, subs: list[Subscription], now: datetime) -> set[int]:
    """Subscriptions of web chat sessions that ended or expired: such a session never
    comes back (its cookie opens nothing), so its notices would wait for nobody."""
    web = {s.chat_id: s.id or 0 for s in subs if s.channel == web_sessions.CHANNEL}
    if not web:
        return set()
    rows = session.exec(select(WebSession).where(col(WebSession.id_hash).in_(list(web))))
    return {web[row.id_hash] for row in rows if row.ended_at is not None or row.expires_at <= now}


def announce(
    session: Session,
    *,
    service_id: str,
    topic: str,
    dedupe_key: str,
    text_key: str,
    params: Mapping[str, Any],
    now: datetime,
    tz: str = "Asia/Jakarta",
) -> int:
    """Tell every active subscriber of the service, each in their language, with a button
    to stop; returns how many notices were written (a repeated call writes none).
    `params` are the text's placeholders: datetimes and callables are localised per
    reader (see `_localise`). `dedupe_key` names the event, e.g. for a release::

        announce(session, service_id="vpn", topic="release", dedupe_key=f"release:{r.id}",
                 text_key="release.announce", params={"title": r.title, "at": r.at}, now=now)

    Call it in the transaction of the change it tells of, like every outbox notice."""
    if topic not in TOPICS:
        raise ValueError(f"unknown topic {topic!r}")
    service = session.get(Service, service_id)
    if service is None:
        return 0
    subs = list(
        session.exec(
            select(Subscription)
            .where(Subscription.service_id == service_id, col(Subscription.ended_at).is_(None))
            .order_by(col(Subscription.id))
        )
    )
    dead = _dead_web_chats(session, subs, now)
    for sub in [s for s in subs if s.id in dead]:
        unsubscribe(session, sub, by=None, via="session_ended", now=now)
    subs = [s for s in subs if s.id not in dead]
    if not subs:
        return 0
    langs = _languages(session, subs)
    written = 0
    for sub in subs:
        lang = langs[sub.id or 0]
        text = "\n\n".join(
            [
                t(text_key, lang, **_localise(params, lang, tz)),
                t("subscription.notice.footer", lang, service=service.name, id=service.id),
            ]
        )
        written += notices.enqueue(
            session,
            channel=sub.channel,
            target=sub.chat_id,
            kind=f"subscription.{topic}",
            payload={
                "text": text,
                "choices": [stop_choice(sub, lang)],
                "service": service_id,
                "subscription": sub.id,
            },
            dedupe_key=notice_key(dedupe_key, sub.channel, sub.chat_id),
            now=now,
        )
    return written


def confirm_by_notice(session: Session, sub: Subscription, lang: str, now: datetime) -> bool:
    """Where the subscription was made away from the chat (the status page's button),
    the chat hears of it when it next polls: one notice per start, so a form sent twice
    says it once."""
    service = session.get(Service, sub.service_id)
    name = service.name if service else sub.service_id
    return notices.enqueue(
        session,
        channel=sub.channel,
        target=sub.chat_id,
        kind="subscription.started",
        payload={
            "text": t("subscription.done", lang, service=name, id=sub.service_id),
            "choices": [stop_choice(sub, lang)],
            "subscription": sub.id,
        },
        dedupe_key=f"subscription:{sub.id}:started:{sub.created_at.timestamp():.6f}",
        now=now,
    )
