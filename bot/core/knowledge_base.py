"""The live knowledge base: articles from files plus approved learned phrasings.

Rebuilt when an article file changes or a phrasing is approved (by this or another
replica), at most once per `check_every` seconds, without a restart. The matcher in use
is swapped atomically, so queries in flight keep the one they started with.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import TypedDict

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from knowledge import Article, Matcher, load_articles
from knowledge.services import DEFAULT_CATALOG
from storage.models import KbCandidate

log = logging.getLogger(__name__)


def _files_signature(directory: Path) -> tuple:
    files = sorted(p for p in directory.rglob("*") if p.suffix.lower() in {".yaml", ".yml", ".md"})
    return tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)


class _Thresholds(TypedDict, total=False):
    """The thresholds given in the settings; an absent one keeps the matcher's default."""

    answer_threshold: float
    suggest_threshold: float


class KnowledgeBase:
    def __init__(
        self,
        directory: Path,
        engine: Engine | None = None,
        *,
        answer_threshold: float | None = None,
        suggest_threshold: float | None = None,
        check_every: float = 2.0,
        catalog_file: Path | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.engine = engine
        self.thresholds = _Thresholds()
        if answer_threshold is not None:
            self.thresholds["answer_threshold"] = answer_threshold
        if suggest_threshold is not None:
            self.thresholds["suggest_threshold"] = suggest_threshold
        self.check_every = check_every
        #: the service catalog whose names tell the matcher which service a question is about
        self.catalog_file = catalog_file
        self._lock = threading.Lock()
        self._matcher: Matcher | None = None
        self._signature: tuple | None = None
        self._checked = 0.0
        self.last_error: str | None = None

    def _db_signature(self) -> tuple:
        if self.engine is None:
            return ()
        with Session(self.engine) as s:
            row = s.execute(
                sa.select(sa.func.count(), sa.func.max(KbCandidate.decided_at)).where(
                    col(KbCandidate.status) == "approved"
                )
            ).one()
        return (row[0], str(row[1]))

    def _approved(self) -> list[tuple[str, str, str | None]]:
        """(article id, phrasing, answer): an answer makes a new article (a problem's
        published workaround, bot.core.problems), otherwise a phrasing of an existing one."""
        if self.engine is None:
            return []
        with Session(self.engine) as s:
            return [
                (c.article_id, c.phrasing, c.answer)
                for c in s.exec(
                    select(KbCandidate)
                    .where(KbCandidate.status == "approved")
                    .order_by(col(KbCandidate.id))
                )
            ]

    @property
    def current(self) -> Matcher:
        """The matcher in use, without looking for changes: safe inside a transaction."""
        return self._matcher if self._matcher is not None else self.matcher()

    def matcher(self) -> Matcher:
        """Look for changed files or newly approved phrasings (throttled), then answer.
        Call it outside any open write transaction: it reads the database."""
        now = time.monotonic()
        if self._matcher is not None and now - self._checked < self.check_every:
            return self._matcher
        with self._lock:
            if self._matcher is not None and now - self._checked < self.check_every:
                return self._matcher
            self._checked = now
            signature = (_files_signature(self.directory), self._db_signature())
            if self._matcher is None or signature != self._signature:
                self._rebuild(signature)
            assert self._matcher is not None
            return self._matcher

    def _rebuild(self, signature: tuple) -> None:
        try:
            articles = load_articles(self.directory)
        except Exception as exc:  # a broken file must not take the helpdesk down
            self.last_error = str(exc)
            log.error("knowledge base not reloaded: %s", exc)
            if self._matcher is None:
                self._matcher = Matcher(
                    [], **self.thresholds, catalog_path=self.catalog_file or DEFAULT_CATALOG
                )
            self._signature = signature
            return
        approved = self._approved()
        known = {a.id for a in articles}
        for article_id, phrasing, answer in approved:
            if answer and article_id not in known:
                articles.append(Article(article_id, phrasing, (), answer, source="masalah"))
                known.add(article_id)
        matcher = Matcher(
            articles, **self.thresholds, catalog_path=self.catalog_file or DEFAULT_CATALOG
        )
        for article_id, phrasing, answer in approved:
            if not answer and matcher.article(article_id) is not None:
                matcher.add_alternate(article_id, phrasing)
        self._matcher = matcher
        self._signature = signature
        self.last_error = None
        log.info("knowledge base loaded: %d articles", len(articles))

    def force_reload(self) -> None:
        self._checked = 0.0
        self._signature = None

    def article(self, article_id: str) -> Article | None:
        return self.current.article(article_id)
