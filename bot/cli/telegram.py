"""`helpdesk telegram …`: the Bot API learns the webhook once, from an operator, not at
every start of every replica."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli._boot import fail, load_settings

telegram_app = typer.Typer(help="Telegram channel.")


@telegram_app.command("set-webhook")
def telegram_set_webhook(
    drop_pending: Annotated[
        bool, typer.Option("--drop-pending", help="Discard updates waiting at Telegram")
    ] = False,
) -> None:
    """Register TELEGRAM_WEBHOOK_URL and TELEGRAM_WEBHOOK_SECRET with the Bot API (once, after changing them)."""
    import asyncio

    from telegram.error import TelegramError

    from bot.channels.telegram import set_webhook

    settings = load_settings()
    if settings.telegram_bot_token is None:
        fail("TELEGRAM_BOT_TOKEN is not set")
    try:
        url = asyncio.run(set_webhook(settings, drop_pending_updates=drop_pending))
    except (ValueError, TelegramError) as exc:
        fail(f"set-webhook failed: {exc}")
    typer.echo(f"webhook set: {url}")
