"""Scheduled posts to coordinators: working days only, once per date, to the right people."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from bot.channels import registry
from bot.core.business_calendar import Holidays
from bot.reports import scheduled_posts
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import Identity, Notice, Person

HOLIDAYS = Holidays(frozenset(), True)
PUSH = registry.push_channels()


@pytest.fixture
def coordinator_chat(helpdesk: Helpdesk) -> str:
    with session_scope(helpdesk.engine) as s:
        person = next(p for p in s.exec(select(Person)) if "koordinator_layanan" in p.roles)
        s.add(Identity(person_id=person.id, channel="telegram", external_id="9001"))
    return "9001"


def posted(helpdesk: Helpdesk) -> list[Notice]:
    with Session(helpdesk.engine) as s:
        return list(s.exec(select(Notice).where(Notice.kind == "report.scheduled")))


def test_daily_summary_on_a_working_day_once(helpdesk: Helpdesk, coordinator_chat: str) -> None:
    now = datetime(2026, 3, 4, 0, 30, tzinfo=UTC)  # Wednesday 07:30 WIB
    extra = ["slack:C-KOORD"]
    assert (
        scheduled_posts.daily_summary(
            helpdesk.engine, now, "Asia/Jakarta", extra, HOLIDAYS, push_channels=PUSH
        )
        == 2
    )
    assert (
        scheduled_posts.daily_summary(
            helpdesk.engine, now, "Asia/Jakarta", extra, HOLIDAYS, push_channels=PUSH
        )
        == 0
    )
    rows = posted(helpdesk)
    assert {(n.channel, n.target) for n in rows} == {
        ("telegram", coordinator_chat),
        ("slack", "C-KOORD"),
    }
    assert all("Ringkasan status" in n.payload["text"] for n in rows)


@pytest.mark.parametrize(
    "when",
    [
        datetime(2026, 3, 7, 0, 30, tzinfo=UTC),  # Saturday
        datetime(2026, 8, 17, 0, 30, tzinfo=UTC),  # Hari Kemerdekaan (Monday)
    ],
)
def test_no_daily_summary_on_weekends_and_holidays(
    helpdesk: Helpdesk, coordinator_chat: str, when: datetime
) -> None:
    assert (
        scheduled_posts.daily_summary(
            helpdesk.engine, when, "Asia/Jakarta", [], HOLIDAYS, push_channels=PUSH
        )
        == 0
    )
    assert posted(helpdesk) == []


def test_weekly_and_monthly_reports(helpdesk: Helpdesk, coordinator_chat: str) -> None:
    monday = datetime(2026, 3, 9, 1, 0, tzinfo=UTC)  # Monday 08:00 WIB
    assert (
        scheduled_posts.weekly_report(
            helpdesk.engine, monday, "Asia/Jakarta", [], push_channels=PUSH
        )
        == 1
    )
    first = datetime(2026, 4, 1, 1, 0, tzinfo=UTC)
    assert (
        scheduled_posts.monthly_report(
            helpdesk.engine, first, "Asia/Jakarta", [], push_channels=PUSH
        )
        == 1
    )
    texts = sorted(n.payload["text"] for n in posted(helpdesk))
    assert "2026-03-01 s.d. 2026-03-31" in texts[0] and "bulanan" in texts[0]
    assert "2026-03-02 s.d. 2026-03-08" in texts[1] and "mingguan" in texts[1]
    assert all("Tiket masuk" in x for x in texts)


def test_nobody_to_tell(helpdesk: Helpdesk) -> None:
    now = datetime(2026, 3, 4, 0, 30, tzinfo=UTC)
    assert (
        scheduled_posts.daily_summary(
            helpdesk.engine, now, "Asia/Jakarta", [], HOLIDAYS, push_channels=PUSH
        )
        == 0
    )


@pytest.fixture
def english_coordinator(helpdesk: Helpdesk, coordinator_chat: str) -> str:
    """The coordinator of `coordinator_chat` reads English."""
    with session_scope(helpdesk.engine) as s:
        ident = s.exec(select(Identity).where(Identity.external_id == coordinator_chat)).one()
        person = s.get(Person, ident.person_id)
        assert person is not None
        person.lang = "en"
        s.add(person)
    return coordinator_chat


def test_each_recipient_reads_their_language(
    helpdesk: Helpdesk, english_coordinator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds: list[str] = []
    real = scheduled_posts.build_report

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        builds.append(kwargs["lang"])
        return real(*args, **kwargs)

    monkeypatch.setattr(scheduled_posts, "build_report", counting)
    monday = datetime(2026, 3, 9, 1, 0, tzinfo=UTC)
    extra = ["slack:C-ONE", "slack:C-TWO"]  # configured channels read Indonesian
    assert (
        scheduled_posts.weekly_report(
            helpdesk.engine, monday, "Asia/Jakarta", extra, push_channels=PUSH
        )
        == 3
    )
    assert builds == ["id", "en"]  # once per language, not once per recipient
    text = {n.target: n.payload["text"] for n in posted(helpdesk)}
    assert "mingguan" in text["C-ONE"] and "Tiket masuk" in text["C-ONE"]
    assert text["C-ONE"] == text["C-TWO"]
    english = text[english_coordinator]
    assert "Weekly" in english and "2026-03-02 to 2026-03-08" in english
    assert "Tickets received" in english and "Tiket" not in english


def test_daily_summary_in_the_coordinators_language(
    helpdesk: Helpdesk, english_coordinator: str
) -> None:
    now = datetime(2026, 3, 4, 0, 30, tzinfo=UTC)
    extra = ["slack:C-KOORD"]
    assert (
        scheduled_posts.daily_summary(
            helpdesk.engine, now, "Asia/Jakarta", extra, HOLIDAYS, push_channels=PUSH
        )
        == 2
    )
    text = {n.target: n.payload["text"] for n in posted(helpdesk)}
    assert "Ringkasan status" in text["C-KOORD"]
    assert "Status summary" in text[english_coordinator]


def test_push_channels_can_be_passed_in(helpdesk: Helpdesk, coordinator_chat: str) -> None:
    now = datetime(2026, 3, 4, 0, 30, tzinfo=UTC)
    sent = scheduled_posts.daily_summary(
        helpdesk.engine, now, "Asia/Jakarta", [], HOLIDAYS, push_channels={"slack"}
    )
    assert sent == 0  # the coordinator's only account is on Telegram
    with Session(helpdesk.engine) as s:
        assert scheduled_posts.targets(s, [], push_channels={"telegram"}) == [
            ("telegram", coordinator_chat, "id")
        ]
