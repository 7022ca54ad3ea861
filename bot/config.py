"""One Settings object, read from the environment and `.env`, passed to whoever needs it.

Nothing reads the environment at import time: tests build a `Settings` with the values
they need, and the CLI builds one at start.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE_DIR = PACKAGE_ROOT / "knowledge"


class AlertSeverity(BaseModel):
    """What an Alertmanager `severity` does: the service's state (none: no incident), the
    incident's priority (1 … 4), and whether the public status page shows it."""

    state: Literal["down", "degraded"] | None = None
    priority: int = Field(3, ge=1, le=4)
    public: bool = False


def default_severities() -> dict[str, AlertSeverity]:
    return {
        "critical": AlertSeverity(state="down", priority=1, public=True),
        "warning": AlertSeverity(state="degraded", priority=3, public=False),
        "info": AlertSeverity(state=None, public=False),
    }


class Settings(BaseSettings):
    """All settings of the product; `.env.example` documents each one."""

    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", populate_by_name=True, env_ignore_empty=True
    )

    data_dir: Path = Field(
        Path("./var"), validation_alias=AliasChoices("HELPDESK_DATA_DIR", "data_dir")
    )
    database_url: str | None = Field(
        None, validation_alias=AliasChoices("DATABASE_URL", "database_url")
    )
    host: str = Field("127.0.0.1", validation_alias=AliasChoices("HELPDESK_HOST", "host"))
    port: int = Field(8080, validation_alias=AliasChoices("HELPDESK_PORT", "port"))
    public_url: str = Field(
        "http://127.0.0.1:8080", validation_alias=AliasChoices("HELPDESK_PUBLIC_URL", "public_url")
    )
    #: addresses whose X-Forwarded-For uvicorn trusts (the reverse proxy's); per-address
    #: limits count the visitor's address only when the proxy is listed here
    forwarded_allow_ips: str = Field(
        "127.0.0.1",
        validation_alias=AliasChoices("HELPDESK_FORWARDED_ALLOW_IPS", "forwarded_allow_ips"),
    )
    timezone: str = Field(
        "Asia/Jakarta", validation_alias=AliasChoices("HELPDESK_TIMEZONE", "timezone")
    )
    log_level: str = Field("INFO", validation_alias=AliasChoices("HELPDESK_LOG_LEVEL", "log_level"))

    knowledge_dir: Path = Field(
        KNOWLEDGE_DIR / "articles",
        validation_alias=AliasChoices("HELPDESK_KNOWLEDGE_DIR", "knowledge_dir"),
    )
    catalog_file: Path = Field(
        KNOWLEDGE_DIR / "catalog.yaml",
        validation_alias=AliasChoices("HELPDESK_CATALOG_FILE", "catalog_file"),
    )
    people_file: Path = Field(
        KNOWLEDGE_DIR / "people.yaml",
        validation_alias=AliasChoices("HELPDESK_PEOPLE_FILE", "people_file"),
    )
    load_samples: bool = Field(
        True, validation_alias=AliasChoices("HELPDESK_LOAD_SAMPLES", "load_samples")
    )
    #: where `helpdesk chat` saves the documents it is sent (a /laporan PDF); empty: the
    #: current directory
    documents_dir: Path | None = Field(
        None, validation_alias=AliasChoices("HELPDESK_DOCUMENTS_DIR", "documents_dir")
    )

    faq_answer_threshold: float | None = Field(
        None, validation_alias=AliasChoices("FAQ_ANSWER_THRESHOLD", "faq_answer_threshold")
    )
    faq_suggest_threshold: float | None = Field(
        None, validation_alias=AliasChoices("FAQ_SUGGEST_THRESHOLD", "faq_suggest_threshold")
    )

    max_text_length: int = Field(
        4000, validation_alias=AliasChoices("HELPDESK_MAX_TEXT", "max_text_length")
    )
    link_code_ttl_minutes: int = Field(
        15, validation_alias=AliasChoices("HELPDESK_LINK_CODE_TTL", "link_code_ttl_minutes")
    )
    # Abuse limits (bot.core.limits), counted in the database across replicas; 0 = off.
    limit_turns_per_minute_chat: int = Field(
        30,
        ge=0,
        validation_alias=AliasChoices("LIMIT_TURNS_PER_MINUTE_CHAT", "limit_turns_per_minute_chat"),
    )
    limit_turns_per_minute_address: int = Field(
        120,
        ge=0,
        validation_alias=AliasChoices(
            "LIMIT_TURNS_PER_MINUTE_ADDRESS", "limit_turns_per_minute_address"
        ),
    )
    limit_tickets_per_hour_person: int = Field(
        10,
        ge=0,
        validation_alias=AliasChoices(
            "LIMIT_TICKETS_PER_HOUR_PERSON", "limit_tickets_per_hour_person"
        ),
    )
    limit_tickets_per_hour_address: int = Field(
        20,
        ge=0,
        validation_alias=AliasChoices(
            "LIMIT_TICKETS_PER_HOUR_ADDRESS", "limit_tickets_per_hour_address"
        ),
    )
    limit_link_attempts_per_hour: int = Field(
        5,
        ge=0,
        validation_alias=AliasChoices(
            "LIMIT_LINK_ATTEMPTS_PER_HOUR", "limit_link_attempts_per_hour"
        ),
    )
    limit_web_sessions_per_hour_address: int = Field(
        60,
        ge=0,
        validation_alias=AliasChoices(
            "LIMIT_WEB_SESSIONS_PER_HOUR_ADDRESS", "limit_web_sessions_per_hour_address"
        ),
    )
    #: web chat sessions end after this much idle time; an operator's much sooner.
    web_session_idle_hours: float = Field(
        720, gt=0, validation_alias=AliasChoices("WEB_SESSION_IDLE_HOURS", "web_session_idle_hours")
    )
    web_operator_session_idle_minutes: float = Field(
        120,
        gt=0,
        validation_alias=AliasChoices(
            "WEB_OPERATOR_SESSION_IDLE_MINUTES", "web_operator_session_idle_minutes"
        ),
    )
    delivery_interval_seconds: float = Field(
        2.0,
        validation_alias=AliasChoices("HELPDESK_DELIVERY_INTERVAL", "delivery_interval_seconds"),
    )

    summary_targets: list[str] = Field(
        default_factory=list,
        validation_alias=AliasChoices("HELPDESK_SUMMARY_TARGETS", "summary_targets"),
    )
    daily_summary_cron: str = Field(
        "30 7 * * mon-fri",
        validation_alias=AliasChoices("HELPDESK_DAILY_SUMMARY_CRON", "daily_summary_cron"),
    )
    weekly_report_cron: str = Field(
        "0 8 * * mon",
        validation_alias=AliasChoices("HELPDESK_WEEKLY_REPORT_CRON", "weekly_report_cron"),
    )
    monthly_report_cron: str = Field(
        "0 8 1 * *",
        validation_alias=AliasChoices("HELPDESK_MONTHLY_REPORT_CRON", "monthly_report_cron"),
    )

    telegram_bot_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN", "telegram_bot_token")
    )
    telegram_api_base_url: str | None = Field(
        None, validation_alias=AliasChoices("TELEGRAM_API_BASE_URL", "telegram_api_base_url")
    )
    telegram_webhook_url: str | None = Field(
        None, validation_alias=AliasChoices("TELEGRAM_WEBHOOK_URL", "telegram_webhook_url")
    )
    telegram_webhook_secret: SecretStr | None = Field(
        None, validation_alias=AliasChoices("TELEGRAM_WEBHOOK_SECRET", "telegram_webhook_secret")
    )
    telegram_operator_chats: list[int] = Field(
        default_factory=list,
        validation_alias=AliasChoices("TELEGRAM_OPERATOR_CHATS", "telegram_operator_chats"),
    )
    #: messages per second for the whole bot (Telegram allows about 30); 0 turns the limiter off.
    telegram_rate_limit: float = Field(
        30.0, validation_alias=AliasChoices("TELEGRAM_RATE_LIMIT", "telegram_rate_limit")
    )

    slack_bot_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SLACK_BOT_TOKEN", "slack_bot_token")
    )
    slack_signing_secret: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "slack_signing_secret")
    )
    slack_app_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SLACK_APP_TOKEN", "slack_app_token")
    )
    slack_api_base_url: str | None = Field(
        None, validation_alias=AliasChoices("SLACK_API_BASE_URL", "slack_api_base_url")
    )
    slack_operator_channels: list[str] = Field(
        default_factory=list,
        validation_alias=AliasChoices("SLACK_OPERATOR_CHANNELS", "slack_operator_channels"),
    )

    whatsapp_access_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("WHATSAPP_ACCESS_TOKEN", "whatsapp_access_token")
    )
    whatsapp_phone_number_id: str | None = Field(
        None,
        validation_alias=AliasChoices("WHATSAPP_PHONE_NUMBER_ID", "whatsapp_phone_number_id"),
    )
    whatsapp_app_secret: SecretStr | None = Field(
        None, validation_alias=AliasChoices("WHATSAPP_APP_SECRET", "whatsapp_app_secret")
    )
    whatsapp_verify_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("WHATSAPP_VERIFY_TOKEN", "whatsapp_verify_token")
    )
    whatsapp_api_base_url: str = Field(
        "https://graph.facebook.com/v21.0",
        validation_alias=AliasChoices("WHATSAPP_API_BASE_URL", "whatsapp_api_base_url"),
    )
    #: the approved template a notice goes as outside the 24-hour window, by notice kind
    #: ("ticket.state", "ticket.assigned", …); "default" for every other kind. Each has
    #: one body parameter, {{1}}, filled with the notice's text.
    whatsapp_templates: dict[str, str] = Field(
        default_factory=dict,
        validation_alias=AliasChoices("WHATSAPP_TEMPLATES", "whatsapp_templates"),
    )
    #: the template language code for each of our languages (as approved at Meta)
    whatsapp_template_languages: dict[str, str] = Field(
        default_factory=lambda: {"id": "id", "en": "en"},
        validation_alias=AliasChoices("WHATSAPP_TEMPLATE_LANGUAGES", "whatsapp_template_languages"),
    )

    # SLA clocks, escalation and the outbox (bot.core.sla, bot.core.escalation, bot.delivery).
    #: default targets in minutes for priorities 1..4 when a service's catalog entry has none.
    sla_response_minutes: list[int] = Field(
        [15, 30, 120, 240],
        validation_alias=AliasChoices("SLA_RESPONSE_MINUTES", "sla_response_minutes"),
    )
    sla_resolution_minutes: list[int] = Field(
        [240, 480, 1440, 2880],
        validation_alias=AliasChoices("SLA_RESOLUTION_MINUTES", "sla_resolution_minutes"),
    )
    #: working hours for tickets without a service.
    sla_default_business_hours: str = Field(
        "senin-jumat 07:30-16:00",
        validation_alias=AliasChoices("SLA_DEFAULT_BUSINESS_HOURS", "sla_default_business_hours"),
    )
    sla_at_risk_ratio: float = Field(
        0.75, gt=0, lt=1, validation_alias=AliasChoices("SLA_AT_RISK_RATIO", "sla_at_risk_ratio")
    )
    #: collective-leave days closed like national holidays, e.g. ["2026-03-18","2026-03-20"].
    cuti_bersama: list[date] = Field(
        default_factory=list, validation_alias=AliasChoices("HELPDESK_CUTI_BERSAMA", "cuti_bersama")
    )
    #: also close on the cuti bersama days the `holidays` package knows.
    cuti_bersama_from_holidays: bool = Field(
        True,
        validation_alias=AliasChoices(
            "HELPDESK_CUTI_BERSAMA_FROM_HOLIDAYS", "cuti_bersama_from_holidays"
        ),
    )
    #: escalation steps per priority: at_risk, reassign, response_breach, resolution_breach.
    sla_escalation_rules: dict[int, list[str]] = Field(
        default_factory=lambda: (
            {p: ["at_risk", "reassign", "response_breach", "resolution_breach"] for p in (1, 2, 3)}
            | {4: ["at_risk", "reassign", "resolution_breach"]}
        ),
        validation_alias=AliasChoices("SLA_ESCALATION_RULES", "sla_escalation_rules"),
    )
    #: an unacknowledged alert is repeated every N minutes (P1..P4) and after M repeats
    #: also goes to the next level (service manager, then koordinator layanan).
    alert_repeat_minutes: list[int] = Field(
        [10, 20, 60, 120],
        validation_alias=AliasChoices("ALERT_REPEAT_MINUTES", "alert_repeat_minutes"),
    )
    alert_escalate_after: list[int] = Field(
        [3, 3, 3, 3], validation_alias=AliasChoices("ALERT_ESCALATE_AFTER", "alert_escalate_after")
    )
    sla_scan_interval_seconds: float = Field(
        30.0,
        validation_alias=AliasChoices("HELPDESK_SLA_SCAN_INTERVAL", "sla_scan_interval_seconds"),
    )
    #: a replica that dies while sending leaves its notices leased this long, then another sends them.
    delivery_lease_seconds: float = Field(
        60.0, validation_alias=AliasChoices("HELPDESK_DELIVERY_LEASE", "delivery_lease_seconds")
    )
    delivery_max_attempts: int = Field(
        8, validation_alias=AliasChoices("HELPDESK_DELIVERY_MAX_ATTEMPTS", "delivery_max_attempts")
    )
    # The inbox (bot.intake): Telegram updates, Slack events and Alertmanager posts are
    # written at arrival, acknowledged, and processed by workers.
    #: events processed at once in this process (each chat's events still one at a time).
    inbox_workers: int = Field(
        16, ge=1, validation_alias=AliasChoices("HELPDESK_INBOX_WORKERS", "inbox_workers")
    )
    #: the status page's data is read at most once per this many seconds for all visitors
    #: (and served, marked stale, from the last read while the database cannot be read)
    status_cache_seconds: float = Field(
        10.0, ge=0, validation_alias=AliasChoices("HELPDESK_STATUS_CACHE", "status_cache_seconds")
    )
    #: how often a process looks for events another process stored (a web process beside
    #: worker processes, or another replica); events stored by this process wake it at once.
    inbox_poll_seconds: float = Field(
        0.05, gt=0, validation_alias=AliasChoices("HELPDESK_INBOX_POLL", "inbox_poll_seconds")
    )
    #: `helpdesk run` starts this many worker processes beside the web process: the web
    #: process only acknowledges (stores) what platforms post, at its own pace, while the
    #: workers run the turns, the outbox and the scheduled jobs at a lower CPU priority.
    #: 0: everything in the one web process. Unset: 1 on PostgreSQL, 0 on SQLite, whose
    #: one writer is shared best inside one process (storage.db's write gate, the inbox's
    #: writes first): across processes SQLite's busy handler sleeps, and a burst's
    #: acknowledgements waited up to 1.7 s behind the worker's turns (bench/telegram_webhook.py).
    worker_processes: int | None = Field(
        None,
        ge=0,
        le=16,
        validation_alias=AliasChoices("HELPDESK_WORKER_PROCESSES", "worker_processes"),
    )
    #: a replica that dies mid-event leaves it leased this long, then it is processed again.
    inbox_lease_seconds: float = Field(
        60.0, gt=0, validation_alias=AliasChoices("HELPDESK_INBOX_LEASE", "inbox_lease_seconds")
    )
    #: attempts before an event that keeps failing is set aside for an admin (`helpdesk inbox`).
    inbox_max_attempts: int = Field(
        5, ge=1, validation_alias=AliasChoices("HELPDESK_INBOX_MAX_ATTEMPTS", "inbox_max_attempts")
    )
    #: notices per second over a whole platform, and seconds between two notices to one chat
    #: ("<channel>_group" for a platform's group chats), by channel name. Unset: each
    #: channel's own pacing (its spec: Telegram 30/s, 1 s a chat, 3 s a group; Slack 20/s,
    #: 1 s a chat); set: this table replaces that one ({} turns the pacing off).
    delivery_channel_rates: dict[str, float] | None = Field(
        None, validation_alias=AliasChoices("DELIVERY_CHANNEL_RATES", "delivery_channel_rates")
    )
    delivery_target_intervals: dict[str, float] | None = Field(
        None,
        validation_alias=AliasChoices("DELIVERY_TARGET_INTERVALS", "delivery_target_intervals"),
    )

    # Availability monitoring, maintenance and the status page (bot.core.probes, outages, maintenance).
    #: off by default: the sample catalog names hosts that do not exist; turn on with real ones.
    probes_enabled: bool = Field(
        False, validation_alias=AliasChoices("HELPDESK_PROBES", "probes_enabled")
    )
    probe_tick_seconds: float = Field(
        5.0, validation_alias=AliasChoices("HELPDESK_PROBE_TICK", "probe_tick_seconds")
    )
    probe_concurrency: int = Field(
        100, ge=1, validation_alias=AliasChoices("PROBE_CONCURRENCY", "probe_concurrency")
    )
    probe_timeout_seconds: float = Field(
        10.0, gt=0, validation_alias=AliasChoices("PROBE_TIMEOUT", "probe_timeout_seconds")
    )
    #: flap protection: down after N failed probes in a row, up again after M good ones.
    probe_down_after: int = Field(
        3, ge=1, validation_alias=AliasChoices("PROBE_DOWN_AFTER", "probe_down_after")
    )
    probe_up_after: int = Field(
        2, ge=1, validation_alias=AliasChoices("PROBE_UP_AFTER", "probe_up_after")
    )
    probe_cert_warn_days: int = Field(
        14, ge=0, validation_alias=AliasChoices("PROBE_CERT_WARN_DAYS", "probe_cert_warn_days")
    )
    #: CA bundle for services with certificates of an internal CA.
    probe_ca_bundle: Path | None = Field(
        None, validation_alias=AliasChoices("PROBE_CA_BUNDLE", "probe_ca_bundle")
    )
    maintenance_tick_seconds: float = Field(
        60.0, validation_alias=AliasChoices("HELPDESK_MAINTENANCE_TICK", "maintenance_tick_seconds")
    )
    #: how often review follow-up actions are checked (reminders, overdue escalations)
    review_tick_seconds: float = Field(
        900.0, validation_alias=AliasChoices("HELPDESK_REVIEW_TICK", "review_tick_seconds")
    )
    #: how many days before its due date an action's owner is reminded
    review_reminder_days: int = Field(
        2,
        ge=0,
        validation_alias=AliasChoices("HELPDESK_REVIEW_REMINDER_DAYS", "review_reminder_days"),
    )
    #: problem management (bot.core.problems): days after a fix without a recurring incident
    #: before a problem counts as verified, and how often the problem tick runs
    problem_verify_days: int = Field(
        14,
        ge=1,
        validation_alias=AliasChoices("HELPDESK_PROBLEM_VERIFY_DAYS", "problem_verify_days"),
    )
    problem_tick_seconds: float = Field(
        300.0, validation_alias=AliasChoices("HELPDESK_PROBLEM_TICK", "problem_tick_seconds")
    )
    #: suggested problems (bot.core.problem_clusters): incidents of one service within this
    #: many hours, at least this many, at least this similar (0..1), are offered as a problem
    problem_cluster_window_hours: float = Field(
        24.0,
        gt=0,
        validation_alias=AliasChoices(
            "HELPDESK_PROBLEM_CLUSTER_WINDOW_HOURS", "problem_cluster_window_hours"
        ),
    )
    problem_cluster_min_count: int = Field(
        3,
        ge=2,
        validation_alias=AliasChoices(
            "HELPDESK_PROBLEM_CLUSTER_MIN_COUNT", "problem_cluster_min_count"
        ),
    )
    problem_cluster_similarity: float = Field(
        0.7,
        ge=0,
        le=1,
        validation_alias=AliasChoices(
            "HELPDESK_PROBLEM_CLUSTER_SIMILARITY", "problem_cluster_similarity"
        ),
    )
    #: change approval (bot.core.changes) per kind: none (pre-approved), any or all of the
    #: approvers (the koordinator layanan and the service's pengelola layanan). Emergency
    #: (darurat) changes always go ahead at once and are reviewed afterwards.
    change_approval_rules: dict[str, str] = Field(
        default_factory=lambda: {"standar": "none", "normal": "all"},
        validation_alias=AliasChoices("CHANGE_APPROVAL_RULES", "change_approval_rules"),
    )
    #: an emergency change must have its post-implementation review within N working days.
    change_emergency_review_days: int = Field(
        2,
        ge=1,
        validation_alias=AliasChoices(
            "CHANGE_EMERGENCY_REVIEW_DAYS", "change_emergency_review_days"
        ),
    )
    change_tick_seconds: float = Field(
        300.0, validation_alias=AliasChoices("CHANGE_TICK_SECONDS", "change_tick_seconds")
    )
    #: bearer token Prometheus Alertmanager sends to /alerts/alertmanager; unset refuses every call.
    alertmanager_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("ALERTMANAGER_TOKEN", "alertmanager_token")
    )
    alertmanager_label: str = Field(
        "service", validation_alias=AliasChoices("ALERTMANAGER_LABEL", "alertmanager_label")
    )
    #: bearer token Prometheus sends to /metrics; unset serves it to anyone who reaches it.
    metrics_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("HELPDESK_METRICS_TOKEN", "metrics_token")
    )
    #: /healthz calls the scheduler stale when no job ran on any process for this long.
    scheduler_stale_seconds: float = Field(
        300.0,
        gt=0,
        validation_alias=AliasChoices("HELPDESK_SCHEDULER_STALE", "scheduler_stale_seconds"),
    )
    #: severity label value → what it does (JSON in ALERTMANAGER_SEVERITIES); a value not
    #: listed, or no severity label, is read as `alertmanager_default_severity`.
    alertmanager_severities: dict[str, AlertSeverity] = Field(
        default_factory=default_severities,
        validation_alias=AliasChoices("ALERTMANAGER_SEVERITIES", "alertmanager_severities"),
    )
    alertmanager_default_severity: str = Field(
        "critical",
        validation_alias=AliasChoices(
            "ALERTMANAGER_DEFAULT_SEVERITY", "alertmanager_default_severity"
        ),
    )
    #: Alertmanager's `repeat_interval` (its default is 4h): a firing alert is sent again
    #: this often; an outage not repeated for `…_expire_repeats` × it closes (a lost
    #: "resolved"); 0 repeats never expires.
    alertmanager_repeat_interval_seconds: float = Field(
        4 * 3600.0,
        gt=0,
        validation_alias=AliasChoices(
            "ALERTMANAGER_REPEAT_INTERVAL", "alertmanager_repeat_interval_seconds"
        ),
    )
    alertmanager_expire_repeats: int = Field(
        3,
        ge=0,
        validation_alias=AliasChoices("ALERTMANAGER_EXPIRE_REPEATS", "alertmanager_expire_repeats"),
    )
    #: an alert firing again this soon after its outage closed joins that incident (flapping).
    alertmanager_reopen_window_seconds: float = Field(
        3600.0,
        ge=0,
        validation_alias=AliasChoices(
            "ALERTMANAGER_REOPEN_WINDOW", "alertmanager_reopen_window_seconds"
        ),
    )
    #: admins hear of unknown services and refused tokens at most once per this interval.
    alertmanager_notice_interval_seconds: float = Field(
        3600.0,
        gt=0,
        validation_alias=AliasChoices(
            "ALERTMANAGER_NOTICE_INTERVAL", "alertmanager_notice_interval_seconds"
        ),
    )
    alertmanager_tick_seconds: float = Field(
        300.0,
        validation_alias=AliasChoices("ALERTMANAGER_TICK_SECONDS", "alertmanager_tick_seconds"),
    )

    # Retention (bot.core.retention): what the daily job prunes; 0 keeps that kind for ever.
    # Tickets, their history, alerts and outages are never pruned.
    #: conversations nobody spoke in for this many days (a flow left half-way is dropped).
    retention_conversation_days: int = Field(
        90,
        ge=0,
        validation_alias=AliasChoices("RETENTION_CONVERSATION_DAYS", "retention_conversation_days"),
    )
    #: dedupe keys of Telegram and Slack updates; at least 2 days, past any redelivery.
    retention_inbound_event_days: int = Field(
        7,
        ge=2,
        validation_alias=AliasChoices(
            "RETENTION_INBOUND_EVENT_DAYS", "retention_inbound_event_days"
        ),
    )
    #: processed inbox events (set-aside ones stay until an admin acts); at least 2 days.
    retention_inbox_days: int = Field(
        7, ge=2, validation_alias=AliasChoices("RETENTION_INBOX_DAYS", "retention_inbox_days")
    )
    #: web chat (and console) notices nobody collected are marked failed after this many days.
    retention_pull_notice_days: int = Field(
        14,
        ge=0,
        validation_alias=AliasChoices("RETENTION_PULL_NOTICE_DAYS", "retention_pull_notice_days"),
    )
    #: sent and failed notices are deleted after this many days.
    retention_notice_days: int = Field(
        90,
        ge=0,
        validation_alias=AliasChoices("RETENTION_NOTICE_DAYS", "retention_notice_days"),
    )
    retention_cron: str = Field(
        "15 2 * * *", validation_alias=AliasChoices("RETENTION_CRON", "retention_cron")
    )

    # Backups of the helpdesk itself (bot.core.backups, storage.backup).
    #: when the backup runs, in HELPDESK_TIMEZONE; empty turns scheduled backups off.
    backup_cron: str = Field(
        "0 1 * * *", validation_alias=AliasChoices("BACKUP_CRON", "backup_cron")
    )
    #: where backups go; unset: the data folder's `backups`.
    backup_dir: Path | None = Field(None, validation_alias=AliasChoices("BACKUP_DIR", "backup_dir"))
    #: how many backups the folder keeps (the oldest go after each backup); 0 keeps all.
    backup_keep: int = Field(14, ge=0, validation_alias=AliasChoices("BACKUP_KEEP", "backup_keep"))
    #: off-site copy: a second folder (another disk, a mounted share) that gets each
    #: backup and its manifest, and keeps as many as the first.
    backup_copy_dir: Path | None = Field(
        None, validation_alias=AliasChoices("BACKUP_COPY_DIR", "backup_copy_dir")
    )
    #: off-site copy: a command run after each backup with the backup's path as its last
    #: argument (e.g. "rclone copyto" or a script); a non-zero exit alerts the admins.
    backup_hook: str | None = Field(
        None, validation_alias=AliasChoices("BACKUP_HOOK", "backup_hook")
    )
    backup_hook_timeout_seconds: float = Field(
        3600,
        gt=0,
        validation_alias=AliasChoices("BACKUP_HOOK_TIMEOUT", "backup_hook_timeout_seconds"),
    )
    #: when the newest backup is restored into a scratch database and checked; empty: never.
    restore_test_cron: str = Field(
        "30 3 * * sun", validation_alias=AliasChoices("RESTORE_TEST_CRON", "restore_test_cron")
    )

    # The SPBE evidence pack's front page (bot.reports.evidence): the agency and who
    # prepares and approves the self-assessment; unset ones are named on the page.
    agency_name: str = Field(
        "", validation_alias=AliasChoices("HELPDESK_AGENCY_NAME", "agency_name")
    )
    #: the place of the approval block ("Jakarta, 2 Desember 2026")
    agency_place: str = Field(
        "", validation_alias=AliasChoices("HELPDESK_AGENCY_PLACE", "agency_place")
    )
    preparer_name: str = Field(
        "", validation_alias=AliasChoices("HELPDESK_PREPARER_NAME", "preparer_name")
    )
    preparer_title: str = Field(
        "", validation_alias=AliasChoices("HELPDESK_PREPARER_TITLE", "preparer_title")
    )
    approver_name: str = Field(
        "", validation_alias=AliasChoices("HELPDESK_APPROVER_NAME", "approver_name")
    )
    approver_title: str = Field(
        "", validation_alias=AliasChoices("HELPDESK_APPROVER_TITLE", "approver_title")
    )

    @property
    def resolved_backup_dir(self) -> Path:
        return self.backup_dir if self.backup_dir is not None else self.data_dir / "backups"

    @property
    def resolved_worker_processes(self) -> int:
        if self.worker_processes is not None:
            return self.worker_processes
        return 0 if self.resolved_database_url.startswith("sqlite") else 1

    @property
    def resolved_database_url(self) -> str:
        """The embedded default is a SQLite file inside the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'helpdesk.db').resolve()}"
