"""Alerts that need a person, posted to operator groups with Ambil / Akui / Selesai.

The text of an alert is rendered from the ticket's records each time it is sent, and
every post is edited in place when the ticket changes, so each group shows who did what
and when. One acknowledgement stops the alert everywhere.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.core import notices, reporter_contact
from bot.core.errors import NotAllowed, NotFound
from bot.core.roles import is_admin, is_operator
from bot.core.ticket_states import (
    DIBATALKAN,
    DIKERJAKAN,
    DITUTUP,
    GANGGUAN,
    OPEN_STATES,
    SELESAI,
)
from bot.i18n import fmt_dt, t
from storage.models import (
    Alert,
    AlertPost,
    Notice,
    OperatorChannel,
    Person,
    Service,
    Ticket,
    TicketEvent,
    utcnow,
)

ALERT_PRIORITIES = (1, 2)
#: alerts that the ticket's own acknowledgement answers (its "ack" event shows who and when).
TICKET_ACK_KINDS = frozenset({"ticket.new", "sla.response_breach"})
#: what an alert's line says for each ticket event ("ack", "assign") or new state.
_MARKS = {"ack": "alert.acked", "assign": "alert.assigned", SELESAI: "alert.resolved",
          DITUTUP: "alert.closed", DIBATALKAN: "alert.cancelled", DIKERJAKAN: "alert.working"}  # fmt: skip


def register_operator_channel(
    session: Session,
    channel: str,
    target: str,
    by: Person | None,
    *,
    name: str | None = None,
    services: list[str] | None = None,
) -> OperatorChannel:
    """Admins register groups from chat; `by=None` is configuration or the CLI."""
    if by is not None and not is_admin(by):
        raise NotAllowed("auth.admin_only")
    row = session.exec(
        select(OperatorChannel).where(
            OperatorChannel.channel == channel, OperatorChannel.target == target
        )
    ).first()
    if row is None:
        row = OperatorChannel(
            channel=channel,
            target=target,
            name=name,
            services=services or [],
            registered_by=by.id if by else None,
        )
        session.add(row)
        session.flush()
    return row


def operator_channels(session: Session, service_id: str | None = None) -> list[OperatorChannel]:
    rows = list(session.exec(select(OperatorChannel).order_by(col(OperatorChannel.id))))
    return [r for r in rows if not r.services or service_id is None or service_id in r.services]


def raise_alert(
    session: Session,
    *,
    key: str,
    kind: str,
    ticket: Ticket | None = None,
    service_id: str | None = None,
    priority: int = 3,
    now: datetime | None = None,
    post_to_operators: bool = True,
) -> Alert | None:
    """Create the alert once (key is unique) and post it to every operator group of the service
    (unless `post_to_operators` is false: the caller posts it to people instead)."""
    if session.exec(select(Alert.id).where(Alert.key == key)).first() is not None:
        return None
    alert = Alert(
        key=key,
        kind=kind,
        ticket_id=ticket.id if ticket else None,
        service_id=service_id or (ticket.service_id if ticket else None),
        priority=priority,
        created_at=now or utcnow(),
    )
    session.add(alert)
    session.flush()
    for dest in operator_channels(session, alert.service_id) if post_to_operators else []:
        post(session, alert, dest.channel, dest.target, now=now)
    return alert


def post(
    session: Session,
    alert: Alert,
    channel: str,
    target: str,
    *,
    now: datetime | None = None,
    rendered: tuple[str, list[dict[str, str]]] | None = None,
) -> None:
    """`rendered`: the alert rendered once by a caller that posts it to many chats."""
    text, choices = rendered or render(session, alert)
    notices.enqueue(
        session,
        channel=channel,
        target=target,
        kind="alert.post",
        payload={"alert_id": alert.id, "text": text, "choices": choices, "seq": alert.repeats},
        dedupe_key=f"alert:{alert.id}:post:{channel}:{target}:{alert.repeats}",
        now=now,
    )


def raise_ticket_alert(
    session: Session, ticket: Ticket, now: datetime | None = None
) -> Alert | None:
    if ticket.priority not in ALERT_PRIORITIES:
        return None
    return raise_alert(
        session,
        key=f"ticket:{ticket.id}:new",
        kind="ticket.new",
        ticket=ticket,
        priority=ticket.priority,
        now=now,
    )


def ticket_changed(session: Session, ticket: Ticket, event: TicketEvent) -> None:
    """Acknowledge the ticket's alerts if this was an acknowledgement; edit every post."""
    alerts = list(session.exec(select(Alert).where(Alert.ticket_id == ticket.id)))
    if not alerts:
        return
    for alert in alerts:
        if event.kind == "ack" and alert.acknowledged_at is None:
            alert.acknowledged_at = event.at
            alert.acknowledged_by = event.actor_id
            alert.next_repeat_at = None
            session.add(alert)
    session.flush()
    for alert in alerts:
        text, choices = render(session, alert)
        for p in session.exec(select(AlertPost).where(AlertPost.alert_id == alert.id)):
            if not p.message_ref or _edit_pending(session, alert.id or 0, p.id or 0):
                continue  # the pending edit is rendered afresh when it is sent
            notices.enqueue(
                session,
                channel=p.channel,
                target=p.target,
                kind="alert.edit",
                payload={
                    "alert_id": alert.id,
                    "message_ref": p.message_ref,
                    "text": text,
                    "choices": choices,
                },
                dedupe_key=f"alert:{alert.id}:edit:{p.id}:{event.id}",
                now=event.at,
            )


def _edit_pending(session: Session, alert_id: int, post_id: int) -> bool:
    return (
        session.exec(
            select(Notice.id)
            .where(col(Notice.dedupe_key).startswith(f"alert:{alert_id}:edit:{post_id}:"))
            .where(col(Notice.status) == "pending")
            .limit(1)
        ).first()
        is not None
    )


def refresh_payload(session: Session, notice: Notice) -> None:
    """Alerts are rendered as they stand at the moment of sending."""
    alert = session.get(Alert, notice.payload.get("alert_id"))
    if alert is not None:
        text, choices = render(session, alert)
        notice.payload = {**notice.payload, "text": text, "choices": choices}


def record_post(
    session: Session,
    alert_id: int,
    channel: str,
    target: str,
    message_ref: str | None,
    sent_text: str,
    seq: int = 0,
) -> None:
    """Called once a post went out; if the alert changed meanwhile, the post is edited.
    `seq` tells repeated posts of one alert in one chat apart: each is edited on ack."""
    row = session.exec(
        select(AlertPost).where(
            AlertPost.alert_id == alert_id,
            AlertPost.channel == channel,
            AlertPost.target == target,
            AlertPost.seq == seq,
        )
    ).first()
    if row is None:
        row = AlertPost(alert_id=alert_id, channel=channel, target=target, seq=seq)
    row.message_ref = message_ref
    session.add(row)
    session.flush()
    alert = session.get(Alert, alert_id)
    if alert is None or message_ref is None:
        return
    text, choices = render(session, alert)
    if text != sent_text:
        notices.enqueue(
            session,
            channel=channel,
            target=target,
            kind="alert.edit",
            payload={
                "alert_id": alert_id,
                "message_ref": message_ref,
                "text": text,
                "choices": choices,
            },
            dedupe_key=f"alert:{alert_id}:edit:{row.id}:late:{utcnow().timestamp()}",
        )


def render(session: Session, alert: Alert, lang: str = "id") -> tuple[str, list[dict[str, str]]]:
    """The alert as it stands now: headline, then who did what and when."""
    ticket = session.get(Ticket, alert.ticket_id) if alert.ticket_id else None
    service = session.get(Service, alert.service_id) if alert.service_id else None
    lines = [
        t(
            f"alert.headline.{alert.kind}",
            lang,
            priority=alert.priority,
            number=ticket.number if ticket else "",
            service=service.name if service else "-",
            title=ticket.title if ticket else "",
        )
    ]
    choices: list[dict[str, str]] = []
    if ticket is not None and (contact := reporter_contact.operator_line(ticket, lang)):
        lines.append(contact)  # alerts go to operator chats only
    if ticket is not None:
        names: dict[int, str] = {}
        events = session.exec(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket.id)
            .where(
                sa.or_(
                    col(TicketEvent.kind).in_(["ack", "assign"]),
                    sa.and_(
                        col(TicketEvent.kind) == "state",
                        col(TicketEvent.new).in_([DIKERJAKAN, SELESAI, DITUTUP, DIBATALKAN]),
                    ),
                )
            )
            .order_by(col(TicketEvent.id))
        )
        for ev in events:
            key = _MARKS.get(ev.kind if ev.kind in ("ack", "assign") else ev.new or "")
            if key is None:
                continue
            if ev.actor_id is None:
                who = t("alert.system", lang) if ev.kind != "assign" else (ev.note or "-")
            else:
                if ev.actor_id not in names:
                    person = session.get(Person, ev.actor_id)
                    names[ev.actor_id] = person.name if person else "?"
                who = names[ev.actor_id]
            if ev.kind == "assign":
                who = ev.note or who
            lines.append(t(key, lang, who=who, at=fmt_dt(ev.at, lang)))
        if ticket.state in OPEN_STATES:
            n = ticket.number
            choices.append({"label": t("button.take", lang), "action": f"t:take:{n}"})
            if ticket.acknowledged_at is None:
                choices.append({"label": t("button.ack", lang), "action": f"t:ack:{n}"})
            choices.append({"label": t("button.resolve", lang), "action": f"t:resolve:{n}"})
            if ticket.type == GANGGUAN:  # the cause may be a problem (bot.core.problems)
                choices.append(
                    {"label": t("problem.button.from_alert", lang), "action": f"pb:new:{n}"}
                )
            if alert.acknowledged_at is None and ticket.acknowledged_at is not None:
                # an SLA alert on a ticket that was answered already: the alert itself is acknowledged
                choices.append({"label": t("button.ack", lang), "action": f"a:ack:{alert.id}"})
    elif alert.acknowledged_at is None:
        choices.append({"label": t("button.ack", lang), "action": f"a:ack:{alert.id}"})
    if alert.acknowledged_at is not None and (
        ticket is None or alert.acknowledged_by is not None and alert.kind not in TICKET_ACK_KINDS
    ):
        person = session.get(Person, alert.acknowledged_by) if alert.acknowledged_by else None
        lines.append(
            t(
                "alert.acked",
                lang,
                who=person.name if person else "?",
                at=fmt_dt(alert.acknowledged_at, lang),
            )
        )
    return "\n".join(lines), choices


def acknowledge(
    session: Session, alert_id: int, person: Person, now: datetime | None = None
) -> Alert:
    """Acknowledge an alert that has no ticket (a service down, for example)."""
    if not is_operator(person):
        raise NotAllowed("auth.operator_only")
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound("alert.not_found", id=alert_id)
    if alert.acknowledged_at is None:
        alert.acknowledged_at = now or utcnow()
        alert.acknowledged_by = person.id
        alert.next_repeat_at = None
        session.add(alert)
        session.flush()
        text, choices = render(session, alert)
        for p in session.exec(select(AlertPost).where(AlertPost.alert_id == alert.id)):
            if p.message_ref:
                notices.enqueue(
                    session,
                    channel=p.channel,
                    target=p.target,
                    kind="alert.edit",
                    payload={
                        "alert_id": alert.id,
                        "message_ref": p.message_ref,
                        "text": text,
                        "choices": choices,
                    },
                    dedupe_key=f"alert:{alert.id}:edit:{p.id}:ack",
                    now=alert.acknowledged_at,
                )
    return alert
