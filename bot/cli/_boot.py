"""What every `helpdesk` command starts from: the settings (with logging configured from
them), the built product, and how a command gives up.

It lives apart from `bot.cli` (which registers the commands) so that the command modules
import this small module and never each other or the package that imports them."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, NoReturn

import typer

from bot import log_redaction
from bot.config import Settings

if TYPE_CHECKING:
    from bot.runtime import Helpdesk


def load_settings() -> Settings:
    """Settings from the environment and `.env`; logging follows HELPDESK_LOG_LEVEL and
    never shows a configured secret."""
    settings = Settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    log_redaction.install(settings)
    return settings


def build_helpdesk(settings: Settings | None = None) -> Helpdesk:
    """The running product (database migrated, samples loaded) for one command."""
    # Imported here so that `helpdesk --help` does not load the whole product.
    from bot.channels import registry
    from bot.runtime import build

    return build(
        settings if settings is not None else load_settings(),
        anonymous_channels=registry.anonymous_channels(),
    )


def fail(message: str) -> NoReturn:
    """Message on stderr and exit status 1: what scripts calling the CLI test for."""
    typer.echo(message, err=True)
    raise typer.Exit(1)
