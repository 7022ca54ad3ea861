"""Satisfaction ratings through the real conversation engine: asked once when a ticket is
resolved, in the chat it was reported from (a push channel's outbox row, a pull
channel's notice), rated by its reporter only, with an optional comment; and the
evaluation report's figures of them, computed by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from bot.channels.base import choices_of
from bot.channels.telegram._outgoing import keyboard
from bot.core import satisfaction, tickets
from bot.core.errors import HelpdeskError
from bot.core.tickets import Actor
from bot.reports import build_report
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import (
    Conversation,
    Notice,
    Person,
    SatisfactionSurvey,
    ServiceTechnician,
    Ticket,
    TicketEvent,
)
from tests.helpers import Chat

# Monday 2 March 2026, 09:00 WIB
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def report(chat: Chat, now: datetime = T0) -> str:
    """A VPN incident through the guided report; its number."""
    chat.say("/lapor vpn putus-putus saat rapat daring", now=now)
    for action in ("svc:vpn", "type:gangguan", "imp:2", "urg:2"):
        chat.press(action, now=now)
    chat.give_contact(now=now)
    chat.press("rep:send", now=now)
    return chat.last_ticket().number


def resolve(operator: Chat, number: str, now: datetime) -> None:
    operator.say(f"/selesaikan {number}", now=now)
    operator.say("Profil VPN diperbarui ke server cadangan", now=now)
    operator.say("Sertifikat server VPN utama kedaluwarsa", now=now)
    assert "diselesaikan" in operator.text


def survey_of(helpdesk: Helpdesk, number: str) -> SatisfactionSurvey:
    with Session(helpdesk.engine) as s:
        return s.exec(
            select(SatisfactionSurvey)
            .join(Ticket, col(Ticket.id) == col(SatisfactionSurvey.ticket_id))
            .where(Ticket.number == number)
        ).one()


def trail(helpdesk: Helpdesk, number: str) -> list[TicketEvent]:
    with Session(helpdesk.engine) as s:
        ticket = s.exec(select(Ticket).where(Ticket.number == number)).one()
        return list(
            s.exec(
                select(TicketEvent)
                .where(TicketEvent.ticket_id == ticket.id)
                .where(col(TicketEvent.kind).startswith("rating"))
                .order_by(col(TicketEvent.id))
            )
        )


def asks(helpdesk: Helpdesk, number: str) -> list[Notice]:
    with Session(helpdesk.engine) as s:
        return [
            n
            for n in s.exec(select(Notice).where(Notice.kind == "csat.ask"))
            if n.payload.get("ticket") == number
        ]


def reporter_id(helpdesk: Helpdesk, number: str) -> int:
    with Session(helpdesk.engine) as s:
        rid = s.exec(select(Ticket).where(Ticket.number == number)).one().reporter_id
        assert rid is not None
        return rid


def state_of(helpdesk: Helpdesk, chat: Chat) -> str:
    with Session(helpdesk.engine) as s:
        return (
            s.exec(
                select(Conversation).where(
                    Conversation.channel == chat.channel, Conversation.chat_id == chat.chat_id
                )
            )
            .one()
            .state
        )


def test_web_chat_collects_the_question_and_the_rating_with_a_comment(
    helpdesk: Helpdesk, chat: Chat, operator: Chat
) -> None:
    number = report(chat)
    resolve(operator, number, T0 + timedelta(hours=2))
    notices = chat.notices()  # the web chat polls: the question comes with its buttons
    question = next(r for r in notices if r.choices)
    assert number in question.text and question.kind == "notice"
    assert [c.action for c in question.choices] == [f"csat:r:{number}:{n}" for n in range(1, 6)]
    chat.replies = notices  # on screen now: press one of its buttons
    rated_at = T0 + timedelta(hours=3)
    chat.press(f"csat:r:{number}:4", now=rated_at)
    assert "4" in chat.text and chat.actions == ["csat:skip"]
    chat.say("Cepat dan jelas, terima kasih", now=rated_at + timedelta(minutes=1))
    assert "Komentar Anda" in chat.text
    survey = survey_of(helpdesk, number)
    rid = reporter_id(helpdesk, number)
    assert (survey.score, survey.rated_by, survey.rated_at) == (4, rid, rated_at)
    assert survey.comment == "Cepat dan jelas, terima kasih"
    assert (survey.channel, survey.chat_id) == ("web", chat.chat_id)
    assert [(e.kind, e.actor_id, e.channel, e.new, e.at) for e in trail(helpdesk, number)] == [
        ("rating_asked", None, "system", "web", T0 + timedelta(hours=2)),
        ("rating", rid, "web", "4", rated_at),
        ("rating_comment", rid, "web", None, rated_at + timedelta(minutes=1)),
    ]
    assert state_of(helpdesk, chat) == "idle"


def test_telegram_gets_the_question_through_the_outbox_and_skip_ends_it(
    helpdesk: Helpdesk, operator: Chat
) -> None:
    reporter = Chat(helpdesk, "telegram", "4242")
    number = report(reporter)
    resolve(operator, number, T0 + timedelta(hours=1))
    (notice,) = asks(helpdesk, number)
    assert (notice.channel, notice.target, notice.status) == ("telegram", "4242", "pending")
    # the inline keyboard the Telegram transport sends for it: five buttons, 1 to 5
    markup = keyboard(choices_of(notice.payload["choices"]))
    assert markup is not None
    buttons = [b for row in markup.inline_keyboard for b in row]
    assert [b.callback_data for b in buttons] == [f"csat:r:{number}:{n}" for n in range(1, 6)]
    reporter.act(f"csat:r:{number}:5", now=T0 + timedelta(hours=2))  # a press in Telegram
    assert "5" in reporter.text
    reporter.say("lewati", now=T0 + timedelta(hours=2))
    assert "tanpa komentar" in reporter.text
    survey = survey_of(helpdesk, number)
    assert (survey.score, survey.comment) == (5, None)
    assert [e.kind for e in trail(helpdesk, number)] == ["rating_asked", "rating"]


def test_asked_once_and_counted_once(helpdesk: Helpdesk, chat: Chat, operator: Chat) -> None:
    number = report(chat)
    resolve(operator, number, T0 + timedelta(hours=1))
    chat.say(f"/buka {number} masih putus", now=T0 + timedelta(hours=2))
    assert chat.text == f"Tiket {number} dibuka kembali."
    resolve(operator, number, T0 + timedelta(hours=3))  # resolved again: not asked again
    assert len(asks(helpdesk, number)) == 1
    with Session(helpdesk.engine) as s:
        assert len(s.exec(select(SatisfactionSurvey)).all()) == 1
    chat.act(f"csat:r:{number}:2", now=T0 + timedelta(hours=4))
    chat.act(f"csat:r:{number}:5", now=T0 + timedelta(hours=5))  # a second press
    assert "sudah Anda nilai" in chat.text and chat.replies[0].kind == "error"
    survey = survey_of(helpdesk, number)
    assert (survey.score, survey.rated_at) == (2, T0 + timedelta(hours=4))  # the first stays
    assert [e.kind for e in trail(helpdesk, number)] == ["rating_asked", "rating"]


def test_someone_elses_ticket_is_refused(helpdesk: Helpdesk, chat: Chat, operator: Chat) -> None:
    number = report(chat)
    resolve(operator, number, T0 + timedelta(hours=1))
    other = Chat(helpdesk, "web", "visitor-2")
    other.say("/mulai")
    other.act(f"csat:r:{number}:1")
    assert "Tidak ada permintaan penilaian" in other.text and other.replies[0].kind == "error"
    other.say(f"/nilai {number} 1")
    assert "Tidak ada permintaan penilaian" in other.text
    operator.act(f"csat:r:{number}:1")  # an operator cannot rate in the reporter's place
    assert "Tidak ada permintaan penilaian" in operator.text
    # a ticket without a question answers the same (numbers cannot be probed)
    other.say("/nilai INC-2026-999999 3")
    assert "Tidak ada permintaan penilaian" in other.text
    assert survey_of(helpdesk, number).score is None
    chat.act(f"csat:r:{number}:3")  # the reporter still can
    assert survey_of(helpdesk, number).score == 3


@pytest.mark.parametrize(
    ("value", "answer"),
    [
        ("9", "Nilai harus angka 1 sampai 5"),  # one digit, out of range: the core says so
        ("0", "Nilai harus angka 1 sampai 5"),
        ("44", "sudah tidak berlaku"),  # nothing a button sends: a stale button
        ("-1", "sudah tidak berlaku"),
        ("\u0663", "sudah tidak berlaku"),  # an Arabic-Indic three
        ("", "sudah tidak berlaku"),
    ],
)
def test_forged_button_values_are_refused(
    helpdesk: Helpdesk, chat: Chat, operator: Chat, value: str, answer: str
) -> None:
    number = report(chat)
    resolve(operator, number, T0 + timedelta(hours=1))
    chat.act(f"csat:r:{number}:{value}")
    assert answer in chat.text
    chat.act("csat:r:bukan-nomor:3")
    assert "sudah tidak berlaku" in chat.text
    chat.act("csat:skip")  # not in the comment step: stale
    assert "sudah tidak berlaku" in chat.text
    assert survey_of(helpdesk, number).score is None
    assert [e.kind for e in trail(helpdesk, number)] == ["rating_asked"]


def test_a_command_ends_the_comment_step(helpdesk: Helpdesk, chat: Chat, operator: Chat) -> None:
    number = report(chat)
    resolve(operator, number, T0 + timedelta(hours=1))
    chat.act(f"csat:r:{number}:4")
    assert state_of(helpdesk, chat) == "csat_comment"
    chat.say(f"/status {number}")
    assert number in chat.text
    assert state_of(helpdesk, chat) == "idle"
    chat.say("bagaimana cara mengganti kata sandi sso")  # a question, not a comment
    assert survey_of(helpdesk, number).comment is None
    assert [e.kind for e in trail(helpdesk, number)] == ["rating_asked", "rating"]


def test_rating_never_holds_up_closing(helpdesk: Helpdesk, chat: Chat, operator: Chat) -> None:
    number = report(chat)
    resolve(operator, number, T0 + timedelta(hours=1))
    chat.say(f"/tutup {number}", now=T0 + timedelta(hours=2))  # closed before rating
    assert "ditutup" in chat.text
    chat.act(f"csat:r:{number}:5", now=T0 + timedelta(hours=3))  # still welcome afterwards
    assert survey_of(helpdesk, number).score == 5
    second = report(chat)
    resolve(operator, second, T0 + timedelta(hours=4))
    operator.say(f"/tutup {second}", now=T0 + timedelta(hours=5))  # never rated: closes
    with Session(helpdesk.engine) as s:
        states = {t.number: t.state for t in s.exec(select(Ticket))}
    assert states == {number: "ditutup", second: "ditutup"}
    assert survey_of(helpdesk, second).score is None


def test_typed_rating_where_there_are_no_buttons(helpdesk: Helpdesk, operator: Chat) -> None:
    reporter = Chat(helpdesk, "console", "terminal-7")
    number = report(reporter)
    resolve(operator, number, T0 + timedelta(hours=1))
    (question,) = [r for r in reporter.notices() if r.choices]
    assert f"/nilai {number}" in question.text  # the way to answer without buttons
    reporter.say("/nilai")
    assert "Cara pakai: /nilai" in reporter.text
    reporter.say(f"/nilai {number.lower()} 3")
    assert "3" in reporter.text
    reporter.say("Teknisi ramah")
    assert (survey_of(helpdesk, number).score, survey_of(helpdesk, number).comment) == (
        3,
        "Teknisi ramah",
    )


def test_typed_number_picks_among_the_questions_buttons(helpdesk: Helpdesk, operator: Chat) -> None:
    """The terminal shows the question's buttons as [1]..[5]: typing 4 is the fourth of
    those, not of whatever the chat showed before (the report's last menu)."""
    reporter = Chat(helpdesk, "console", "terminal-8")
    number = report(reporter)
    assert reporter.actions  # the report's confirmation offered buttons of its own
    resolve(operator, number, T0 + timedelta(hours=1))
    assert any(r.choices for r in reporter.notices())
    reporter.say("4")
    assert survey_of(helpdesk, number).score == 4
    reporter.say("2")  # now in the comment step: its only choice is Lewati, so a comment
    assert survey_of(helpdesk, number).comment == "2"


def test_no_question_when_nobody_can_answer(helpdesk: Helpdesk) -> None:
    """A ticket without a chat (opened by a script) and one its reporter resolved
    themselves are not asked about."""
    with session_scope(helpdesk.engine) as s:
        tech = s.exec(
            select(Person)
            .join(ServiceTechnician, col(ServiceTechnician.person_id) == col(Person.id))
            .where(ServiceTechnician.service_id == "vpn")
        ).first()
        assert tech is not None
        quiet = tickets.open_ticket(s, type_="permintaan", title="x", service_id="vpn", now=T0)
        own = tickets.open_ticket(
            s,
            type_="permintaan",
            title="y",
            service_id="vpn",
            reporter=tech,
            channel="console",
            chat_id="tech-console",
            now=T0,
        )
        for t in (quiet, own):
            tickets.resolve(s, t, Actor(tech, "console"), resolution="sudah", now=T0)
    with Session(helpdesk.engine) as s:
        assert s.exec(select(SatisfactionSurvey)).all() == []


def test_core_refuses_a_comment_before_the_rating(
    helpdesk: Helpdesk, chat: Chat, operator: Chat
) -> None:
    number = report(chat)
    resolve(operator, number, T0 + timedelta(hours=1))
    with session_scope(helpdesk.engine) as s:
        person = s.get(Person, reporter_id(helpdesk, number))
        with pytest.raises(HelpdeskError) as refused:
            satisfaction.add_comment(s, person, "web", chat.chat_id, number, "bagus")
        assert refused.value.key == "csat.no_comment_now"


# --- the evaluation report ------------------------------------------------------------------


def _rated_ticket(
    s: Session, reporter: Person, tech: Person, service: str, chat_id: str, score: int | None
) -> None:
    ticket = tickets.open_ticket(
        s,
        type_="permintaan",
        title=f"{service} {chat_id}",
        service_id=service,
        reporter=reporter,
        channel="web",
        chat_id=chat_id,
        auto_assign=False,
        now=T0,
    )
    tickets.resolve(
        s, ticket, Actor(tech, "console"), resolution="sudah", now=T0 + timedelta(hours=1)
    )
    if score is not None:
        satisfaction.rate(
            s, reporter, "web", chat_id, ticket.number, score, now=T0 + timedelta(hours=2)
        )


def test_evaluation_report_ratings_by_hand(helpdesk: Helpdesk) -> None:
    """VPN: asked 3, rated 2 (5 and 2); e-mail: asked 1, rated 1 (4); and one VPN survey
    asked the week before, outside the period."""
    with session_scope(helpdesk.engine) as s:
        reporter = next(
            p for p in s.exec(select(Person).order_by(Person.id)) if p.roles == ["pengguna"]
        )
        tech = next(p for p in s.exec(select(Person)) if "pengelola_teknis" in p.roles)
        _rated_ticket(s, reporter, tech, "vpn", "c1", 5)
        _rated_ticket(s, reporter, tech, "vpn", "c2", 2)
        _rated_ticket(s, reporter, tech, "vpn", "c3", None)
        _rated_ticket(s, reporter, tech, "email", "c4", 4)
        early = tickets.open_ticket(
            s, type_="permintaan", title="lama", service_id="vpn", reporter=reporter,
            channel="web", chat_id="c5", auto_assign=False, now=T0 - timedelta(days=7),
        )  # fmt: skip
        tickets.resolve(
            s, early, Actor(tech, "console"), resolution="sudah", now=T0 - timedelta(days=7)
        )
        satisfaction.rate(s, reporter, "web", "c5", early.number, 1, now=T0)
    with Session(helpdesk.engine) as s:
        report = build_report(
            "evaluation",
            s,
            start=date(2026, 3, 1),
            end=date(2026, 3, 7),
            tz="Asia/Jakarta",
            now=T0 + timedelta(days=3),
        )
    (ratings,) = [tb for tb in report.tables if tb.name == "ratings"]
    assert ratings.headers[:5] == [
        "Layanan",
        "Diminta",
        "Dinilai",
        "Tingkat respons (%)",
        "Rata-rata nilai",
    ]
    rows = {r[0]: r[1:] for r in ratings.rows}
    vpn = next(v for k, v in rows.items() if "VPN" in k)
    mail = next(v for k, v in rows.items() if "Surel" in k)
    # VPN: 2 of 3 rated = 66.7 %; mean (5 + 2) / 2 = 3.5; scores 1..5: 0, 1, 0, 0, 1
    assert vpn == [3, 2, 66.7, 3.5, 0, 1, 0, 0, 1]
    # e-mail: 1 of 1 = 100 %; mean 4
    assert mail == [1, 1, 100.0, 4.0, 0, 0, 0, 1, 0]
    # all: 3 of 4 = 75 %; mean (5 + 2 + 4) / 3 = 3.666… → 3.67
    assert rows["Semua layanan"] == [4, 3, 75.0, 3.67, 0, 1, 0, 1, 1]
    assert list(rows)[-1] == "Semua layanan"
    assert any(tb.name == "satisfaction" for tb in report.tables)  # the FAQ table stays


def test_rating_in_the_middle_of_a_report_keeps_the_report(
    helpdesk: Helpdesk, chat: Chat, operator: Chat
) -> None:
    number = report(chat)
    resolve(operator, number, T0 + timedelta(hours=1))
    chat.say("/lapor surel tidak bisa mengirim lampiran")
    state = state_of(helpdesk, chat)
    assert state != "idle"
    chat.act(f"csat:r:{number}:5")
    assert chat.text == f"Terima kasih, nilai 5 untuk tiket {number} tercatat."
    assert state_of(helpdesk, chat) == state  # the report goes on where it was
    assert survey_of(helpdesk, number).score == 5
