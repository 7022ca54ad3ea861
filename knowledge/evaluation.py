"""Benchmark the matcher on a knowledge base in the FAQ interchange format.

A helpdesk is judged by how often it answers right without a ticket and how
rarely it answers wrong with confidence, so both are reported, with the
default thresholds unless told otherwise.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from knowledge.articles import Article, KnowledgeError, load_jsonl_articles
from knowledge.matcher import DEFAULT_ANSWER, DEFAULT_SUGGEST, Matcher


def load_queries(path: Path | str) -> list[tuple[str, str | None]]:
    """(query, expected id or None) pairs; raises KnowledgeError naming the line."""
    path = Path(path)
    out: list[tuple[str, str | None]] = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                out.append((str(d["query"]), d.get("expected")))
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise KnowledgeError(f"{path}:{lineno}: bad query line: {exc}") from exc
    return out


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def evaluate_matcher(matcher: Matcher, queries: list[tuple[str, str | None]]) -> dict[str, Any]:
    """Metrics for an already built matcher (used by tests on the bundled KB)."""
    hits = answerable = 0
    rr = 0.0  # reciprocal ranks add up to a fraction
    nomatch_ok = unanswerable = confident_wrong = confident = 0
    times: list[float] = []
    for text, _ in queries[:20]:
        matcher.search(text, k=5)  # warm the stemming cache the way a running bot has it
    for text, expected in queries:
        t0 = time.perf_counter()
        matches = matcher.search(text, k=5)
        decision = matcher.decide_from(matches)
        times.append((time.perf_counter() - t0) * 1000)
        ids = [m.article.id for m in matches]
        if expected is None:
            unanswerable += 1
            nomatch_ok += decision.kind == "none"
        else:
            answerable += 1
            hits += bool(ids) and ids[0] == expected
            if expected in ids:
                rr += 1 / (ids.index(expected) + 1)
        if decision.kind == "answer":
            confident += 1
            confident_wrong += decision.matches[0].article.id != expected
    n = len(queries)
    return {
        "top1": round(hits / answerable, 4) if answerable else None,
        "mrr5": round(rr / answerable, 4) if answerable else None,
        "no_match_recall": round(nomatch_ok / unanswerable, 4) if unanswerable else None,
        "confident_wrong": round(confident_wrong / n, 4) if n else 0.0,
        # what the threshold means: how many are answered outright, and how many of those right
        "answered": round(confident / n, 4) if n else 0.0,
        "confident_right": round(1 - confident_wrong / confident, 4) if confident else None,
        "p50_ms": round(_percentile(times, 0.50), 3),
        "p99_ms": round(_percentile(times, 0.99), 3),
        "n_queries": n,
    }


def evaluate(
    articles_jsonl: Path | str,
    queries_jsonl: Path | str,
    *,
    answer_threshold: float | None = None,
    suggest_threshold: float | None = None,
) -> dict[str, Any]:
    """Run the matcher on the given articles (they replace the bundled ones)."""
    articles: list[Article] = load_jsonl_articles(articles_jsonl)
    matcher = Matcher(
        articles,
        answer_threshold=DEFAULT_ANSWER if answer_threshold is None else answer_threshold,
        suggest_threshold=DEFAULT_SUGGEST if suggest_threshold is None else suggest_threshold,
    )
    return evaluate_matcher(matcher, load_queries(queries_jsonl))
