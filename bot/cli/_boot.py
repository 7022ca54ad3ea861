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
    configure_logging(settings.log_level)
    log_redaction.install(settings)
    return settings


#: a log line's time with its zone: lines from hosts in WIB and in UTC read the same
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOG_DATEFMT = "%Y-%m-%dT%H:%M:%S%z"
#: APScheduler's lines for every run of every job ("Running job …", "… executed
#: successfully"): the delivery job runs every few seconds and would drown the log
PER_RUN_LOGGERS = ("apscheduler.executors.default",)


def configure_logging(level_name: str) -> None:
    """The root at HELPDESK_LOG_LEVEL; the per-run lines only at DEBUG."""
    level = logging.getLevelName(level_name.upper())
    logging.basicConfig(level=level_name.upper(), format=LOG_FORMAT, datefmt=LOG_DATEFMT)
    quiet = isinstance(level, int) and level > logging.DEBUG
    for name in PER_RUN_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING if quiet else logging.NOTSET)


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
