"""Problem management through the conversation engine: /masalah, its buttons and typed
answers, refusals, the alert's button, the suggestion's button, /kandidat."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from bot.config import Settings
from bot.core import alerts, problem_watch, tickets
from bot.core.problem_watch import Policy
from bot.delivery import Deliverer
from bot.dialogue.messages import Incoming
from bot.jobs import Jobs
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import Notice, Problem, ProblemEvent, ProblemSuggestion, utcnow
from tests.helpers import Chat

NOW = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
POLICY = Policy(verify_days=14, window_hours=24, min_count=3, similarity=0.7)
MANAGER = "bambang.susilo@kementerian.go.id"  # service manager of vpn
REFUSED = "Maaf, perintah ini hanya untuk pengelola teknis."
STALE = "Pilihan itu sudah tidak berlaku. Silakan mulai lagi dari menu."


def report_incident(chat: Chat, text: str, now: datetime = NOW) -> str:
    """A reporter's incident on the VPN through the guided report; its number."""
    chat.say(f"/lapor {text}", now=now)
    chat.press("svc:vpn", now=now)
    chat.press("type:gangguan", now=now)
    chat.press("imp:3", now=now)
    chat.press("urg:3", now=now)
    chat.give_contact(now=now)
    chat.press("rep:send", now=now)
    return chat.last_ticket().number


def problem(helpdesk: Helpdesk, number: str) -> Problem:
    with Session(helpdesk.engine) as s:
        return s.exec(select(Problem).where(Problem.number == number)).one()


def test_the_whole_life_cycle_in_chat(helpdesk: Helpdesk, chat: Chat, operator: Chat) -> None:
    number = report_incident(chat, "VPN tidak bisa connect sejak pagi")
    chat.notices()  # what the report itself caused
    operator.say(f"/masalah {number}", now=NOW)
    assert "Masalah PRB-2026-000001 dibuat." in operator.text
    assert f"Insiden terkait (1): {number}" in operator.text
    assert "Status: baru" in operator.text
    assert operator.actions == ["pb:diag:PRB-2026-000001", "pb:link:PRB-2026-000001"]

    # typed label instead of a button (channels without buttons)
    operator.say("diagnosis", now=NOW)
    assert "Tulis diagnosis untuk PRB-2026-000001" in operator.text
    operator.say("ok", now=NOW)  # too short: asked again, nothing recorded
    assert "Tulis diagnosis untuk PRB-2026-000001" in operator.text
    operator.say("Sertifikat gateway VPN kedaluwarsa", now=NOW)
    assert "Diagnosis PRB-2026-000001 dicatat." in operator.text
    assert "Status: didiagnosis" in operator.text

    operator.press("pb:known:PRB-2026-000001", now=NOW)
    assert "Apa akar masalah PRB-2026-000001?" in operator.text
    operator.say("Sertifikat TLS tidak diperpanjang", now=NOW)
    assert "solusi sementara" in operator.text
    operator.say("Pakai gateway cadangan vpn2", now=NOW)
    assert "known error" in operator.text and "Status: diketahui (known error)" in operator.text

    operator.press("pb:pub:PRB-2026-000001", now=NOW)
    assert "kandidat artikel FAQ" in operator.text
    assert "pb:pub:PRB-2026-000001" not in operator.actions  # published once

    operator.press("pb:fix:PRB-2026-000001", now=NOW)  # the root cause is known: only the fix
    assert "Apa perbaikan yang dilakukan untuk PRB-2026-000001?" in operator.text
    operator.say("Sertifikat diperpanjang, pengingat dipasang", now=NOW + timedelta(hours=1))
    assert "Perbaikan PRB-2026-000001 dicatat." in operator.text
    assert operator.actions == ["pb:reopen:PRB-2026-000001", "pb:link:PRB-2026-000001"]
    # the reporter hears of the fix in the web chat where they reported
    told = [r.text for r in chat.notices()]
    assert told == [
        f"Penyebab gangguan yang Anda laporkan ({number}: VPN tidak bisa connect sejak pagi) "
        "sudah diperbaiki: Sertifikat diperpanjang, pengingat dipasang"
    ]

    # 14 days after the fix (NOW + 1 h + 14 d) nothing came back: verified
    done = problem_watch.tick(helpdesk.engine, NOW + timedelta(days=14, hours=1), POLICY)
    assert done == {"verified": 1, "recurred": 0, "suggested": 0}
    operator.say("/masalah PRB-2026-000001", now=NOW + timedelta(days=15))
    assert "Status: diverifikasi" in operator.text
    assert operator.actions == ["pb:close:PRB-2026-000001"]
    operator.say("1", now=NOW + timedelta(days=15))  # the typed number of the only choice
    assert "Masalah PRB-2026-000001 ditutup." in operator.text
    assert operator.actions == []

    with Session(helpdesk.engine) as s:
        trail = s.exec(
            select(ProblemEvent).where(ProblemEvent.kind == "state").order_by(ProblemEvent.id)  # type: ignore[arg-type]
        ).all()
    assert [(e.old, e.new, e.channel) for e in trail] == [
        ("baru", "didiagnosis", "console"),
        ("didiagnosis", "diketahui", "console"),
        ("diketahui", "diselesaikan", "console"),
        ("diselesaikan", "diverifikasi", "system"),
        ("diverifikasi", "ditutup", "console"),
    ]


def test_refusals(helpdesk: Helpdesk, chat: Chat, operator: Chat) -> None:
    number = report_incident(chat, "VPN tidak bisa connect sejak pagi")
    # an employee may not work problems, by command or by a forged button
    chat.say(f"/masalah {number}", now=NOW)
    assert (
        chat.text == "Hanya pengelola teknis yang dapat melakukan ini." or "pengelola" in chat.text
    )
    assert problem_count(helpdesk) == 0
    chat.act(f"pb:new:{number}", now=NOW)
    assert problem_count(helpdesk) == 0 and "pengelola" in chat.text

    operator.say("/masalah INC-2026-999999", now=NOW)
    assert "Tiket INC-2026-999999 tidak ditemukan" in operator.text
    operator.say("/masalah PRB-2026-000042", now=NOW)
    assert operator.text == "Masalah PRB-2026-000042 tidak ditemukan."
    operator.say("/masalah sesuatu", now=NOW)
    assert operator.text.startswith("Cara pakai: /masalah")

    operator.say(f"/masalah {number}", now=NOW)
    # a wrong transition: closing a new problem (the button is not shown; forged)
    operator.act("pb:close:PRB-2026-000001", now=NOW)
    assert (
        operator.text
        == 'Masalah PRB-2026-000001 berstatus "baru", jadi tidak bisa menjadi "ditutup".'
    )
    assert problem(helpdesk, "PRB-2026-000001").state == "baru"
    # forged values: not a number, too long, an unknown suggestion
    for action in ("pb:diag:xyz", "pb:close:PRB-2026-1:x", "pb:sug:abc", "pb:whatever"):
        operator.act(action, now=NOW)
        assert operator.text == STALE, action
    operator.act("pb:sug:999", now=NOW)
    assert operator.text == "Usulan masalah 999 tidak ditemukan."
    # a service request is no incident
    chat.say("/lapor Mohon dibuatkan akun VPN baru", now=NOW)
    chat.press("svc:vpn", now=NOW)
    chat.press("type:permintaan", now=NOW)
    chat.press("imp:3", now=NOW)
    chat.press("urg:3", now=NOW)
    chat.give_contact(now=NOW)
    chat.press("rep:send", now=NOW)
    request = chat.last_ticket().number
    operator.say(f"/masalah {request}", now=NOW)
    assert (
        operator.text == f"Tiket {request} bukan gangguan; hanya insiden yang ditautkan ke masalah."
    )


def problem_count(helpdesk: Helpdesk) -> int:
    with Session(helpdesk.engine) as s:
        return len(s.exec(select(Problem)).all())


def test_linking_and_unlinking_in_chat(helpdesk: Helpdesk, chat: Chat, operator: Chat) -> None:
    first = report_incident(chat, "VPN tidak bisa connect sejak pagi")
    second = report_incident(chat, "vpn gak bisa konek dari tadi pagi")
    operator.say(f"/masalah {first}", now=NOW)
    # by the button and a typed number
    operator.press("pb:link:PRB-2026-000001", now=NOW)
    assert "Tulis nomor insiden" in operator.text
    operator.say("bukan nomor", now=NOW)  # asked again
    assert "Tulis nomor insiden" in operator.text
    operator.say(second.lower(), now=NOW)
    assert f"Insiden {second} ditautkan." in operator.text
    assert f"Insiden terkait (2): {first}, {second}" in operator.text
    # an incident already linked, by its own command
    operator.say(f"/masalah {second}", now=NOW)
    assert f"Insiden {second} sudah tertaut ke masalah PRB-2026-000001." in operator.text
    assert problem_count(helpdesk) == 1
    operator.say(f"/masalah PRB-2026-000001 lepas {second}", now=NOW)
    assert f"Insiden {second} dilepas dari masalah ini." in operator.text
    assert f"Insiden terkait (1): {first}" in operator.text
    operator.say(f"/masalah PRB-2026-000001 lepas {first}", now=NOW)
    assert "insiden terakhir" in operator.text
    operator.say(f"/masalah PRB-2026-000001 tautkan {second}", now=NOW)
    assert f"Insiden terkait (2): {first}, {second}" in operator.text
    # the list of open problems
    operator.say("/masalah", now=NOW)
    assert "• PRB-2026-000001 [baru] VPN tidak bisa connect sejak pagi" in operator.text


def test_the_incident_alert_has_a_problem_button(helpdesk: Helpdesk, operator: Chat) -> None:
    with session_scope(helpdesk.engine) as s:
        alerts.register_operator_channel(s, "telegram", "-100200", None)
        ticket = tickets.open_ticket(
            s,
            type_="gangguan",
            title="VPN mati total",
            service_id="vpn",
            impact=1,
            urgency=1,
            now=NOW,
        )
        number = ticket.number
    with Session(helpdesk.engine) as s:
        post = s.exec(select(Notice).where(Notice.kind == "alert.post")).one()
    choice = {"label": "Jadikan masalah", "action": f"pb:new:{number}"}
    assert choice in post.payload["choices"]
    operator.act(f"pb:new:{number}", now=NOW)
    assert "Masalah PRB-2026-000001 dibuat." in operator.text
    operator.act(f"pb:new:{number}", now=NOW)  # pressed again: shows the same problem
    assert f"Insiden {number} sudah tertaut ke masalah PRB-2026-000001." in operator.text
    assert problem_count(helpdesk) == 1


def test_the_suggestion_button_creates_the_problem(helpdesk: Helpdesk, chat: Chat) -> None:
    texts = (
        "VPN tidak bisa connect sejak pagi",
        "vpn gak bisa konek dari tadi pagi",
        "koneksi vpn gagal, tidak bisa connect",
    )
    numbers = [
        report_incident(chat, text, NOW + timedelta(minutes=i)) for i, text in enumerate(texts)
    ]
    manager = Chat.as_person(helpdesk, "console", MANAGER)
    assert problem_watch.tick(helpdesk.engine, NOW + timedelta(hours=1), POLICY)["suggested"] == 1
    told = manager.notices()
    assert len(told) == 1 and "3 insiden serupa" in told[0].text
    with Session(helpdesk.engine) as s:
        suggestion = s.exec(select(ProblemSuggestion)).one()
        payload = s.exec(select(Notice).where(Notice.kind == "problem.suggested")).one().payload
    assert payload["choices"][0]["action"] == f"pb:sug:{suggestion.id}"
    # a pull channel shows the notice's button too
    assert [(c.label, c.action) for c in told[0].choices] == [
        ("Buat masalah dari 3 insiden ini", f"pb:sug:{suggestion.id}")
    ]
    manager.act(f"pb:sug:{suggestion.id}", now=NOW + timedelta(hours=2))
    assert "Masalah PRB-2026-000001 dibuat." in manager.text
    assert f"Insiden terkait (3): {', '.join(numbers)}" in manager.text
    manager.act(f"pb:sug:{suggestion.id}", now=NOW + timedelta(hours=2))
    assert manager.text == "Usulan ini sudah dijadikan masalah PRB-2026-000001."


def test_the_candidate_article_is_reviewed_in_kandidat(
    helpdesk: Helpdesk, chat: Chat, operator: Chat
) -> None:
    number = report_incident(chat, "Aplikasi VPN error kode 809")
    operator.say(f"/masalah {number}", now=NOW)
    operator.press("pb:diag:PRB-2026-000001", now=NOW)
    operator.say("Port 1723 diblokir di jaringan tamu", now=NOW)
    operator.press("pb:known:PRB-2026-000001", now=NOW)
    operator.say("Firewall jaringan tamu menutup port 1723", now=NOW)
    operator.say("Sambungkan VPN lewat jaringan kantor atau tethering", now=NOW)
    operator.press("pb:pub:PRB-2026-000001", now=NOW)
    manager = Chat.as_person(helpdesk, "console", MANAGER)
    manager.say("/kandidat", now=NOW)
    assert manager.text == (
        'Artikel baru dari masalah: "Aplikasi VPN error kode 809" → '
        '"Sambungkan VPN lewat jaringan kantor atau tethering". Setujui sebagai artikel FAQ?'
    )
    manager.press(manager.actions[0], now=NOW)  # approve
    helpdesk.kb.force_reload()
    chat.say("aplikasi vpn error kode 809", now=NOW)
    assert "Sambungkan VPN lewat jaringan kantor atau tethering" in chat.text


def test_in_english(helpdesk: Helpdesk, chat: Chat, operator: Chat) -> None:
    operator.say("/language en", now=NOW)
    operator.say("/problem", now=NOW)
    assert operator.text == "There are no open problems."
    number = report_incident(chat, "VPN tidak bisa connect sejak pagi")
    operator.say(f"/problem {number}", now=NOW)
    assert "Problem PRB-2026-000001 created." in operator.text
    assert "State: new" in operator.text
    assert [c.label for r in operator.replies for c in r.choices] == ["Diagnosis", "Link incident"]


def test_in_a_group_the_typed_answers_are_read_there(helpdesk: Helpdesk, operator: Chat) -> None:
    """An alert's group: the problem is made there, and the answers its prompts ask for
    are typed there too (the flow's states are group-text states)."""
    with session_scope(helpdesk.engine) as s:
        number = tickets.open_ticket(
            s, type_="gangguan", title="VPN mati total", service_id="vpn", alert=False, now=NOW
        ).number

    def send(text: str = "", action: str | None = None) -> str:
        msg = Incoming(
            channel="console",
            chat_id="ops-group",
            user_id=operator.user_id,
            text=text,
            action=action,
            group=True,
        )
        return "\n".join(r.text for r in helpdesk.conversations.handle(msg, now=NOW))

    assert "Masalah PRB-2026-000001 dibuat." in send(action=f"pb:new:{number}")
    assert "PRB-2026-000001" in send(action="pb:diag:PRB-2026-000001")
    assert "Sertifikat konsentrator VPN kedaluwarsa" in send(
        "Sertifikat konsentrator VPN kedaluwarsa"
    )
    with Session(helpdesk.engine) as s:
        problem = s.exec(select(Problem)).one()
    assert (problem.state, problem.diagnosis) == (
        "didiagnosis",
        "Sertifikat konsentrator VPN kedaluwarsa",
    )


async def test_the_scheduled_job_runs_the_tick(helpdesk: Helpdesk, chat: Chat) -> None:
    for i, text in enumerate(
        (
            "VPN tidak bisa connect sejak pagi",
            "vpn gak bisa konek dari tadi pagi",
            "koneksi vpn gagal, tidak bisa connect",
        )
    ):
        report_incident(chat, text, utcnow() - timedelta(minutes=10 - i))
    jobs = Jobs(helpdesk, Deliverer(helpdesk.engine))
    jobs.start()
    try:
        job = jobs.scheduler.get_job("problems")
        assert job is not None and str(job.trigger) == "interval[0:05:00]"  # 300 s by default
        await job.func()
    finally:
        jobs.shutdown()
    with Session(helpdesk.engine) as s:
        assert len(s.exec(select(ProblemSuggestion)).all()) == 1


def test_the_policy_comes_from_the_settings(settings: Settings) -> None:
    changed = type(settings)(
        _env_file=None,
        problem_verify_days=7,
        problem_cluster_window_hours=12,
        problem_cluster_min_count=4,
        problem_cluster_similarity=0.8,
    )
    assert Policy.from_settings(changed) == Policy(
        verify_days=7, window_hours=12, min_count=4, similarity=0.8, timezone="Asia/Jakarta"
    )
    assert Policy.from_settings(settings) == Policy()
