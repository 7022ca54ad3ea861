"""The tables. Every schema change here needs a migration in storage/migrations/versions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Person(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=320, unique=True)
    unit: str | None = Field(default=None, max_length=200)
    roles: list[str] = Field(default_factory=lambda: ["pengguna"], sa_type=JSONType)
    skills: list[str] = Field(default_factory=list, sa_type=JSONType)
    lang: str | None = Field(default=None, max_length=8)
    created_at: datetime = Field(default_factory=utcnow)
    #: digits only, with the country code (6281234567890): how a WhatsApp sender, known
    #: by that number, is linked to the person without a code
    phone: str | None = Field(default=None, max_length=32, index=True)


class Identity(SQLModel, table=True):
    """A chat account (web session, Telegram user, Slack user) that speaks for a person."""

    __table_args__ = (
        sa.UniqueConstraint("channel", "external_id", name="uq_identity_channel_external"),
    )
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    channel: str = Field(max_length=20)
    external_id: str = Field(max_length=200)
    display_name: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow)


class UnlinkedAccount(SQLModel, table=True):
    """A chat account that an admin or its own user unlinked (/lepaskan, `helpdesk people
    unlink`, /keluar). Its platform profile's e-mail no longer links it (Slack would
    re-link it on the next event otherwise); only a one-time code does, which clears the
    row."""

    channel: str = Field(primary_key=True, max_length=20)
    external_id: str = Field(primary_key=True, max_length=200)
    person_id: int | None = Field(default=None, foreign_key="person.id")
    unlinked_at: datetime = Field(default_factory=utcnow)


class LinkCode(SQLModel, table=True):
    """One-time code that links a chat identity to a known person."""

    code: str = Field(primary_key=True, max_length=32)
    person_id: int = Field(foreign_key="person.id")
    expires_at: datetime
    used_at: datetime | None = None


class Service(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    description: str = ""
    category: str = Field(default="administrasi pemerintahan", max_length=64)
    provider_unit: str = Field(default="", max_length=200)
    service_manager_id: int | None = Field(default=None, foreign_key="person.id")
    access: str = Field(default="", max_length=500)
    availability_target: float = 99.0
    criticality: str = Field(default="sedang", max_length=16)
    business_hours: str = Field(default="senin-jumat 07:30-16:00", max_length=100)
    keywords: list[str] = Field(default_factory=list, sa_type=JSONType)
    sla: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    #: availability probe (bot.core.probes): {type, target, interval, expect_status, keyword, latency_ms}.
    probe: dict[str, Any] | None = Field(default=None, sa_type=JSONType)
    active: bool = True
    #: continuity (guideline ch. 7.1.4): the longest outage and the most data loss the
    #: agency accepts, in minutes; None while the catalog sets none
    rto_minutes: int | None = None
    rpo_minutes: int | None = None
    backup_frequency: str = Field(default="", max_length=32)
    dr_site: str = Field(default="", max_length=200)
    #: the koordinator pemulihan who owns this service's recovery
    recovery_owner_id: int | None = Field(default=None, foreign_key="person.id")
    last_dr_test: date | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class ServiceTechnician(SQLModel, table=True):
    """Technical managers (pengelola teknis) of a service."""

    service_id: str = Field(foreign_key="service.id", primary_key=True, max_length=64)
    person_id: int = Field(foreign_key="person.id", primary_key=True)


class TicketCounter(SQLModel, table=True):
    """Next number per prefix and year (INC-2026, REQ-2026, KEL-2026)."""

    key: str = Field(primary_key=True, max_length=16)
    value: int = 0


class Ticket(SQLModel, table=True):
    __table_args__ = (
        sa.Index("ix_ticket_assignee_state", "assignee_id", "state"),
        sa.Index("ix_ticket_reporter", "reporter_id", "created_at"),
        sa.Index("ix_ticket_state_service", "state", "service_id"),
        sa.Index("ix_ticket_sla_next", "sla_next_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=24, unique=True)
    type: str = Field(max_length=24)  # gangguan | permintaan | keluhan
    service_id: str | None = Field(default=None, foreign_key="service.id", max_length=64)
    title: str = Field(max_length=200)
    description: str = ""
    category: str | None = Field(default=None, max_length=100)
    state: str = Field(default="baru", max_length=24)
    impact: int = 3
    urgency: int = 3
    priority: int = 4
    reporter_id: int | None = Field(default=None, foreign_key="person.id")
    reporter_channel: str | None = Field(default=None, max_length=20)
    reporter_chat_id: str | None = Field(default=None, max_length=200)
    assignee_id: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    response_due_at: datetime | None = None
    resolution_due_at: datetime | None = None
    #: SLA clocks (bot.core.sla): the 75 % points, the running pause, business seconds
    #: paused so far, which escalations were sent (bit mask) and when the scan must look next.
    response_risk_at: datetime | None = None
    resolution_risk_at: datetime | None = None
    sla_paused_at: datetime | None = None
    sla_paused_seconds: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    sla_notified: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    sla_next_at: datetime | None = None
    resolution: str | None = None
    root_cause: str | None = None
    external_ref: str | None = Field(default=None, max_length=64, index=True)
    #: the priority an unverified reporter's answers gave (P1/P2), held back until an
    #: operator confirms it (bot.core.tickets.confirm_priority); None: nothing to triage.
    triage_priority: int | None = None
    #: who reported it and how to reach them, as an unlinked web chat visitor gave them
    #: (bot.core.reporter_contact): a name, and an e-mail address or a phone number in
    #: E.164. Shown to operators only; None where the platform identity is the contact.
    reporter_name: str | None = Field(default=None, max_length=200)
    reporter_contact: str | None = Field(default=None, max_length=320)


class TicketEvent(SQLModel, table=True):
    """Audit trail: every change of a ticket, who, when, through which channel, old → new."""

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    at: datetime = Field(default_factory=utcnow)
    actor_id: int | None = Field(default=None, foreign_key="person.id")
    channel: str | None = Field(default=None, max_length=20)
    kind: str = Field(max_length=24)  # created | state | assign | comment | priority | resolution
    old: str | None = Field(default=None, max_length=200)
    new: str | None = Field(default=None, max_length=200)
    note: str | None = None


class SatisfactionSurvey(SQLModel, table=True):
    """The satisfaction question sent to a ticket's reporter when it was first resolved
    (bot.core.satisfaction): one per ticket, so a reopen and a second resolution do not ask
    again, and one rating per survey, so a second press does not count twice. Who rated
    and when is kept here and in the ticket's trail (`TicketEvent` "rating")."""

    __table_args__ = (sa.Index("ix_survey_asked", "asked_at", "service_id"),)
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", unique=True)
    #: the ticket's service when asked: the report groups by it without a join
    service_id: str | None = Field(default=None, foreign_key="service.id", max_length=64)
    reporter_id: int | None = Field(default=None, foreign_key="person.id")
    #: where the question went: the chat the ticket was reported from
    channel: str = Field(max_length=20)
    chat_id: str = Field(max_length=200)
    asked_at: datetime = Field(default_factory=utcnow)
    #: 1 (very dissatisfied) to 5 (very satisfied); None until rated
    score: int | None = None
    rated_at: datetime | None = None
    rated_by: int | None = Field(default=None, foreign_key="person.id")
    comment: str | None = None
    commented_at: datetime | None = None


class Notice(SQLModel, table=True):
    """Outbox: written in the same transaction as the change that causes it."""

    __table_args__ = (sa.Index("ix_notice_due", "status", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=200, unique=True)
    channel: str = Field(max_length=20)
    target: str = Field(max_length=200)
    kind: str = Field(max_length=40)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    status: str = Field(default="pending", max_length=16)  # pending | sending | sent | failed
    attempts: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    next_attempt_at: datetime = Field(default_factory=utcnow)
    locked_until: datetime | None = None
    sent_at: datetime | None = None
    last_error: str | None = None
    #: the platform's id of the message sent (a WhatsApp wamid), which its delivery
    #: receipts name; and the last receipt: sent, delivered, read or failed
    platform_ref: str | None = Field(default=None, max_length=200, index=True)
    receipt: str | None = Field(default=None, max_length=16)
    receipt_at: datetime | None = None


class ChatContact(SQLModel, table=True):
    """When a chat last wrote to us: platforms that only let a business answer freely
    for a while after that (WhatsApp's 24-hour customer-service window) are asked
    before a notice goes out."""

    channel: str = Field(primary_key=True, max_length=20)
    chat_id: str = Field(primary_key=True, max_length=200)
    last_inbound_at: datetime


class Conversation(SQLModel, table=True):
    """Where a chat stands, so a restart or another replica continues it."""

    __table_args__ = (sa.UniqueConstraint("channel", "chat_id", name="uq_conversation_chat"),)
    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=20)
    chat_id: str = Field(max_length=200)
    state: str = Field(default="idle", max_length=40)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    lang: str | None = Field(default=None, max_length=8)
    updated_at: datetime = Field(default_factory=utcnow)


class InboundEvent(SQLModel, table=True):
    """Dedupe keys of delivered platform updates (Telegram update_id, Slack event_id)."""

    __table_args__ = (sa.UniqueConstraint("channel", "key", name="uq_inbound_channel_key"),)
    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=20)
    key: str = Field(max_length=200)
    received_at: datetime = Field(default_factory=utcnow, index=True)
    #: what the delivery's turn answered, written in the turn's own transaction, until
    #: every reply is sent (then NULL): a re-run of the delivery after a crash between
    #: the commit and the send sends what is still owed instead of running the turn again
    replies: list[dict[str, Any]] | None = Field(default=None, sa_type=JSONType)
    #: how many of `replies` went out (each marked after the platform accepted it)
    replies_sent: int = 0


class InboxEvent(SQLModel, table=True):
    """An inbound platform event (Telegram update, Slack event or interaction,
    Alertmanager post), written when it arrives and acknowledged at once; workers
    process it afterwards (bot.intake). `lane` orders events: the next one of a lane
    (a chat) waits until the earlier ones are done or set aside."""

    __table_args__ = (
        sa.UniqueConstraint("source", "key", name="uq_inbox_source_key"),
        sa.Index("ix_inbox_lane_state_id", "lane", "state", "id"),
        sa.Index("ix_inbox_state_due", "state", "next_attempt_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=20)
    key: str = Field(max_length=200)
    lane: str = Field(max_length=200)
    #: what the handler of the source needs (the update's JSON, Slack's body and kind)
    payload: str = Field(sa_type=sa.Text)
    #: pending → processing → done; dead when it failed too often (kept for an admin)
    state: str = Field(default="pending", max_length=12)
    attempts: int = 0
    received_at: datetime = Field(default_factory=utcnow, index=True)
    next_attempt_at: datetime = Field(default_factory=utcnow)
    locked_until: datetime | None = None
    worker: str | None = Field(default=None, max_length=80)
    done_at: datetime | None = None
    last_error: str | None = Field(default=None, sa_type=sa.Text)


class KbCandidate(SQLModel, table=True):
    """A phrasing users matched to an article, waiting for a service manager's approval."""

    __table_args__ = (sa.UniqueConstraint("article_id", "phrasing", name="uq_candidate_phrasing"),)
    id: int | None = Field(default=None, primary_key=True)
    article_id: str = Field(max_length=120, index=True)
    phrasing: str = Field(max_length=500)
    status: str = Field(default="pending", max_length=16)  # pending | approved | rejected
    seen: int = 1
    created_at: datetime = Field(default_factory=utcnow)
    decided_at: datetime | None = None
    decided_by: int | None = Field(default=None, foreign_key="person.id")
    #: set for a candidate *article* (a problem's workaround, bot.core.problems): the answer
    #: of a new article whose question is `phrasing`; None for a phrasing of `article_id`.
    answer: str | None = None


class KbFeedback(SQLModel, table=True):
    """ "Apakah ini membantu?" answers, counted per article to find articles that fail."""

    id: int | None = Field(default=None, primary_key=True)
    article_id: str = Field(max_length=120, index=True)
    helpful: bool
    query: str = Field(default="", max_length=500)
    at: datetime = Field(default_factory=utcnow)


class OperatorChannel(SQLModel, table=True):
    """A group or channel where operators receive alerts (Telegram group, Slack channel)."""

    __table_args__ = (sa.UniqueConstraint("channel", "target", name="uq_operator_channel"),)
    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=20)
    target: str = Field(max_length=200)
    #: service ids this group cares about; empty means all services.
    services: list[str] = Field(default_factory=list, sa_type=JSONType)
    name: str | None = Field(default=None, max_length=200)
    registered_by: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow)


class Alert(SQLModel, table=True):
    """Something that needs a person: a new P1/P2 ticket, an SLA breach, a service down.
    One acknowledgement stops its repeats everywhere it was posted."""

    __table_args__ = (sa.Index("ix_alert_open", "acknowledged_at", "next_repeat_at"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    kind: str = Field(
        max_length=40
    )  # ticket.new | sla.response_breach | sla.resolution_breach | service.down
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    service_id: str | None = Field(default=None, foreign_key="service.id", max_length=64)
    priority: int = 3
    created_at: datetime = Field(default_factory=utcnow)
    acknowledged_at: datetime | None = None
    acknowledged_by: int | None = Field(default=None, foreign_key="person.id")
    level: int = 0
    repeats: int = 0
    next_repeat_at: datetime | None = None


class AlertPost(SQLModel, table=True):
    """Where an alert was posted, so every post can be edited in place when it changes."""

    __table_args__ = (
        sa.UniqueConstraint("alert_id", "channel", "target", "seq", name="uq_alert_post_seq"),
    )
    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alert.id", index=True)
    channel: str = Field(max_length=20)
    target: str = Field(max_length=200)
    #: 0 for the first post, then one per repeat: every repeated message is edited on ack too.
    seq: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    message_ref: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow)


# -- availability monitoring, outages and maintenance (bot.core.probes / outages / maintenance) --


class ServiceState(SQLModel, table=True):
    """Where each monitored service stands now; the probe loop's memory, shared by replicas."""

    __table_args__ = (sa.Index("ix_servicestate_due", "next_check_at"),)
    service_id: str = Field(foreign_key="service.id", primary_key=True, max_length=64)
    state: str = Field(default="unknown", max_length=16)  # unknown | up | degraded | down
    since: datetime = Field(default_factory=utcnow)
    #: the reading that differs from `state`, and how many times in a row it was seen.
    candidate: str | None = Field(default=None, max_length=16)
    streak: int = 0
    monitored_since: datetime = Field(default_factory=utcnow)
    last_checked_at: datetime | None = None
    last_latency_ms: float | None = None
    last_error: str | None = Field(default=None, max_length=500)
    next_check_at: datetime | None = None
    cert_expires_at: datetime | None = None
    outage_id: int | None = Field(default=None, foreign_key="outage.id")


class StateChange(SQLModel, table=True):
    """Every change of a service's state, with when and why."""

    __table_args__ = (sa.Index("ix_statechange_service_at", "service_id", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    service_id: str = Field(foreign_key="service.id", max_length=64)
    at: datetime = Field(default_factory=utcnow)
    old: str = Field(max_length=16)
    new: str = Field(max_length=16)
    source: str = Field(default="probe", max_length=20)  # probe | alertmanager | maintenance
    reason: str | None = Field(default=None, max_length=500)


class Outage(SQLModel, table=True):
    """A period a service was down. Planned ones (inside a maintenance window) open no incident."""

    __table_args__ = (
        sa.Index("ix_outage_service_started", "service_id", "started_at"),
        sa.Index("ix_outage_open", "ended_at", "service_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    service_id: str = Field(foreign_key="service.id", max_length=64)
    started_at: datetime
    ended_at: datetime | None = None
    duration_s: int | None = None
    planned: bool = False
    source: str = Field(default="probe", max_length=20)  # probe | alertmanager
    cause: str | None = Field(default=None, max_length=500)
    #: fingerprints of the Alertmanager alerts still firing for it.
    external_keys: list[str] = Field(default_factory=list, sa_type=JSONType)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    alert_id: int | None = Field(default=None, foreign_key="alert.id")
    #: down, or degraded (an Alertmanager warning): only down time counts against availability
    state: str = Field(default="down", max_length=16, sa_column_kwargs={"server_default": "down"})
    #: shown on the public status page (Alertmanager severities say which are)
    public: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    #: when Alertmanager last sent it again; an outage not repeated for long expires
    last_seen_at: datetime | None = None


class JobRun(SQLModel, table=True):
    """When each scheduled job last ran (any replica): /metrics and /healthz read it, so
    every web process reports the same scheduler, wherever the jobs run."""

    name: str = Field(primary_key=True, max_length=60)
    last_run_at: datetime
    last_ok_at: datetime | None = None
    last_error: str | None = Field(default=None, max_length=500)
    #: runs recorded (bot.jobs records a job at most every 15 s while its outcome holds)
    runs: int = 0


class OutageReporter(SQLModel, table=True):
    """A user who reported a service while it was known to be down: told when it is back."""

    __table_args__ = (
        sa.UniqueConstraint("outage_id", "channel", "chat_id", name="uq_outage_reporter"),
    )
    id: int | None = Field(default=None, primary_key=True)
    outage_id: int = Field(foreign_key="outage.id", index=True)
    person_id: int | None = Field(default=None, foreign_key="person.id")
    channel: str = Field(max_length=20)
    chat_id: str = Field(max_length=200)
    at: datetime = Field(default_factory=utcnow)


class ServiceDay(SQLModel, table=True):
    """Daily rollup per service (agency-local days): what availability figures sum up."""

    service_id: str = Field(foreign_key="service.id", primary_key=True, max_length=64)
    day: date = Field(primary_key=True)
    down_s: int = 0
    planned_down_s: int = 0
    maintenance_s: int = 0
    checks: int = 0
    failures: int = 0
    latency_ms_sum: float = 0.0


class MaintenanceWindow(SQLModel, table=True):
    """A scheduled maintenance (pemeliharaan) with the impact users should expect."""

    __table_args__ = (sa.Index("ix_maintenance_time", "starts_at", "ends_at"),)
    id: int | None = Field(default=None, primary_key=True)
    starts_at: datetime
    ends_at: datetime
    impact: str = Field(default="", max_length=500)
    created_by: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow)
    cancelled_at: datetime | None = None
    #: last announcement sent: "" | 24h | 1h | start | end
    announced: str = Field(default="", max_length=8)
    rolled_up: bool = False


class MaintenanceService(SQLModel, table=True):
    """The services a maintenance window affects."""

    window_id: int = Field(foreign_key="maintenancewindow.id", primary_key=True)
    service_id: str = Field(foreign_key="service.id", primary_key=True, max_length=64, index=True)


class RateCounter(SQLModel, table=True):
    """Hits per key ("turn:chat:web:…", "ticket:addr:…") in one fixed window starting at
    `window_start`: shared by every replica, so a limit holds however requests are spread."""

    key: str = Field(primary_key=True, max_length=240)
    window_start: datetime = Field(primary_key=True)
    count: int = 0


class WebSession(SQLModel, table=True):
    """A web chat session the server issued. Only a hash of the cookie is stored (it is
    also the chat's id everywhere else), so the table cannot be replayed as cookies."""

    __table_args__ = (sa.Index("ix_websession_person", "person_id"),)
    id_hash: str = Field(primary_key=True, max_length=64)
    address: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    ended_at: datetime | None = None
    person_id: int | None = Field(default=None, foreign_key="person.id")


class WebChatLine(SQLModel, table=True):
    """One line the web chat page showed (the visitor's message or a reply, with its
    buttons), so a reload draws the conversation again instead of starting anew. Kept
    per chat id (the session's hash); a rotated session takes its lines along."""

    __table_args__ = (sa.Index("ix_webchatline_chat", "chat_id", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    chat_id: str = Field(max_length=200)
    at: datetime = Field(default_factory=utcnow)
    who: str = Field(max_length=8)  # "user" or "bot"
    kind: str = Field(default="answer", max_length=20)
    text: str
    html: str | None = None
    choices: list[list[str]] = Field(default_factory=list, sa_type=JSONType)
    #: a document's file name (its bytes are not kept: the reply is shown without them)
    document: str | None = Field(default=None, max_length=200)
    #: the document's bytes while its download link holds (bot.core.web_history
    #: DOCUMENT_TTL), so a reload offers the same link; dropped once it has expired
    document_data: bytes | None = None
    document_until: datetime | None = None


# -- the review cycle of SPBE levels 4 and 5 (bot.core.reviews / review_actions) --


class Review(SQLModel, table=True):
    """A periodic review (reviu) of the services over a period: opened by a coordinator,
    which freezes the period's figures (ReviewFigure), and closed (ditutup) once its
    record (attendees, findings, decisions) is complete."""

    __table_args__ = (sa.UniqueConstraint("period_start", "period_end", name="uq_review_period"),)
    id: int | None = Field(default=None, primary_key=True)
    period_start: date
    period_end: date
    state: str = Field(default="dibuka", max_length=16)  # dibuka | ditutup
    opened_by: int | None = Field(default=None, foreign_key="person.id")
    opened_at: datetime = Field(default_factory=utcnow)
    closed_by: int | None = Field(default=None, foreign_key="person.id")
    closed_at: datetime | None = None


class ReviewFigure(SQLModel, table=True):
    """A service's evaluation figures of the reviewed period as they were when the review
    was opened: later edits of tickets do not change what was reviewed."""

    review_id: int = Field(foreign_key="review.id", primary_key=True)
    service_id: str = Field(foreign_key="service.id", primary_key=True, max_length=64)
    tickets: int = 0
    resolved: int = 0
    response_sla_pct: float | None = None
    resolution_sla_pct: float | None = None
    availability_pct: float | None = None
    mean_response_h: float | None = None
    mean_resolution_h: float | None = None


class ReviewAttendee(SQLModel, table=True):
    """Who took part in the review meeting."""

    review_id: int = Field(foreign_key="review.id", primary_key=True)
    person_id: int = Field(foreign_key="person.id", primary_key=True)
    added_by: int | None = Field(default=None, foreign_key="person.id")
    added_at: datetime = Field(default_factory=utcnow)


class ReviewFinding(SQLModel, table=True):
    """A finding (temuan) of the review: a deviation or an observation, maybe about one service."""

    id: int | None = Field(default=None, primary_key=True)
    review_id: int = Field(foreign_key="review.id", index=True)
    text: str = Field(max_length=1000)
    service_id: str | None = Field(default=None, foreign_key="service.id", max_length=64)
    created_by: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow)


class ReviewAction(SQLModel, table=True):
    """A decision (keputusan) of a review and the follow-up action it becomes: an owner,
    a due date and what it targets (a service, a ticket, or a free reference such as a
    problem record), worked terbuka → dikerjakan → selesai | dibatalkan."""

    __table_args__ = (sa.Index("ix_reviewaction_state_due", "state", "due_on"),)
    id: int | None = Field(default=None, primary_key=True)
    review_id: int = Field(foreign_key="review.id", index=True)
    decision: str = Field(max_length=1000)
    owner_id: int = Field(foreign_key="person.id", index=True)
    due_on: date
    service_id: str | None = Field(default=None, foreign_key="service.id", max_length=64)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    reference: str | None = Field(default=None, max_length=200)
    state: str = Field(default="terbuka", max_length=16)
    created_by: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    #: when the owner was reminded before the due date, and when the coordinators were
    #: told it is overdue: each happens once (the notices' dedupe keys hold it too).
    reminded_at: datetime | None = None
    escalated_at: datetime | None = None


class ReviewEvent(SQLModel, table=True):
    """Audit trail of a review and its actions: opened, attendee, finding, decision,
    closed, and every state change of an action, with who, when and through which channel."""

    id: int | None = Field(default=None, primary_key=True)
    review_id: int = Field(foreign_key="review.id", index=True)
    action_id: int | None = Field(default=None, foreign_key="reviewaction.id", index=True)
    at: datetime = Field(default_factory=utcnow)
    actor_id: int | None = Field(default=None, foreign_key="person.id")
    channel: str | None = Field(default=None, max_length=20)
    kind: str = Field(
        max_length=24
    )  # opened | attendee | finding | decision | state | reminded | escalated | closed
    old: str | None = Field(default=None, max_length=200)
    new: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, max_length=1000)


# -- service subscriptions (bot.core.subscriptions) ------------------------------------


class Subscription(SQLModel, table=True):
    """A chat (channel + chat id) that asked to hear of one service's outages, maintenance
    and releases. Stopping keeps the row (`ended_at`), so subscribing again reuses it and
    the notices already sent keep their button's target; every start and stop is a
    `SubscriptionEvent`."""

    __table_args__ = (
        sa.UniqueConstraint("service_id", "channel", "chat_id", name="uq_subscription_chat"),
        sa.Index("ix_subscription_service_active", "service_id", "ended_at"),
        sa.Index("ix_subscription_chat", "channel", "chat_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    service_id: str = Field(foreign_key="service.id", max_length=64)
    channel: str = Field(max_length=20)
    chat_id: str = Field(max_length=200)
    #: who subscribed, when known (an anonymous web visitor is not): notices use their language
    person_id: int | None = Field(default=None, foreign_key="person.id")
    #: the chat's language when it subscribed, for subscribers without a person
    lang: str | None = Field(default=None, max_length=8)
    #: when it (last) started; None in `ended_at` while it runs
    created_at: datetime = Field(default_factory=utcnow)
    ended_at: datetime | None = None


class SubscriptionEvent(SQLModel, table=True):
    """Audit trail of a subscription: each start and stop, who, when and from where."""

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="subscription.id", index=True)
    at: datetime = Field(default_factory=utcnow)
    kind: str = Field(max_length=16)  # subscribed | unsubscribed
    #: command | button | status_page | session_ended (its web chat session is over)
    via: str = Field(max_length=20)
    person_id: int | None = Field(default=None, foreign_key="person.id")


# -- problem management (bot.core.problems, bot.core.problem_clusters) --


class Problem(SQLModel, table=True):
    """A problem (masalah): the cause behind one or more incidents, diagnosed, worked around
    (a known error), fixed and verified (guideline ch. 7.1.2)."""

    __table_args__ = (sa.Index("ix_problem_state_service", "state", "service_id"),)
    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=24, unique=True)
    title: str = Field(max_length=200)
    service_id: str | None = Field(default=None, foreign_key="service.id", max_length=64)
    #: baru → didiagnosis → diketahui → diselesaikan → diverifikasi → ditutup
    state: str = Field(default="baru", max_length=24)
    diagnosis: str | None = None
    root_cause: str | None = None
    workaround: str | None = None
    fix: str | None = None
    created_by: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    known_at: datetime | None = None
    fixed_at: datetime | None = None
    #: when the verification tick found related incidents after the fix (and told the
    #: service manager); it looks no more until the problem is reopened and fixed again.
    recurred_at: datetime | None = None
    verified_at: datetime | None = None
    closed_at: datetime | None = None
    #: the FAQ candidate its workaround was published as (bot.core.learning review)
    kb_candidate_id: int | None = Field(default=None, foreign_key="kbcandidate.id")


class ProblemIncident(SQLModel, table=True):
    """An incident linked to a problem; an incident belongs to one problem at most."""

    problem_id: int = Field(foreign_key="problem.id", primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", primary_key=True, unique=True)
    linked_at: datetime = Field(default_factory=utcnow)
    linked_by: int | None = Field(default=None, foreign_key="person.id")


class ProblemEvent(SQLModel, table=True):
    """Audit trail of a problem: every change, who, when, through which channel, old → new."""

    id: int | None = Field(default=None, primary_key=True)
    problem_id: int = Field(foreign_key="problem.id", index=True)
    at: datetime = Field(default_factory=utcnow)
    actor_id: int | None = Field(default=None, foreign_key="person.id")
    channel: str | None = Field(default=None, max_length=20)
    #: created | state | link | unlink | diagnosis | root_cause | workaround | fix |
    #: published | recurred
    kind: str = Field(max_length=24)
    old: str | None = Field(default=None, max_length=200)
    new: str | None = Field(default=None, max_length=200)
    note: str | None = None


class ProblemSuggestion(SQLModel, table=True):
    """A cluster of similar incidents offered to the service manager as a problem, once:
    its incidents are not offered again (bot.core.problem_clusters)."""

    id: int | None = Field(default=None, primary_key=True)
    service_id: str = Field(foreign_key="service.id", max_length=64, index=True)
    ticket_ids: list[int] = Field(default_factory=list, sa_type=JSONType)
    created_at: datetime = Field(default_factory=utcnow)
    problem_id: int | None = Field(default=None, foreign_key="problem.id")


# -- change management and releases (bot.core.changes / releases) --


class ChangeRequest(SQLModel, table=True):
    """A change request (permintaan perubahan) of one service: what, why it is safe (risk,
    tests, rollback), when, and where its approval and implementation stand."""

    __table_args__ = (
        sa.Index("ix_change_service_window", "service_id", "planned_start", "planned_end"),
        sa.Index("ix_change_state", "state"),
    )
    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=24, unique=True)
    service_id: str = Field(foreign_key="service.id", max_length=64)
    kind: str = Field(max_length=16)  # standar | normal | darurat
    title: str = Field(max_length=200)
    description: str = Field(default="", sa_type=sa.Text)
    risk: str = Field(default="sedang", max_length=16)  # rendah | sedang | tinggi
    impact: str = Field(default="", sa_type=sa.Text)
    plan: str = Field(default="", sa_type=sa.Text)
    test_functional: str = Field(default="", sa_type=sa.Text)
    test_security: str = Field(default="", sa_type=sa.Text)
    test_performance: str = Field(default="", sa_type=sa.Text)
    rollback_plan: str = Field(default="", sa_type=sa.Text)
    planned_start: datetime
    planned_end: datetime
    #: diajukan | perlu_info | disetujui | ditolak | dilaksanakan | ditinjau
    state: str = Field(default="diajukan", max_length=16)
    #: the approval rule in force when it was raised: none | any | all
    approval_rule: str = Field(default="all", max_length=8)
    requested_by: int | None = Field(default=None, foreign_key="person.id")
    requested_channel: str | None = Field(default=None, max_length=20)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    decided_at: datetime | None = None
    maintenance_id: int | None = Field(default=None, foreign_key="maintenancewindow.id")
    #: berhasil | gagal | dibatalkan | dikembalikan
    result: str | None = Field(default=None, max_length=16)
    result_note: str | None = Field(default=None, sa_type=sa.Text)
    implemented_at: datetime | None = None
    review: str | None = Field(default=None, sa_type=sa.Text)
    reviewed_at: datetime | None = None
    reviewed_by: int | None = Field(default=None, foreign_key="person.id")
    #: emergency changes: the post-implementation review is due by then (working days)
    review_due_at: datetime | None = None
    #: which review notices were sent (bit 1: reminder, bit 2: escalation)
    review_notified: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class ChangeApproval(SQLModel, table=True):
    """One approver's decision on a change: setuju | tolak | info (asked for more)."""

    id: int | None = Field(default=None, primary_key=True)
    change_id: int = Field(foreign_key="changerequest.id", index=True)
    person_id: int = Field(foreign_key="person.id")
    #: the approver parties this person decided for: "koordinator", "pengelola", or both
    parties: list[str] = Field(default_factory=list, sa_type=JSONType)
    decision: str = Field(max_length=8)
    note: str | None = Field(default=None, sa_type=sa.Text)
    at: datetime = Field(default_factory=utcnow)
    channel: str | None = Field(default=None, max_length=20)


class ChangeEvent(SQLModel, table=True):
    """Audit trail of a change request: who, when, through which channel, old → new."""

    id: int | None = Field(default=None, primary_key=True)
    change_id: int = Field(foreign_key="changerequest.id", index=True)
    at: datetime = Field(default_factory=utcnow)
    actor_id: int | None = Field(default=None, foreign_key="person.id")
    channel: str | None = Field(default=None, max_length=20)
    #: created | state | approval | info | answer | result | review | link | release | notice
    kind: str = Field(max_length=16)
    old: str | None = Field(default=None, max_length=200)
    new: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, sa_type=sa.Text)


class ChangePost(SQLModel, table=True):
    """Where a change request was posted with its approval buttons, so each post is edited
    in place when the request is decided."""

    __table_args__ = (sa.UniqueConstraint("change_id", "channel", "target", name="uq_change_post"),)
    id: int | None = Field(default=None, primary_key=True)
    change_id: int = Field(foreign_key="changerequest.id", index=True)
    channel: str = Field(max_length=20)
    target: str = Field(max_length=200)
    message_ref: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow)


class ChangeIncident(SQLModel, table=True):
    """An incident opened on the service during the change's window: linked to it."""

    change_id: int = Field(foreign_key="changerequest.id", primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", primary_key=True, index=True)
    linked_at: datetime = Field(default_factory=utcnow)


class Release(SQLModel, table=True):
    """A release (rilis): an implemented change published to its users and owners."""

    __tablename__ = "servicerelease"
    id: int | None = Field(default=None, primary_key=True)
    change_id: int = Field(foreign_key="changerequest.id", unique=True)
    service_id: str = Field(foreign_key="service.id", max_length=64, index=True)
    notes_id: str = Field(sa_type=sa.Text)
    notes_en: str = Field(default="", sa_type=sa.Text)
    sop_url: str = Field(default="", max_length=500)
    published_by: int | None = Field(default=None, foreign_key="person.id")
    channel: str | None = Field(default=None, max_length=20)
    published_at: datetime = Field(default_factory=utcnow)


class BackupRun(SQLModel, table=True):
    """One backup the product took of itself (bot.core.backups): where it went, its
    checksum and size, how long it took, the off-site copy, or why it failed."""

    __table_args__ = (sa.Index("ix_backuprun_started", "started_at"),)
    id: int | None = Field(default=None, primary_key=True)
    #: the scheduled time it ran for: unique, so replicas (and worker processes) that all
    #: run the job take one backup between them; None for one taken by hand
    slot: str | None = Field(default=None, max_length=40, unique=True)
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    ok: bool = False
    path: str | None = Field(default=None, max_length=500)
    sha256: str | None = Field(default=None, max_length=64)
    bytes: int | None = None
    rows: int | None = None
    revision: str | None = Field(default=None, max_length=32)
    seconds: float | None = None
    #: the second folder and/or the hook command: "ok", "failed: …" or None (none set)
    offsite: str | None = None
    error: str | None = None


class RestoreTest(SQLModel, table=True):
    """A backup restored into a scratch database and checked against its manifest (rows
    per table, checksum, revision): the evidence that the backups can be restored, and
    how long a restore takes."""

    __table_args__ = (sa.Index("ix_restoretest_started", "started_at"),)
    id: int | None = Field(default=None, primary_key=True)
    slot: str | None = Field(default=None, max_length=40, unique=True)
    started_at: datetime = Field(default_factory=utcnow)
    backup_path: str | None = Field(default=None, max_length=500)
    backup_taken_at: datetime | None = None
    ok: bool = False
    restore_seconds: float | None = None
    rows: int | None = None
    #: tables whose rows differed: {name: [expected, found]}
    mismatches: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    error: str | None = None


class RecoveryRun(SQLModel, table=True):
    """One walk through a service's recovery plan (bot.core.recovery): an exercise, or
    the recovery of a real outage (kind "incident", linked to its ticket). The plan and
    the RTO are copied in, so a later edit of the files does not rewrite what happened."""

    __table_args__ = (sa.Index("ix_recoveryrun_service", "service_id", "started_at"),)
    id: int | None = Field(default=None, primary_key=True)
    service_id: str = Field(foreign_key="service.id", max_length=64)
    kind: str = Field(default="exercise", max_length=16)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id")
    started_by_id: int | None = Field(default=None, foreign_key="person.id")
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    ended_by_id: int | None = Field(default=None, foreign_key="person.id")
    #: "berjalan" while walked, then "berhasil" (every step done or skipped) or "gagal"
    outcome: str = Field(default="berjalan", max_length=16)
    rto_minutes: int | None = None
    #: from the start to the last step's end: the recovery time the exercise measured
    measured_minutes: float | None = None


class RecoveryStep(SQLModel, table=True):
    """A step of a run, with who moved it and when (every state change is kept here)."""

    __table_args__ = (sa.UniqueConstraint("run_id", "position"),)
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="recoveryrun.id")
    position: int
    title: str = Field(max_length=300)
    role: str = Field(max_length=40)
    expected_minutes: int
    #: "menunggu" → "berjalan" → "selesai" | "gagal"; or "dilewati"
    state: str = Field(default="menunggu", max_length=16)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    actor_id: int | None = Field(default=None, foreign_key="person.id")
    note: str | None = None


class RecoveryOffer(SQLModel, table=True):
    """A recovery plan offered for one incident (bot.core.recovery_offers). One row per
    ticket, so an incident is offered once, whether its outage or its P1 priority came
    first, however often the event is redelivered or the ticket re-prioritised."""

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", unique=True)
    service_id: str = Field(foreign_key="service.id", max_length=64)
    #: the outage the incident was opened from, when it was
    outage_id: int | None = Field(default=None, foreign_key="outage.id")
    offered_at: datetime = Field(default_factory=utcnow)
    #: the chats the offer was queued to
    chats: int = 0


class RecoveryEvent(SQLModel, table=True):
    """Every change of a recovery run or of one of its steps: who, when, through which
    channel, old → new. A step's attempts are read from these: a start or a retry opens
    one, done or fail closes it (bot.core.recovery_attempts)."""

    __table_args__ = (sa.Index("ix_recoveryevent_run", "run_id", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="recoveryrun.id")
    #: the step's position, None for a change of the run itself
    position: int | None = None
    #: which attempt of the step (1, 2, …), None for the run
    attempt: int | None = None
    at: datetime = Field(default_factory=utcnow)
    actor_id: int | None = Field(default=None, foreign_key="person.id")
    channel: str | None = Field(default=None, max_length=32)
    action: str = Field(max_length=16)
    old: str | None = Field(default=None, max_length=16)
    new: str | None = Field(default=None, max_length=16)
    note: str | None = None
