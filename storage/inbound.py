"""Platform deliveries already seen: the dedupe keys of Telegram update ids, Slack event
ids and the like. Platforms redeliver (a slow webhook, a retry after a timeout); a key
recorded in the same transaction as the turn it caused means a redelivery changes
nothing, and a turn that failed (rolled back, key with it) is served again."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from storage.db import insert_for, session_scope
from storage.models import InboundEvent, utcnow

#: dedupe keys are cut to the column's length
KEY_LENGTH = 200


def first_delivery(db: Engine | Session, channel: str, key: str) -> bool:
    """Record a platform delivery (Telegram update id, Slack event id); False when it was
    recorded before, by this replica or another. Given a session, the record is part of
    that transaction (rolled back with it); given an engine, it is its own."""
    if isinstance(db, Engine):
        with session_scope(db) as session:
            return first_delivery(session, channel, key)
    inserted = db.execute(
        insert_for(db)(InboundEvent)
        .values(channel=channel, key=key[:KEY_LENGTH], received_at=utcnow())
        .on_conflict_do_nothing()
        .returning(col(InboundEvent.id))  # rowcount is -1 here through the ORM on psycopg
    ).first()
    return inserted is not None
