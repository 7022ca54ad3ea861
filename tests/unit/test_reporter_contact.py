"""An unlinked web chat reporter gives a name and a checked contact; operators see it."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from bot.core import alerts, reporter_contact
from bot.core.errors import HelpdeskError
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import Alert, Notice, Person, Ticket, TicketEvent
from tests.helpers import Chat

DESCRIPTION = "VPN kantor tidak bisa tersambung sejak pagi, muncul galat 809"


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("0812 3456 7890", "+6281234567890"),
        ("+62 812-3456-7890", "+6281234567890"),
        ("6281234567890", "+6281234567890"),
        ("(021) 555 1234", "+62215551234"),
        ("  Budi.Santoso@Kominfo.GO.ID ", "Budi.Santoso@kominfo.go.id"),
    ],
)
def test_contacts_are_normalised(raw: str, stored: str) -> None:
    assert reporter_contact.parse_contact(raw) == stored


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("budi@", "reporter_contact.email_invalid"),
        ("budi@@kominfo.go.id", "reporter_contact.email_invalid"),
        ("budi@localhost", "reporter_contact.email_invalid"),
        ("12345", "reporter_contact.phone_invalid"),
        ("hubungi saya", "reporter_contact.invalid"),
        ("", "reporter_contact.invalid"),
    ],
)
def test_bad_contacts_are_refused_with_their_reason(raw: str, key: str) -> None:
    with pytest.raises(HelpdeskError) as refused:
        reporter_contact.parse_contact(raw)
    assert refused.value.key == key


def test_names_are_tidied_and_checked() -> None:
    assert reporter_contact.parse_name("  Budi   Santoso ") == "Budi Santoso"
    for bad in ("", "B", "12345", "x" * 101):
        with pytest.raises(HelpdeskError):
            reporter_contact.parse_name(bad)


def report_until_contact(chat: Chat) -> None:
    chat.say(f"/lapor {DESCRIPTION}")
    chat.press("svc:vpn")
    chat.press("type:gangguan")
    chat.press("imp:3")
    chat.press("urg:3")


def test_web_reporter_is_asked_refused_asked_again_and_the_ticket_keeps_it(
    helpdesk: Helpdesk, chat: Chat
) -> None:
    report_until_contact(chat)
    assert "siapa nama Anda" in chat.text
    chat.say("B")
    assert "Nama itu belum bisa kami pakai" in chat.text and "siapa nama Anda" in chat.text
    chat.say("Budi Santoso")
    assert "Terima kasih, Budi Santoso" in chat.text and "e-mail atau nomor telepon" in chat.text
    chat.say("budi@kominfo")
    assert 'Alamat e-mail "budi@kominfo" tidak valid' in chat.text
    assert "e-mail atau nomor telepon" in chat.text  # the question again
    chat.say("0812 3456 7890")
    # nothing was lost: the summary has the report and the contact
    assert DESCRIPTION in chat.text and "Kirim laporan ini?" in chat.text
    assert "Kontak: Budi Santoso, +62 812-3456-7890" in chat.text
    chat.press("rep:send")
    assert "sudah kami terima" in chat.text
    with Session(helpdesk.engine) as s:
        ticket = s.exec(select(Ticket)).one()
        assert (ticket.reporter_name, ticket.reporter_contact) == ("Budi Santoso", "+6281234567890")
        event = s.exec(select(TicketEvent).where(TicketEvent.kind == "contact")).one()
        assert (event.new, event.note, event.channel) == ("Budi Santoso", "+6281234567890", "web")
        reporter = s.get(Person, ticket.reporter_id)
        assert reporter is not None and reporter.email is None and reporter.phone is None


def test_the_same_session_is_not_asked_twice_and_may_change_it(
    helpdesk: Helpdesk, chat: Chat
) -> None:
    report_until_contact(chat)
    chat.say("Budi Santoso")
    chat.say("budi@kominfo.go.id")
    chat.press("rep:send")
    report_until_contact(chat)  # the second report goes straight to the summary
    assert "Kirim laporan ini?" in chat.text
    assert "Kontak: Budi Santoso, budi@kominfo.go.id" in chat.text
    assert "sama dengan laporan Anda sebelumnya" in chat.text
    chat.press("rep:contact")
    chat.say("Budi S.")
    chat.say("+62 811 1111 222")
    assert "Kontak: Budi S., +62 811-1111-222" in chat.text
    chat.press("rep:send")
    other = Chat(helpdesk, "web", "visitor-2")  # another session is asked afresh
    report_until_contact(other)
    assert "siapa nama Anda" in other.text
    with Session(helpdesk.engine) as s:
        contacts = [t.reporter_contact for t in s.exec(select(Ticket).order_by(Ticket.id))]
    assert contacts == ["budi@kominfo.go.id", "+628111111222"]


def test_linked_web_sessions_and_other_channels_are_not_asked(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        person = s.exec(select(Person).where(Person.email.is_not(None))).first()  # type: ignore[union-attr]
        assert person is not None and person.email
        email = person.email
    linked_web = Chat.as_person(helpdesk, "web", email)
    telegram = Chat(helpdesk, "telegram", "555")
    for chat in (linked_web, telegram):
        report_until_contact(chat)
        assert "Kirim laporan ini?" in chat.text and "Kontak:" not in chat.text
        chat.press("rep:send")
        assert "sudah kami terima" in chat.text
    with Session(helpdesk.engine) as s:
        assert [t.reporter_contact for t in s.exec(select(Ticket))] == [None, None]


def test_operators_see_the_contact_and_other_users_do_not(
    helpdesk: Helpdesk, chat: Chat, operator: Chat
) -> None:
    report_until_contact(chat)
    chat.say("Budi Santoso")
    chat.say("budi@kominfo.go.id")
    chat.press("rep:send")
    number = chat.last_ticket().number
    # the technician the ticket was given to hears of it with the contact
    with Session(helpdesk.engine) as s:
        assigned = s.exec(select(Notice).where(Notice.kind == "ticket.assigned")).all()
    assert assigned and all(
        "Kontak pelapor: Budi Santoso · budi@kominfo.go.id" in n.payload["text"] for n in assigned
    )
    operator.say(f"/status {number}")
    assert "Kontak pelapor: Budi Santoso · budi@kominfo.go.id" in operator.text
    chat.say(f"/status {number}")  # the reporter's own view has no operator lines
    assert f"Tiket {number}" in chat.text and "Kontak pelapor" not in chat.text
    stranger = Chat(helpdesk, "telegram", "777")
    stranger.say(f"/status {number}")
    assert "budi@kominfo.go.id" not in stranger.text


def test_the_new_ticket_alert_carries_the_contact(helpdesk: Helpdesk, chat: Chat) -> None:
    """A web P1 waits for triage; once an operator confirms it, its alert (posted to the
    operator chats of every channel) names the reporter's contact."""
    chat.say(f"/lapor {DESCRIPTION}")
    chat.press("svc:vpn")
    chat.press("type:gangguan")
    chat.press("imp:1")
    chat.press("urg:1")
    chat.say("Budi Santoso")
    chat.say("0812 3456 7890")
    chat.press("rep:send")
    number = chat.last_ticket().number
    operator = Chat.as_person(helpdesk, "console", Chat.technician_of(helpdesk, "vpn"))
    operator.say(f"/triase {number}")  # the triage prompt names whom to ask
    assert "Kontak pelapor: Budi Santoso · +62 812-3456-7890" in operator.text
    operator.say(f"/triase {number} 1")
    with Session(helpdesk.engine) as s:
        alert = s.exec(select(Alert).where(Alert.kind == "ticket.new")).one()
        text, _ = alerts.render(s, alert, "id")
    assert number in text and "Kontak pelapor: Budi Santoso · +62 812-3456-7890" in text


def test_the_operator_line_is_there_only_with_a_contact() -> None:
    ticket = Ticket(number="INC-X", type="gangguan", title="x")
    assert reporter_contact.operator_line(ticket, "id") is None
    ticket.reporter_name, ticket.reporter_contact = "Ani", "+6281234567890"
    assert reporter_contact.operator_line(ticket, "en") == (
        "Reporter's contact: Ani · +62 812-3456-7890"
    )


def test_the_incident_trail_report_leaves_the_contact_out(helpdesk: Helpdesk, chat: Chat) -> None:
    from bot.reports.trail import trail_report

    report_until_contact(chat)
    chat.say("Budi Santoso")
    chat.say("budi@kominfo.go.id")
    chat.press("rep:send")
    ticket = chat.last_ticket()
    day = ticket.created_at.date()
    with Session(helpdesk.engine) as s:
        report = trail_report(s, day, day, tz="UTC", now=ticket.created_at)
    assert ticket.number in repr(report) and "budi@kominfo.go.id" not in repr(report)
