"""Change management in the core (bot.core.changes, change_posts, change_reviews,
releases) and the change log report, on SQLite and PostgreSQL. Times are chosen, never
read from the clock: Monday 7 Dec 2026, 09:00 WIB is `NOW`."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from bot.core import (
    change_policy,
    change_posts,
    change_results,
    changes,
    maintenance,
    releases,
    subscriptions,
    tickets,
)
from bot.core.change_reviews import change_tick
from bot.core.errors import HelpdeskError, InvalidTransition, NotAllowed
from bot.delivery import Deliverer
from bot.i18n import t
from bot.reports.registry import build_report
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import (
    ChangeApproval,
    ChangeEvent,
    ChangeIncident,
    ChangeRequest,
    Identity,
    MaintenanceService,
    MaintenanceWindow,
    Notice,
    Person,
)

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # Monday 09:00 WIB
#: Tuesday 8 Dec 22:00–23:00 WIB
START, END = datetime(2026, 12, 8, 15, 0, tzinfo=UTC), datetime(2026, 12, 8, 16, 0, tzinfo=UTC)
COORDINATOR = "nur.hidayati@kementerian.go.id"  # the one koordinator layanan
MANAGER = "bambang.susilo@kementerian.go.id"  # pengelola layanan of vpn (and email, sso)
TECH = "budi.santoso@kementerian.go.id"  # pengelola teknis of vpn
EMPLOYEE = "lina.marlina@kementerian.go.id"  # pengguna
OTHER_MANAGER = "siti.rahma@kementerian.go.id"  # pengelola layanan of eoffice, not of vpn


def person(s: Session, email: str) -> Person:
    return s.exec(select(Person).where(Person.email == email)).one()


def form(**over: object) -> changes.ChangeForm:
    values: dict[str, object] = {
        "service_id": "vpn",
        "kind": "normal",
        "description": "Pembaruan firmware gateway VPN ke versi 9.2",
        "risk": "sedang",
        "impact": "VPN tidak dapat diakses selama satu jam",
        "plan": "Cadangkan konfigurasi, pasang firmware, mulai ulang, uji koneksi",
        "test_functional": "Login dan akses aplikasi internal diuji di lab: lulus",
        "test_security": "Pemindaian kerentanan firmware baru: tidak ada temuan tinggi",
        "test_performance": "Uji beban 500 sesi serentak di lab: latensi < 40 ms",
        "rollback_plan": "Pasang kembali firmware 9.1 dari cadangan dan pulihkan konfigurasi",
        "start": START,
        "end": END,
    }
    values.update(over)
    return changes.ChangeForm(**values)  # type: ignore[arg-type]


def link(helpdesk: Helpdesk, email: str, channel: str = "telegram") -> str:
    """A chat account for the person; returns its id (the notices' target)."""
    with session_scope(helpdesk.engine) as s:
        external = f"{channel}-{email}"
        s.add(Identity(person_id=person(s, email).id, channel=channel, external_id=external))
    return external


def raise_one(helpdesk: Helpdesk, by: str = TECH, **over: object) -> int:
    with session_scope(helpdesk.engine) as s:
        change = changes.raise_change(s, person(s, by), "telegram", form(**over), now=NOW)
        return change.id or 0


def decide(
    helpdesk: Helpdesk, change_id: int, email: str, decision: str = "setuju", note: str = ""
) -> ChangeRequest:
    with session_scope(helpdesk.engine) as s:
        return changes.decide(s, change_id, person(s, email), "slack", decision, note=note, now=NOW)


def get(helpdesk: Helpdesk, change_id: int) -> ChangeRequest:
    with Session(helpdesk.engine) as s:
        change = s.get(ChangeRequest, change_id)
        assert change is not None
        return change


def events(helpdesk: Helpdesk, change_id: int) -> list[tuple[str, str | None, str | None]]:
    with Session(helpdesk.engine) as s:
        rows = s.exec(
            select(ChangeEvent).where(ChangeEvent.change_id == change_id).order_by(ChangeEvent.id)
        )
        return [(e.kind, e.old, e.new) for e in rows]


def notices_of(helpdesk: Helpdesk, kind: str) -> list[Notice]:
    with Session(helpdesk.engine) as s:
        return list(s.exec(select(Notice).where(Notice.kind == kind).order_by(Notice.id)))


# -- raising ------------------------------------------------------------------------


def test_raise_records_and_posts_to_the_approvers(helpdesk: Helpdesk) -> None:
    coordinator_chat = link(helpdesk, COORDINATOR)
    manager_chat = link(helpdesk, MANAGER)
    link(helpdesk, TECH)  # the requester's own chat gets no post
    change_id = raise_one(helpdesk)
    change = get(helpdesk, change_id)
    assert change.number == "CHG-2026-000001"
    assert (change.state, change.approval_rule, change.kind) == ("diajukan", "all", "normal")
    assert events(helpdesk, change_id) == [("created", None, "diajukan")]
    posts = notices_of(helpdesk, "change.post")
    assert sorted(n.target for n in posts) == sorted([coordinator_chat, manager_chat])
    assert [c["action"] for c in posts[0].payload["choices"]] == [
        f"chg:ok:{change_id}",
        f"chg:no:{change_id}",
        f"chg:info:{change_id}",
    ]
    assert "CHG-2026-000001" in posts[0].payload["text"]
    # the second number of the year follows the first
    second = raise_one(helpdesk, start=END + timedelta(hours=1), end=END + timedelta(hours=2))
    assert get(helpdesk, second).number == "CHG-2026-000002"


@pytest.mark.parametrize(
    ("email", "service"), [(EMPLOYEE, "vpn"), (OTHER_MANAGER, "vpn"), (TECH, "eoffice")]
)
def test_only_the_services_managers_may_raise(helpdesk: Helpdesk, email: str, service: str) -> None:
    with session_scope(helpdesk.engine) as s, pytest.raises(NotAllowed) as refused:
        changes.raise_change(s, person(s, email), "web", form(service_id=service), now=NOW)
    assert refused.value.key == "changes.not_allowed"


@pytest.mark.parametrize(
    ("over", "key"),
    [
        ({"kind": "besar"}, "changes.bad_kind"),
        ({"risk": "ekstrem"}, "changes.bad_risk"),
        ({"test_security": "ok"}, "changes.short.test_security"),
        ({"rollback_plan": ""}, "changes.short.rollback_plan"),
        ({"end": START}, "changes.end_before_start"),
        ({"start": NOW - timedelta(hours=1)}, "changes.start_in_past"),
        ({"service_id": "tidak-ada"}, "changes.unknown_service"),
    ],
)
def test_bad_requests_are_refused(helpdesk: Helpdesk, over: dict[str, object], key: str) -> None:
    with session_scope(helpdesk.engine) as s, pytest.raises(HelpdeskError) as refused:
        changes.raise_change(s, person(s, TECH), "web", form(**over), now=NOW)
    assert refused.value.key == key
    assert t(key, "id", **refused.value.params)


def test_clash_with_maintenance_and_with_another_change(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        window = maintenance.schedule(s, None, ["vpn"], START, END, "VPN putus", now=NOW)
        window_id = window.id
    with session_scope(helpdesk.engine) as s, pytest.raises(HelpdeskError) as refused:
        # 22:30–23:30 WIB overlaps 22:00–23:00
        changes.raise_change(
            s, person(s, TECH), "web",
            form(start=START + timedelta(minutes=30), end=END + timedelta(minutes=30)), now=NOW,
        )  # fmt: skip
    assert refused.value.key == "changes.clash_maintenance"
    assert refused.value.params["id"] == window_id
    # the next day is free; a second change on that window is refused, naming the first
    day = timedelta(days=1)
    first = raise_one(helpdesk, start=START + day, end=END + day)
    with session_scope(helpdesk.engine) as s, pytest.raises(HelpdeskError) as refused:
        changes.raise_change(
            s, person(s, TECH), "web", form(start=START + day, end=END + day), now=NOW
        )
    assert refused.value.key == "changes.clash_change"
    assert refused.value.params["number"] == get(helpdesk, first).number
    # another service at the same time is no clash (the manager of email raises it)
    raise_one(helpdesk, by=MANAGER, service_id="email", start=START + day, end=END + day)
    # a rejected change holds nothing: its window is free again
    decide(helpdesk, first, COORDINATOR, "tolak", "Tunda ke pekan depan")
    raise_one(helpdesk, start=START + day, end=END + day)


# -- approving ----------------------------------------------------------------------


def test_all_rule_needs_both_parties_and_opens_a_maintenance_window(helpdesk: Helpdesk) -> None:
    change_id = raise_one(helpdesk)
    assert decide(helpdesk, change_id, COORDINATOR).state == "diajukan"  # one of two parties
    with pytest.raises(HelpdeskError) as again:  # a double press counts once
        decide(helpdesk, change_id, COORDINATOR)
    assert again.value.key == "changes.already_approved"
    change = decide(helpdesk, change_id, MANAGER)
    assert (change.state, change.decided_at) == ("disetujui", NOW)
    assert events(helpdesk, change_id) == [
        ("created", None, "diajukan"),
        ("approval", None, "setuju"),
        ("approval", None, "setuju"),
        ("state", "diajukan", "disetujui"),
    ]
    with Session(helpdesk.engine) as s:
        state_event = s.exec(select(ChangeEvent).where(ChangeEvent.kind == "state")).one()
        assert (state_event.actor_id, state_event.channel, state_event.at) == (
            person(s, MANAGER).id,
            "slack",
            NOW,
        )
        window = s.get(MaintenanceWindow, change.maintenance_id)
        assert window is not None
        assert (window.starts_at, window.ends_at) == (START, END)
        assert s.exec(select(MaintenanceService.service_id)).all() == ["vpn"]
        assert window.impact.startswith("CHG-2026-000001: ")
    with pytest.raises(InvalidTransition) as late:
        decide(helpdesk, change_id, COORDINATOR, "tolak", "terlambat")
    assert late.value.key == "changes.not_pending"


def test_an_approval_after_the_window_started_is_refused(helpdesk: Helpdesk) -> None:
    change_id = raise_one(helpdesk)
    decide(helpdesk, change_id, COORDINATOR)  # one party: nothing is approved yet
    with pytest.raises(HelpdeskError) as late, session_scope(helpdesk.engine) as s:
        changes.decide(s, change_id, person(s, MANAGER), "web", "setuju", now=START)
    assert late.value.key == "changes.window_passed"
    assert get(helpdesk, change_id).state == "diajukan"
    with Session(helpdesk.engine) as s:  # the refused approval left nothing behind
        assert len(s.exec(select(ChangeApproval)).all()) == 1
    decide(helpdesk, change_id, MANAGER, "tolak", "Ajukan lagi dengan waktu baru")


def test_maintenance_scheduled_meanwhile_blocks_the_approval(helpdesk: Helpdesk) -> None:
    change_id = raise_one(helpdesk)
    with session_scope(helpdesk.engine) as s:  # a coordinator books the same evening
        window_id = maintenance.schedule(
            s, None, ["vpn"], START - timedelta(minutes=30), START + timedelta(minutes=30),
            "Pemindahan rak", now=NOW,
        ).id  # fmt: skip
    decide(helpdesk, change_id, COORDINATOR)
    with pytest.raises(HelpdeskError) as clash:
        decide(helpdesk, change_id, MANAGER)
    assert (clash.value.key, clash.value.params["id"]) == ("changes.clash_maintenance", window_id)
    assert get(helpdesk, change_id).state == "diajukan"


def test_any_rule_approves_on_the_first_approval(helpdesk: Helpdesk) -> None:
    change_policy.install(helpdesk.engine, change_policy.Policy(rules={"normal": "any"}))
    change_id = raise_one(helpdesk)
    assert get(helpdesk, change_id).approval_rule == "any"
    assert decide(helpdesk, change_id, MANAGER).state == "disetujui"
    with pytest.raises(InvalidTransition):  # the other party comes too late
        decide(helpdesk, change_id, COORDINATOR)


def test_standard_changes_are_pre_approved(helpdesk: Helpdesk) -> None:
    change_id = raise_one(helpdesk, kind="standar")
    change = get(helpdesk, change_id)
    assert (change.state, change.approval_rule) == ("disetujui", "none")
    assert change.maintenance_id is not None
    assert [e[0] for e in events(helpdesk, change_id)] == ["created", "state"]


def test_refusals_of_deciders(helpdesk: Helpdesk) -> None:
    change_id = raise_one(helpdesk, by=MANAGER)
    for email, key in [
        (EMPLOYEE, "changes.not_approver"),
        (TECH, "changes.not_approver"),
        (OTHER_MANAGER, "changes.not_approver"),  # manages another service
        (MANAGER, "changes.own_change"),
    ]:
        with pytest.raises(NotAllowed) as refused:
            decide(helpdesk, change_id, email)
        assert refused.value.key == key
    with pytest.raises(HelpdeskError) as no_reason:
        decide(helpdesk, change_id, COORDINATOR, "tolak")
    assert no_reason.value.key == "changes.need_note"
    with pytest.raises(HelpdeskError) as bad:
        decide(helpdesk, change_id, COORDINATOR, "mungkin")
    assert bad.value.key == "changes.bad_decision"
    assert get(helpdesk, change_id).state == "diajukan"


def test_reject_and_info_tell_the_requester(helpdesk: Helpdesk) -> None:
    tech_chat = link(helpdesk, TECH)
    change_id = raise_one(helpdesk)
    decide(helpdesk, change_id, MANAGER, "info", "Berapa lama VPN benar-benar putus?")
    assert get(helpdesk, change_id).state == "perlu_info"
    asked = notices_of(helpdesk, "change.notice")
    assert [n.target for n in asked] == [tech_chat]
    assert "Berapa lama VPN benar-benar putus?" in asked[0].payload["text"]
    with pytest.raises(InvalidTransition):  # waiting for the answer, not for approvers
        decide(helpdesk, change_id, COORDINATOR)
    with session_scope(helpdesk.engine) as s:
        change = changes.find(s, "chg-2026-000001")  # any case
        changes.answer_info(s, change, person(s, TECH), "telegram", "Sekitar 20 menit", now=NOW)
    assert get(helpdesk, change_id).state == "diajukan"
    decide(helpdesk, change_id, COORDINATOR, "tolak", "Jadwalkan di luar jam kerja")
    assert get(helpdesk, change_id).state == "ditolak"
    told = notices_of(helpdesk, "change.notice")
    assert len(told) == 2 and "Jadwalkan di luar jam kerja" in told[1].payload["text"]
    assert [e[2] for e in events(helpdesk, change_id) if e[0] == "state"] == [
        "perlu_info",
        "diajukan",
        "ditolak",
    ]


class Recorder:
    """The platform's side of the outbox: message references for posts, edits kept."""

    def __init__(self) -> None:
        self.sent: list[Notice] = []

    async def send(self, notice: Notice) -> str | None:
        self.sent.append(notice)
        return f"msg-{len(self.sent)}" if notice.kind == "change.post" else None


def test_the_decision_edits_every_post_in_place(helpdesk: Helpdesk) -> None:
    link(helpdesk, COORDINATOR, "telegram")
    link(helpdesk, MANAGER, "slack")
    recorder = Recorder()
    deliverer = Deliverer(helpdesk.engine, {"telegram": recorder, "slack": recorder})
    change_id = raise_one(helpdesk)
    asyncio.run(deliverer.drain(NOW))
    assert sorted(n.kind for n in recorder.sent) == ["change.post", "change.post"]
    decide(helpdesk, change_id, COORDINATOR)
    decide(helpdesk, change_id, MANAGER)
    asyncio.run(deliverer.drain(NOW))
    edits = [n for n in recorder.sent if n.kind == "change.edit"]
    # one edit per post: the second decision finds the first's edits still waiting, and
    # those are rendered afresh when sent (2 posts × 1 edit)
    assert len(edits) == 2
    assert sorted({n.payload["message_ref"] for n in edits}) == ["msg-1", "msg-2"]
    last = edits[-1].payload["text"]
    assert "✅ Disetujui oleh Nur Hidayati" in last and "melalui slack" in last
    assert "✅ Disetujui oleh Bambang Susilo" in last
    assert t("changes.state.disetujui", "id") in last
    assert edits[-1].payload["choices"] == []  # decided: no buttons left


# -- two approvers at once (PostgreSQL row locks) -------------------------------------


def _at_once(helpdesk: Helpdesk, change_id: int) -> list[str]:
    """The coordinator and the manager press Setujui at the same moment, each in their
    own transaction on their own connection."""
    barrier = threading.Barrier(2)
    outcome: list[str] = []

    def press(email: str) -> None:
        with session_scope(helpdesk.engine) as s:
            who = person(s, email)
            barrier.wait()
            try:
                changes.decide(s, change_id, who, "telegram", "setuju", now=NOW)
                outcome.append("ok")
            except HelpdeskError as exc:
                outcome.append(exc.key)

    threads = [threading.Thread(target=press, args=(e,)) for e in (COORDINATOR, MANAGER)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    return sorted(outcome)


def _postgres_only(helpdesk: Helpdesk) -> None:
    if helpdesk.engine.dialect.name != "postgresql":
        pytest.skip("row locks between two connections: PostgreSQL")


def test_two_approvers_at_once_under_all_both_count(helpdesk: Helpdesk) -> None:
    _postgres_only(helpdesk)
    change_id = raise_one(helpdesk)
    assert _at_once(helpdesk, change_id) == ["ok", "ok"]
    change = get(helpdesk, change_id)
    assert change.state == "disetujui"  # neither decision was lost
    with Session(helpdesk.engine) as s:
        assert len(s.exec(select(ChangeApproval)).all()) == 2
        assert len(s.exec(select(MaintenanceWindow)).all()) == 1
    assert [e for e in events(helpdesk, change_id) if e[0] == "state"] == [
        ("state", "diajukan", "disetujui")
    ]


def test_two_approvers_at_once_under_any_exactly_one_wins(helpdesk: Helpdesk) -> None:
    _postgres_only(helpdesk)
    change_policy.install(helpdesk.engine, change_policy.Policy(rules={"normal": "any"}))
    change_id = raise_one(helpdesk)
    assert _at_once(helpdesk, change_id) == ["changes.not_pending", "ok"]
    with Session(helpdesk.engine) as s:
        assert len(s.exec(select(ChangeApproval)).all()) == 1
        assert len(s.exec(select(MaintenanceWindow)).all()) == 1


# -- emergency changes and their review --------------------------------------------


def test_emergency_review_reminder_and_escalation_each_sent_once(helpdesk: Helpdesk) -> None:
    coordinator_chat = link(helpdesk, COORDINATOR)
    manager_chat = link(helpdesk, MANAGER)
    tech_chat = link(helpdesk, TECH)
    # under way already: started an hour ago, ends Thursday 10 Dec 10:00 WIB (03:00 UTC)
    end = datetime(2026, 12, 10, 3, 0, tzinfo=UTC)
    change_id = raise_one(helpdesk, kind="darurat", start=NOW - timedelta(hours=1), end=end)
    change = get(helpdesk, change_id)
    assert (change.state, change.approval_rule) == ("disetujui", "none")
    # two working days after Thursday 10:00 WIB: Friday 10:00, then (Saturday and Sunday
    # closed) Monday 14 Dec 10:00 WIB = 03:00 UTC
    due = datetime(2026, 12, 14, 3, 0, tzinfo=UTC)
    assert change.review_due_at == due
    with Session(helpdesk.engine) as s:  # its window is open now, as it started already
        window = s.get(MaintenanceWindow, change.maintenance_id)
        assert window is not None and window.starts_at == NOW - timedelta(hours=1)

    def chased() -> list[tuple[str, str]]:
        return [
            (n.dedupe_key.split(":")[3], n.target)
            for n in notices_of(helpdesk, "change.notice")
            if n.dedupe_key.startswith(f"change:{change_id}:review:")
        ]

    assert change_tick(helpdesk.engine, end - timedelta(minutes=1))["reminder"] == 0
    assert chased() == []
    assert change_tick(helpdesk.engine, end)["reminder"] == 1
    reminded = [("reminder", manager_chat), ("reminder", tech_chat)]
    assert sorted(chased()) == sorted(reminded)
    assert change_tick(helpdesk.engine, end + timedelta(hours=1))["reminder"] == 0  # once
    assert change_tick(helpdesk.engine, due - timedelta(seconds=1))["escalation"] == 0
    assert change_tick(helpdesk.engine, due)["escalation"] == 1
    assert change_tick(helpdesk.engine, due + timedelta(days=1))["escalation"] == 0  # once
    assert sorted(chased()) == sorted([*reminded, ("overdue", coordinator_chat)])
    assert [e[2] for e in events(helpdesk, change_id) if e[0] == "notice"] == [
        "review_reminder",
        "review_overdue",
    ]


def test_a_reviewed_emergency_change_is_not_chased(helpdesk: Helpdesk) -> None:
    link(helpdesk, COORDINATOR)
    end = NOW + timedelta(hours=2)
    change_id = raise_one(helpdesk, kind="darurat", start=NOW + timedelta(hours=1), end=end)
    with session_scope(helpdesk.engine) as s:
        change = changes.find(s, change_id)
        change_results.record_result(s, change, person(s, TECH), "web", "berhasil", now=end)
        change_results.record_review(
            s, change, person(s, COORDINATOR), "web", "Perubahan berjalan baik", now=end
        )
    assert change_tick(helpdesk.engine, end + timedelta(days=10)) == {}
    assert notices_of(helpdesk, "change.notice") == []


# -- implementation, incidents, review ---------------------------------------------


def test_result_review_and_linked_incidents(helpdesk: Helpdesk) -> None:
    change_id = raise_one(helpdesk, kind="standar")
    with session_scope(helpdesk.engine) as s:
        reporter = person(s, EMPLOYEE)
        for when, service in [
            (START - timedelta(minutes=1), "vpn"),  # before the window
            (START + timedelta(minutes=10), "vpn"),  # during: linked
            (START + timedelta(minutes=20), "email"),  # another service
            (END, "vpn"),  # the window is [start, end)
        ]:
            tickets.open_ticket(
                s, type_="gangguan", title="VPN putus", service_id=service, reporter=reporter,
                now=when, alert=False,
            )  # fmt: skip
        tickets.open_ticket(
            s, type_="permintaan", title="Akun VPN baru", service_id="vpn", reporter=reporter,
            now=START + timedelta(minutes=5), alert=False,
        )  # fmt: skip
    assert change_tick(helpdesk.engine, START + timedelta(minutes=30))["linked"] == 1
    assert change_tick(helpdesk.engine, END + timedelta(minutes=5)) == {}  # linked once
    with session_scope(helpdesk.engine) as s:
        change = changes.find(s, change_id)
        with pytest.raises(NotAllowed):
            change_results.record_result(s, change, person(s, EMPLOYEE), "web", "berhasil", now=END)
        with pytest.raises(InvalidTransition):  # no result yet
            change_results.record_review(
                s, change, person(s, COORDINATOR), "web", "Baik-baik saja", now=END
            )
    with session_scope(helpdesk.engine) as s:
        change = change_results.record_result(
            s, changes.find(s, change_id), person(s, TECH), "web", "berhasil", now=END
        )
        assert [tk.number for tk in change_results.incidents_of(s, change)] == ["INC-2026-000002"]
        with pytest.raises(NotAllowed):  # a technical manager is no reviewer
            change_results.record_review(
                s, change, person(s, TECH), "web", "Baik-baik saja", now=END
            )
    with session_scope(helpdesk.engine) as s:
        change = change_results.record_review(
            s, changes.find(s, change_id), person(s, MANAGER), "web",
            "Berhasil; satu gangguan singkat saat restart", now=END,
        )  # fmt: skip
        assert (change.state, change.reviewed_at) == ("ditinjau", END)
    with Session(helpdesk.engine) as s:
        assert len(s.exec(select(ChangeIncident)).all()) == 1
    assert [e[2] for e in events(helpdesk, change_id) if e[0] in ("state", "result")] == [
        "disetujui",
        "berhasil",
        "dilaksanakan",
        "ditinjau",
    ]


def test_a_change_cancelled_before_its_window_cancels_the_maintenance(helpdesk: Helpdesk) -> None:
    change_id = raise_one(helpdesk, kind="standar")
    with session_scope(helpdesk.engine) as s:
        change_results.record_result(
            s, changes.find(s, change_id), person(s, TECH), "web", "dibatalkan", now=NOW
        )
    with Session(helpdesk.engine) as s:
        window = s.get(MaintenanceWindow, get(helpdesk, change_id).maintenance_id)
        assert window is not None and window.cancelled_at == NOW
    with session_scope(helpdesk.engine) as s, pytest.raises(InvalidTransition):
        change_results.record_result(
            s, changes.find(s, change_id), person(s, TECH), "web", "berhasil", now=NOW
        )


# -- releases -----------------------------------------------------------------------


def test_release_informs_the_owners_and_says_what_to_announce(helpdesk: Helpdesk) -> None:
    chats = {email: link(helpdesk, email) for email in (MANAGER, TECH, COORDINATOR)}
    fajar = link(helpdesk, "fajar.nugroho@kementerian.go.id")  # the other technical manager
    failed = raise_one(helpdesk, kind="standar")
    done = raise_one(helpdesk, kind="standar", start=START + timedelta(days=1),
                     end=END + timedelta(days=1))  # fmt: skip
    with session_scope(helpdesk.engine) as s:
        tech = person(s, TECH)
        change_results.record_result(s, changes.find(s, failed), tech, "web", "gagal", now=END)
        change_results.record_result(s, changes.find(s, done), tech, "web", "berhasil", now=END)
    publish = {"notes_id": "Firmware VPN diperbarui ke 9.2", "sop_url": "https://sop.go.id/vpn"}
    with session_scope(helpdesk.engine) as s, pytest.raises(InvalidTransition):
        releases.publish(s, changes.find(s, failed), None, "cli", now=END, **publish)
    with session_scope(helpdesk.engine) as s, pytest.raises(NotAllowed):
        releases.publish(s, changes.find(s, done), person(s, EMPLOYEE), "web", now=END, **publish)
    with session_scope(helpdesk.engine) as s, pytest.raises(HelpdeskError) as bad:
        releases.publish(
            s, changes.find(s, done), tech, "web", now=END,
            notes_id=publish["notes_id"], sop_url="sop vpn",
        )  # fmt: skip
    assert bad.value.key == "releases.bad_sop"
    with session_scope(helpdesk.engine) as s:
        release = releases.publish(
            s, changes.find(s, done), person(s, TECH), "web", now=END,
            notes_en="VPN firmware updated to 9.2", **publish,
        )  # fmt: skip
        said = releases.release_announcement(s, release, END)
    told = notices_of(helpdesk, "change.notice")
    # the owners: the service manager and both technical managers, not the coordinator
    assert sorted(n.target for n in told) == sorted([chats[MANAGER], chats[TECH], fajar])
    texts = {n.target: n.payload["text"] for n in told}
    assert "Firmware VPN diperbarui ke 9.2" in texts[chats[MANAGER]]
    assert "Rilis layanan Akses Jarak Jauh (VPN)" in texts[chats[TECH]]
    # Fajar reads English (people.yaml): the English notes and text
    assert "VPN firmware updated to 9.2" in texts[fajar] and "Release of" in texts[fajar]
    assert all("https://sop.go.id/vpn" in n.payload["text"] and "/lapor" in n.payload["text"]
               for n in told)  # fmt: skip
    assert (said.service_id, said.key) == ("vpn", "releases.announce")
    assert said.params["notes"] == "Firmware VPN diperbarui ke 9.2"
    assert said.params_for("en")["notes"] == "VPN firmware updated to 9.2"
    assert "/lapor" in t(said.key, "id", **said.params_for("id"))
    with session_scope(helpdesk.engine) as s, pytest.raises(HelpdeskError) as twice:
        releases.publish(s, changes.find(s, done), None, "cli", now=END, **publish)
    assert twice.value.key == "releases.already"
    assert ("release", None, str(release.id)) in events(helpdesk, done)


# -- the change log report ---------------------------------------------------------


def test_change_log_report_rows(helpdesk: Helpdesk) -> None:
    approved = raise_one(helpdesk)
    rejected = raise_one(helpdesk, start=START + timedelta(days=1), end=END + timedelta(days=1))
    decide(helpdesk, approved, COORDINATOR)
    decide(helpdesk, approved, MANAGER)
    decide(helpdesk, rejected, MANAGER, "tolak", "Belum diuji di lab")
    with session_scope(helpdesk.engine) as s:
        tickets.open_ticket(
            s, type_="gangguan", title="VPN putus", service_id="vpn",
            reporter=person(s, EMPLOYEE), now=START + timedelta(minutes=5), alert=False,
        )  # fmt: skip
    change_tick(helpdesk.engine, END)
    # outside the period (7–10 Dec): a change in January
    raise_one(
        helpdesk,
        start=datetime(2027, 1, 5, 15, tzinfo=UTC),
        end=datetime(2027, 1, 5, 16, tzinfo=UTC),
    )
    with Session(helpdesk.engine) as s:
        report = build_report(
            "changes", s, start=datetime(2026, 12, 8).date(), end=datetime(2026, 12, 10).date(),
            tz="Asia/Jakarta", now=END,
        )  # fmt: skip
    rows = report.tables[0].rows
    # 7 Dec is not in 8–10 Dec: only the two changes whose windows fall on 8 and 9 Dec
    assert [r[0] for r in rows] == ["CHG-2026-000001", "CHG-2026-000002"]
    assert rows[0] == [
        "CHG-2026-000001",
        "Akses Jarak Jauh (VPN)",
        "Normal",
        "disetujui",
        "Budi Santoso",
        "Nur Hidayati: setuju (7 Des 2026 09.00 WIB); Bambang Susilo: setuju (7 Des 2026 09.00 WIB)",
        "8 Des 2026 22.00 WIB – 8 Des 2026 23.00 WIB",
        "-",
        "INC-2026-000001",
        "-",
        "-",
    ]
    assert rows[1][3:6] == [
        "ditolak",
        "Budi Santoso",
        "Bambang Susilo: tolak (7 Des 2026 09.00 WIB)",
    ]
    assert rows[1][8] == "-"
    assert report.intro == t("reports.changes.intro", "id", n=2)
    with Session(helpdesk.engine) as s:
        english = build_report(
            "changes", s, start=datetime(2026, 12, 7).date(), end=datetime(2026, 12, 7).date(),
            tz="Asia/Jakarta", now=END, lang="en",
        )  # fmt: skip
    # 7 Dec: all three were submitted that day
    assert len(english.tables[0].rows) == 3
    assert english.tables[0].rows[0][2:4] == ["Normal", "approved"]


def test_posts_render_who_when_and_channel(helpdesk: Helpdesk) -> None:
    change_id = raise_one(helpdesk)
    decide(helpdesk, change_id, MANAGER, "info", "Berapa lama putusnya?")
    with Session(helpdesk.engine) as s:
        change = s.get(ChangeRequest, change_id)
        assert change is not None
        text, choices = change_posts.render(s, change, "en")
    assert "❓ Bambang Susilo asked for information, 7 Dec 2026 09:00 WIB, via slack" in text
    assert choices == []
    with Session(helpdesk.engine) as s:
        assert s.exec(select(col(Notice.kind)).where(Notice.kind == "change.edit")).all() == []


def test_a_release_reaches_the_services_subscribers_once_in_their_language(
    helpdesk: Helpdesk,
) -> None:
    with session_scope(helpdesk.engine) as s:
        for chat_id, lang in (("9101", "id"), ("9102", "en")):
            subscriptions.subscribe(
                s,
                "vpn",
                subscriptions.Chat("telegram", chat_id, None, lang),
                via="command",
                now=NOW,
            )
        subscriptions.subscribe(
            s, "email", subscriptions.Chat("telegram", "9103"), via="command", now=NOW
        )  # another service's subscriber hears nothing
    done = raise_one(helpdesk, kind="standar")
    with session_scope(helpdesk.engine) as s:
        tech = person(s, TECH)
        change_results.record_result(s, changes.find(s, done), tech, "web", "berhasil", now=END)
        releases.publish(
            s, changes.find(s, done), tech, "web", now=END,
            notes_id="Firmware VPN diperbarui ke 9.2", notes_en="VPN firmware updated to 9.2",
            sop_url="https://sop.go.id/vpn",
        )  # fmt: skip
    told = {n.target: n.payload["text"] for n in notices_of(helpdesk, "subscription.release")}
    assert sorted(told) == ["9101", "9102"]
    assert "Firmware VPN diperbarui ke 9.2" in told["9101"] and "/lapor" in told["9101"]
    assert "VPN firmware updated to 9.2" in told["9102"]
    assert "https://sop.go.id/vpn" in told["9102"]
    # the same release again is refused, and nobody hears of it twice
    with session_scope(helpdesk.engine) as s, pytest.raises(HelpdeskError):
        releases.publish(
            s, changes.find(s, done), tech, "web", now=END,
            notes_id="Firmware VPN diperbarui ke 9.2", sop_url="https://sop.go.id/vpn",
        )  # fmt: skip
    assert len(notices_of(helpdesk, "subscription.release")) == 2
