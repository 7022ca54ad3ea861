"""Maintenance windows: Indonesian times, scheduling in chat (one line and guided),
overlaps, and the 24 h / 1 h / start / end announcements at chosen times."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, col, select

from bot.core import alerts, maintenance
from bot.core.errors import HelpdeskError
from bot.core.tickets import open_ticket
from bot.core.when import WhenError, parse_span
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import Identity, MaintenanceWindow, Notice, Person, ServiceDay
from tests.helpers import Chat

WIB = ZoneInfo("Asia/Jakarta")
NOW = dt.datetime(2024, 12, 10, 2, 0, tzinfo=dt.UTC)  # Tuesday 10 Dec 2024, 09.00 WIB


def wib(day: int, hour: int, minute: int = 0, month: int = 12) -> dt.datetime:
    return dt.datetime(2024, month, day, hour, minute, tzinfo=WIB)


@pytest.mark.parametrize(
    ("text", "start", "end", "rest"),
    [
        (
            "Sabtu 14 Des 22.00–02.00 VPN tidak dapat diakses",
            wib(14, 22),
            wib(15, 2),
            "VPN tidak dapat diakses",
        ),
        ("besok 20.00-22.00", wib(11, 20), wib(11, 22), ""),
        (
            "14/12 22:00 s.d. 15/12 02:00 pemindahan server",
            wib(14, 22),
            wib(15, 2),
            "pemindahan server",
        ),
        ("lusa jam 21 sampai 23", wib(12, 21), wib(12, 23), ""),
        ("Senin depan 08.00-10.00 WIB", wib(16, 8), wib(16, 10), ""),
        ("hari ini 23.00 - 23.30", wib(10, 23), wib(10, 23, 30), ""),
        ("Sabtu 22.00-02.00", wib(14, 22), wib(15, 2), ""),
        ("14 Desember 2024 pukul 22.00 s/d 02.00", wib(14, 22), wib(15, 2), ""),
        ("2024-12-20 10:00 - 2024-12-21 10:00", wib(20, 10), wib(21, 10), ""),
        ("Jumat 13 Des 22.00 WITA - 01.00", wib(13, 21), wib(14, 0), ""),
        ("20.00–22.00 Migrasi basis data", wib(10, 20), wib(10, 22), "Migrasi basis data"),
        ("08.00-07.00", wib(11, 8), wib(12, 7), ""),
        (
            "2/1 08.00 - 10.00",
            dt.datetime(2025, 1, 2, 8, tzinfo=WIB),
            dt.datetime(2025, 1, 2, 10, tzinfo=WIB),
            "",
        ),
    ],
)
def test_indonesian_times(text: str, start: dt.datetime, end: dt.datetime, rest: str) -> None:
    span = parse_span(text, NOW)
    assert (span.start, span.end, span.rest) == (start, end, rest)
    assert span.start.tzinfo == dt.UTC


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Senin 14 Des 22.00-23.00", "maintenance.when.weekday_mismatch"),
        ("kemarin 10.00-11.00", "maintenance.when.unreadable"),
        ("besok", "maintenance.when.no_time"),
        ("besok 20.00", "maintenance.when.no_end"),
        ("hari ini 08.00-09.00", "maintenance.when.in_past"),
        ("besok 25.00-26.00", "maintenance.when.bad_time"),
        ("31/2 10.00-11.00", "maintenance.when.bad_date"),
        ("14/12 10:00 - 30/12 10:00", "maintenance.when.too_long"),
        ("", "maintenance.when.empty"),
    ],
)
def test_unreadable_times_say_why(text: str, key: str) -> None:
    with pytest.raises(WhenError) as err:
        parse_span(text, NOW)
    assert err.value.key == key


def coordinator(helpdesk: Helpdesk) -> Chat:
    return Chat.as_person(helpdesk, "console", "nur.hidayati@kementerian.go.id")


def test_one_line_schedule_roles_and_overlap(helpdesk: Helpdesk, chat: Chat) -> None:
    coord = coordinator(helpdesk)
    coord.say(
        "/pemeliharaan jadwalkan vpn Sabtu 14 Des 22.00–02.00 VPN tidak dapat diakses", now=NOW
    )
    assert (
        "dijadwalkan" in coord.text
        and "Akses Jarak Jauh (VPN)" in coord.text
        and "14 Des 2024 22.00 WIB" in coord.text
    )
    chat.say("/pemeliharaan jadwalkan vpn besok 20.00-22.00 uji", now=NOW)
    assert "Hanya koordinator layanan" in chat.text
    chat.say("/pemeliharaan", now=NOW)  # everyone may read the schedule
    assert "VPN tidak dapat diakses" in chat.text and "mw:new" not in chat.actions
    coord.say("/pemeliharaan jadwalkan vpn,email 15/12 01:00 s.d. 15/12 03:00 migrasi", now=NOW)
    assert (
        "bertabrakan dengan pemeliharaan #1" in coord.text and "/pemeliharaan batal 1" in coord.text
    )
    coord.say("/maintenance schedule email 15/12 01:00 - 03:00 migrasi surel", now=NOW)
    assert "#2" in coord.text
    coord.say("/pemeliharaan jadwalkan vpn Senin 14 Des 22.00-23.00 x", now=NOW)
    assert "jatuh pada hari Sabtu, bukan Senin" in coord.text
    with Session(helpdesk.engine) as s:
        assert len(list(s.exec(select(MaintenanceWindow)))) == 2


def test_guided_flow_and_cancel(helpdesk: Helpdesk) -> None:
    coord = coordinator(helpdesk)
    coord.say("/pemeliharaan", now=NOW)
    coord.press("mw:new", now=NOW)
    coord.press("mw:svc:email", now=NOW)
    coord.say("kapan-kapan saja", now=NOW)
    assert "tidak dapat dibaca" in coord.text
    coord.say("besok 20.00-22.00", now=NOW)
    assert "dampak" in coord.text.lower()
    coord.say("Surel tidak dapat diakses", now=NOW)
    assert "Jadwalkan pemeliharaan ini?" in coord.text
    coord.press("mw:ok", now=NOW)
    assert "#1 dijadwalkan" in coord.text and "11 Des 2024 20.00 WIB" in coord.text
    coord.say("/pemeliharaan batal 1", now=NOW)
    assert "dibatalkan" in coord.text
    coord.say("/pemeliharaan batal 1", now=NOW)
    assert "tidak ditemukan" in coord.text


def test_schedule_refuses_for_users_and_unknown_services(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        user = s.exec(
            select(Person).where(Person.email == "lina.marlina@kementerian.go.id")
        ).first()
        with pytest.raises(HelpdeskError) as err:
            maintenance.schedule(s, user, ["vpn"], wib(14, 22), wib(15, 2), "x", now=NOW)
        assert err.value.key == "maintenance.not_allowed"
        with pytest.raises(HelpdeskError) as err:
            maintenance.schedule(s, None, ["nope"], wib(14, 22), wib(15, 2), "x", now=NOW)
        assert err.value.key == "maintenance.unknown_service"


def test_announcements_at_chosen_times(helpdesk: Helpdesk, chat: Chat) -> None:
    start, end = wib(14, 22), wib(15, 2)
    with session_scope(helpdesk.engine) as s:
        alerts.register_operator_channel(s, "slack", "C0OPS", None)
        # a user who once reported the VPN from the web chat, and linked Telegram too
        reporter = s.exec(
            select(Person).where(Person.email == "ahmad.fauzi@kementerian.go.id")
        ).one()
        s.add(Identity(person_id=reporter.id, channel="telegram", external_id="4242"))
        open_ticket(
            s,
            type_="gangguan",
            title="VPN putus",
            service_id="vpn",
            reporter=reporter,
            channel="web",
            chat_id="visitor-1",
            now=NOW - dt.timedelta(days=30),
        )
        open_ticket(
            s,
            type_="gangguan",
            title="Surel lambat",
            service_id="email",
            reporter=None,
            channel="web",
            chat_id="someone-else",
            now=NOW - dt.timedelta(days=30),
        )
        window = maintenance.schedule(
            s, None, ["vpn"], start, end, "VPN tidak dapat diakses", now=NOW
        )
        wid = window.id

    def sent() -> list[tuple[str, str, str]]:
        with Session(helpdesk.engine) as s:
            rows = s.exec(
                select(Notice).where(Notice.kind == "maintenance").order_by(col(Notice.id))
            )
            return [(n.dedupe_key.split(":")[2], n.channel, n.target) for n in rows]

    tick = maintenance.maintenance_tick
    assert tick(helpdesk.engine, start - dt.timedelta(hours=25)) == 0
    assert tick(helpdesk.engine, start - dt.timedelta(hours=23)) == 3
    assert sent() == [
        ("24h", "slack", "C0OPS"),
        ("24h", "web", "visitor-1"),
        ("24h", "telegram", "4242"),
    ]
    assert tick(helpdesk.engine, start - dt.timedelta(hours=22)) == 0  # nothing twice
    assert tick(helpdesk.engine, start - dt.timedelta(minutes=59)) == 3
    assert tick(helpdesk.engine, start + dt.timedelta(minutes=1)) == 3
    assert tick(helpdesk.engine, end - dt.timedelta(minutes=1)) == 0
    assert tick(helpdesk.engine, end + dt.timedelta(minutes=1)) == 3
    assert [stage for stage, _, _ in sent()] == ["24h"] * 3 + ["1h"] * 3 + ["start"] * 3 + [
        "end"
    ] * 3
    texts = [n.text for n in chat.notices() if "emeliharaan" in n.text]
    assert (
        "Pemberitahuan pemeliharaan terjadwal" in texts[0] and "14 Des 2024 22.00 WIB" in texts[0]
    )
    assert "VPN tidak dapat diakses" in texts[0] and "telah selesai" in texts[-1]
    with Session(helpdesk.engine) as s:
        days = {
            d.day: d.maintenance_s
            for d in s.exec(select(ServiceDay).where(ServiceDay.service_id == "vpn"))
        }
        assert days == {dt.date(2024, 12, 14): 7200, dt.date(2024, 12, 15): 7200}
        assert s.get(MaintenanceWindow, wid).rolled_up  # type: ignore[union-attr]


def test_late_scheduler_skips_stale_stages_and_cancellation_is_announced(
    helpdesk: Helpdesk,
) -> None:
    start = wib(10, 12)
    with session_scope(helpdesk.engine) as s:
        alerts.register_operator_channel(s, "telegram", "-1001", None)
        wid = maintenance.schedule(
            s, None, ["email"], start, start + dt.timedelta(hours=1), "x", now=NOW
        ).id
        later = maintenance.schedule(s, None, ["email"], wib(12, 12), wib(12, 13), "y", now=NOW).id
    assert maintenance.maintenance_tick(helpdesk.engine, start - dt.timedelta(minutes=30)) == 1
    with Session(helpdesk.engine) as s:
        assert [n.dedupe_key.split(":")[2] for n in s.exec(select(Notice))] == ["1h"]
    maintenance.maintenance_tick(helpdesk.engine, wib(11, 13))
    with session_scope(helpdesk.engine) as s:
        maintenance.cancel(s, None, later or 0, now=wib(11, 13))
    with Session(helpdesk.engine) as s:
        keys = [
            n.dedupe_key.split(":")[1:3] for n in s.exec(select(Notice).order_by(col(Notice.id)))
        ]
        assert keys == [
            [str(wid), "1h"],
            [str(wid), "end"],
            [str(later), "24h"],
            [str(later), "cancelled"],
        ]


def test_forged_button_is_refused(helpdesk: Helpdesk, chat: Chat) -> None:
    replies = chat.act("mw:new", now=NOW)
    assert [r.kind for r in replies] == ["error"] and "koordinator layanan" in replies[0].text
    chat.act("mw:ok", now=NOW)
    with Session(helpdesk.engine) as s:
        assert s.exec(select(MaintenanceWindow)).first() is None
