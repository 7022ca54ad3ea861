"""End-to-end conversations through the core, one per path of the foundation issue."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.dialogue.engine import Conversations
from bot.runtime import Helpdesk, build
from storage.models import Conversation, KbCandidate, KbFeedback, Ticket, TicketEvent
from tests.helpers import Chat


def an_article(helpdesk: Helpdesk):  # type: ignore[no-untyped-def]
    """An Indonesian article whose own question the matcher answers directly."""
    matcher = helpdesk.kb.matcher()
    for article in matcher.articles:
        if article.lang == "id" and article.service:
            decision = matcher.decide(article.question)
            if decision.kind == "answer" and decision.matches[0].article.id == article.id:
                return article
    raise AssertionError("no article answers its own question")


def count_tickets(helpdesk: Helpdesk) -> int:
    with Session(helpdesk.engine) as s:
        return len(s.exec(select(Ticket)).all())


def test_welcome_shows_the_menu(chat: Chat) -> None:
    chat.say("/mulai")
    assert "Selamat datang" in chat.text
    assert "menu:report" in chat.actions


def test_faq_answer_accepted(helpdesk: Helpdesk, chat: Chat) -> None:
    article = an_article(helpdesk)
    chat.say(article.question)
    assert article.answer[:40] in chat.text
    assert "Apakah ini membantu?" in chat.text
    chat.press("Ya")
    assert "Senang" in chat.text
    with Session(helpdesk.engine) as s:
        fb = s.exec(select(KbFeedback)).one()
        assert fb.article_id == article.id and fb.helpful
        cand = s.exec(select(KbCandidate)).one()
        assert cand.article_id == article.id and cand.status == "pending"
    assert count_tickets(helpdesk) == 0


def test_faq_declined_then_report(helpdesk: Helpdesk, chat: Chat) -> None:
    article = an_article(helpdesk)
    chat.say(article.question)
    chat.press("Tidak")
    assert "laporan" in chat.text.lower()
    chat.press("rep:start")
    # the article's service is offered first
    assert f"svc:{article.service}" in chat.actions
    chat.press(f"svc:{article.service}")
    chat.press("type:gangguan")
    # the question was long enough to serve as the description: straight to impact
    chat.press("imp:3")
    chat.press("urg:2")
    chat.give_contact()
    assert "Kirim laporan ini?" in chat.text
    chat.press("rep:send")
    assert "INC-2026-" in chat.text or "INC-20" in chat.text
    ticket = chat.last_ticket()
    assert ticket.service_id == article.service and ticket.priority == 4
    assert ticket.description == article.question
    with Session(helpdesk.engine) as s:
        assert s.exec(select(KbFeedback)).one().helpful is False


def test_direct_report_with_typed_choices(helpdesk: Helpdesk) -> None:
    """A channel without buttons: every choice typed as its number or its label."""
    chat = Chat(helpdesk, "console", "user-typed")
    chat.say("/lapor")
    chat.say("vpn")  # fuzzy service name
    assert "Jenis laporan" in chat.text
    chat.say("permintaan layanan")  # typed label
    chat.say("Mohon dibuatkan akun VPN untuk pegawai baru di Biro Umum")
    chat.say("2")  # second impact choice: one unit
    chat.say("1")  # first urgency choice: can wait
    chat.say("kirim")
    assert "REQ-" in chat.text
    ticket = chat.last_ticket()
    assert (ticket.type, ticket.service_id, ticket.impact, ticket.urgency, ticket.priority) == (
        "permintaan",
        "vpn",
        2,
        3,
        4,
    )


def test_report_command_in_english(helpdesk: Helpdesk) -> None:
    chat = Chat(helpdesk, "web", "english-user")
    chat.say("/language en")
    assert "English" in chat.text
    chat.say("/report the e-office app shows error 500 when signing")
    assert "Which service" in chat.text
    chat.press("svc:eoffice")
    chat.press("type:keluhan")
    chat.press("imp:2")
    chat.press("urg:1")
    chat.give_contact()
    chat.press("rep:send")
    assert "We have received your report as KEL-" in chat.text


def test_status_of_own_ticket_and_my_tickets(helpdesk: Helpdesk, chat: Chat) -> None:
    chat.say("/lapor printer lantai 3 macet terus")
    chat.press("svc:-")
    chat.press("type:gangguan")
    chat.press("imp:3")
    chat.press("urg:3")
    chat.give_contact()
    chat.press("rep:send")
    number = chat.last_ticket().number
    chat.say(f"/status {number}")
    assert f"Tiket {number}" in chat.text and "Status:" in chat.text
    chat.say(number.lower())  # a bare number works too
    assert f"Tiket {number}" in chat.text
    chat.say("/tiketsaya")
    assert number in chat.text


def test_cancel_half_way_leaves_nothing(helpdesk: Helpdesk, chat: Chat) -> None:
    chat.say("/lapor")
    chat.press("svc:sso")
    chat.press("type:gangguan")
    chat.say("tidak bisa login sejak pagi")
    chat.say("/batal")
    assert "dibatalkan" in chat.text.lower()
    assert count_tickets(helpdesk) == 0
    chat.act("imp:1")  # a stale button from before the cancel
    assert "tidak berlaku" in chat.text
    assert count_tickets(helpdesk) == 0


def test_restart_half_way_continues_the_report(helpdesk: Helpdesk) -> None:
    chat = Chat(helpdesk, "web", "restart-user")
    chat.say("/lapor")
    chat.press("svc:email")
    chat.press("type:gangguan")
    chat.say("surel keluar tertahan di outbox")
    # a new process: new engine objects over the same database
    restarted = build(helpdesk.settings, upgrade=False)
    assert isinstance(restarted.conversations, Conversations)
    chat.helpdesk = restarted
    chat.press("imp:2")
    chat.press("urg:2")
    chat.give_contact()
    chat.press("rep:send")
    ticket = chat.last_ticket()
    assert ticket.service_id == "email" and ticket.description == "surel keluar tertahan di outbox"
    restarted.engine.dispose()


def test_operator_works_a_ticket_in_chat_and_reporter_is_told(
    helpdesk: Helpdesk, chat: Chat, operator: Chat
) -> None:
    chat.say("/lapor vpn putus-putus saat rapat daring")
    chat.press("svc:vpn")
    chat.press("type:gangguan")
    chat.press("imp:2")
    chat.press("urg:1")
    chat.give_contact()
    chat.press("rep:send")
    number = chat.last_ticket().number
    operator.say("/antrian")
    assert number in operator.text
    operator.say(f"/ambil {number}")
    assert "Anda kerjakan" in operator.text
    operator.say(f"/tunda {number} Apakah terjadi juga di jaringan rumah lain?")
    chat.say(f"/komentar {number} iya, di rumah tetangga juga")
    operator.say(f"/selesaikan {number}")
    operator.say("Profil VPN diperbarui ke server cadangan")
    assert "akar masalah" in operator.text.lower()
    operator.say("Sertifikat server VPN utama kedaluwarsa")
    assert "diselesaikan" in operator.text
    told = [r.text for r in chat.notices()]
    assert any("dikerjakan" in t for t in told)
    assert any("menunggu pengguna" in t for t in told)
    assert any("selesai" in t and "/tutup" in t for t in told)
    chat.say(f"/tutup {number}")
    assert "ditutup" in chat.text
    with Session(helpdesk.engine) as s:
        t = s.exec(select(Ticket).where(Ticket.number == number)).one()
        assert t.state == "ditutup" and t.root_cause == "Sertifikat server VPN utama kedaluwarsa"
        kinds = [e.kind for e in s.exec(select(TicketEvent).where(TicketEvent.ticket_id == t.id))]
        assert kinds.count("comment") == 1 and "resolution" in kinds and "ack" in kinds


def test_conversation_state_is_stored_per_chat(helpdesk: Helpdesk) -> None:
    a, b = Chat(helpdesk, "web", "a"), Chat(helpdesk, "web", "b")
    a.say("/lapor")
    b.say("/layanan")
    with Session(helpdesk.engine) as s:
        states = {c.chat_id: c.state for c in s.exec(select(Conversation))}
    assert states == {"a": "report_service", "b": "idle"}


def test_services_listed_and_searched(chat: Chat) -> None:
    chat.say("/layanan")
    assert "Katalog layanan" in chat.text and chat.text.count("•") >= 12
    chat.say("/layanan vpn")
    assert "Penyedia layanan" in chat.text and "Target ketersediaan" in chat.text


def test_help_differs_for_operators(chat: Chat, operator: Chat) -> None:
    chat.say("/bantuan")
    operator.say("/help")
    assert "/antrian" not in chat.text
    assert "/antrian" in operator.text


def test_notices_follow_the_chosen_language(helpdesk: Helpdesk, operator: Chat) -> None:
    chat = Chat(helpdesk, "web", "english-reporter")
    chat.say("/language en")
    chat.say("/report the projector in room 5 does not connect to the vicon")
    chat.press("svc:vicon")
    chat.press("type:gangguan")
    chat.press("imp:3")
    chat.press("urg:3")
    chat.give_contact()
    chat.press("rep:send")
    number = chat.last_ticket().number
    chat.notices()  # the assignment notice
    operator.say(f"/ambil {number}")  # not the vicon technician: still allowed for operators
    told = [r.text for r in chat.notices()]
    assert told and all("is now" in t for t in told)


def test_redelivery_changes_nothing_and_a_failed_turn_is_not_lost(helpdesk: Helpdesk) -> None:
    from bot.dialogue.messages import Incoming

    def send(text: str, key: str) -> list:  # type: ignore[type-arg]
        msg = Incoming(channel="telegram", chat_id="77", user_id="77", text=text, dedupe_key=key)
        return helpdesk.conversations.handle(msg)

    assert send("/lapor", "bot:1")
    assert send("/lapor", "bot:1") == []  # the same delivery again: no reply, no change
    with Session(helpdesk.engine) as s:
        conv = s.exec(select(Conversation).where(Conversation.chat_id == "77")).one()
        assert conv.state == "report_service"
    # a turn that fails rolls its dedupe key back with everything else: redelivery is served
    assert "tidak ditemukan" in send("/status INC-2026-999999", "bot:2")[0].text
    assert "tidak ditemukan" in send("/status INC-2026-999999", "bot:2")[0].text
