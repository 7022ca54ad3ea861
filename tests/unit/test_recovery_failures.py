"""A failed step of a recovery run no longer ends it: the coordinator retries it (Ulangi),
skips it with a note, or stops the run (Hentikan), each attempt recorded with its times,
while the run's clock runs on against the RTO. On both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from bot.core import recovery, recovery_attempts
from bot.core.errors import HelpdeskError, NotAllowed
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import Person, RecoveryEvent, RecoveryRun, RecoveryStep
from tests.helpers import Chat

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 09.00 WIB
COORDINATOR = "teguh.prakoso@kementerian.go.id"
TECHNICIAN = "andi.wijaya@kementerian.go.id"
REFUSED = "Maaf, pemulihan layanan hanya dapat dijalankan oleh koordinator pemulihan."


def minutes(n: float) -> datetime:
    return NOW + timedelta(minutes=n)


def person(s: Session, email: str) -> Person:
    return s.exec(select(Person).where(Person.email == email)).one()


def step_states(helpdesk: Helpdesk, run_id: int) -> list[str]:
    with Session(helpdesk.engine) as s:
        return [
            st.state
            for st in s.exec(
                select(RecoveryStep)
                .where(RecoveryStep.run_id == run_id)
                .order_by(col(RecoveryStep.position))
            )
        ]


def test_a_failed_step_is_retried_and_the_clock_runs_on(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        coord = person(s, COORDINATOR)
        run = recovery.start_run(s, "sso", coord, now=NOW, channel="telegram")
        run_id = run.id
        assert run_id is not None
        walk = [  # (position, action, minute)
            (1, "start", 0),
            (1, "done", 10),
            (2, "start", 10),
            (2, "fail", 25),  # attempt 1 of step 2: 15 minutes, failed
        ]
        for pos, action, at in walk:
            recovery.move(s, run_id, pos, action, coord, now=minutes(at), channel="telegram")
        assert run.outcome == "berjalan"
        assert recovery.elapsed_minutes(run, minutes(30)) == 30  # the clock did not stop
        with pytest.raises(HelpdeskError) as he:  # the next step waits for the failed one
            recovery.move(s, run_id, 3, "start", coord, now=minutes(26))
        assert he.value.key == "recovery.stale"
        recovery.move(s, run_id, 2, "retry", coord, now=minutes(30), attempt=1, channel="slack")
        # the same Ulangi pressed twice: nothing more
        recovery.move(s, run_id, 2, "retry", coord, now=minutes(31), attempt=1, channel="slack")
        with pytest.raises(HelpdeskError) as he:  # Ulangi on a step that did not fail
            recovery.move(s, run_id, 2, "retry", coord, now=minutes(31), attempt=2)
        assert he.value.key == "recovery.stale"
        recovery.move(s, run_id, 2, "done", coord, now=minutes(50))
        for pos in (3, 4, 5):
            recovery.move(s, run_id, pos, "skip", coord, now=minutes(60))
        tries = recovery_attempts.attempts(s, run_id)
    assert [(a.position, a.number, a.result) for a in tries] == [
        (1, 1, "selesai"),
        (2, 1, "gagal"),
        (2, 2, "selesai"),
    ]
    second = tries[1:]
    assert [(a.started_at, a.finished_at) for a in second] == [
        (minutes(10), minutes(25)),
        (minutes(30), minutes(50)),
    ]
    assert [a.minutes(minutes(99)) for a in second] == [15, 20]
    with Session(helpdesk.engine) as s:
        run = s.get(RecoveryRun, run_id)
        assert run is not None
        # measured from 0 to minute 60, the failed attempt and the retry included
        assert (run.outcome, run.measured_minutes) == ("berhasil", 60)
        events = s.exec(select(RecoveryEvent).where(RecoveryEvent.run_id == run_id)).all()
        coord_id = person(s, COORDINATOR).id
        moves = [(e.position, e.attempt, e.action, e.old, e.new, e.channel) for e in events]
    assert moves[:6] == [
        (None, None, "begin", None, "berjalan", "telegram"),
        (1, 1, "start", "menunggu", "berjalan", "telegram"),
        (1, 1, "done", "berjalan", "selesai", "telegram"),
        (2, 1, "start", "menunggu", "berjalan", "telegram"),
        (2, 1, "fail", "berjalan", "gagal", "telegram"),
        (2, 2, "retry", "gagal", "berjalan", "slack"),
    ]
    assert moves[-1] == (None, None, "end", "berjalan", "berhasil", None)
    assert {e.actor_id for e in events} == {coord_id}
    assert step_states(helpdesk, run_id) == [
        "selesai",
        "selesai",
        "dilewati",
        "dilewati",
        "dilewati",
    ]


def test_a_failed_step_is_skipped_only_with_a_note(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        coord, tech = person(s, COORDINATOR), person(s, TECHNICIAN)
        run = recovery.start_run(s, "sso", coord, now=NOW)
        run_id = run.id
        assert run_id is not None
        recovery.move(s, run_id, 1, "start", coord, now=NOW)
        recovery.move(s, run_id, 1, "fail", coord, now=minutes(5))
        with pytest.raises(NotAllowed):
            recovery.move(s, run_id, 1, "retry", tech, now=minutes(6), attempt=1)
        for note in (None, "   "):
            with pytest.raises(HelpdeskError) as he:
                recovery.move(s, run_id, 1, "skip", coord, now=minutes(6), note=note)
            assert he.value.key == "recovery.skip_note_needed"
        recovery.move(s, run_id, 1, "skip", coord, now=minutes(7), note="tim cadangan dipanggil")
        assert recovery.due_step(s, run) is not None
        step = recovery.steps(s, run)[0]
        assert (step.state, step.note, step.finished_at) == (
            "dilewati",
            "tim cadangan dipanggil",
            minutes(7),
        )
        recovery.move(s, run_id, 2, "start", coord, now=minutes(8))
        recovery.move(s, run_id, 2, "fail", coord, now=minutes(20))
        stopped = recovery.stop(s, run_id, coord, now=minutes(21))  # Hentikan at the failed step
        assert (stopped.outcome, stopped.measured_minutes, stopped.finished_at) == (
            "gagal",
            None,
            minutes(21),
        )
        with pytest.raises(HelpdeskError) as he:  # Hentikan pressed twice
            recovery.stop(s, run_id, coord, now=minutes(22))
        assert he.value.key == "recovery.finished"
    assert step_states(helpdesk, run_id) == [
        "dilewati",
        "gagal",
        "menunggu",
        "menunggu",
        "menunggu",
    ]


def test_retry_skip_and_stop_in_chat(helpdesk: Helpdesk) -> None:
    coord = Chat.as_person(helpdesk, "console", COORDINATOR)
    coord.say("/latihanpemulihan sso", now=NOW)
    coord.press("Mulai", now=minutes(2))
    coord.press("Gagal", now=minutes(9))
    assert "Langkah 1 gagal pada percobaan ke-1 (1 Des 2026 09.09 WIB, setelah 7,0 menit)." in (
        coord.text
    )
    assert "Waktu berjalan: 9,0 menit dari RTO 120 menit (8%)." in coord.text  # 9/120
    assert [c.label for r in coord.replies for c in r.choices] == ["Ulangi", "Lewati", "Hentikan"]
    retry = next(a for a in coord.actions if a.startswith("rc:re:"))
    tech = Chat.as_person(helpdesk, "web", TECHNICIAN)
    tech.act(retry, now=minutes(10))
    assert tech.text == REFUSED
    coord.press("Ulangi", now=minutes(12))
    assert "Percobaan ke-2 langkah ini berjalan sejak 1 Des 2026 09.12 WIB." in coord.text
    assert "Waktu berjalan: 12,0 menit" in coord.text
    coord.act(retry, now=minutes(13))  # the same Ulangi again: the step as it stands
    assert "Percobaan ke-2 langkah ini berjalan sejak 1 Des 2026 09.12 WIB." in coord.text
    coord.say("Gagal", now=minutes(20))  # a typed label, as where there are no buttons
    assert "Langkah 1 gagal pada percobaan ke-2" in coord.text
    coord.say("2", now=minutes(21))  # typed number of the second choice: Lewati
    assert "Tulis alasan melewati langkah 1 yang gagal" in coord.text
    coord.say("tim dikumpulkan lewat telepon", now=minutes(22))
    assert "Langkah 2/5: Promosikan replika direktori di DRC menjadi utama" in coord.text
    coord.press("Mulai", now=minutes(23))
    coord.press("Gagal", now=minutes(40))
    coord.press("Hentikan", now=minutes(41))
    assert "Langkah 2 gagal: Akun Tunggal Pegawai (Single Sign-On) tidak pulih" in coord.text
    with Session(helpdesk.engine) as s:
        run = s.exec(select(RecoveryRun)).one()
        assert (run.outcome, run.measured_minutes) == ("gagal", None)
        tries = recovery_attempts.attempts(s, run.id or 0)
        first = recovery.steps(s, run)[0]
    assert [(a.position, a.number, a.result) for a in tries] == [
        (1, 1, "gagal"),
        (1, 2, "gagal"),
        (2, 1, "gagal"),
    ]
    assert (first.state, first.note) == ("dilewati", "tim dikumpulkan lewat telepon")
    assert step_states(helpdesk, run.id or 0)[:2] == ["dilewati", "gagal"]


def test_retry_in_english(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        person(s, COORDINATOR).lang = "en"
    coord = Chat.as_person(helpdesk, "console", COORDINATOR)
    coord.say("/drill sso", now=NOW)
    coord.press("Start", now=minutes(1))
    coord.press("Failed", now=minutes(4))
    assert "Step 1 failed on attempt 1" in coord.text
    assert [c.label for r in coord.replies for c in r.choices] == ["Retry", "Skip", "Stop"]
    coord.press("Retry", now=minutes(5))
    assert "Attempt 2 of this step running since" in coord.text
