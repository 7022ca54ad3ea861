"""The use-cases every interface calls, and the rules `tickets.resolve` enforces itself:
called directly here, not through a chat flow or a Slack modal, and compared with what
the chat says today, so the interfaces can switch to them without changing a word."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session, col, func, select

from bot.core import summary, tickets, usecases
from bot.core.errors import HelpdeskError, InvalidTransition, NotAllowed, NotFound
from bot.core.ticket_states import (
    DIKERJAKAN,
    DITUGASKAN,
    GANGGUAN,
    KELUHAN,
    MIN_NOTE,
    OPEN_STATES,
    PERMINTAAN,
    SELESAI,
    requires_root_cause,
)
from bot.core.tickets import Actor
from bot.i18n import t
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import Person, ServiceTechnician, Ticket
from tests.helpers import Chat

NOW = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


def a_user(s: Session) -> Person:
    return next(
        p for p in s.exec(select(Person).order_by(col(Person.id))) if p.roles == ["pengguna"]
    )


def with_role(s: Session, role: str) -> Person:
    return next(p for p in s.exec(select(Person).order_by(col(Person.id))) if role in p.roles)


def technician(s: Session, service: str) -> Person:
    return s.exec(
        select(Person)
        .join(ServiceTechnician, col(ServiceTechnician.person_id) == col(Person.id))
        .where(ServiceTechnician.service_id == service)
        .order_by(col(Person.id))
    ).first()  # type: ignore[return-value]


def ticket_count(helpdesk: Helpdesk) -> int:
    with Session(helpdesk.engine) as s:
        return s.exec(select(func.count()).select_from(Ticket)).one()


def refused(exc: pytest.ExceptionInfo[HelpdeskError]) -> tuple[str, dict[str, object]]:
    return exc.value.key, exc.value.params


# --- the states module ---------------------------------------------------------------------


def test_tickets_uses_the_one_definition_of_states_and_types() -> None:
    assert tickets.OPEN_STATES is OPEN_STATES and tickets.SELESAI is SELESAI
    assert set(tickets.TYPES) == {GANGGUAN, PERMINTAAN, KELUHAN}
    assert [requires_root_cause(x) for x in (GANGGUAN, PERMINTAAN, KELUHAN)] == [
        True,
        False,
        False,
    ]


# --- tickets.resolve holds every caller to the rules ---------------------------------------


def test_resolve_refuses_a_too_short_note_when_called_directly(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        tech = technician(s, "vpn")
        ticket = tickets.open_ticket(
            s, type_=PERMINTAAN, title="akun vpn", service_id="vpn", reporter=a_user(s), now=NOW
        )
        for note in ("", "ok", "  ab \n"):
            with pytest.raises(InvalidTransition) as exc:
                tickets.resolve(s, ticket, Actor(tech, "console"), resolution=note, now=NOW)
            assert refused(exc) == ("ticket.resolution_required", {"n": MIN_NOTE})
        assert ticket.state == DITUGASKAN and ticket.resolved_at is None
        tickets.resolve(s, ticket, Actor(tech, "console"), resolution=" oke ", now=NOW)
        assert (ticket.state, ticket.resolution) == (SELESAI, "oke")


def test_resolve_refuses_an_incident_without_root_cause(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        tech = technician(s, "vpn")
        ticket = tickets.open_ticket(
            s, type_=GANGGUAN, title="vpn putus", service_id="vpn", reporter=a_user(s), now=NOW
        )
        for cause in (None, "", "   "):
            with pytest.raises(InvalidTransition) as exc:
                tickets.resolve(
                    s, ticket, Actor(tech), resolution="klien dipasang ulang", root_cause=cause
                )
            assert refused(exc) == ("ticket.root_cause_required", {})
        assert ticket.state == DITUGASKAN and ticket.root_cause is None


# --- may_resolve / resolve --------------------------------------------------------------------


def test_may_resolve_refuses_with_the_keys_the_interfaces_use(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        user, tech = a_user(s), technician(s, "vpn")
        mine = tickets.open_ticket(
            s, type_=PERMINTAAN, title="akun", service_id="vpn", reporter=user, now=NOW
        )
        done = tickets.open_ticket(
            s, type_=PERMINTAAN, title="akun", service_id="vpn", reporter=user, now=NOW
        )
        tickets.resolve(s, done, Actor(tech), resolution="akun dibuat", now=NOW)
        for who in (user, None):  # a pengguna, even the reporter, and an unknown user
            for number in (mine.number, "INC-2026-999999"):
                with pytest.raises(NotAllowed) as not_allowed:
                    usecases.may_resolve(s, who, number)
                assert refused(not_allowed) == ("auth.operator_only", {})
        with pytest.raises(NotFound) as not_found:
            usecases.may_resolve(s, tech, " inc-2026-999999 ")
        assert refused(not_found) == ("ticket.not_found", {"number": "INC-2026-999999"})
        with pytest.raises(InvalidTransition) as not_open:
            usecases.may_resolve(s, tech, done.number)
        assert refused(not_open) == ("ticket.not_open", {"number": done.number, "state": SELESAI})
        with pytest.raises(HelpdeskError) as no_number:
            usecases.may_resolve(s, tech, "  ")
        assert refused(no_number) == ("usage.number_needed", {})
        assert usecases.may_resolve(s, tech, mine.number.lower()).id == mine.id
        number = done.number
    # the chat says the same today, with the state by its name
    operator = Chat.as_person(helpdesk, "console", Chat.technician_of(helpdesk, "vpn"))
    operator.say(f"/selesaikan {number}")
    expected = t("ticket.not_open", number=number, state=t(f"state.{SELESAI}"))
    assert operator.text == expected
    assert usecases.refusal_text(not_open.value, "id") == expected
    assert usecases.refusal_text(not_found.value, "en") == t(
        "ticket.not_found", "en", number="INC-2026-999999"
    )


def test_resolve_use_case_resolves_once_and_records_the_channel(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        user, tech = a_user(s), technician(s, "vpn")
        ticket = tickets.open_ticket(
            s, type_=GANGGUAN, title="vpn", service_id="vpn", reporter=user, now=NOW
        )
        with pytest.raises(InvalidTransition) as short:
            usecases.resolve(s, tech, "slack", ticket.number, "ok", "disk penuh", now=NOW)
        assert short.value.key == "ticket.resolution_required"
        with pytest.raises(InvalidTransition) as no_cause:
            usecases.resolve(s, tech, "slack", ticket.number, "klien dipasang ulang", now=NOW)
        assert no_cause.value.key == "ticket.root_cause_required"
        with pytest.raises(NotAllowed):
            usecases.resolve(s, user, "web", ticket.number, "sudah bisa", "entah", now=NOW)
        done = usecases.resolve(
            s, tech, "slack", ticket.number, "klien dipasang ulang", "profil rusak", now=NOW
        )
        assert done.id == ticket.id
        assert (done.state, done.resolution, done.root_cause) == (
            SELESAI,
            "klien dipasang ulang",
            "profil rusak",
        )
        last = tickets.history(s, done)[-1]
        assert (last.kind, last.new, last.channel, last.actor_id) == (
            "state",
            SELESAI,
            "slack",
            tech.id,
        )
        with pytest.raises(InvalidTransition) as again:
            usecases.resolve(s, tech, "slack", ticket.number, "lagi", "lagi", now=NOW)
        assert refused(again) == ("ticket.not_open", {"number": done.number, "state": SELESAI})


# --- open_report ------------------------------------------------------------------------------


def test_open_report_validates_its_form(helpdesk: Helpdesk) -> None:
    good = usecases.ReportForm(type=GANGGUAN, description="VPN putus terus", service_id="vpn")
    bad = [
        (usecases.ReportForm(type="insiden", description="VPN putus terus"), "report.incomplete"),
        (
            usecases.ReportForm(type=GANGGUAN, description="VPN putus", impact=0),
            "report.incomplete",
        ),
        (
            usecases.ReportForm(type=GANGGUAN, description="VPN putus", urgency=4),
            "report.incomplete",
        ),
        (usecases.ReportForm(type=GANGGUAN, description=" vpn \n"), "report.description_short"),
        (
            usecases.ReportForm(type=GANGGUAN, description="VPN putus", service_id="nope"),
            "report.service_not_found",
        ),
    ]
    with session_scope(helpdesk.engine) as s:
        user = a_user(s)
        for form, key in bad:
            with pytest.raises(HelpdeskError) as exc:
                usecases.open_report(s, user, "web", "sess-1", form, now=NOW)
            assert exc.value.key == key, form
    assert ticket_count(helpdesk) == 0
    with session_scope(helpdesk.engine) as s:
        ticket = usecases.open_report(s, a_user(s), "web", "sess-1", good, now=NOW)
        assert (ticket.type, ticket.service_id, ticket.priority, ticket.state) == (
            GANGGUAN,
            "vpn",
            4,
            DITUGASKAN,
        )
        assert (ticket.reporter_channel, ticket.reporter_chat_id) == ("web", "sess-1")
    with pytest.raises(HelpdeskError) as short, session_scope(helpdesk.engine) as s:
        form = usecases.ReportForm(type=KELUHAN, description="lama")
        usecases.open_report(s, None, "web", None, form)
    assert refused(short) == ("report.description_short", {"n": usecases.MIN_DESCRIPTION})


def test_open_report_builds_the_same_title_as_the_chat_flow(helpdesk: Helpdesk) -> None:
    first = "Aplikasi e-office menampilkan galat 500 setiap kali saya menandatangani surat keluar"
    description = f"{first}\nsejak pagi ini, di semua peramban"
    chat = Chat(helpdesk, "web", "title-user")
    chat.say("/lapor")
    chat.press("svc:eoffice")
    chat.press("type:keluhan")
    chat.say(description)
    chat.press("imp:3")
    chat.press("urg:3")
    chat.give_contact()
    chat.press("rep:send")
    from_chat = chat.last_ticket()
    assert from_chat.title == first[: usecases.TITLE_LENGTH]
    assert usecases.ticket_title(from_chat.description, KELUHAN, "id") == from_chat.title
    with session_scope(helpdesk.engine) as s:
        form = usecases.ReportForm(
            type=KELUHAN, description=from_chat.description, service_id="eoffice"
        )
        ticket = usecases.open_report(s, a_user(s), "web", "other", form)
        assert (ticket.title, ticket.description) == (from_chat.title, from_chat.description)
    assert usecases.ticket_title("  \n ", PERMINTAAN, "en") == t("type.permintaan", "en")


def test_report_form_from_fields_takes_the_modal_defaults(helpdesk: Helpdesk) -> None:
    with Session(helpdesk.engine) as s:
        blank = usecases.ReportForm.from_fields(s, {"description": "VPN putus"})
        assert blank == usecases.ReportForm(type=GANGGUAN, description="VPN putus")
        stale = usecases.ReportForm.from_fields(
            s, {"service": "gone", "type": "x", "impact": "2", "urgency": "1", "description": "d"}
        )
        assert (stale.service_id, stale.type, stale.impact, stale.urgency) == (None, GANGGUAN, 2, 1)
        kept = usecases.ReportForm.from_fields(s, {"service": "vpn", "type": PERMINTAAN})
        assert (kept.service_id, kept.type) == ("vpn", PERMINTAAN)
        forged = usecases.ReportForm.from_fields(s, {"impact": "tinggi", "description": "VPN mati"})
        with pytest.raises(HelpdeskError) as exc:
            usecases.open_report(s, None, "slack", "D1", forged)
        assert exc.value.key == "report.incomplete"


# --- summary_for ------------------------------------------------------------------------------


def test_summary_for_refuses_a_pengguna(helpdesk: Helpdesk) -> None:
    with Session(helpdesk.engine) as s:
        user, tech = a_user(s), technician(s, "vpn")
        coordinator = with_role(s, "koordinator_layanan")
        for who in (user, None, tech):
            with pytest.raises(NotAllowed) as exc:
                usecases.summary_for(s, who, NOW, "Asia/Jakarta")
            assert refused(exc) == ("summary.not_allowed", {})
            assert not usecases.may_summarise(who)
        result = usecases.summary_for(s, coordinator, NOW, "Asia/Jakarta", "vpn")
        assert isinstance(result, summary.Summary) and result.service_ids == ["vpn"]
    chat = Chat(helpdesk, "web", "curious-user")
    chat.say("/ringkasan")
    assert chat.text == usecases.refusal_text(exc.value, "id") == t("summary.not_allowed")


def test_resolving_an_open_ticket_from_work_state(helpdesk: Helpdesk) -> None:
    """A ticket being worked on (not only a new one) resolves through the use-case."""
    with session_scope(helpdesk.engine) as s:
        tech = technician(s, "vpn")
        ticket = tickets.open_ticket(
            s, type_=PERMINTAAN, title="akun", service_id="vpn", reporter=a_user(s), now=NOW
        )
        tickets.take(s, ticket, Actor(tech), now=NOW)
        assert ticket.state == DIKERJAKAN
        usecases.resolve(s, tech, "console", ticket.number, "akun dibuat", now=NOW)
        assert ticket.state == SELESAI
