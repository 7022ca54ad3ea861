"""Anonymous abuse: limits on turns, tickets and link attempts (counted in the database),
and triage of the P1/P2 an unverified web visitor claims instead of paging everybody."""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from bot.channels import registry
from bot.channels.base import Capabilities, ChannelSpec
from bot.config import Settings
from bot.core import limits, people, usecases
from bot.core.limits import LimitExceeded, Limits
from bot.dialogue.engine import Conversations
from bot.dialogue.messages import Incoming
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import Alert, Person, Ticket, TicketEvent
from tests.helpers import Chat

NOW = datetime(2026, 3, 2, 3, 0, 10, tzinfo=UTC)
ADDRESS = "203.0.113.7"


def limited(helpdesk: Helpdesk, **caps: int) -> Helpdesk:
    """The product with other limits: a new engine over the same database."""
    conversations = Conversations(helpdesk.engine, helpdesk.kb, limits=Limits(**caps))
    return dataclasses.replace(helpdesk, conversations=conversations)


def say(helpdesk: Helpdesk, chat_id: str, text: str, now: datetime, address: str | None = None):  # type: ignore[no-untyped-def]
    msg = Incoming(channel="web", chat_id=chat_id, user_id=chat_id, text=text, address=address)
    return helpdesk.conversations.handle(msg, now=now)


def report(chat: Chat, impact: str, urgency: str, service: str = "vpn") -> list:  # type: ignore[type-arg]
    chat.say("/lapor vpn putus setiap lima menit", now=NOW)
    chat.press(f"svc:{service}", now=NOW)
    chat.press("type:gangguan", now=NOW)
    chat.press(f"imp:{impact}", now=NOW)
    chat.press(f"urg:{urgency}", now=NOW)
    chat.give_contact(now=NOW)
    return chat.press("rep:send", now=NOW)


# --- turn limits ----------------------------------------------------------------------


def test_turns_per_chat_are_limited_per_minute(helpdesk: Helpdesk) -> None:
    hd = limited(helpdesk, turns_per_minute_per_chat=3)
    for _ in range(3):
        assert "terlalu cepat" not in say(hd, "spammer", "/bantuan", NOW)[0].text
    refused = say(hd, "spammer", "/bantuan", NOW)
    assert refused[0].kind == "error" and "terlalu cepat" in refused[0].text
    assert "terlalu cepat" not in say(hd, "another", "/bantuan", NOW)[0].text
    assert "terlalu cepat" not in say(hd, "spammer", "/bantuan", NOW + timedelta(minutes=1))[0].text


def test_turns_per_address_are_limited_across_invented_sessions(helpdesk: Helpdesk) -> None:
    hd = limited(helpdesk, turns_per_minute_per_address=4)
    for n in range(4):
        assert "terlalu cepat" not in say(hd, f"s{n}", "/bantuan", NOW, ADDRESS)[0].text
    assert "terlalu cepat" in say(hd, "s-new", "/bantuan", NOW, ADDRESS)[0].text
    assert "terlalu cepat" not in say(hd, "s-new", "/bantuan", NOW, "198.51.100.1")[0].text


def test_redeliveries_do_not_use_up_the_turn_limit(helpdesk: Helpdesk) -> None:
    hd = limited(helpdesk, turns_per_minute_per_chat=2)

    def deliver(key: str):  # type: ignore[no-untyped-def]
        msg = Incoming(
            channel="telegram", chat_id="42", user_id="42", text="/bantuan", dedupe_key=key
        )
        return hd.conversations.handle(msg, now=NOW)

    assert "terlalu cepat" not in deliver("update-1")[0].text
    for _ in range(5):  # the platform retries: dropped, and not counted
        assert deliver("update-1") == []
    assert "terlalu cepat" not in deliver("update-2")[0].text
    assert "terlalu cepat" in deliver("update-3")[0].text  # first deliveries still count


def test_the_window_is_a_function_of_now() -> None:
    at = datetime(2026, 3, 2, 3, 0, 59, tzinfo=UTC)
    assert limits.window_start(at, limits.MINUTE) == datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
    assert limits.window_start(at, limits.HOUR) == datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


# --- ticket creation ------------------------------------------------------------------


def form() -> usecases.ReportForm:
    return usecases.ReportForm(type="gangguan", description="printer macet lagi", impact=3)


def test_tickets_per_person_per_hour(helpdesk: Helpdesk) -> None:
    caps = Limits(tickets_per_hour_per_person=2)
    with session_scope(helpdesk.engine) as s:
        visitor = people.ensure_person(s, "web", "visitor-x")
        for _ in range(2):
            usecases.open_report(s, visitor, "web", "visitor-x", form(), now=NOW, limits=caps)
        with pytest.raises(LimitExceeded) as refused:
            usecases.open_report(s, visitor, "web", "visitor-x", form(), now=NOW, limits=caps)
        assert refused.value.key == "limit.tickets" and refused.value.params == {"n": 2}
        later = NOW + timedelta(hours=1, seconds=1)
        usecases.open_report(s, visitor, "web", "visitor-x", form(), now=later, limits=caps)


def test_tickets_per_address_per_hour_whatever_the_session(helpdesk: Helpdesk) -> None:
    caps = Limits(tickets_per_hour_per_address=2)
    with session_scope(helpdesk.engine) as s:
        for n in range(2):
            visitor = people.ensure_person(s, "web", f"v{n}")
            usecases.open_report(
                s, visitor, "web", f"v{n}", form(), now=NOW, limits=caps, address=ADDRESS
            )
        visitor = people.ensure_person(s, "web", "v-new")
        with pytest.raises(LimitExceeded):
            usecases.open_report(
                s, visitor, "web", "v-new", form(), now=NOW, limits=caps, address=ADDRESS
            )


def test_the_guided_report_says_the_limit_in_indonesian(helpdesk: Helpdesk) -> None:
    hd = limited(helpdesk, tickets_per_hour_per_person=1)
    chat = Chat(hd, "web", "eager")
    report(chat, "3", "3")
    assert "INC-" in chat.text
    report(chat, "3", "3")
    assert "batas pembuatan laporan sudah tercapai (1 laporan per jam)" in chat.text
    with Session(helpdesk.engine) as s:
        assert len(s.exec(select(Ticket)).all()) == 1


# --- triage ---------------------------------------------------------------------------


def alerts_of(helpdesk: Helpdesk, number: str) -> list[Alert]:
    with Session(helpdesk.engine) as s:
        ticket = s.exec(select(Ticket).where(Ticket.number == number)).one()
        return list(s.exec(select(Alert).where(Alert.ticket_id == ticket.id)))


def test_p1_of_an_unlinked_web_visitor_waits_for_triage_then_pages(
    helpdesk: Helpdesk, chat: Chat
) -> None:
    report(chat, "1", "1")
    assert "sudah kami terima" in chat.text and "diperiksa oleh petugas" in chat.text
    ticket = chat.last_ticket()
    assert (ticket.priority, ticket.triage_priority) == (3, 1)
    assert alerts_of(helpdesk, ticket.number) == []

    technician = Chat.as_person(helpdesk, "console", Chat.technician_of(helpdesk, "vpn"))
    technician.say("/antrian", now=NOW)
    assert f"{ticket.number} · P3" in technician.text and "triase (diminta P1)" in technician.text
    chat.say(f"/triase {ticket.number} 1", now=NOW)  # the reporter may not
    assert "hanya untuk pengelola teknis" in chat.text

    technician.say(f"/triase {ticket.number}", now=NOW)
    assert "menunggu triase" in technician.text
    technician.press(f"tr:set:{ticket.number}:1", now=NOW)
    assert "grup operator sudah diberi peringatan" in technician.text
    (alert,) = alerts_of(helpdesk, ticket.number)
    assert (alert.kind, alert.priority) == ("ticket.new", 1)
    with Session(helpdesk.engine) as s:
        settled = s.exec(select(Ticket).where(Ticket.number == ticket.number)).one()
        assert (settled.priority, settled.triage_priority) == (1, None)
        kinds = [
            (e.kind, e.old, e.new)
            for e in s.exec(select(TicketEvent).where(TicketEvent.ticket_id == settled.id))
        ]
    assert ("triage", "P1", "P1") in kinds and ("priority", "3", "1") in kinds
    technician.say(f"/triase {ticket.number} 2", now=NOW)
    assert "tidak sedang menunggu triase" in technician.text


def test_an_operator_may_lower_the_priority_and_nobody_is_paged(
    helpdesk: Helpdesk, chat: Chat
) -> None:
    report(chat, "1", "2")
    number = chat.last_ticket().number
    technician = Chat.as_person(helpdesk, "console", Chat.technician_of(helpdesk, "vpn"))
    technician.say(f"/triase {number} 4", now=NOW)
    assert "ditetapkan P4" in technician.text
    assert alerts_of(helpdesk, number) == []


def test_a_linked_reporter_pages_at_once(helpdesk: Helpdesk) -> None:
    with Session(helpdesk.engine) as s:
        email = s.exec(select(Person.email).where(col(Person.roles) == ["pengguna"])).first()
    assert email
    staff = Chat.as_person(helpdesk, "web", email)
    report(staff, "1", "1")
    ticket = staff.last_ticket()
    assert (ticket.priority, ticket.triage_priority) == (1, None)
    assert [a.kind for a in alerts_of(helpdesk, ticket.number)] == ["ticket.new"]


# --- /tautkan -------------------------------------------------------------------------


def test_link_attempts_are_throttled_and_failures_logged(
    helpdesk: Helpdesk, chat: Chat, caplog: pytest.LogCaptureFixture
) -> None:
    with session_scope(helpdesk.engine) as s:
        person = s.exec(select(Person).where(col(Person.email).is_not(None))).first()
        assert person is not None
        code = people.issue_link_code(s, person, ttl=timedelta(hours=2), now=NOW)
    caplog.set_level(logging.WARNING)
    for n in range(5):
        chat.say(f"/tautkan SALAH{n:03d}", now=NOW)
        assert "Kode tidak berlaku" in chat.text
    refused = [r for r in caplog.records if "link code refused" in r.getMessage()]
    assert len(refused) == 5 and all(r.levelno == logging.WARNING for r in refused)
    assert not any("SALAH" in r.getMessage() for r in caplog.records)
    chat.say(f"/tautkan {code}", now=NOW)  # even the right code waits now
    assert "terlalu banyak percobaan" in chat.text
    chat.say(f"/tautkan {code}", now=NOW + timedelta(hours=1))
    assert "sekarang tertaut" in chat.text


def test_the_registry_names_the_channels_anyone_may_use() -> None:
    assert registry.anonymous_channels() == frozenset({"web"})
    kiosk = ChannelSpec(
        name="kiosk", enabled=lambda _: True, capabilities=Capabilities("pull", anonymous=True)
    )
    assert registry.anonymous_channels([*registry.CHANNELS, kiosk]) == {"web", "kiosk"}


def test_triage_follows_the_channels_the_engine_is_given(helpdesk: Helpdesk) -> None:
    """The core names no channel: which ones hold an unlinked P1 comes from the specs."""
    kiosk = Conversations(helpdesk.engine, helpdesk.kb, anonymous_channels={"kiosk"})
    held = Chat(dataclasses.replace(helpdesk, conversations=kiosk), "kiosk", "walk-in")
    report(held, "1", "1")
    assert (held.last_ticket().priority, held.last_ticket().triage_priority) == (3, 1)
    web = Chat(dataclasses.replace(helpdesk, conversations=kiosk), "web", "visitor-9")
    report(web, "1", "1")
    assert (web.last_ticket().priority, web.last_ticket().triage_priority) == (1, None)


def test_the_cli_builds_the_product_with_the_registry_s_anonymous_channels(
    settings: Settings,
) -> None:
    from bot.cli._boot import build_helpdesk

    hd = build_helpdesk(settings)
    try:
        assert hd.conversations.anonymous_channels == registry.anonymous_channels()
    finally:
        hd.engine.dispose()


@pytest.mark.parametrize("how", ["cancel", "withdraw"])
def test_a_ticket_that_leaves_the_open_states_untriaged_drops_the_mark(
    helpdesk: Helpdesk, chat: Chat, how: str
) -> None:
    report(chat, "1", "1")
    number = chat.last_ticket().number
    technician = Chat.as_person(helpdesk, "console", Chat.technician_of(helpdesk, "vpn"))
    who = technician if how == "cancel" else chat  # the reporter may withdraw it too
    who.say(f"/batalkan {number} laporan ganda", now=NOW)
    assert "dibatalkan" in who.text
    with Session(helpdesk.engine) as s:
        ticket = s.exec(select(Ticket).where(Ticket.number == number)).one()
        assert (ticket.state, ticket.triage_priority) == ("dibatalkan", None)
        events = [
            (e.kind, e.old, e.new)
            for e in s.exec(
                select(TicketEvent)
                .where(TicketEvent.ticket_id == ticket.id)
                .order_by(col(TicketEvent.id))
            )
        ]
    assert [e[0] for e in events[-2:]] == ["state", "triage"]
    assert events[-2][2] == "dibatalkan" and events[-1][1:] == ("P1", None)
    technician.say(f"/status {number}", now=NOW)
    assert number in technician.text and "triase" not in technician.text
    technician.say(f"/triase {number} 1", now=NOW)
    assert "tidak sedang menunggu triase" in technician.text
