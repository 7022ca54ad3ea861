"""/ambil of a ticket another operator holds: asked first, then taken over, and the
previous assignee is told; titles in notices are cut on a word boundary."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from bot.core import notices, tickets
from bot.core.errors import NotAllowed
from bot.core.tickets import Actor
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import Notice, Ticket, TicketEvent
from tests.helpers import Chat
from tests.unit.test_tickets import technicians

NOW = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
TITLE = "Aplikasi persuratan elektronik tidak dapat dibuka dari jaringan kantor wilayah timur"


def held_ticket(helpdesk: Helpdesk) -> tuple[str, Chat, Chat, str]:
    """A ticket the first sso technician works on; chats of both technicians."""
    with session_scope(helpdesk.engine) as s:
        first, second = technicians(s, "sso")[:2]
        t = tickets.open_ticket(s, type_="gangguan", title=TITLE, service_id="sso", now=NOW)
        number = t.number
    a = Chat.as_person(helpdesk, "console", first.email or "")
    b = Chat.as_person(helpdesk, "console", second.email or "")
    a.say(f"/ambil {number}", now=NOW)
    assert "sekarang Anda kerjakan" in a.text
    return number, a, b, first.name


def test_take_of_a_held_ticket_asks_then_takes_over_and_tells(helpdesk: Helpdesk) -> None:
    number, a, b, first_name = held_ticket(helpdesk)
    a.notices()  # what the first take told them is read
    b.say(f"/ambil {number}", now=NOW)
    assert f"sedang dipegang {first_name}" in b.text
    assert b.actions == [f"t:takeover:{number}", "cancel"]
    with Session(helpdesk.engine) as s:  # nothing changed yet
        t = s.exec(select(Ticket).where(Ticket.number == number)).one()
        assert t.assignee_id == technicians(s, "sso")[0].id
    b.press(f"t:takeover:{number}", now=NOW)
    assert f"{first_name} sudah diberi tahu" in b.text
    with Session(helpdesk.engine) as s:
        t = s.exec(select(Ticket).where(Ticket.number == number)).one()
        first, second = technicians(s, "sso")[:2]
        assert t.assignee_id == second.id
        assigns = [
            e
            for e in s.exec(select(TicketEvent).where(TicketEvent.ticket_id == t.id))
            if e.kind == "assign"
        ]
        # two assignments recorded: to the first, then from the first to the second
        assert [(e.old, e.new) for e in assigns] == [
            (None, str(first.id)),
            (str(first.id), str(second.id)),
        ]
    told = [n.text for n in a.notices()]
    assert len(told) == 1 and "diambil alih oleh" in told[0] and number in told[0]
    # the title is cut on a word boundary: no half word before the " …"
    shown = told[0].split("(", 1)[1].rsplit(")", 1)[0]
    assert shown.endswith(" …") and TITLE.startswith(shown[: -len(" …")])
    assert TITLE[len(shown) - len(" …")] == " "  # the cut falls on a space
    assert len(shown) <= notices.TITLE_WIDTH


def test_cancel_leaves_the_ticket_with_its_holder(helpdesk: Helpdesk) -> None:
    number, a, b, _ = held_ticket(helpdesk)
    a.notices()
    b.say(f"/ambil {number}", now=NOW)
    b.press("cancel", now=NOW)
    with Session(helpdesk.engine) as s:
        t = s.exec(select(Ticket).where(Ticket.number == number)).one()
        assert t.assignee_id == technicians(s, "sso")[0].id
    assert a.notices() == []


def test_the_core_refuses_a_takeover_not_confirmed(helpdesk: Helpdesk) -> None:
    number, _, _, _ = held_ticket(helpdesk)
    with session_scope(helpdesk.engine) as s:
        second = technicians(s, "sso")[1]
        t = tickets.find(s, number, second, for_update=True)
        with pytest.raises(NotAllowed) as err:
            tickets.take(s, t, Actor(second, "console"), now=NOW, takeover=False)
        assert err.value.key == "ticket.take_held"


def test_taking_again_ones_own_ticket_asks_nothing(helpdesk: Helpdesk) -> None:
    number, a, _, _ = held_ticket(helpdesk)
    a.say(f"/ambil {number}", now=NOW)
    assert "sekarang Anda kerjakan" in a.text
    with Session(helpdesk.engine) as s:
        assert s.exec(select(Notice).where(Notice.kind == "ticket.taken_over")).all() == []


def test_short_title_cuts_on_a_word_boundary() -> None:
    # 60 characters at most, " …" included: the words that fit are kept whole
    assert notices.short_title(TITLE) == "Aplikasi persuratan elektronik tidak dapat dibuka dari …"
    assert notices.short_title("VPN mati") == "VPN mati"
