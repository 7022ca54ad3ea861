"""Validate knowledge files the way `helpdesk kb check` reports them.

Unlike load_articles, which stops at the first problem, this collects every
problem so a service manager can fix a whole file in one pass.
"""

from __future__ import annotations

from pathlib import Path

from knowledge.articles import KnowledgeError, article_files, build_article, read_raw


def check_knowledge(directory: Path | str, known_services: set[str] | None = None) -> list[str]:
    """Problems as "file:line: message", empty when the knowledge base is sound."""
    problems: list[str] = []
    first_seen: dict[str, str] = {}
    try:
        files = list(article_files(directory))
    except KnowledgeError as exc:
        return [str(exc)]
    for path in files:
        try:
            raws = read_raw(path)
        except KnowledgeError as exc:
            problems.append(str(exc))
            continue
        for raw in raws:
            art_id = str(raw.data.get("id") or "").strip()
            if art_id:
                if art_id in first_seen:
                    problems.append(
                        f"{raw.where}: duplicate id '{art_id}' (first at {first_seen[art_id]})"
                    )
                else:
                    first_seen[art_id] = raw.where
            try:
                art = build_article(raw)
            except KnowledgeError as exc:
                problems.append(str(exc))
                continue
            if known_services is not None and art.service and art.service not in known_services:
                problems.append(
                    f"{raw.where}: article '{art.id}' names unknown service '{art.service}'"
                )
    return problems
