"""Rank knowledge-base articles for a chat message and decide whether to answer.

Why this shape: employees write short, informal, typo-ridden questions, and a
wrong confident answer costs more than "saya belum tahu". Ranking therefore
fuses word-level BM25 over every phrasing (best phrasing, all phrasings pooled,
and the answer text) with rapidfuzz similarity on the best few candidates, and
the resulting confidence is a logistic mapping of general features (score,
margin to the runner-up, share of the query explained) rather than a raw score.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
from rapidfuzz import fuzz, process

from knowledge.articles import Article
from knowledge.normalize import Normalizer

DEFAULT_ANSWER = 0.6
DEFAULT_SUGGEST = 0.3
MAX_CHOICES = 3
_RERANK = 12
_K1, _B = 1.2, 0.75
# Logistic weights over (bias, score, margin, coverage, fuzzy); see calibrate().
_CALIB = (-6.0, 6.0, 6.0, 2.0, 2.0)


@dataclass
class Match:
    article: Article
    score: float


@dataclass
class Decision:
    kind: Literal["answer", "choices", "none"]
    matches: list[Match]


class _Field:
    """One BM25 field: postings per term with precomputed weights."""

    def __init__(self, docs: Sequence[Sequence[str]], idf: dict[str, float]) -> None:
        self.n = len(docs)
        lens = np.fromiter((len(d) for d in docs), dtype=np.float32, count=len(docs))
        avg = float(lens.mean()) if len(docs) and lens.mean() > 0 else 1.0
        norm = _K1 * (1 - _B + _B * lens / avg)
        rows: dict[str, list[int]] = {}
        tfs: dict[str, list[int]] = {}
        for i, doc in enumerate(docs):
            for term, tf in Counter(doc).items():
                rows.setdefault(term, []).append(i)
                tfs.setdefault(term, []).append(tf)
        self.post: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for term, idx_list in rows.items():
            idx = np.asarray(idx_list, dtype=np.int32)
            tf = np.asarray(tfs[term], dtype=np.float32)
            w = idf.get(term, 0.0) * tf * (_K1 + 1) / (tf + norm[idx])
            self.post[term] = (idx, w.astype(np.float32))

    def scores(self, terms: Iterable[str]) -> np.ndarray:
        out = np.zeros(self.n, dtype=np.float32)
        for t in terms:
            p = self.post.get(t)
            if p is not None:
                out[p[0]] += p[1]
        return out


class _Index:
    """Immutable search structures; a new one is built and swapped on change."""

    def __init__(self, articles: list[Article], norm: Normalizer, cache: dict[str, list[str]]) -> None:
        self.articles = articles
        self.by_id = {a.id: i for i, a in enumerate(articles)}

        def toks(text: str) -> list[str]:
            got = cache.get(text)
            if got is None:
                got = cache[text] = norm.tokens(text)
            return got

        phr_docs: list[list[str]] = []
        owner: list[int] = []
        self.phr_clean: list[list[str]] = []
        for i, a in enumerate(articles):
            cleaned = []
            for p in a.phrasings:
                phr_docs.append(toks(p))
                owner.append(i)
                cleaned.append(" ".join(norm.words(p)))
            self.phr_clean.append(cleaned)
        pooled = [[] for _ in articles]
        for i, d in zip(owner, phr_docs, strict=True):
            pooled[i].extend(d)
        answers = [toks(a.answer)[:200] for a in articles]
        n = max(len(articles), 1)
        df: Counter[str] = Counter()
        for p, ans in zip(pooled, answers, strict=True):
            df.update(set(p) | set(ans))
        self.idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
        self.max_idf = math.log(1 + (n - 0.5) / 1.5) if n > 1 else 1.0
        self.phr = _Field(phr_docs, self.idf)
        self.pool = _Field(pooled, self.idf)
        self.ans = _Field(answers, self.idf)
        self.owner = np.asarray(owner, dtype=np.int32)
        # reduceat needs the first phrasing of each article.
        counts = np.bincount(self.owner, minlength=len(articles)) if owner else np.zeros(0, int)
        self.starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        self.vocab_by_len: dict[int, list[str]] = {}
        for t in df:
            self.vocab_by_len.setdefault(len(t), []).append(t)
        self.langs = np.asarray([a.lang for a in articles], dtype=object)


class Matcher:
    """Thread-safe: searches read one immutable index; changes build and swap a new one."""

    def __init__(
        self,
        articles: Iterable[Article],
        *,
        answer_threshold: float = DEFAULT_ANSWER,
        suggest_threshold: float = DEFAULT_SUGGEST,
        slang_path: Path | None = None,
    ) -> None:
        self.answer_threshold = answer_threshold
        self.suggest_threshold = suggest_threshold
        self.normalizer = Normalizer(slang_path)
        self._cache: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        self._index = _Index(list(articles), self.normalizer, self._cache)

    @property
    def articles(self) -> list[Article]:
        return list(self._index.articles)

    def article(self, article_id: str) -> Article | None:
        idx = self._index
        i = idx.by_id.get(article_id)
        return idx.articles[i] if i is not None else None

    def rebuild(self, articles: Iterable[Article]) -> None:
        """Replace the whole knowledge base (reload after files change)."""
        new = _Index(list(articles), self.normalizer, self._cache)
        with self._lock:
            self._index = new

    def add_alternate(self, article_id: str, phrasing: str) -> None:
        """Make an approved learned phrasing count immediately."""
        with self._lock:
            idx = self._index
            i = idx.by_id.get(article_id)
            if i is None:
                raise KeyError(article_id)
            art = idx.articles[i]
            if phrasing.strip() in art.alternates:
                return
            arts = list(idx.articles)
            arts[i] = replace(art, alternates=(*art.alternates, phrasing.strip()))
            self._index = _Index(arts, self.normalizer, self._cache)

    # -- querying ---------------------------------------------------------

    def _query_terms(self, idx: _Index, text: str) -> list[str]:
        """Stemmed query terms, with unknown words mapped to a close indexed word."""
        out: list[str] = []
        for t in self.normalizer.tokens(text):
            if t in idx.idf or len(t) < 4 or t.isdigit():
                out.append(t)
                continue
            cands = [w for n in range(len(t) - 1, len(t) + 2) for w in idx.vocab_by_len.get(n, ())]
            best = process.extractOne(t, cands, scorer=fuzz.ratio, score_cutoff=80)
            out.append(best[0] if best else t)
        return out

    def search(self, text: str, k: int = 5, lang: str | None = None) -> list[Match]:
        idx = self._index
        if not idx.articles:
            return []
        terms = list(dict.fromkeys(self._query_terms(idx, text)))
        if not terms:
            return []
        qmass = sum(idx.idf.get(t, idx.max_idf) for t in terms)
        phr = idx.phr.scores(terms)
        best_phr = np.maximum.reduceat(phr, idx.starts) if len(phr) else phr
        raw = 0.5 * best_phr + 0.3 * idx.pool.scores(terms) + 0.2 * idx.ans.scores(terms)
        raw = raw / max(qmass, 1e-6) / (_K1 + 1) * 1.0
        if lang is not None:
            raw = np.where(idx.langs == lang, raw, raw * 0.5)
        n = min(_RERANK, len(raw))
        top = np.argpartition(-raw, n - 1)[:n] if n < len(raw) else np.arange(len(raw))
        top = top[np.argsort(-raw[top])]
        top = top[raw[top] > 0]
        if len(top) == 0:
            return []
        qclean = " ".join(self.normalizer.words(text))
        fz = np.array(
            [max(fuzz.token_sort_ratio(qclean, p) for p in idx.phr_clean[i]) / 100 for i in top]
        )
        fused = raw[top] * 0.75 + fz * 0.25
        order = np.argsort(-fused)
        top, fused, fz = top[order], fused[order], fz[order]
        margin = fused[0] - (fused[1] if len(fused) > 1 else 0.0)
        out = []
        for j, i in enumerate(top[:k]):
            m = margin if j == 0 else fused[j] - fused[0]
            z = _CALIB[0] + _CALIB[1] * fused[j] + _CALIB[2] * m + _CALIB[4] * fz[j]
            out.append(Match(idx.articles[int(i)], float(1 / (1 + math.exp(-z)))))
        return out

    def decide(self, text: str, lang: str | None = None) -> Decision:
        return self.decide_from(self.search(text, k=MAX_CHOICES, lang=lang))

    def decide_from(self, matches: list[Match]) -> Decision:
        """Apply the thresholds to ranked matches (lets callers search once)."""
        if matches and matches[0].score >= self.answer_threshold:
            return Decision("answer", matches[:1])
        offered = [m for m in matches if m.score >= self.suggest_threshold][:MAX_CHOICES]
        if offered:
            return Decision("choices", offered)
        return Decision("none", [])
