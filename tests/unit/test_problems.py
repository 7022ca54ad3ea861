"""Problem management through the core: the life cycle and its audit trail, refusals,
linking, the verification tick, suggested clusters, the workaround as a candidate FAQ
article, reporters told on the fix, and the problem register."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from bot.cli import app
from bot.config import Settings
from bot.core import learning, problem_clusters, problem_watch, problems, tickets
from bot.core.errors import HelpdeskError, InvalidTransition, NotAllowed, NotFound
from bot.core.problem_watch import Policy
from bot.core.tickets import Actor
from bot.reports import build_report, registry
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import (
    Identity,
    KbCandidate,
    Notice,
    Person,
    Problem,
    ProblemEvent,
    ProblemSuggestion,
    Ticket,
    TicketEvent,
)
from tests.unit.test_cli import env

NOW = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # 10:00 WIB
POLICY = Policy(verify_days=14, window_hours=24, min_count=3, similarity=0.7)
TECH = "budi.santoso@kementerian.go.id"  # technical manager of vpn
MANAGER = "bambang.susilo@kementerian.go.id"  # service manager of vpn, email and sso

SIMILAR = (
    "VPN tidak bisa connect sejak pagi",
    "vpn gak bisa konek dari tadi pagi",
    "koneksi vpn gagal, tidak bisa connect",
)
UNRELATED = "printer lantai 3 macet kertas"


def person(s: Session, email: str) -> Person:
    return s.exec(select(Person).where(Person.email == email)).one()


def a_user(s: Session) -> Person:
    return s.exec(select(Person).where(Person.roles == ["pengguna"])).first()  # type: ignore[arg-type]


def incident(
    s: Session,
    title: str,
    *,
    at: datetime = NOW,
    service: str = "vpn",
    chat: str = "visitor-1",
    type_: str = "gangguan",
) -> Ticket:
    return tickets.open_ticket(
        s,
        type_=type_,
        title=title,
        service_id=service,
        reporter=a_user(s),
        channel="web",
        chat_id=chat,
        auto_assign=False,
        alert=False,
        now=at,
    )


def operator(s: Session) -> Actor:
    return Actor(person(s, TECH), "console")


def events(s: Session, problem: Problem) -> list[tuple[str, str | None, str | None]]:
    return [(e.kind, e.old, e.new) for e in problems.history(s, problem)]


def link_manager(s: Session, channel: str = "telegram", chat_id: str = "5001") -> None:
    s.add(Identity(person_id=person(s, MANAGER).id, channel=channel, external_id=chat_id))
    s.flush()


def test_the_whole_life_cycle_is_recorded(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        inc = incident(s, SIMILAR[0])
        actor = operator(s)
        problem = problems.create(s, [inc], actor, now=NOW)
        assert (problem.number, problem.state, problem.service_id) == (
            "PRB-2026-000001",
            "baru",
            "vpn",
        )
        assert problem.title == SIMILAR[0]
        problems.diagnose(s, problem, actor, "Sertifikat gateway VPN kedaluwarsa", now=NOW)
        problems.mark_known(
            s,
            problem,
            actor,
            root_cause="Sertifikat TLS gateway tidak diperpanjang",
            workaround="Pakai gateway cadangan vpn2.kementerian.go.id",
            now=NOW + timedelta(hours=1),
        )
        problems.mark_fixed(
            s,
            problem,
            actor,
            fix="Sertifikat diperpanjang dan dipantau",
            now=NOW + timedelta(hours=2),
        )
        # 14 days after the fix, nothing came back: verified
        done = problem_watch.verify_due(s, NOW + timedelta(hours=2, days=14), POLICY)
        assert done == {"verified": 1, "recurred": 0}
        problems.close(s, problem, actor, now=NOW + timedelta(days=15))
        assert problem.state == "ditutup"
        assert problem.verified_at == NOW + timedelta(hours=2, days=14)
        assert problem.closed_at == NOW + timedelta(days=15)
        assert events(s, problem) == [
            ("created", None, "baru"),
            ("link", None, inc.number),
            ("diagnosis", None, "Sertifikat gateway VPN kedaluwarsa"),
            ("state", "baru", "didiagnosis"),
            ("root_cause", None, "Sertifikat TLS gateway tidak diperpanjang"),
            ("workaround", None, "Pakai gateway cadangan vpn2.kementerian.go.id"),
            ("state", "didiagnosis", "diketahui"),
            ("fix", None, "Sertifikat diperpanjang dan dipantau"),
            ("state", "diketahui", "diselesaikan"),
            ("state", "diselesaikan", "diverifikasi"),
            ("state", "diverifikasi", "ditutup"),
        ]
        trail = list(s.exec(select(ProblemEvent).where(ProblemEvent.kind == "state")))
        tech_id = person(s, TECH).id
        # who and through which channel: the operator on the console, the tick as the system
        assert [(e.actor_id, e.channel) for e in trail] == [
            (tech_id, "console"),
            (tech_id, "console"),
            (tech_id, "console"),
            (None, "system"),
            (tech_id, "console"),
        ]
        # the incident's own trail shows the link
        kinds = [(e.kind, e.new) for e in tickets.history(s, inc)]
        assert ("problem", "PRB-2026-000001") in kinds


def test_refusals(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        inc = incident(s, SIMILAR[0])
        user = Actor(a_user(s), "web")
        with pytest.raises(NotAllowed):
            problems.create(s, [inc], user, now=NOW)
        with pytest.raises(NotAllowed):
            problems.find(s, "PRB-2026-000001", a_user(s))
        actor = operator(s)
        with pytest.raises(NotFound) as missing:
            problems.find(s, "PRB-2026-000001", actor.person)
        assert missing.value.key == "problem.not_found"
        problem = problems.create(s, [inc], actor, now=NOW)
        with pytest.raises(InvalidTransition) as wrong:
            problems.close(s, problem, actor, now=NOW)
        assert wrong.value.key == "problem.invalid_transition"
        assert wrong.value.params == {"number": problem.number, "old": "baru", "new": "ditutup"}
        with pytest.raises(HelpdeskError) as short:
            problems.diagnose(s, problem, actor, "ok", now=NOW)
        assert short.value.key == "problem.diagnosis_required"
        with pytest.raises(InvalidTransition):  # a fix before any diagnosis
            problems.mark_fixed(s, problem, actor, fix="diganti", root_cause="rusak", now=NOW)
        problems.diagnose(s, problem, actor, "Gateway menolak sambungan", now=NOW)
        with pytest.raises(HelpdeskError) as no_cause:
            problems.mark_fixed(s, problem, actor, fix="Gateway dimulai ulang", now=NOW)
        assert no_cause.value.key == "problem.root_cause_required"
        with pytest.raises(HelpdeskError) as nothing:
            problems.publish_workaround(s, problem, actor, now=NOW)
        assert nothing.value.key == "problem.no_workaround"
        with pytest.raises(NotAllowed):
            problems.diagnose(s, problem, user, "Gateway menolak sambungan", now=NOW)
        assert problem.state == "didiagnosis"


def test_linking_and_unlinking(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        first, second = incident(s, SIMILAR[0]), incident(s, SIMILAR[1])
        request = incident(s, "Mohon akun VPN baru", type_="permintaan")
        actor = operator(s)
        problem = problems.create(s, [first], actor, now=NOW)
        problems.link(s, problem, second, actor, now=NOW)
        assert [t.number for t in problems.incidents(s, problem)] == [first.number, second.number]
        with pytest.raises(HelpdeskError) as again:
            problems.link(s, problem, second, actor, now=NOW)
        assert again.value.key == "problem.link_exists"
        with pytest.raises(HelpdeskError) as not_incident:
            problems.link(s, problem, request, actor, now=NOW)
        assert not_incident.value.key == "problem.not_incident"
        other = problems.create(s, [incident(s, UNRELATED)], actor, now=NOW)
        with pytest.raises(HelpdeskError) as elsewhere:
            problems.link(s, other, second, actor, now=NOW)
        assert elsewhere.value.key == "problem.already_linked"
        assert elsewhere.value.params["problem"] == problem.number
        problems.unlink(s, problem, second, actor, now=NOW)
        assert [t.number for t in problems.incidents(s, problem)] == [first.number]
        with pytest.raises(HelpdeskError) as absent:
            problems.unlink(s, problem, second, actor, now=NOW)
        assert absent.value.key == "problem.not_linked"
        with pytest.raises(HelpdeskError) as last:
            problems.unlink(s, problem, first, actor, now=NOW)
        assert last.value.key == "problem.last_incident"
        # once unlinked, the incident may go to the other problem
        problems.link(s, other, second, actor, now=NOW)
        assert [e for e in events(s, problem) if e[0] in ("link", "unlink")] == [
            ("link", None, first.number),
            ("link", None, second.number),
            ("unlink", second.number, None),
        ]
        assert [
            (e.kind, e.old, e.new) for e in tickets.history(s, second) if e.kind == "problem"
        ] == [
            ("problem", None, problem.number),
            ("problem", problem.number, None),
            ("problem", None, other.number),
        ]


def _fixed_problem(s: Session, at: datetime) -> Problem:
    actor = operator(s)
    problem = problems.create(
        s, [incident(s, SIMILAR[0], at=at - timedelta(hours=1))], actor, now=at
    )
    problems.diagnose(s, problem, actor, "Sertifikat gateway kedaluwarsa", now=at)
    problems.mark_fixed(
        s, problem, actor, fix="Sertifikat diperpanjang", root_cause="Tidak diperpanjang", now=at
    )
    return problem


def test_verification_waits_the_whole_period(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        problem = _fixed_problem(s, NOW)
        # an unrelated incident on the same service after the fix does not count
        incident(s, UNRELATED, at=NOW + timedelta(days=3))
        # 13 days 23 hours after the fix: the 14-day wait is not over
        early = problem_watch.verify_due(s, NOW + timedelta(days=14) - timedelta(hours=1), POLICY)
        assert early == {"verified": 0, "recurred": 0} and problem.state == "diselesaikan"
        done = problem_watch.verify_due(s, NOW + timedelta(days=14), POLICY)
        assert done == {"verified": 1, "recurred": 0} and problem.state == "diverifikasi"


def test_a_late_tick_counts_only_the_waiting_period(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        problem = _fixed_problem(s, NOW)
        # similar, but an hour after the 14 days ended; the tick runs an hour later still
        incident(s, SIMILAR[1], at=NOW + timedelta(days=14, hours=1))
        done = problem_watch.verify_due(s, NOW + timedelta(days=14, hours=2), POLICY)
        assert done == {"verified": 1, "recurred": 0} and problem.state == "diverifikasi"


@pytest.mark.parametrize("linked", [True, False])
def test_a_recurrence_tells_the_service_manager_once(helpdesk: Helpdesk, linked: bool) -> None:
    with session_scope(helpdesk.engine) as s:
        link_manager(s)
        problem = _fixed_problem(s, NOW)
        back = incident(s, SIMILAR[1], at=NOW + timedelta(days=2))
        if linked:  # linked by hand; otherwise found by its text alone
            problems.link(s, problem, back, operator(s), now=NOW + timedelta(days=2))
        later = NOW + timedelta(days=14)
        assert problem_watch.verify_due(s, later, POLICY) == {"verified": 0, "recurred": 1}
        assert problem.state == "diselesaikan" and problem.recurred_at == later
        assert problem_watch.verify_due(s, later + timedelta(hours=1), POLICY) == {
            "verified": 0,
            "recurred": 0,
        }
        told = list(s.exec(select(Notice).where(Notice.kind == "problem.recurred")))
        assert [(n.channel, n.target) for n in told] == [("telegram", "5001")]
        assert back.number in told[0].payload["text"]
        assert told[0].payload["choices"] == [
            {"label": "Lihat masalah", "action": f"pb:show:{problem.number}"}
        ]
        assert ("recurred", None, None) in events(s, problem)
        # diagnosed again and fixed again: the wait starts over
        actor = operator(s)
        problems.reopen(s, problem, actor, "Insiden terulang", now=later)
        problems.mark_fixed(s, problem, actor, fix="Gateway diganti", now=later)
        assert problem_watch.verify_due(s, later + timedelta(days=14), POLICY) == {
            "verified": 1,
            "recurred": 0,
        }


def test_similar_texts_are_similar_and_unrelated_ones_are_not() -> None:
    for i, a in enumerate(SIMILAR):
        for b in SIMILAR[i + 1 :]:
            assert problem_clusters.similarity(a, b) >= 0.7, (a, b)
        assert problem_clusters.similarity(a, UNRELATED) < 0.7
        assert problem_clusters.similarity(a, "lupa password email") < 0.7
    assert problem_clusters.similarity("", SIMILAR[0]) == 0.0
    texts = [SIMILAR[0], UNRELATED, SIMILAR[1], SIMILAR[2]]
    assert problem_clusters.clusters(texts, 0.7) == [[0, 2, 3], [1]]


def test_a_cluster_is_offered_once(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        link_manager(s)
        made = [
            incident(s, text, at=NOW - timedelta(hours=5 - i)) for i, text in enumerate(SIMILAR)
        ]
        incident(s, UNRELATED, at=NOW - timedelta(hours=1))
        # two similar ones on e-mail: fewer than the minimum of three
        incident(s, SIMILAR[0], service="email", at=NOW - timedelta(hours=1))
        incident(s, SIMILAR[1], service="email", at=NOW - timedelta(hours=1))
        # a similar one older than the 24-hour window stays out
        incident(s, SIMILAR[2], at=NOW - timedelta(hours=30))
        assert problem_watch.suggest(s, NOW, POLICY) == 1
        row = s.exec(select(ProblemSuggestion)).one()
        assert (row.service_id, row.ticket_ids) == ("vpn", [t.id for t in made])
        told = s.exec(select(Notice).where(Notice.kind == "problem.suggested")).one()
        assert (told.channel, told.target) == ("telegram", "5001")
        assert "3 insiden" in told.payload["text"]
        assert told.payload["choices"] == [
            {"label": "Buat masalah dari 3 insiden ini", "action": f"pb:sug:{row.id}"}
        ]
        # offered once: the next tick, and a fourth similar incident, offer nothing
        assert problem_watch.suggest(s, NOW + timedelta(minutes=5), POLICY) == 0
        incident(s, SIMILAR[0], at=NOW + timedelta(minutes=10))
        assert problem_watch.suggest(s, NOW + timedelta(minutes=15), POLICY) == 0
        problem = problem_watch.accept_suggestion(s, row.id or 0, operator(s), now=NOW)
        assert [t.id for t in problems.incidents(s, problem)] == [t.id for t in made]
        assert row.problem_id == problem.id
        with pytest.raises(HelpdeskError) as twice:
            problem_watch.accept_suggestion(s, row.id or 0, operator(s), now=NOW)
        assert twice.value.key == "problem.suggestion_done"
        with pytest.raises(NotFound):
            problem_watch.accept_suggestion(s, 999, operator(s), now=NOW)


def test_the_tick_runs_both_in_their_own_transactions(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        _fixed_problem(s, NOW)
        for text in SIMILAR:
            incident(s, text, service="sso", at=NOW + timedelta(days=14))
    done = problem_watch.tick(helpdesk.engine, NOW + timedelta(days=14, hours=1), POLICY)
    # the vpn problem verified (the sso incidents are another service); one sso cluster
    assert done == {"verified": 1, "recurred": 0, "suggested": 1}


def test_the_workaround_becomes_a_candidate_article(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        actor = operator(s)
        problem = problems.create(s, [incident(s, "Aplikasi VPN error kode 809")], actor, now=NOW)
        problems.diagnose(s, problem, actor, "Port 1723 diblokir jaringan tamu", now=NOW)
        problems.mark_known(
            s,
            problem,
            actor,
            root_cause="Firewall jaringan tamu menutup port 1723",
            workaround="Sambungkan VPN lewat jaringan kantor atau tethering",
            now=NOW,
        )
        cand = problems.publish_workaround(s, problem, actor, now=NOW)
        assert (cand.article_id, cand.phrasing, cand.answer, cand.status) == (
            "masalah-prb-2026-000001",
            "Aplikasi VPN error kode 809",
            "Sambungkan VPN lewat jaringan kantor atau tethering",
            "pending",
        )
        with pytest.raises(HelpdeskError) as twice:
            problems.publish_workaround(s, problem, actor, now=NOW)
        assert twice.value.key == "problem.already_published"
        assert ("published", None, str(cand.id)) in events(s, problem)
        cand_id = cand.id or 0
    assert helpdesk.kb.article("masalah-prb-2026-000001") is None  # not before review
    with session_scope(helpdesk.engine) as s:
        learning.decide(s, cand_id, True, person(s, MANAGER), now=NOW)
    helpdesk.kb.force_reload()
    article = helpdesk.kb.matcher().article("masalah-prb-2026-000001")
    assert article is not None
    assert article.answer == "Sambungkan VPN lewat jaringan kantor atau tethering"
    with Session(helpdesk.engine) as s:
        assert s.get(KbCandidate, cand_id).status == "approved"  # type: ignore[union-attr]


def test_reporters_are_told_of_the_fix_where_they_reported(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        actor = operator(s)
        a = incident(s, SIMILAR[0], chat="visitor-1")
        b = incident(s, SIMILAR[1], chat="visitor-2")
        silent = tickets.open_ticket(  # reported by the probe, not by a person in a chat
            s, type_="gangguan", title="VPN down", service_id="vpn", alert=False, now=NOW
        )
        problem = problems.create(s, [a, b, silent], actor, now=NOW)
        problems.diagnose(s, problem, actor, "Gateway penuh", now=NOW)
        problems.mark_fixed(
            s, problem, actor, fix="Kapasitas gateway ditambah", root_cause="Lisensi habis", now=NOW
        )
        told = list(
            s.exec(select(Notice).where(Notice.kind == "problem.fixed").order_by(col(Notice.id)))
        )
        # two of the three incidents have a reporter's chat
        assert [(n.channel, n.target, n.payload["ticket"]) for n in told] == [
            ("web", "visitor-1", a.number),
            ("web", "visitor-2", b.number),
        ]
        assert "Kapasitas gateway ditambah" in told[0].payload["text"]
        # and the ticket trail records each link
        linked = s.exec(
            select(TicketEvent).where(
                TicketEvent.kind == "problem", TicketEvent.new == problem.number
            )
        ).all()
        assert len(linked) == 3


def test_the_problem_register(helpdesk: Helpdesk) -> None:
    day = timedelta(days=1)
    with session_scope(helpdesk.engine) as s:
        actor = operator(s)
        # 1: open the whole of March 2026, two incidents, fixed on 5 March 10:00 WIB
        first = problems.create(s, [incident(s, SIMILAR[0])], actor, now=NOW)
        problems.link(s, first, incident(s, SIMILAR[1]), actor, now=NOW)
        problems.diagnose(s, first, actor, "Sertifikat kedaluwarsa", now=NOW)
        problems.mark_fixed(
            s, first, actor, fix="Diperpanjang", root_cause="Lupa diperpanjang", now=NOW + 3 * day
        )
        # 2: created after the period (April): not in March's register
        problems.create(s, [incident(s, UNRELATED, at=NOW + 40 * day)], actor, now=NOW + 40 * day)
        # 3: on e-mail, new
        problems.create(s, [incident(s, "Email lambat", service="email")], actor, now=NOW + day)
    with Session(helpdesk.engine) as s:
        report = build_report(
            "problems",
            s,
            start=date(2026, 3, 1),
            end=date(2026, 3, 31),
            tz="Asia/Jakarta",
            now=NOW + 45 * day,
        )
        vpn_only = build_report(
            "problems",
            s,
            start=date(2026, 3, 1),
            end=date(2026, 3, 31),
            tz="Asia/Jakarta",
            now=NOW + 45 * day,
            service_id="vpn",
        )
    table = report.tables[0]
    assert table.name == "problems" and report.kind == "masalah"
    # NOW is 2026-03-02 03:00 UTC = 10:00 WIB; the fix three days later
    assert table.rows == [
        [
            "PRB-2026-000001",
            SIMILAR[0],
            "Akses Jarak Jauh (VPN)",
            "diselesaikan",
            2,
            "INC-2026-000001, INC-2026-000002",
            "Lupa diperpanjang",
            None,
            "Diperpanjang",
            "2026-03-02 10:00",
            "2026-03-05 10:00",
            None,
            None,
        ],
        [
            "PRB-2026-000003",
            "Email lambat",
            "Surat Elektronik Dinas (Surel)",
            "baru",
            1,
            "INC-2026-000004",
            None,
            None,
            None,
            "2026-03-03 10:00",
            None,
            None,
            None,
        ],
    ]
    assert [r[0] for r in vpn_only.tables[0].rows] == ["PRB-2026-000001"]
    assert registry.resolve_kind("masalah") == "problems"


def test_the_cli_lists_and_shows_problems(helpdesk: Helpdesk, settings: Settings) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["problem", "list"], env=env(settings))
    assert (result.exit_code, result.output) == (0, "Tidak ada masalah yang masih terbuka.\n")
    with session_scope(helpdesk.engine) as s:
        actor = operator(s)
        problem = problems.create(s, [incident(s, SIMILAR[0])], actor, now=NOW)
        problems.diagnose(s, problem, actor, "Sertifikat kedaluwarsa", now=NOW)
    result = runner.invoke(app, ["problem", "list"], env=env(settings))
    assert result.output == f"• PRB-2026-000001 [didiagnosis] {SIMILAR[0]}\n"
    result = runner.invoke(app, ["problem", "show", "prb-2026-000001"], env=env(settings))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:3] == [
        f"Masalah PRB-2026-000001: {SIMILAR[0]}",
        "Status: didiagnosis",
        "Layanan: Akses Jarak Jauh (VPN)",
    ]
    # the trail: created, link, diagnosis, state — four events, by Budi on the console
    trail = lines[8:]
    assert len(trail) == 4 and all("Budi Santoso (console)" in line for line in trail)
    assert "baru → didiagnosis" in trail[3]
    result = runner.invoke(app, ["problem", "show", "PRB-2026-000099"], env=env(settings))
    assert result.exit_code == 1 and "Masalah PRB-2026-000099 tidak ditemukan." in result.output
