"""`helpdesk change new|list|show|approve|reject` against a real database (SQLite and
PostgreSQL), through typer's runner. The CLI acts now, so windows are set years ahead."""

from __future__ import annotations

from sqlmodel import Session, select
from typer.testing import CliRunner

from bot.cli import app
from bot.config import Settings
from bot.i18n import t
from storage.db import make_engine
from storage.models import ChangeEvent, ChangeRequest
from tests.unit.test_cli import env

runner = CliRunner()
COORDINATOR = "nur.hidayati@kementerian.go.id"
MANAGER = "bambang.susilo@kementerian.go.id"
TECH = "budi.santoso@kementerian.go.id"
EMPLOYEE = "lina.marlina@kementerian.go.id"


def new(settings: Settings, *extra: str, start: str = "2030-01-08T22:00") -> tuple[int, str]:
    args = [
        "change", "new", "--service", "vpn", "--kind", "normal",
        "--description", "Pembaruan firmware gateway VPN ke versi 9.2",
        "--impact", "VPN tidak dapat diakses selama satu jam",
        "--plan", "Cadangkan konfigurasi, pasang firmware, mulai ulang",
        "--test-functional", "Login dan akses aplikasi diuji di lab: lulus",
        "--test-security", "Pemindaian kerentanan: tidak ada temuan tinggi",
        "--test-performance", "Uji beban 500 sesi serentak: latensi < 40 ms",
        "--rollback", "Pasang kembali firmware 9.1 dari cadangan",
        "--start", start, "--end", start[:11] + "23:00", *extra,
    ]  # fmt: skip
    result = runner.invoke(app, args, env=env(settings))
    return result.exit_code, result.output


def test_new_list_show_approve(settings: Settings) -> None:
    code, out = new(settings, "--as", TECH)
    assert code == 0, out
    number = out.split()[0]
    assert out.strip() == f"{number}  diajukan" and number.startswith("CHG-")
    listed = runner.invoke(app, ["change", "list"], env=env(settings))
    assert listed.exit_code == 0 and number in listed.output and "diajukan" in listed.output
    for email in (COORDINATOR, MANAGER):
        approved = runner.invoke(
            app, ["change", "approve", number, "--as", email], env=env(settings)
        )
        assert approved.exit_code == 0, approved.output
    assert approved.output.strip() == f"{number}  disetujui"
    shown = runner.invoke(app, ["change", "show", number], env=env(settings))
    assert shown.exit_code == 0
    assert "Disetujui oleh Nur Hidayati" in shown.output and "melalui cli" in shown.output
    assert "diajukan → disetujui" in shown.output
    assert "[cli, Bambang Susilo]" in shown.output  # the state change: channel and who
    engine = make_engine(settings.resolved_database_url)
    with Session(engine) as s:
        change = s.exec(select(ChangeRequest)).one()
        assert (change.state, change.requested_channel) == ("disetujui", "cli")
        assert {e.channel for e in s.exec(select(ChangeEvent))} == {"cli"}
    engine.dispose()


def test_refusals_exit_1_with_the_reason(settings: Settings) -> None:
    code, out = new(settings, "--as", EMPLOYEE)
    assert code == 1 and t("changes.not_allowed") in out
    code, out = new(settings)  # the CLI itself may raise one
    assert code == 0, out
    number = out.split()[0]
    code, out = new(settings, start="2030-01-08T22:30")  # overlaps the first
    assert code == 1 and number in out
    refused = runner.invoke(app, ["change", "approve", number, "--as", TECH], env=env(settings))
    assert refused.exit_code == 1 and t("changes.not_approver") in refused.output
    anonymous = runner.invoke(app, ["change", "approve", number], env=env(settings))
    assert anonymous.exit_code == 1 and "--as" in anonymous.output
    rejected = runner.invoke(
        app, ["change", "reject", number, "--reason", "Belum diuji", "--as", MANAGER],
        env=env(settings),
    )  # fmt: skip
    assert rejected.exit_code == 0 and rejected.output.strip() == f"{number}  ditolak"
    again = runner.invoke(
        app, ["change", "reject", number, "--reason", "Lagi", "--as", COORDINATOR],
        env=env(settings),
    )  # fmt: skip
    assert again.exit_code == 1 and t("changes.not_pending", number=number) in again.output
    missing = runner.invoke(app, ["change", "show", "CHG-1999-000001"], env=env(settings))
    assert missing.exit_code == 1
    code, out = new(settings, start="besok")
    assert code == 1 and "bad time" in out
