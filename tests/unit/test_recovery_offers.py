"""A P1 incident on a service with a recovery plan offers the plan to the service's
recovery owner, once per incident, as a run linked to the incident; an outage and the
incident it opened are one disruption, with one offer and one run. On both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, select

from bot.core import outages, recovery_offers, tickets
from bot.core.ticket_states import GANGGUAN, KELUHAN
from bot.dialogue.messages import Incoming, Reply
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import Person, RecoveryOffer, RecoveryRun, Service, Ticket
from tests.helpers import Chat

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 09.00 WIB
COORDINATOR = "teguh.prakoso@kementerian.go.id"  # koordinator_pemulihan, owner of sso
TECHNICIAN = "andi.wijaya@kementerian.go.id"
SSO = "Akun Tunggal Pegawai (Single Sign-On)"
REFUSED = "Maaf, pemulihan layanan hanya dapat dijalankan oleh koordinator pemulihan."


def minutes(n: float) -> datetime:
    return NOW + timedelta(minutes=n)


def offers(chat: Chat) -> list[Reply]:
    return [
        r
        for r in chat.notices()
        if any(c.action.startswith(("rc:tk:", "rc:inc:")) for c in r.choices)
    ]


def second_coordinator(helpdesk: Helpdesk) -> Chat:
    """Another koordinator pemulihan, who owns none of the services."""
    with session_scope(helpdesk.engine) as s:
        s.add(
            Person(
                name="Rina Kusuma", email="rina@kementerian.go.id", roles=["koordinator_pemulihan"]
            )
        )
    return Chat.as_person(helpdesk, "console", "rina@kementerian.go.id")


def staff(helpdesk: Helpdesk) -> Chat:
    with Session(helpdesk.engine) as s:
        email = s.exec(select(Person.email).where(col(Person.roles) == ["pengguna"])).first()
    assert email
    return Chat.as_person(helpdesk, "console", email)


def report(chat: Chat, service: str, impact: str, urgency: str, type_: str = GANGGUAN) -> Ticket:
    chat.say("/lapor tidak bisa masuk ke aplikasi sejak pagi", now=NOW)
    chat.press(f"svc:{service}", now=NOW)
    chat.press(f"type:{type_}", now=NOW)
    chat.press(f"imp:{impact}", now=NOW)
    chat.press(f"urg:{urgency}", now=NOW)
    chat.give_contact(now=NOW)  # asked of an unlinked web reporter only
    chat.press("rep:send", now=NOW)
    return chat.last_ticket()


def runs(helpdesk: Helpdesk) -> list[RecoveryRun]:
    with Session(helpdesk.engine) as s:
        return list(s.exec(select(RecoveryRun)))


def offer_rows(helpdesk: Helpdesk) -> list[RecoveryOffer]:
    with Session(helpdesk.engine) as s:
        return list(s.exec(select(RecoveryOffer)))


def test_a_reported_p1_incident_offers_the_plan_to_the_recovery_owner(helpdesk: Helpdesk) -> None:
    owner = Chat.as_person(helpdesk, "console", COORDINATOR)
    other = second_coordinator(helpdesk)
    ticket = report(staff(helpdesk), "sso", "1", "1")
    assert (ticket.type, ticket.priority) == (GANGGUAN, 1)
    (offer,) = offers(owner)
    assert offer.text == (
        f"Insiden P1 {ticket.number} pada {SSO}: {ticket.title}. Rencana pemulihan: "
        "Pemulihan akun tunggal (SSO) di Pusat Data Cadangan (5 langkah, perkiraan 90 menit, "
        "RTO 120 menit)."
    )
    assert offers(other) == []  # the owner of sso is Teguh, not every coordinator
    owner.replies = [offer]
    owner.press("Mulai pemulihan", now=minutes(3))
    assert f"Pemulihan gangguan: {SSO}" in owner.text
    assert "Langkah 1/5" in owner.text
    owner.act(f"rc:tk:{ticket.id}", now=minutes(4))  # a double press: the same run
    assert "Langkah 1/5" in owner.text
    tech = Chat.as_person(helpdesk, "web", TECHNICIAN)
    tech.act(f"rc:tk:{ticket.id}", now=minutes(4))
    assert tech.text == REFUSED
    (run,) = runs(helpdesk)
    assert (run.kind, run.ticket_id, run.started_at) == ("incident", ticket.id, minutes(3))
    owner.act("rc:tk:424242", now=minutes(5))
    assert "Insiden itu tidak ditemukan." in owner.text


def test_an_incident_is_offered_once_however_its_priority_moves(helpdesk: Helpdesk) -> None:
    owner = Chat.as_person(helpdesk, "console", COORDINATOR)
    ticket = report(staff(helpdesk), "eoffice", "2", "2")  # P3: nothing yet
    assert ticket.priority != 1
    assert offers(owner) == []
    with session_scope(helpdesk.engine) as s:
        t = s.get(Ticket, ticket.id)
        tech = s.exec(select(Person).where(Person.email == TECHNICIAN)).one()
        assert t is not None
        actor = tickets.Actor(tech, "console")
        tickets.set_impact_urgency(s, t, actor, 1, 1, now=minutes(5))  # raised to P1
        tickets.set_impact_urgency(s, t, actor, 1, 2, now=minutes(6))  # P2
        tickets.set_impact_urgency(s, t, actor, 1, 1, now=minutes(7))  # P1 again
        assert recovery_offers.offer_for_ticket(s, t, now=minutes(8)) == 0  # redelivered
    (offer,) = offers(owner)
    assert f"Insiden P1 {ticket.number} pada Naskah Dinas Elektronik (e-Office)" in offer.text
    (row,) = offer_rows(helpdesk)
    assert (row.ticket_id, row.outage_id, row.chats) == (ticket.id, None, 1)


def test_a_p1_confirmed_in_triage_offers_the_plan(helpdesk: Helpdesk, chat: Chat) -> None:
    owner = Chat.as_person(helpdesk, "console", COORDINATOR)
    ticket = report(chat, "sso", "1", "1")  # an unlinked web visitor: held for triage
    assert (ticket.priority, ticket.triage_priority) == (3, 1)
    assert offers(owner) == []
    operator = Chat.as_person(helpdesk, "console", TECHNICIAN)
    operator.say(f"/triase {ticket.number} 1", now=minutes(2))
    (offer,) = offers(owner)
    assert offer.text.startswith(f"Insiden P1 {ticket.number} pada {SSO}")


def test_no_offer_for_other_tickets(helpdesk: Helpdesk) -> None:
    owner = Chat.as_person(helpdesk, "console", COORDINATOR)
    reporter = staff(helpdesk)
    report(reporter, "sso", "1", "1", type_=KELUHAN)  # a P1 complaint is no incident
    report(reporter, "vicon", "1", "1")  # no recovery plan
    assert offers(owner) == []
    assert offer_rows(helpdesk) == []


def test_without_an_owner_every_recovery_coordinator_is_offered(helpdesk: Helpdesk) -> None:
    owner = Chat.as_person(helpdesk, "console", COORDINATOR)
    other = second_coordinator(helpdesk)
    with session_scope(helpdesk.engine) as s:
        sso = s.get(Service, "sso")
        assert sso is not None
        sso.recovery_owner_id = None
        s.add(sso)
    report(staff(helpdesk), "sso", "1", "1")
    assert len(offers(owner)) == 1 and len(offers(other)) == 1


def go_down(helpdesk: Helpdesk, service_id: str, opening: outages.Opening | None = None) -> Ticket:
    with session_scope(helpdesk.engine) as s:
        st = outages.state_of(s, service_id, NOW)
        outage = outages.open_outage(
            s, st, NOW, source="probe", cause="HTTP 503", planned=False, opening=opening
        )
        ticket = s.get(Ticket, outage.ticket_id)
        assert ticket is not None
        s.expunge(ticket)
        return ticket


def test_an_outage_and_its_p1_incident_are_one_offer_and_one_run(helpdesk: Helpdesk) -> None:
    owner = Chat.as_person(helpdesk, "console", COORDINATOR)
    other = second_coordinator(helpdesk)
    ticket = go_down(helpdesk, "sso")
    assert (ticket.type, ticket.priority) == (GANGGUAN, 1)
    (offer,) = offers(owner)
    assert offer.text.startswith(f"{SSO} tidak dapat diakses.")  # the outage's offer
    assert len(offers(other)) == 1  # a critical outage goes to every coordinator, as before
    with session_scope(helpdesk.engine) as s:
        t = s.get(Ticket, ticket.id)
        assert t is not None
        actor = tickets.Actor(s.exec(select(Person).where(Person.email == TECHNICIAN)).one())
        tickets.set_impact_urgency(s, t, actor, 1, 2, now=minutes(1))
        tickets.set_impact_urgency(s, t, actor, 1, 1, now=minutes(2))
    assert offers(owner) == [] and offers(other) == []
    (row,) = offer_rows(helpdesk)
    assert row.ticket_id == ticket.id and row.outage_id is not None
    owner.replies = [offer]
    owner.press("Mulai pemulihan", now=minutes(3))
    owner.act(f"rc:tk:{ticket.id}", now=minutes(4))  # the incident's button: the same run
    other.act(f"rc:inc:{row.outage_id}", now=minutes(4))
    assert "Pemulihan gangguan" in other.text
    (run,) = runs(helpdesk)
    assert (run.kind, run.ticket_id) == ("incident", ticket.id)


def test_a_degraded_critical_service_at_p1_is_offered_to_its_owner(helpdesk: Helpdesk) -> None:
    owner = Chat.as_person(helpdesk, "console", COORDINATOR)
    other = second_coordinator(helpdesk)
    ticket = go_down(helpdesk, "sso", outages.Opening(state="degraded"))
    assert ticket.priority == 1
    (offer,) = offers(owner)  # not critical as an outage (degraded), but a P1 incident
    assert [c.action for c in offer.choices][0].startswith("rc:inc:")
    assert offers(other) == []


def test_a_redelivered_report_offers_nothing_more(helpdesk: Helpdesk) -> None:
    owner = Chat.as_person(helpdesk, "console", COORDINATOR)
    reporter = staff(helpdesk)
    reporter.say("/lapor tidak bisa masuk ke aplikasi sejak pagi", now=NOW)
    reporter.press("svc:sso", now=NOW)
    reporter.press("type:gangguan", now=NOW)
    reporter.press("imp:1", now=NOW)
    reporter.press("urg:1", now=NOW)
    send = Incoming(
        channel=reporter.channel,
        chat_id=reporter.chat_id,
        user_id=reporter.user_id,
        action="rep:send",
        dedupe_key="update-77",
    )
    helpdesk.conversations.handle(send, now=NOW)
    helpdesk.conversations.handle(send, now=NOW)  # the platform delivers it again
    assert len(offers(owner)) == 1
    with Session(helpdesk.engine) as s:
        assert len(s.exec(select(Ticket)).all()) == 1


def test_stopping_an_incident_run_is_not_called_an_exercise(helpdesk: Helpdesk) -> None:
    owner = Chat.as_person(helpdesk, "console", COORDINATOR)
    ticket = report(staff(helpdesk), "sso", "1", "1")
    owner.replies = offers(owner)
    owner.press("Mulai pemulihan", now=minutes(3))
    owner.press("Hentikan", now=minutes(4))
    assert f"Pemulihan {SSO} dihentikan" in owner.text
    assert "Latihan" not in owner.text
    with Session(helpdesk.engine) as s:
        assert s.get(Ticket, ticket.id).state != "ditutup"  # type: ignore[union-attr]
