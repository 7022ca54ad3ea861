"""Recovery of the agency's services (ch. 7.1.4): the catalog's continuity fields, the
recovery plans `kb check` reads, and exercises walked in chat, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.core import catalog, recovery
from bot.core.errors import HelpdeskError, NotAllowed, NotFound
from bot.core.roles import ALL_ROLES
from bot.runtime import Helpdesk
from knowledge.recovery_plans import PLANS_DIR, check_recovery_plans, load_plan
from storage.db import session_scope
from storage.models import Person, RecoveryRun, RecoveryStep, Service
from tests.helpers import Chat

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 09.00 WIB
COORDINATOR = "teguh.prakoso@kementerian.go.id"  # koordinator_pemulihan in people.yaml
TECHNICIAN = "andi.wijaya@kementerian.go.id"  # pengelola_teknis
REFUSED = "Maaf, pemulihan layanan hanya dapat dijalankan oleh koordinator pemulihan."


def minutes(n: float) -> datetime:
    return NOW + timedelta(minutes=n)


def person(s: Session, email: str) -> Person:
    return s.exec(select(Person).where(Person.email == email)).one()


# --- the catalog -------------------------------------------------------------------------


def test_the_catalog_carries_continuity_fields(helpdesk: Helpdesk) -> None:
    with Session(helpdesk.engine) as s:
        sso = s.get(Service, "sso")
        assert sso is not None
        assert (sso.rto_minutes, sso.rpo_minutes, sso.backup_frequency) == (120, 15, "real-time")
        assert sso.dr_site == "Pusat Data Cadangan (DRC) Batam"
        assert sso.recovery_owner_id == person(s, COORDINATOR).id
        assert sso.last_dr_test == date(2026, 10, 6)
        vicon = s.get(Service, "vicon")  # no continuity block: nothing set
        assert vicon is not None
        assert (vicon.rto_minutes, vicon.recovery_owner_id, vicon.last_dr_test) == (
            None,
            None,
            None,
        )


def test_a_recovery_owner_must_be_a_recovery_coordinator(
    helpdesk: Helpdesk, tmp_path: Path
) -> None:
    text = (ROOT / "knowledge" / "catalog.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "catalog.yaml"
    bad.write_text(text.replace(f"owner: {COORDINATOR}", f"owner: {TECHNICIAN}", 1), "utf-8")
    with Session(helpdesk.engine) as s, pytest.raises(catalog.CatalogError) as err:
        catalog.import_catalog(s, bad)
    assert f"service eoffice: recovery owner {TECHNICIAN} is not a koordinator_pemulihan" in str(
        err.value
    )
    bad.write_text(text.replace("      rto: 240\n", "      rto: 0\n", 1), "utf-8")
    with pytest.raises(catalog.CatalogError) as err:
        catalog.parse_catalog(bad)
    assert "service #1 (eoffice): continuity.rto" in str(err.value)


# --- the plans (helpdesk kb check) -------------------------------------------------------


def rtos() -> dict[str, int | None]:
    return {e.id: e.continuity.rto for e in catalog.parse_catalog(ROOT / "knowledge/catalog.yaml")}


def test_the_bundled_plans_are_clean_and_fit_their_rto() -> None:
    assert check_recovery_plans(PLANS_DIR, rtos(), ALL_ROLES) == []
    plan = load_plan("sso")
    assert plan is not None
    assert plan.expected_minutes == 90  # 10 + 30 + 20 + 20 + 10, within the RTO of 120


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


STEP = "  - {{title: Pulihkan basis data, role: {role}, minutes: {minutes}}}\n"


def test_kb_check_reports_every_broken_plan(tmp_path: Path) -> None:
    write(
        tmp_path,
        "sso.yaml",
        "service: sso\ntitle: Terlalu lama\nsteps:\n"
        + STEP.format(role="pengelola_teknis", minutes=100)
        + STEP.format(role="pengelola_teknis", minutes=50),
    )  # 100 + 50 = 150 > 120
    write(
        tmp_path,
        "nope.yaml",
        "service: nope\ntitle: Layanan fiktif\nsteps:\n"
        + STEP.format(role="pengelola_teknis", minutes=5),
    )
    write(
        tmp_path,
        "email.yaml",
        "service: email\ntitle: Tanpa menit\nsteps:\n"
        "  - {title: Pulihkan kotak surel, role: pengelola_teknis}\n",
    )
    write(
        tmp_path,
        "vpn.yaml",
        "service: vpn\ntitle: Peran salah\nsteps:\n" + STEP.format(role="tukang_sulap", minutes=5),
    )
    write(
        tmp_path,
        "vicon.yaml",
        "service: vicon\ntitle: Tanpa RTO\nsteps:\n"
        + STEP.format(role="pengelola_teknis", minutes=5),
    )
    write(
        tmp_path,
        "website.yaml",
        "service: jaringan\ntitle: Nama berkas lain\nsteps:\n"
        + STEP.format(role="pengelola_teknis", minutes=5),
    )
    write(tmp_path, "broken.yaml", "service: [\n")
    problems = check_recovery_plans(tmp_path, rtos(), ALL_ROLES)
    d = tmp_path
    assert f"{d}/sso.yaml: the steps take 150 minutes, more than the RTO of 120 minutes" in problems
    assert f"{d}/nope.yaml: unknown service 'nope'" in problems
    assert f"{d}/email.yaml: steps.0.minutes: Field required" in problems
    assert f"{d}/vpn.yaml: steps.1: unknown role 'tukang_sulap'" in problems
    assert f"{d}/vicon.yaml: service 'vicon' has no RTO in the catalog" in problems
    assert f"{d}/website.yaml: service 'jaringan' but the file is named website.yaml" in problems
    assert any(p.startswith(f"{d}/broken.yaml: invalid YAML") for p in problems)
    assert len(problems) == 7


def test_kb_check_command_reads_the_plans(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from bot.cli import app

    write(
        tmp_path,
        "nope.yaml",
        "service: nope\ntitle: Layanan fiktif\nsteps:\n"
        + STEP.format(role="pengelola_teknis", minutes=5),
    )
    result = CliRunner().invoke(app, ["kb", "check", "--plans", str(tmp_path)])
    assert result.exit_code == 1
    assert f"{tmp_path}/nope.yaml: unknown service 'nope'" in result.output
    assert CliRunner().invoke(app, ["kb", "check"]).exit_code == 0


# --- the core ----------------------------------------------------------------------------


def test_an_exercise_is_walked_and_measured(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        coord = person(s, COORDINATOR)
        run = recovery.start_run(s, "sso", coord, now=NOW)
        run_id = run.id
        assert (run.kind, run.outcome, run.rto_minutes) == ("exercise", "berjalan", 120)
        assert run_id is not None
        walk = [  # (position, action, minute)
            (1, "start", 0),
            (1, "done", 8),
            (2, "start", 8),
            (2, "done", 40),
            (3, "skip", 40),
            (4, "start", 41),
            (4, "done", 60),
            (5, "start", 60),
        ]
        for pos, action, at in walk:
            recovery.move(s, run_id, pos, action, coord, now=minutes(at))
        assert recovery.elapsed_minutes(run, minutes(65)) == 65  # 09.00 → 10.05 WIB
        recovery.move(s, run_id, 5, "done", coord, now=minutes(70))
    with Session(helpdesk.engine) as s:
        run = s.get(RecoveryRun, run_id)
        assert run is not None
        assert run.outcome == "berhasil"
        assert run.measured_minutes == 70  # from 0 to the last step's end at minute 70
        assert run.finished_at == minutes(70)
        steps = s.exec(
            select(RecoveryStep)
            .where(RecoveryStep.run_id == run_id)
            .order_by(RecoveryStep.position)
        ).all()
        assert [st.state for st in steps] == [
            "selesai",
            "selesai",
            "dilewati",
            "selesai",
            "selesai",
        ]
        assert steps[1].started_at == minutes(8) and steps[1].finished_at == minutes(40)
        assert steps[2].started_at is None and steps[2].finished_at == minutes(40)
        assert {st.actor_id for st in steps} == {person(s, COORDINATOR).id}
        assert run.ended_by_id == person(s, COORDINATOR).id


def test_refusals_of_the_core(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        coord, tech = person(s, COORDINATOR), person(s, TECHNICIAN)
        with pytest.raises(NotAllowed):
            recovery.start_run(s, "sso", tech, now=NOW)
        with pytest.raises(NotAllowed):
            recovery.start_run(s, "sso", None, now=NOW)
        with pytest.raises(NotFound) as nf:
            recovery.start_run(s, "tidakada", coord, now=NOW)
        assert nf.value.key == "recovery.unknown_service"
        with pytest.raises(NotFound) as nf:
            recovery.start_run(s, "vicon", coord, now=NOW)  # no plan file
        assert nf.value.key == "recovery.no_plan"
        run = recovery.start_run(s, "sso", coord, now=NOW)
        assert run.id is not None
        with pytest.raises(HelpdeskError) as he:
            recovery.start_run(s, "sso", coord, now=NOW)
        assert he.value.key == "recovery.already_running"
        for pos, action in [(2, "start"), (1, "done"), (1, "explode")]:
            with pytest.raises(HelpdeskError) as he:
                recovery.move(s, run.id, pos, action, coord, now=NOW)
            assert he.value.key == "recovery.stale"
        with pytest.raises(NotAllowed):
            recovery.move(s, run.id, 1, "start", tech, now=NOW)
        recovery.move(s, run.id, 1, "start", coord, now=NOW)
        recovery.move(s, run.id, 1, "fail", coord, now=minutes(12))
        assert run.outcome == "berjalan"  # a failed step waits for retry, skip or stop
        recovery.stop(s, run.id, coord, now=minutes(12))  # stopped at the failed step
        assert (run.outcome, run.measured_minutes, run.finished_at) == ("gagal", None, minutes(12))
        with pytest.raises(HelpdeskError) as he:
            recovery.move(s, run.id, 2, "start", coord, now=minutes(13))
        assert he.value.key == "recovery.finished"
        again = recovery.start_run(s, "sso", coord, now=minutes(20))  # the service is free
        recovery.stop(s, saved(again), coord, now=minutes(21))
        assert (again.outcome, again.measured_minutes) == ("dihentikan", None)


def saved(run: RecoveryRun) -> int:
    assert run.id is not None
    return run.id


# --- the chat ----------------------------------------------------------------------------


def test_an_exercise_in_chat(helpdesk: Helpdesk) -> None:
    coord = Chat.as_person(helpdesk, "console", COORDINATOR)
    coord.say("/latihanpemulihan sso", now=NOW)
    assert "Latihan pemulihan: Akun Tunggal Pegawai (Single Sign-On)" in coord.text
    assert "Langkah 1/5: Nyatakan gangguan besar dan kumpulkan tim pemulihan" in coord.text
    assert "Pelaksana: koordinator_pemulihan · perkiraan 10 menit" in coord.text
    assert "Waktu berjalan: 0,0 menit dari RTO 120 menit (0%)." in coord.text
    coord.press("Mulai", now=minutes(1))
    assert "Langkah ini berjalan sejak 1 Des 2026 09.01 WIB." in coord.text
    coord.say("tim lengkap, 6 orang", now=minutes(5))
    assert "Catatan disimpan pada langkah 1." in coord.text
    coord.press("Selesai", now=minutes(30))
    assert "Langkah 2/5: Promosikan replika direktori di DRC menjadi utama" in coord.text
    assert "Waktu berjalan: 30,0 menit dari RTO 120 menit (25%)." in coord.text  # 30/120
    coord.press("Lewati", now=minutes(31))
    coord.press("Lewati", now=minutes(31))
    coord.press("Lewati", now=minutes(32))
    assert "Langkah 5/5" in coord.text
    coord.press("Mulai", now=minutes(100))
    coord.press("Selesai", now=minutes(130))
    # measured: minute 0 to minute 130, over the RTO of 120
    assert (
        "Pemulihan Akun Tunggal Pegawai (Single Sign-On) selesai dalam 130,0 menit; "
        "RTO 120 menit terlampaui." in coord.text
    )
    with Session(helpdesk.engine) as s:
        run = s.exec(select(RecoveryRun)).one()
        first = s.exec(
            select(RecoveryStep).where(RecoveryStep.run_id == run.id, RecoveryStep.position == 1)
        ).one()
        assert first.note == "tim lengkap, 6 orang"
        assert (first.started_at, first.finished_at) == (minutes(1), minutes(30))
        assert run.measured_minutes == 130


def test_chat_refuses_others_and_forged_buttons(helpdesk: Helpdesk) -> None:
    tech = Chat.as_person(helpdesk, "console", TECHNICIAN)
    tech.say("/latihanpemulihan sso", now=NOW)
    assert tech.text == REFUSED
    coord = Chat.as_person(helpdesk, "web", COORDINATOR)
    coord.say("/drill", now=NOW)
    assert "Cara pakai: /latihanpemulihan LAYANAN" in coord.text
    coord.say("/drill vicon", now=NOW)
    assert "belum memiliki rencana pemulihan" in coord.text
    coord.say("/drill sso", now=NOW)
    start = next(c.action for r in coord.replies for c in r.choices if "Mulai" in c.label)
    run_id = start.split(":")[2]
    tech.act(start, now=minutes(1))  # someone else's button, pressed by a technician
    assert tech.text == REFUSED
    coord.act(f"rc:ok:{run_id}:1", now=minutes(1))  # "done" before it started
    assert "Tombol itu sudah tidak berlaku" in coord.text
    coord.act(f"rc:go:{run_id}:3", now=minutes(1))  # a later step
    assert "Tombol itu sudah tidak berlaku" in coord.text
    coord.act("rc:go:99999:1", now=minutes(1))
    assert "Pemulihan itu tidak ditemukan." in coord.text
    coord.act("rc:go:x' OR 1=1:1", now=minutes(1))
    assert "tidak berlaku" in coord.text.lower()
    coord.act(start, now=minutes(2))
    coord.press("Gagal", now=minutes(9))
    assert "Langkah 1 gagal" in coord.text
    coord.press("Hentikan", now=minutes(9))  # a failed step no longer ends the run itself
    assert "Langkah 1 gagal" in coord.text
    coord.act(start, now=minutes(10))  # the ended run's old button
    assert "Pemulihan itu sudah berakhir." in coord.text
    with Session(helpdesk.engine) as s:
        run = s.exec(select(RecoveryRun)).one()
        assert (run.outcome, run.measured_minutes) == ("gagal", None)


# --- a critical service goes down ---------------------------------------------------------


def go_down(helpdesk: Helpdesk, service_id: str) -> tuple[int, int | None]:
    from bot.core import outages

    with session_scope(helpdesk.engine) as s:
        st = outages.state_of(s, service_id, NOW)
        outage = outages.open_outage(s, st, NOW, source="probe", cause="HTTP 503", planned=False)
        return saved_outage(outage.id), outage.ticket_id


def saved_outage(value: int | None) -> int:
    assert value is not None
    return value


def test_a_critical_outage_offers_the_plan_to_the_coordinator(helpdesk: Helpdesk) -> None:
    coord = Chat.as_person(helpdesk, "console", COORDINATOR)
    outage_id, ticket_id = go_down(helpdesk, "sso")
    offers = [r for r in coord.notices() if any(c.action.startswith("rc:inc:") for c in r.choices)]
    assert len(offers) == 1
    assert offers[0].text == (
        "Akun Tunggal Pegawai (Single Sign-On) tidak dapat diakses. Rencana pemulihan: "
        "Pemulihan akun tunggal (SSO) di Pusat Data Cadangan (5 langkah, perkiraan 90 menit, "
        "RTO 120 menit)."  # 10 + 30 + 20 + 20 + 10 = 90
    )
    coord.replies = offers
    coord.press("Mulai pemulihan", now=minutes(3))
    assert "Pemulihan gangguan: Akun Tunggal Pegawai (Single Sign-On)" in coord.text
    assert "Waktu berjalan: 0,0 menit" in coord.text  # the run starts when pressed
    coord.act(f"rc:inc:{outage_id}", now=minutes(4))  # pressed again: the same run
    tech = Chat.as_person(helpdesk, "web", TECHNICIAN)
    tech.act(f"rc:inc:{outage_id}", now=minutes(4))
    assert tech.text == REFUSED
    with Session(helpdesk.engine) as s:
        run = s.exec(select(RecoveryRun)).one()
        assert (run.kind, run.ticket_id, run.started_at) == ("incident", ticket_id, minutes(3))
    coord.act("rc:inc:424242", now=minutes(5))
    assert "Gangguan itu tidak ditemukan." in coord.text


def test_no_offer_without_a_plan(helpdesk: Helpdesk) -> None:
    coord = Chat.as_person(helpdesk, "console", COORDINATOR)
    go_down(helpdesk, "website")  # tinggi, but knowledge/recovery has no website.yaml
    assert not [r for r in coord.notices() if any(c.action.startswith("rc:") for c in r.choices)]


# --- the continuity plan form ------------------------------------------------------------


def test_the_continuity_plan_shows_targets_plans_and_exercises(helpdesk: Helpdesk) -> None:
    from bot.reports.registry import build_report
    from bot.reports.render import to_csv

    with session_scope(helpdesk.engine) as s:
        coord = person(s, COORDINATOR)
        run = recovery.start_run(s, "sso", coord, now=NOW)
        for pos in range(1, 6):  # every step skipped at minute 95: measured 95 ≤ RTO 120
            recovery.move(s, saved(run), pos, "skip", coord, now=minutes(95))
    with Session(helpdesk.engine) as s:
        report = build_report(
            "continuity", s, start=NOW, end=NOW, tz="Asia/Jakarta", now=minutes(100)
        )
    tables = {table.name: table for table in report.tables}
    sso = "Akun Tunggal Pegawai (Single Sign-On)"
    targets = {row[0]: row for row in tables["targets"].rows}
    assert targets[sso] == [
        sso,
        "120",
        "15",
        "real-time",
        "Pusat Data Cadangan (DRC) Batam",
        "ada (5 langkah, 90 menit)",
        "2026-10-06",
    ]
    # vicon: no continuity block in the catalog, no plan file
    assert targets["Konferensi Video (Vicon)"][1:7] == ["-", "-", "-", "-", "belum ada", "-"]
    assert tables["exercises"].rows == [
        [sso, "latihan", "1 Des 2026 09.00 WIB", "berhasil", "95,0", "120", "tercapai"]
    ]
    recovery_table = {row[0]: row for row in tables["recovery"].rows}
    assert recovery_table[sso][-1] == "Teguh Prakoso"  # the catalog's recovery owner
    assert "Target pemulihan dan rencana pemulihan" in to_csv(report)
