"""Which incidents say the same thing: the similarity of two incident texts and the
clusters of similar incidents on one service within a window.

A general method, not keyword rules: both texts go through the FAQ matcher's normaliser
(slang, stemming, stop words), then two measures are averaged — rapidfuzz's ratio of the
sorted content tokens (typos, word order) and the cosine of the static word vectors of
the normalised words (synonyms: "konek" and "terhubung"). Clusters are the connected
groups of incidents whose pairwise similarity reaches the threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import lru_cache

import numpy as np
from rapidfuzz import fuzz
from sqlmodel import Session, col, select

from knowledge.normalize import Normalizer
from knowledge.semantic import default_embedder
from storage.models import ProblemIncident, ProblemSuggestion, Ticket

#: the ticket states a cluster leaves out: withdrawn reports say nothing about a cause
_SKIPPED = ("dibatalkan",)


@lru_cache(maxsize=1)
def _normalizer() -> Normalizer:
    return Normalizer()


@lru_cache(maxsize=4096)
def _analysed(text: str) -> tuple[str, np.ndarray | None]:
    """(sorted distinct content tokens, unit vector of the normalised words or None)."""
    words, tokens = _normalizer().analyse(text)
    embedder = default_embedder()
    vector = None
    if embedder is not None and words:
        v, _ = embedder.embed(" ".join(words))
        vector = v if float(v @ v) > 0 else None
    return " ".join(sorted(set(tokens))), vector


def text_of(ticket: Ticket) -> str:
    """What an incident says: its title and what the reporter wrote."""
    if ticket.description and ticket.description not in ticket.title:
        return f"{ticket.title} {ticket.description}"
    return ticket.title


def similarity(a: str, b: str) -> float:
    """0..1: the mean of the token ratio and the vector cosine (the ratio alone when the
    bundled vectors are missing or know none of the words)."""
    ta, va = _analysed(a)
    tb, vb = _analysed(b)
    if not ta or not tb:
        return 0.0
    ratio = fuzz.token_sort_ratio(ta, tb) / 100.0
    if va is None or vb is None:
        return ratio
    cosine = max(0.0, float(va @ vb))
    return (ratio + cosine) / 2


def max_similarity(text: str, others: Sequence[str]) -> float:
    return max((similarity(text, o) for o in others), default=0.0)


def clusters(texts: Sequence[str], threshold: float) -> list[list[int]]:
    """Indexes of `texts` grouped into connected components of the "similar" relation
    (union-find), each in input order; groups ordered by their first member."""
    parent = list(range(len(texts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            if root(i) != root(j) and similarity(texts[i], texts[j]) >= threshold:
                parent[root(j)] = root(i)
    groups: dict[int, list[int]] = {}
    for i in range(len(texts)):
        groups.setdefault(root(i), []).append(i)
    return sorted(groups.values(), key=lambda g: g[0])


def candidate_clusters(
    session: Session,
    now: datetime,
    *,
    window_hours: float,
    min_count: int,
    threshold: float,
) -> list[list[Ticket]]:
    """Clusters of at least `min_count` similar incidents per service opened in the
    window before `now` that no problem links and no earlier suggestion offered."""
    since = now - timedelta(hours=window_hours)
    offered: set[int] = set()
    for row in session.exec(
        select(ProblemSuggestion).where(col(ProblemSuggestion.created_at) >= since)
    ):
        offered.update(row.ticket_ids)
    linked = select(ProblemIncident.ticket_id)
    rows = session.exec(
        select(Ticket)
        .where(Ticket.type == "gangguan")
        .where(col(Ticket.service_id).is_not(None))
        .where(col(Ticket.created_at) >= since, col(Ticket.created_at) <= now)
        .where(col(Ticket.state).not_in(_SKIPPED))
        .where(col(Ticket.id).not_in(linked))
        .order_by(col(Ticket.service_id), col(Ticket.created_at), col(Ticket.id))
    )
    by_service: dict[str, list[Ticket]] = {}
    for ticket in rows:
        if ticket.id not in offered:
            by_service.setdefault(ticket.service_id or "", []).append(ticket)
    found: list[list[Ticket]] = []
    for items in by_service.values():
        if len(items) < min_count:
            continue
        for group in clusters([text_of(t) for t in items], threshold):
            if len(group) >= min_count:
                found.append([items[i] for i in group])
    return found
