"""The `helpdesk` command line against a real database."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from bot.cli import app
from bot.config import KNOWLEDGE_DIR, Settings

runner = CliRunner()


def env(settings: Settings) -> dict[str, str]:
    return {
        "DATABASE_URL": settings.resolved_database_url,
        "HELPDESK_DATA_DIR": str(settings.data_dir),
        "HELPDESK_LOG_LEVEL": "WARNING",
    }


def test_db_upgrade_and_catalog_import(settings: Settings) -> None:
    result = runner.invoke(app, ["db", "upgrade"], env=env(settings))
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app, ["catalog", "import", str(KNOWLEDGE_DIR / "catalog.yaml")], env=env(settings)
    )
    assert result.exit_code == 0, result.output
    assert "services: 0 created, 0 updated" in result.output  # samples were loaded on first start
    listed = runner.invoke(app, ["catalog", "list"], env=env(settings))
    assert "eoffice" in listed.output and "99.9%" in listed.output


def test_catalog_import_error_names_the_file(settings: Settings, tmp_path: Path) -> None:
    bad = tmp_path / "katalog.yaml"
    bad.write_text("services:\n  - id: x\n    name: X\n", encoding="utf-8")
    result = runner.invoke(app, ["catalog", "import", str(bad)], env=env(settings))
    assert result.exit_code == 1
    assert "katalog.yaml" in result.output and "provider_unit" in result.output


def test_people_import_and_link_code(settings: Settings, tmp_path: Path) -> None:
    csv_file = tmp_path / "p.csv"
    csv_file.write_text(
        "name,email,unit,roles\nDewi,dewi@kementerian.go.id,Biro Umum,pengelola_teknis\n"
    )
    result = runner.invoke(app, ["people", "import", str(csv_file)], env=env(settings))
    assert result.exit_code == 0 and "1 created" in result.output
    result = runner.invoke(
        app, ["people", "link-code", "dewi@kementerian.go.id"], env=env(settings)
    )
    assert result.exit_code == 0 and "/tautkan" in result.output
    result = runner.invoke(app, ["people", "link-code", "nobody@x.go.id"], env=env(settings))
    assert result.exit_code == 1 and "unknown person" in result.output


def test_console_chat(settings: Settings) -> None:
    result = runner.invoke(
        app, ["chat"], env=env(settings), input="/layanan\n/lapor\n/batal\n/keluar\n"
    )
    assert result.exit_code == 0, result.output
    assert "Selamat datang" in result.output and "Katalog layanan SPBE" in result.output
    assert "[1]" in result.output and "dibatalkan" in result.output


def test_secrets_are_not_shown() -> None:
    settings = Settings(
        telegram_bot_token="123:SECRET-TOKEN", slack_signing_secret="shh-signing", _env_file=None
    )
    assert "SECRET-TOKEN" not in repr(settings) and "shh-signing" not in str(settings)
