"""Bad input gets a clear answer and leaves no half-written ticket."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from bot.dialogue.messages import Incoming
from bot.runtime import Helpdesk
from storage.models import Ticket, TicketEvent
from tests.helpers import Chat


def nothing_written(helpdesk: Helpdesk) -> bool:
    with Session(helpdesk.engine) as s:
        return not s.exec(select(Ticket)).all() and not s.exec(select(TicketEvent)).all()


@pytest.mark.parametrize("text", ["", "   ", None, "\x00\x01\x02"])
def test_empty_text(helpdesk: Helpdesk, chat: Chat, text: str | None) -> None:
    chat.say(text)
    assert "kosong" in chat.text
    assert nothing_written(helpdesk)


def test_ten_thousand_characters(helpdesk: Helpdesk, chat: Chat) -> None:
    chat.say("/lapor")
    chat.press("svc:sso")
    chat.press("type:gangguan")
    chat.say("a" * 10_000)
    assert "terlalu panjang" in chat.text and "4000" in chat.text
    assert nothing_written(helpdesk)
    # the report can go on after the refusal
    chat.say("Tidak bisa masuk SSO sejak pagi, muncul pesan akun terkunci")
    assert "dampak" in chat.text.lower()


@pytest.mark.parametrize(
    "text",
    [
        "🔥🔥🔥 printer 🖨️ mati 😭",
        "مرحبا، لا أستطيع تسجيل الدخول",  # right-to-left
        "שלום \u202e txt.exe",  # RTL override character
        "Ｖｐｎ　ｇａｋ　ｂｉｓａ",  # full-width forms
        "'; DROP TABLE ticket; --",
        "<script>alert(1)</script>",
        "{number} {0} %s",
    ],
)
def test_odd_text_gets_an_answer(helpdesk: Helpdesk, chat: Chat, text: str) -> None:
    replies = chat.say(text)
    assert replies and all(r.text for r in replies)
    assert "kesalahan di sistem" not in chat.text
    assert nothing_written(helpdesk)


def test_odd_text_is_stored_verbatim_in_a_report(helpdesk: Helpdesk, chat: Chat) -> None:
    text = "Aplikasi 🔥 error مرحبا <b>tebal</b> '; DROP TABLE ticket; --"
    chat.say("/lapor " + text)
    chat.press("svc:eoffice")
    chat.press("type:keluhan")
    chat.press("imp:3")
    chat.press("urg:3")
    chat.give_contact()
    chat.press("rep:send")
    assert chat.last_ticket().description == text


@pytest.mark.parametrize("command", ["/foo", "/LAPORR", "/status@otherbot INC", "/" + "x" * 500])
def test_unknown_commands(helpdesk: Helpdesk, chat: Chat, command: str) -> None:
    chat.say(command)
    assert ("tidak dikenal" in chat.text) or ("tidak ditemukan" in chat.text)
    assert len(chat.text) < 300
    assert nothing_written(helpdesk)


@pytest.mark.parametrize("number", ["INC-2026-999999", "XYZ", "INC-2026-000001'--"])
def test_status_of_missing_ticket(helpdesk: Helpdesk, chat: Chat, number: str) -> None:
    chat.say(f"/status {number}")
    assert "tidak ditemukan" in chat.text


def test_status_of_someone_elses_ticket(helpdesk: Helpdesk) -> None:
    owner, other = Chat(helpdesk, "web", "owner"), Chat(helpdesk, "web", "other")
    owner.say("/lapor laptop tidak bisa menyala")
    owner.press("svc:-")
    owner.press("type:gangguan")
    owner.press("imp:3")
    owner.press("urg:3")
    owner.give_contact()
    owner.press("rep:send")
    number = owner.last_ticket().number
    other.say(f"/status {number}")
    # the same answer as for a number that does not exist: nothing to probe
    assert other.text == f"Tiket {number} tidak ditemukan (atau bukan milik Anda)."
    other.say(f"/komentar {number} halo")
    assert "tidak ditemukan" in other.text
    other.say(f"/tutup {number}")
    assert "tidak ditemukan" in other.text


def test_forged_and_stale_buttons(helpdesk: Helpdesk, chat: Chat) -> None:
    for action in [
        "rep:send",
        "svc:../../etc",
        "faq:yes:nonexistent",
        "t:take:INC-2026-000001",
        "zzz",
        "kb:ok:1",
        "a:ack:99",
    ]:
        chat.act(action)
        assert chat.text and "kesalahan di sistem" not in chat.text
    assert nothing_written(helpdesk)


def test_pengguna_cannot_use_operator_commands(helpdesk: Helpdesk, chat: Chat) -> None:
    chat.say("/lapor wifi mati di ruang rapat")
    chat.press("svc:jaringan")
    chat.press("type:gangguan")
    chat.press("imp:2")
    chat.press("urg:2")
    chat.give_contact()
    chat.press("rep:send")
    number = chat.last_ticket().number
    for command in (
        f"/ambil {number}",
        f"/akui {number}",
        f"/selesaikan {number}",
        f"/tunda {number} ?",
        "/antrian",
    ):
        chat.say(command)
        assert "hanya untuk pengelola teknis" in chat.text, command
    chat.act(f"t:take:{number}")
    assert "hanya untuk pengelola teknis" in chat.text
    with Session(helpdesk.engine) as s:
        t = s.exec(select(Ticket).where(Ticket.number == number)).one()
        assert t.state == "ditugaskan" and t.acknowledged_at is None


def test_button_from_another_channel_user_is_refused_with_error_kind(helpdesk: Helpdesk) -> None:
    msg = Incoming(
        channel="telegram",
        chat_id="-100",
        user_id="42",
        action="t:take:INC-2026-000001",
        group=True,
    )
    replies = helpdesk.conversations.handle(msg)
    assert replies and replies[0].kind == "error"


def test_group_free_text_is_ignored(helpdesk: Helpdesk) -> None:
    msg = Incoming(
        channel="telegram", chat_id="-100", user_id="42", text="selamat pagi semua", group=True
    )
    assert helpdesk.conversations.handle(msg) == []


def test_forged_review_buttons_are_refused(helpdesk: Helpdesk, chat: Chat) -> None:
    from bot.core import learning
    from storage.db import session_scope
    from storage.models import KbCandidate

    with session_scope(helpdesk.engine) as s:
        learning.propose(s, "sso-lupa-sandi", "frasa dari orang luar")
        cid = s.exec(select(KbCandidate.id)).one()
    chat.act(f"kb:ok:{cid}")
    assert "hanya pengelola layanan" in chat.text
    with Session(helpdesk.engine) as s:
        assert s.get(KbCandidate, cid).status == "pending"  # type: ignore[union-attr]


def test_forged_faq_pick_of_an_article_not_offered(helpdesk: Helpdesk, chat: Chat) -> None:
    from storage.models import KbCandidate

    chat.say("printer kantor tidak mau mencetak sama sekali")
    chat.act("faq:pick:sso-lupa-sandi")  # not among the offered choices
    with Session(helpdesk.engine) as s:
        assert not s.exec(
            select(KbCandidate).where(KbCandidate.article_id == "sso-lupa-sandi")
        ).all()


@pytest.mark.parametrize("text", ["²", "³", "①", "٣", "9" * 40])
def test_odd_digits_while_choices_are_shown(helpdesk: Helpdesk, chat: Chat, text: str) -> None:
    chat.say("/lapor")
    chat.say(text)
    assert "kesalahan di sistem" not in chat.text


@pytest.mark.parametrize("action", ["a:ack:" + "9" * 30, "kb:ok:" + "9" * 30])
def test_huge_ids_in_actions(helpdesk: Helpdesk, chat: Chat, action: str) -> None:
    chat.act(action)
    assert "kesalahan di sistem" not in chat.text


@pytest.mark.parametrize(
    "text",
    [
        "/laporan sla 0001-01-01",
        "/laporan evaluasi 2001-01-01 2026-01-01",
        "/pemeliharaan batal " + "9" * 30,
    ],
)
def test_out_of_range_report_and_maintenance_arguments(helpdesk: Helpdesk, text: str) -> None:
    from storage.models import Person

    with Session(helpdesk.engine) as s:
        email = next(p.email for p in s.exec(select(Person)) if "koordinator_layanan" in p.roles)
    coordinator = Chat.as_person(helpdesk, "web", email or "")
    coordinator.say(text)
    assert "kesalahan di sistem" not in coordinator.text
