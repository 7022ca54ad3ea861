"""`helpdesk change result|review|release` against a real database (SQLite and
PostgreSQL), through typer's runner: the same core functions as /perubahan hasil,
/perubahan tinjau and /rilis, with the same refusals (unknown number, wrong state, a
person without the role)."""

from __future__ import annotations

from sqlmodel import Session, select
from typer.testing import CliRunner

from bot.cli import app
from bot.config import Settings
from bot.i18n import fmt_dt, t
from storage.db import make_engine
from storage.models import ChangeEvent, ChangeRequest, Release
from tests.unit.test_change_cli import COORDINATOR, EMPLOYEE, MANAGER, TECH, new
from tests.unit.test_cli import env

runner = CliRunner()
SOP = "https://intranet.kementerian.go.id/sop/vpn"


def cli(settings: Settings, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["change", *args], env=env(settings))
    return result.exit_code, result.output


def approved(settings: Settings) -> str:
    code, out = new(settings, "--as", TECH)
    assert code == 0, out
    number = out.split()[0]
    for email in (COORDINATOR, MANAGER):
        code, out = cli(settings, "approve", number, "--as", email)
        assert code == 0, out
    return number


def test_result_review_release(settings: Settings) -> None:
    number = approved(settings)
    code, out = cli(settings, "release", number, "--notes", "Firmware VPN kini 9.2", "--sop", SOP)
    assert code == 1 and t("releases.not_releasable", number=number) in out  # not carried out
    code, out = cli(settings, "review", number, "--text", "Berjalan lancar tanpa insiden")
    assert code == 1 and t("changes.not_implemented", number=number) in out
    code, out = cli(
        settings, "result", number, "--result", "success", "--note", "Selesai 22.40", "--as", TECH
    )
    assert code == 0, out
    assert out.strip() == f"{number}  dilaksanakan  berhasil"
    code, out = cli(settings, "result", number, "--result", "gagal")
    assert code == 1 and t("changes.not_approved", number=number) in out  # recorded once
    code, out = cli(settings, "review", number, "--text", "pendek", "--as", COORDINATOR)
    assert code == 1 and t("changes.short.review", n=10) in out
    code, out = cli(settings, "review", number, "--text", "Tanpa insiden", "--as", TECH)
    assert code == 1 and t("changes.not_approver") in out  # a reviewer is an approver
    code, out = cli(
        settings, "review", number, "--text", "Berjalan lancar, tanpa insiden", "--as", COORDINATOR
    )
    assert code == 0 and out.strip() == f"{number}  ditinjau"
    code, out = cli(settings, "release", number, "--notes", "Firmware VPN", "--sop", "intranet")
    assert code == 1 and t("releases.bad_sop") in out
    code, out = cli(
        settings, "release", number, "--notes", "Firmware VPN kini 9.2", "--sop", SOP,
        "--as", EMPLOYEE,
    )  # fmt: skip
    assert code == 1 and t("releases.not_allowed") in out
    code, out = cli(
        settings, "release", number, "--notes", "Firmware VPN kini 9.2, sesi lebih stabil",
        "--notes-en", "VPN firmware is now 9.2", "--sop", SOP, "--as", TECH,
    )  # fmt: skip
    assert code == 0, out
    assert out.strip().startswith(f"{number}  release #")
    code, out = cli(settings, "release", number, "--notes", "Sekali lagi dirilis", "--sop", SOP)
    assert code == 1 and t("releases.already", number=number) in out
    engine = make_engine(settings.resolved_database_url)
    with Session(engine) as s:
        change = s.exec(select(ChangeRequest)).one()
        assert (change.state, change.result, change.result_note) == (
            "ditinjau",
            "berhasil",
            "Selesai 22.40",
        )
        assert change.review == "Berjalan lancar, tanpa insiden"
        release = s.exec(select(Release)).one()
        assert (release.sop_url, release.notes_en, release.channel) == (
            SOP,
            "VPN firmware is now 9.2",
            "cli",
        )
        kinds = [(e.kind, e.old, e.new, e.channel) for e in s.exec(select(ChangeEvent))]
        assert ("state", "disetujui", "dilaksanakan", "cli") in kinds
        assert ("state", "dilaksanakan", "ditinjau", "cli") in kinds
        assert ("release", None, str(release.id), "cli") in kinds
    engine.dispose()


def test_result_refusals(settings: Settings) -> None:
    code, out = cli(settings, "result", "CHG-1999-000001", "--result", "berhasil")
    assert code == 1 and t("changes.not_found", ref="CHG-1999-000001") in out
    code, out = new(settings, "--as", TECH)
    number = out.split()[0]
    code, out = cli(settings, "result", number, "--result", "berhasil")
    assert code == 1 and t("changes.not_approved", number=number) in out  # still pending
    for email in (COORDINATOR, MANAGER):
        cli(settings, "approve", number, "--as", email)
    code, out = cli(settings, "result", number, "--result", "meledak")
    assert code == 1 and t("changes.bad_result", result="meledak") in out
    code, out = cli(settings, "result", number, "--result", "berhasil", "--as", EMPLOYEE)
    assert code == 1 and t("changes.not_allowed") in out
    code, out = cli(settings, "result", number, "--result", "berhasil", "--as", "x@y.go.id")
    assert code == 1 and "no person" in out
    code, out = cli(settings, "result", number, "--result", "rolled_back", "--note", "Gagal login")
    assert code == 0 and out.strip() == f"{number}  dilaksanakan  dikembalikan"
    code, out = cli(settings, "release", number, "--notes", "Firmware VPN kini 9.2", "--sop", SOP)
    assert code == 1 and t("releases.not_releasable", number=number) in out


def test_an_emergency_change_under_way_from_the_cli_says_when_its_review_is_due(
    settings: Settings,
) -> None:
    code, out = new(settings, "--kind", "darurat", start="2020-01-06T08:00")  # long begun
    assert code == 0, out
    number, state = out.splitlines()[0].split()
    assert state == "disetujui"
    engine = make_engine(settings.resolved_database_url)
    with Session(engine) as s:
        change = s.exec(select(ChangeRequest)).one()
        assert change.review_due_at is not None
        assert out.splitlines()[1] == f"review due {fmt_dt(change.review_due_at)}"
    engine.dispose()
    code, out = cli(settings, "review", number, "--text", "Tambalan darurat berjalan baik")
    assert code == 1 and t("changes.not_implemented", number=number) in out  # result first
