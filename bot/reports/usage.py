"""How the application is used (guideline ch. 3.6, level 4: service management runs on a
service management application): tickets per reporting channel, and which share of the
period's recorded ticket changes was made in the application rather than imported."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Session, col

from bot import i18n
from bot.core.ticket_states import GANGGUAN, KELUHAN, PERMINTAAN
from bot.i18n import DEFAULT_LANG
from bot.reports import criteria
from bot.reports.model import Report, Table
from bot.reports.period import bounds, share
from storage.models import Ticket, TicketEvent

#: the channels a ticket or a change can come through, by the name the records keep
_CHANNELS = {
    "telegram": "reports.usage.channel.telegram",
    "slack": "reports.usage.channel.slack",
    "web": "reports.usage.channel.web",
    "console": "reports.usage.channel.console",
    "system": "reports.usage.channel.system",
    "sla": "reports.usage.channel.sla",
    "replay": "reports.usage.channel.replay",
    "import": "reports.usage.channel.import",
}


def channel_label(name: str | None, lang: str) -> str:
    """A channel as the reader knows it; one the product does not name stays as recorded."""
    if name is None:
        return i18n.t("reports.usage.channel_unknown", lang)
    key = _CHANNELS.get(name)
    return i18n.t(key, lang) if key else name


def usage_report(
    session: Session,
    start: date,
    end: date,
    *,
    tz: str,
    now: datetime,
    service_id: str | None = None,
    lang: str = DEFAULT_LANG,
) -> Report:
    lo, hi = bounds(start, end, tz)
    imported = criteria.load().imported_channels
    tickets = sa.select(col(Ticket.reporter_channel), col(Ticket.type), sa.func.count()).where(
        col(Ticket.created_at) >= lo, col(Ticket.created_at) < hi
    )
    events = (
        sa.select(col(TicketEvent.channel), sa.func.count())
        .join(Ticket, col(Ticket.id) == col(TicketEvent.ticket_id))
        .where(col(TicketEvent.at) >= lo, col(TicketEvent.at) < hi)
    )
    if service_id:
        tickets = tickets.where(col(Ticket.service_id) == service_id)
        events = events.where(col(Ticket.service_id) == service_id)
    per_channel: dict[str | None, int] = {}
    per_type: dict[str, int] = {}
    for channel, type_, n in session.execute(
        tickets.group_by(col(Ticket.reporter_channel), col(Ticket.type))
    ):
        per_channel[channel] = per_channel.get(channel, 0) + n
        per_type[type_] = per_type.get(type_, 0) + n
    changes = dict(session.execute(events.group_by(col(TicketEvent.channel))).all())
    total, recorded = sum(per_channel.values()), sum(changes.values())
    outside = sum(n for ch, n in changes.items() if ch in imported)
    inside = recorded - outside
    origin = {
        True: i18n.t("reports.usage.imported", lang),
        False: i18n.t("reports.usage.in_application", lang),
    }
    order = sorted(per_channel, key=lambda ch: (-per_channel[ch], ch or ""))
    figures: list[tuple[str, object]] = [
        ("reports.usage.tickets", total),
        (
            "reports.evaluation.by_type",
            " / ".join(str(per_type.get(k, 0)) for k in (GANGGUAN, PERMINTAAN, KELUHAN)),
        ),
        ("reports.usage.changes", recorded),
        ("reports.usage.changes_in_application", inside),
        ("reports.usage.changes_imported", outside),
        ("reports.usage.share_in_application", share(inside, recorded)),
    ]
    return Report(
        "penggunaan",
        i18n.t("reports.usage.title", lang),
        now,
        start,
        end,
        service_id,
        intro=i18n.t("reports.usage.intro", lang),
        sections=[
            Table(
                i18n.t("reports.evaluation.summary", lang),
                [i18n.t("reports.column.measure", lang), i18n.t("reports.column.value", lang)],
                [[i18n.t(key, lang), value] for key, value in figures],
                name="summary",
            ),
            Table(
                i18n.t("reports.usage.per_channel", lang),
                [
                    i18n.t("reports.usage.channel_column", lang),
                    i18n.t("reports.column.count", lang),
                    i18n.t("reports.column.share_pct", lang),
                ],
                [
                    [channel_label(ch, lang), per_channel[ch], share(per_channel[ch], total)]
                    for ch in order
                ],
                name="channels",
            ),
            Table(
                i18n.t("reports.usage.per_change_channel", lang),
                [
                    i18n.t("reports.usage.channel_column", lang),
                    i18n.t("reports.usage.origin", lang),
                    i18n.t("reports.column.count", lang),
                    i18n.t("reports.column.share_pct", lang),
                ],
                [
                    [channel_label(ch, lang), origin[ch in imported], n, share(n, recorded)]
                    for ch, n in sorted(changes.items(), key=lambda kv: (-kv[1], kv[0] or ""))
                ],
                note=i18n.t("reports.usage.changes_note", lang),
                name="changes",
            ),
        ],
        lang=lang,
    )
