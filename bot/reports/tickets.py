"""Ticket-based reports: the service evaluation report and the handling records
(service requests and incidents) — volumes, time to acknowledge and to resolve, SLA
compliance per service and priority, recurring categories."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.core.priority import PRIORITY_NAMES
from bot.core.ticket_states import DIBATALKAN, GANGGUAN, KELUHAN, PERMINTAAN
from bot.reports import charts
from bot.reports.model import Chart, Report, Table
from bot.reports.period import bounds, hours, mean, share
from storage.models import KbFeedback, Person, Service, Ticket, TicketEvent


@dataclass
class Row:
    ticket: Ticket

    def response_met(self, now: datetime) -> bool | None:
        """None while the outcome is still open (not acknowledged, not yet due)."""
        t = self.ticket
        if t.response_due_at is None:
            return None
        if t.acknowledged_at is not None:
            return t.acknowledged_at <= t.response_due_at
        return False if now > t.response_due_at else None

    def resolution_met(self, now: datetime) -> bool | None:
        t = self.ticket
        if t.resolution_due_at is None or t.state == DIBATALKAN:
            return None
        if t.resolved_at is not None:
            return t.resolved_at <= t.resolution_due_at
        return False if now > t.resolution_due_at else None


def tickets_in(
    session: Session,
    start: datetime,
    end: datetime,
    service_id: str | None,
    types: tuple[str, ...] | None = None,
) -> list[Ticket]:
    stmt = select(Ticket).where(col(Ticket.created_at) >= start, col(Ticket.created_at) < end)
    if service_id:
        stmt = stmt.where(Ticket.service_id == service_id)
    if types:
        stmt = stmt.where(col(Ticket.type).in_(types))
    return list(session.exec(stmt.order_by(col(Ticket.created_at))))


def _names(session: Session) -> dict[str, str]:
    return {s.id: s.name for s in session.exec(select(Service))}


def _pct(flags: list[bool | None]) -> float | None:
    known = [f for f in flags if f is not None]
    return share(sum(known), len(known))


def evaluation(
    session: Session,
    start: date,
    end: date,
    *,
    tz: str,
    now: datetime,
    service_id: str | None = None,
) -> Report:
    lo, hi = bounds(start, end, tz)
    rows = [Row(t) for t in tickets_in(session, lo, hi, service_id)]
    names = _names(session)
    groups: dict[tuple[str, int], list[Row]] = defaultdict(list)
    for r in rows:
        groups[(r.ticket.service_id or "-", r.ticket.priority)].append(r)
    perf = []
    for (sid, prio), items in sorted(
        groups.items(), key=lambda kv: (names.get(kv[0][0], kv[0][0]), kv[0][1])
    ):
        ack = [
            (r.ticket.acknowledged_at - r.ticket.created_at).total_seconds()
            for r in items
            if r.ticket.acknowledged_at
        ]
        res = [
            (r.ticket.resolved_at - r.ticket.created_at).total_seconds()
            for r in items
            if r.ticket.resolved_at
        ]
        perf.append(
            [
                names.get(sid, "(tanpa layanan)"),
                f"P{prio} {PRIORITY_NAMES[prio]}",
                len(items),
                sum(1 for r in items if r.ticket.resolved_at),
                hours(mean(ack)),
                hours(mean(res)),
                _pct([r.response_met(now) for r in items]),
                _pct([r.resolution_met(now) for r in items]),
            ]
        )
    total_ack = [
        (r.ticket.acknowledged_at - r.ticket.created_at).total_seconds()
        for r in rows
        if r.ticket.acknowledged_at
    ]
    total_res = [
        (r.ticket.resolved_at - r.ticket.created_at).total_seconds()
        for r in rows
        if r.ticket.resolved_at
    ]
    summary = Table(
        "Ringkasan",
        ["Ukuran", "Nilai"],
        [
            ["Tiket masuk", len(rows)],
            [
                "Gangguan / permintaan / keluhan",
                " / ".join(
                    str(sum(1 for r in rows if r.ticket.type == k))
                    for k in (GANGGUAN, PERMINTAAN, KELUHAN)
                ),
            ],
            ["Tiket selesai", sum(1 for r in rows if r.ticket.resolved_at)],
            ["Rata-rata waktu tanggap (jam)", hours(mean(total_ack))],
            ["Rata-rata waktu penyelesaian (jam)", hours(mean(total_res))],
            ["Kepatuhan SLA tanggap (%)", _pct([r.response_met(now) for r in rows])],
            ["Kepatuhan SLA penyelesaian (%)", _pct([r.resolution_met(now) for r in rows])],
        ],
    )
    per_service = Table(
        "Kinerja per layanan dan prioritas",
        [
            "Layanan",
            "Prioritas",
            "Masuk",
            "Selesai",
            "Rata-rata tanggap (jam)",
            "Rata-rata penyelesaian (jam)",
            "SLA tanggap (%)",
            "SLA penyelesaian (%)",
        ],
        perf,
        note="Kepatuhan SLA dihitung atas tiket yang hasilnya sudah diketahui (sudah ditanggapi/diselesaikan atau sudah lewat batas waktu).",
    )
    cats = Counter(
        r.ticket.category or names.get(r.ticket.service_id or "", "(tanpa layanan)") for r in rows
    )
    recurring = Table(
        "Kategori yang berulang",
        ["Kategori / layanan", "Jumlah", "Porsi (%)"],
        [[c, n, share(n, len(rows))] for c, n in cats.most_common(10)],
    )
    fb = session.execute(
        sa.select(KbFeedback.helpful, sa.func.count())
        .where(col(KbFeedback.at) >= lo, col(KbFeedback.at) < hi)
        .group_by(KbFeedback.helpful)
    ).all()
    helpful = {bool(h): int(n) for h, n in fb}
    satisfaction = Table(
        "Kepuasan (jawaban FAQ)",
        ["Ukuran", "Nilai"],
        [
            ["Jawaban FAQ dinilai membantu", helpful.get(True, 0)],
            ["Jawaban FAQ dinilai tidak membantu", helpful.get(False, 0)],
            ["Tingkat membantu (%)", share(helpful.get(True, 0), sum(helpful.values()))],
        ],
        note='Survei kepuasan atas penyelesaian tiket belum dikumpulkan oleh aplikasi; yang tercatat adalah penilaian "Apakah ini membantu?" pada jawaban FAQ.',
    )
    report = Report(
        "evaluasi",
        "Laporan Evaluasi Layanan SPBE",
        now,
        start,
        end,
        service_id,
        intro="Volume, waktu tanggap dan penyelesaian, kepatuhan SLA per layanan dan prioritas, serta kategori yang berulang, dihitung dari catatan tiket.",
        sections=[summary, per_service, recurring, satisfaction],
    )
    if rows:
        report.sections += _charts(rows, start, end, tz, now)
    return report


def _charts(rows: list[Row], start: date, end: date, tz: str, now: datetime) -> list[Chart]:
    zone = ZoneInfo(tz)
    per_day = Counter(r.ticket.created_at.astimezone(zone).date() for r in rows)
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    volume = charts.volume(days, [per_day.get(d, 0) for d in days], "Volume tiket per hari")
    weeks: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        iso = r.ticket.created_at.astimezone(zone).isocalendar()
        weeks[f"{iso.year}-W{iso.week:02d}"].append(r)
    labels = sorted(weeks)
    comp = charts.compliance(
        labels,
        [_pct([r.response_met(now) for r in weeks[w]]) for w in labels],
        [_pct([r.resolution_met(now) for r in weeks[w]]) for w in labels],
        "Kepatuhan SLA per minggu",
    )
    return [Chart("Volume tiket", volume), Chart("Kepatuhan SLA", comp)]


def handling_records(
    session: Session,
    start: date,
    end: date,
    *,
    tz: str,
    now: datetime,
    type_: str,
    service_id: str | None = None,
) -> Report:
    """Every service request (or incident) of the period with its handling trail."""
    lo, hi = bounds(start, end, tz)
    items = tickets_in(session, lo, hi, service_id, (type_,))
    names = _names(session)
    people = {p.id: p.name for p in session.exec(select(Person.id, Person.name))}  # type: ignore[call-overload]
    counts = (
        dict(
            session.execute(
                sa.select(TicketEvent.ticket_id, sa.func.count())
                .where(col(TicketEvent.ticket_id).in_([t.id for t in items]))
                .group_by(TicketEvent.ticket_id)
            ).all()
        )
        if items
        else {}
    )
    rows = [
        [
            t.number,
            names.get(t.service_id or "", "-"),
            f"P{t.priority}",
            t.state,
            t.title,
            t.created_at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M"),
            t.acknowledged_at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")
            if t.acknowledged_at
            else None,
            t.resolved_at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")
            if t.resolved_at
            else None,
            people.get(t.assignee_id) if t.assignee_id else None,
            t.resolution,
            t.root_cause,
            counts.get(t.id, 0),
        ]
        for t in items
    ]
    title = (
        "Catatan Penanganan Insiden"
        if type_ == GANGGUAN
        else ("Catatan Permintaan Layanan" if type_ == PERMINTAAN else "Catatan Keluhan")
    )
    return Report(
        f"catatan-{type_}",
        title,
        now,
        start,
        end,
        service_id,
        sections=[
            Table(
                title,
                [
                    "Nomor",
                    "Layanan",
                    "Prioritas",
                    "Status",
                    "Judul",
                    "Dibuat",
                    "Ditanggapi",
                    "Diselesaikan",
                    "Petugas",
                    "Penyelesaian",
                    "Akar masalah",
                    "Jumlah catatan",
                ],
                rows,
            )
        ],
    )
