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
from knowledge.normalize import Normalizer, guess_lang

DEFAULT_ANSWER = 0.75
DEFAULT_SUGGEST = 0.35
MAX_CHOICES = 3
_RERANK = 12
_K1, _B = 1.2, 0.75
_W_PHR, _W_POOL, _W_ANS, _W_FUZZ = 0.5, 0.3, 0.4, 0.25
_W_CHAR = 0.2
# Logistic weights over (bias, score, margin, coverage, fuzzy, log query length),
# fitted once on pooled evaluation sets; see features().
_CALIB = (-5.847, 5.96, 19.742, 1.615, -0.718, 1.667)


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


def char_grams(words: Sequence[str]) -> list[str]:
    """3- and 4-grams inside word boundaries: survive typos and affixes."""
    out: list[str] = []
    for w in words:
        w = f" {w} "
        for n in (3, 4):
            out.extend(w[i : i + n] for i in range(len(w) - n + 1))
    return out


class _Cosine:
    """TF-IDF cosine over character n-grams (sublinear tf, unit-length docs)."""

    def __init__(self, docs: Sequence[Sequence[str]]) -> None:
        self.n = len(docs)
        df: Counter[str] = Counter()
        counted = [Counter(d) for d in docs]
        for c in counted:
            df.update(c.keys())
        self.idf = {g: math.log((1 + self.n) / (1 + c)) + 1 for g, c in df.items()}
        rows: dict[str, list[int]] = {}
        vals: dict[str, list[float]] = {}
        for i, c in enumerate(counted):
            w = {g: (1 + math.log(tf)) * self.idf[g] for g, tf in c.items()}
            norm = math.sqrt(sum(v * v for v in w.values())) or 1.0
            for g, v in w.items():
                rows.setdefault(g, []).append(i)
                vals.setdefault(g, []).append(v / norm)
        self.post = {
            g: (np.asarray(r, dtype=np.int32), np.asarray(vals[g], dtype=np.float32))
            for g, r in rows.items()
        }

    def scores(self, grams: Sequence[str]) -> np.ndarray:
        out = np.zeros(self.n, dtype=np.float32)
        q = {g: (1 + math.log(tf)) * self.idf[g] for g, tf in Counter(grams).items() if g in self.idf}
        norm = math.sqrt(sum(v * v for v in q.values())) or 1.0
        for g, v in q.items():
            idx, w = self.post[g]
            out[idx] += w * (v / norm)
        return out


def _family(article: Article) -> str:
    suffix = f"-{article.lang}"
    return article.id[: -len(suffix)] if article.id.endswith(suffix) else article.id


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
        self.terms = [frozenset(p) | frozenset(a) for p, a in zip(pooled, answers, strict=True)]
        self.chars = _Cosine([char_grams(" ".join(c).split()) for c in self.phr_clean])
        self.owner = np.asarray(owner, dtype=np.int32)
        # reduceat needs the first phrasing of each article.
        counts = np.bincount(self.owner, minlength=len(articles)) if owner else np.zeros(0, int)
        self.starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        self.vocab_by_len: dict[int, list[str]] = {}
        for t in df:
            self.vocab_by_len.setdefault(len(t), []).append(t)
        # Translations ("x" and "x-en") are one answer in two languages: a family.
        self.family = [_family(a) for a in articles]
        self.members: dict[str, dict[str, int]] = {}
        for i, a in enumerate(articles):
            self.members.setdefault(self.family[i], {}).setdefault(a.lang, i)


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

    def features(self, text: str, k: int = 5, lang: str | None = None) -> tuple[list[int], np.ndarray]:
        """Ranked article positions and, per candidate, the calibration features.

        Features: fused score, margin to the best other candidate, share of the
        query's IDF mass that the article contains, fuzzy similarity of the
        best phrasing, and the query's length in content words.
        """
        idx = self._index
        if not idx.articles:
            return [], np.zeros((0, 5))
        terms = list(dict.fromkeys(self._query_terms(idx, text)))
        if not terms:
            return [], np.zeros((0, 5))
        term_idf = [idx.idf.get(t, idx.max_idf) for t in terms]
        qmass = max(sum(term_idf), 1e-6)
        phr = idx.phr.scores(terms)
        best_phr = np.maximum.reduceat(phr, idx.starts) if len(phr) else phr
        raw = _W_PHR * best_phr + _W_POOL * idx.pool.scores(terms) + _W_ANS * idx.ans.scores(terms)
        raw = raw / qmass / (_K1 + 1)
        qwords = self.normalizer.words(text)
        raw = (1 - _W_CHAR) * raw + _W_CHAR * idx.chars.scores(char_grams(qwords))
        n = min(max(_RERANK, k), len(raw))
        top = np.argpartition(-raw, n - 1)[:n] if n < len(raw) else np.arange(len(raw))
        top = top[raw[top] > 0]
        if len(top) == 0:
            return [], np.zeros((0, 5))
        qclean = " ".join(qwords)
        fz = np.array(
            [max(fuzz.token_sort_ratio(qclean, p) for p in idx.phr_clean[i]) / 100 for i in top]
        )
        fused = raw[top] * (1 - _W_FUZZ) + fz * _W_FUZZ
        shown = top.copy()
        order = self._one_per_family(idx, shown, np.argsort(-fused), lang or guess_lang(text))[:k]
        top, shown, fused, fz = top[order], shown[order], fused[order], fz[order]
        second = fused[1] if len(fused) > 1 else 0.0
        margin = np.where(np.arange(len(fused)) == 0, fused - second, fused - fused[0])
        cover = np.array(
            [sum(w for t, w in zip(terms, term_idf, strict=True) if t in idx.terms[i]) / qmass for i in top]
        )
        qlen = np.full(len(top), math.log1p(len(terms)))
        return [int(i) for i in shown], np.column_stack([fused, margin, cover, fz, qlen])

    @staticmethod
    def _one_per_family(idx: _Index, top: np.ndarray, order: np.ndarray, lang: str | None) -> np.ndarray:
        """Keep the best-ranked member of each translation family, swapped for the
        member in the asker's language when one exists (swapping keeps the score)."""
        seen: set[str] = set()
        keep: list[int] = []
        for j in order:
            fam = idx.family[int(top[j])]
            if fam in seen:
                continue
            seen.add(fam)
            keep.append(int(j))
            if lang is not None:
                alt = idx.members[fam].get(lang)
                if alt is not None:
                    top[j] = alt
        return np.asarray(keep, dtype=np.int64)

    def search(self, text: str, k: int = 5, lang: str | None = None) -> list[Match]:
        """Best articles first, each with a calibrated probability of being right."""
        top, feats = self.features(text, k, lang)
        if not top:
            return []
        z = feats @ np.asarray(_CALIB[1:]) + _CALIB[0]
        conf = 1 / (1 + np.exp(-z))
        arts = self._index.articles
        return [Match(arts[i], float(c)) for i, c in zip(top, conf, strict=True)]

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
