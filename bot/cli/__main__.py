"""`python -m bot.cli …`, the same as `helpdesk …` (how `helpdesk run` starts its workers)."""

from bot.cli import app

app()
