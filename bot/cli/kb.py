"""`helpdesk kb …`: the FAQ articles are files reviewed like code; these commands check
them, measure the matcher, and let a person decide what the bot learned from users."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from bot.cli._boot import build_helpdesk, fail, load_settings
from bot.config import Settings

kb_app = typer.Typer(help="Knowledge base (FAQ).")


@kb_app.command("check")
def kb_check(
    directory: Annotated[Path | None, typer.Argument()] = None,
    plans: Annotated[
        Path | None, typer.Option(help="Recovery plans folder (default: knowledge/recovery)")
    ] = None,
) -> None:
    """Validate the article files and the recovery plans; messages name file and line."""
    from bot.core.roles import ALL_ROLES
    from knowledge import check_knowledge
    from knowledge.articles import load_articles  # noqa: F401  (fail early if the package is broken)
    from knowledge.recovery_plans import PLANS_DIR, check_recovery_plans

    settings = load_settings()
    known = None
    rtos: dict[str, int | None] | None = None
    try:
        from bot.core.catalog import parse_catalog

        entries = parse_catalog(settings.catalog_file)
        known = {s.id for s in entries}
        rtos = {s.id: s.continuity.rto for s in entries}
    except Exception:  # the catalog is checked by `catalog import`
        known = None
    problems = check_knowledge(directory or settings.knowledge_dir, known_services=known)
    problems += check_recovery_plans(plans or PLANS_DIR, rtos, ALL_ROLES)
    for line in problems:
        typer.echo(line)
    if problems:
        raise typer.Exit(1)
    typer.echo("ok")


@kb_app.command("eval")
def kb_eval(articles: Path, queries: Path) -> None:
    """Evaluate the matcher on a knowledge base in the FAQ interchange format."""
    from knowledge import evaluate

    # Plain Settings, no logging set up: the output is JSON for other programs.
    settings = Settings()
    result = evaluate(
        articles,
        queries,
        answer_threshold=settings.faq_answer_threshold,
        suggest_threshold=settings.faq_suggest_threshold,
    )
    typer.echo(json.dumps(result))


@kb_app.command("candidates")
def kb_candidates(
    approve: Annotated[list[int] | None, typer.Option(help="Approve candidate ID")] = None,
    reject: Annotated[list[int] | None, typer.Option(help="Reject candidate ID")] = None,
) -> None:
    """List learned phrasings waiting for approval, or decide on them."""
    from bot.core import learning
    from bot.core.errors import HelpdeskError
    from storage.db import session_scope

    helpdesk = build_helpdesk()
    with session_scope(helpdesk.engine) as s:
        try:
            for cid in approve or []:
                learning.decide(s, cid, True, None, cli=True)
                typer.echo(f"approved {cid}")
            for cid in reject or []:
                learning.decide(s, cid, False, None, cli=True)
                typer.echo(f"rejected {cid}")
        except HelpdeskError as exc:
            fail(f"{exc.key} {exc.params}")
        if not approve and not reject:
            for c in learning.pending(s, limit=100):
                typer.echo(f"{c.id:5}  {c.article_id:24} seen {c.seen:3}  {c.phrasing}")
            for article_id, no, total in learning.failing_articles(s):
                typer.echo(f"review: {article_id} — 'Tidak' {no} of {total}")
