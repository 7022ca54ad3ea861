"""Rank knowledge-base articles for a chat message and decide whether to answer.

Why this shape: employees write short, informal, typo-ridden questions, and a
wrong confident answer costs more than "saya belum tahu". Ranking therefore
fuses word-level BM25 over every phrasing (best phrasing, all phrasings pooled,
and the answer text) and character n-grams to select a few candidates, then
ranks them with rapidfuzz similarity and meaning from static token vectors
(knowledge/semantic.py: rephrasings that share few words), and
the resulting confidence is a logistic mapping of general features (score,
margin to the runner-up, share of the query explained) rather than a raw score.
Before that, an article that disagrees with the question keeps only part of its
score: about the service the question names (knowledge/services.py), about what
it negates or asserts (knowledge/polarity.py), or because the question is about
another organisation's app (knowledge/external.txt) and the article about ours.
"""

from __future__ import annotations

import copy
import gc
import math
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
from rapidfuzz import fuzz, process

from knowledge.articles import Article
from knowledge.normalize import Normalizer, guess_lang, stem
from knowledge.polarity import ArticlePolarity, Polarity, disagrees, polarity
from knowledge.semantic import (
    SemanticIndex,
    calling_thread_matvec,
    calling_thread_rowsum,
    default_embedder,
)
from knowledge.services import (
    DEFAULT_CATALOG,
    ServiceTerms,
    conflicts,
    other_app,
    read_catalog_apps,
    read_catalog_terms,
)

DEFAULT_ANSWER = 0.75
DEFAULT_SUGGEST = 0.35
MAX_CHOICES = 3
#: words of a question that are read; the rest of a longer text is not
MAX_QUERY_WORDS = 32
#: recent queries whose ranking is kept (Matcher.prepare)
RANKED_KEPT = 512
_RERANK = 12
# Character n-grams in more than a tenth of the articles are kept as dense rows,
# from 1,000 articles on: the 512 commonest at most, and at most 4 million cells
# (16 MB; 10 MB at 5,000 articles).
_DENSE_SHARE, _DENSE_MAX_TERMS, _DENSE_MIN_DOCS = 0.1, 512, 1000
_DENSE_MAX_CELLS = 4_000_000
_K1, _B = 1.2, 0.75
# Candidate selection: BM25 field mix, character n-grams, and the centroid z-score.
_W_PHR, _W_POOL, _W_ANS = 0.5, 0.3, 0.4
_W_CHAR = 0.3
# Ranking weights over the components of _candidates(): BM25 of the best
# phrasing, of all phrasings pooled, of the answer (each per unit of query IDF
# mass), character n-gram cosine, fuzzy ratio, the static-vector similarity of
# the article centroid (a z-score over the knowledge base), and the token
# alignment F of the best phrasing and recall of the whole article (see
# SemanticIndex.align); the semantic parts are scaled by the query's
# vocabulary coverage. Fitted (softmax loss on the expected article, equal
# weight per set) on stackfaq, clinc150 and the Indonesian set together;
# fitted leaving one set out, the held-out top-1 drops by 0.01-0.02.
_RANK_W = (0.0, 0.2193, 0.2604, 0.3812, 0.0935, 0.0353, 0.2579, 0.4134)
_SEL_SEM = 0.06
#: least confidence for a question that is, word for word, one of the top article's
#: phrasings while no other article ranks as high (a confirmed phrasing is known)
_VERBATIM = 0.95
#: fused score kept by an article that states plainly what the question negates, or
#: the reverse (knowledge.polarity)
_POLARITY = 0.5
#: fused score kept by an article of another service than the one the question names
_CONFLICT = 0.5
# Logistic weights over (bias, score, margin, coverage, fuzzy, log query length,
# margin relative to the score, IDF share of the question's words that other
# articles use but this one does not): a logistic fit of "top answer right" with
# equal weight per set (stackfaq, clinc150, the Indonesian set) and wrong answers
# and unanswerable questions counted five times (a wrong confident answer costs
# more than a choice; at three times the fit left out clinc150 answered 3.3 %
# wrongly). The relative margin makes the threshold mean the same on knowledge
# bases of different sizes, where scores themselves do not. No per-set
# rescaling; left-one-set-out figures come from scripts/fit_faq_calibration.py
# (--neg 5), which refits these.
_CALIB = (-6.495, 1.016, 4.331, 2.457, 0.861, 1.202, 5.708, -0.319)
#: columns of Matcher.features
N_FEATURES = 6


@contextmanager
def _no_gc() -> Iterator[None]:
    """Building an index allocates many short-lived containers and frees them
    by reference counting; cyclic collections meanwhile only cost time."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@dataclass
class Match:
    article: Article
    score: float


@dataclass
class Decision:
    kind: Literal["answer", "choices", "none"]
    matches: list[Match]


class _Postings:
    """Term -> (documents, weights) in compressed-column form, built with numpy.

    Building with array operations rather than per-term Python lists keeps a
    5,000-article rebuild well under the reload budget.
    """

    def __init__(
        self,
        n_docs: int,
        indptr: np.ndarray,
        docs: np.ndarray,
        weights: np.ndarray,
        dense_share: float | None = None,
    ) -> None:
        self.n = n_docs
        self.indptr = np.asarray(indptr, dtype=np.int64)
        self.docs = docs
        self.weights = weights
        #: row in ``dense`` of each term that is in more than ``dense_share`` of the
        #: documents (-1 for the others): summing a few dense rows costs less than
        #: gathering and counting their long postings (common character n-grams)
        self.dense_row = np.full(max(len(self.indptr) - 1, 0), -1, dtype=np.int64)
        self.dense = np.zeros((0, n_docs), dtype=np.float32)
        if dense_share is not None and n_docs >= _DENSE_MIN_DOCS:
            lens = np.diff(self.indptr)
            most = min(_DENSE_MAX_TERMS, _DENSE_MAX_CELLS // n_docs)
            common = np.flatnonzero(lens > dense_share * n_docs)
            common = common[np.argsort(-lens[common], kind="stable")[:most]]
            self.dense_row[common] = np.arange(len(common))
            self.dense = np.zeros((len(common), n_docs), dtype=np.float32)
            for r, t in enumerate(common):
                s, e = self.indptr[t], self.indptr[t + 1]
                self.dense[r, docs[s:e]] = weights[s:e]

    def scores(
        self, term_ids: Iterable[int], qweights: Iterable[float] | None = None
    ) -> np.ndarray:
        """Sum of the postings of the given terms, in one gather and one bincount:
        no Python loop per term, so a long query costs only its postings."""
        t = np.asarray(term_ids if isinstance(term_ids, np.ndarray) else list(term_ids))
        t = t.astype(np.int64, copy=False)
        qw = None if qweights is None else np.asarray(qweights, dtype=np.float32)
        keep = (t >= 0) & (t < len(self.indptr) - 1)  # a term added after this field was built
        t = t[keep]
        qw = None if qw is None else qw[keep]
        if len(self.dense):
            rows = self.dense_row[t]
            dense = rows >= 0
            if dense.any():
                wd = np.ones(int(dense.sum()), np.float32) if qw is None else qw[dense]
                out = self._sparse(t[~dense], None if qw is None else qw[~dense])
                return out + calling_thread_rowsum(self.dense[rows[dense]], wd)
        return self._sparse(t, qw)

    def _sparse(self, t: np.ndarray, qw: np.ndarray | None) -> np.ndarray:
        start, end = self.indptr[t], self.indptr[t + 1]
        lens = end - start
        total = int(lens.sum())
        if total == 0:
            return np.zeros(self.n, dtype=np.float32)
        pos = np.repeat(start - (np.cumsum(lens) - lens), lens) + np.arange(total)
        w = self.weights[pos]
        if qw is not None:
            w = w * np.repeat(qw, lens)
        return np.bincount(self.docs[pos], weights=w, minlength=self.n).astype(np.float32)


def _coo(
    docs: Sequence[Sequence[int]], n_terms: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(term, doc, tf) sorted by term then doc, and each doc's length."""
    lens = np.fromiter((len(d) for d in docs), dtype=np.int64, count=len(docs))
    flat = np.fromiter((t for d in docs for t in d), dtype=np.int64, count=int(lens.sum()))
    doc = np.repeat(np.arange(len(docs), dtype=np.int64), lens)
    keys, tf = np.unique(flat * max(len(docs), 1) + doc, return_counts=True)
    return keys // max(len(docs), 1), keys % max(len(docs), 1), tf.astype(np.float32), lens


def _indptr(term: np.ndarray, n_terms: int) -> np.ndarray:
    return np.searchsorted(term, np.arange(n_terms + 1))


def bm25_field(docs: Sequence[Sequence[int]], idf: np.ndarray) -> _Postings:
    term, doc, tf, lens = _coo(docs, len(idf))
    avg = float(lens.mean()) if len(lens) and lens.mean() > 0 else 1.0
    norm = _K1 * (1 - _B + _B * lens[doc] / avg)
    w = idf[term] * tf * (_K1 + 1) / (tf + norm)
    return _Postings(len(docs), _indptr(term, len(idf)), doc.astype(np.int32), w.astype(np.float32))


@lru_cache(maxsize=100_000)
def _word_grams(word: str) -> tuple[str, ...]:
    w = f" {word} "
    return tuple(w[i : i + n] for n in (3, 4) for i in range(len(w) - n + 1))


def char_grams(words: Sequence[str]) -> list[str]:
    """3- and 4-grams inside word boundaries: survive typos and affixes."""
    return [g for w in words for g in _word_grams(w)]


class _Cosine:
    """TF-IDF cosine over character n-grams (sublinear tf, unit-length docs)."""

    def __init__(self, docs: Sequence[Sequence[str]]) -> None:
        """``docs`` are word lists; n-grams are taken per distinct word, once."""
        self.vocab: dict[str, int] = {}
        per_word: dict[str, list[int]] = {}
        vid = self.vocab.setdefault

        def gram_ids(word: str) -> list[int]:
            got = per_word.get(word)
            if got is None:
                got = per_word[word] = [vid(g, len(self.vocab)) for g in _word_grams(word)]
            return got

        ids = [[g for w in d for g in gram_ids(w)] for d in docs]
        term, doc, tf, _ = _coo(ids, len(self.vocab))
        df = np.bincount(term, minlength=len(self.vocab))
        self.idf = (np.log((1 + len(docs)) / (1 + df)) + 1).astype(np.float32)
        w = (1 + np.log(tf)) * self.idf[term]
        norms = np.sqrt(np.bincount(doc, weights=w * w, minlength=len(docs)))
        w = w / np.maximum(norms[doc], 1e-9)
        self.post = _Postings(
            len(docs),
            _indptr(term, len(self.vocab)),
            doc.astype(np.int32),
            w.astype(np.float32),
            dense_share=_DENSE_SHARE,
        )

    def scores(self, grams: Sequence[str]) -> np.ndarray:
        vocab = self.vocab
        known = np.fromiter((vocab.get(g, -1) for g in grams), dtype=np.int64, count=len(grams))
        ids, counts = np.unique(known[known >= 0], return_counts=True)
        q = (1 + np.log(counts)).astype(np.float32) * self.idf[ids]
        q = q / (float(np.sqrt((q * q).sum())) or 1.0)
        return self.post.scores(ids, q)


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


class _Neighbours:
    """Indexed words within one deletion on each side of a word (symmetric-delete
    lookup, as SymSpell does): the words a typo of it can be, found with a few
    dictionary lookups instead of a scan of the vocabulary. One deletion each side
    covers one substitution, transposition, insertion or deletion, which is what
    a similarity of 80 allows at the lengths where typos are worth correcting.
    """

    def __init__(self, words: Iterable[str], parent: _Neighbours | None = None) -> None:
        self.by_key: dict[str, list[str]] = dict(parent.by_key) if parent else {}
        #: insertion order of the words, so ties go to the word indexed first
        self.rank: dict[str, int] = dict(parent.rank) if parent else {}
        for w in words:
            if len(w) < 3 or w in self.rank:
                continue
            self.rank[w] = len(self.rank)
            for key in (w, *_deletes(w)):
                # a new list, never the parent's: the parent index stays as it was
                self.by_key[key] = [*self.by_key.get(key, ()), w]

    def with_words(self, words: Iterable[str]) -> _Neighbours:
        return _Neighbours(words, self)

    def candidates(self, word: str) -> list[str]:
        """Words at most one character longer or shorter that share a deletion
        neighbourhood with ``word``, shortest first, then in indexing order."""
        got: set[str] = set()
        by_key = self.by_key
        for key in (word, *_deletes(word)):
            got.update(by_key.get(key, ()))
        rank = self.rank
        return sorted(
            (w for w in got if abs(len(w) - len(word)) <= 1), key=lambda w: (len(w), rank[w])
        )


def _sorted_words(text: str) -> str:
    return " ".join(sorted(text.split()))


def _family(article: Article) -> str:
    suffix = f"-{article.lang}"
    return article.id[: -len(suffix)] if article.id.endswith(suffix) else article.id


# Tuples of strings, not lists: the garbage collector stops tracking them, so
# a large cache does not slow every later collection (and so every reload).
_Analysed = tuple[tuple[str, ...], tuple[str, ...]]


class _Index:
    """Immutable search structures; a new one is built and swapped on change."""

    def __init__(
        self,
        articles: list[Article],
        norm: Normalizer,
        cache: dict[str, _Analysed],
        catalog: dict[str, list[str]] | None = None,
    ) -> None:
        self.articles = articles
        self.by_id = {a.id: i for i, a in enumerate(articles)}

        def analyse(text: str) -> _Analysed:
            got = cache.get(text)
            if got is None:
                words, toks = norm.analyse(text)
                got = cache[text] = (tuple(words), tuple(toks))
            return got

        self.vocab: dict[str, int] = {}
        vid = self.vocab.setdefault
        phr_docs: list[list[int]] = []
        owner: list[int] = []
        pooled: list[list[int]] = []
        self.phr_clean: list[list[str]] = []
        phr_toks: list[frozenset[str]] = []
        stop = norm.stopwords
        #: per article, the phrasings' polarity of each word (see knowledge.polarity)
        self.polarity: list[ArticlePolarity] = []
        for i, a in enumerate(articles):
            cleaned, pool = [], []
            seen: set[str] = set()
            pols: list[Polarity] = []
            for p in a.phrasings:
                words, toks = analyse(p)
                pols.append(polarity(words, stop, stem))
                seen.update(toks)
                ids = [vid(t, len(self.vocab)) for t in toks]
                phr_docs.append(ids)
                pool.extend(ids)
                owner.append(i)
                cleaned.append(" ".join(words))
            self.phr_clean.append(cleaned)
            self.polarity.append(ArticlePolarity.of(pols))
            pooled.append(pool)
            phr_toks.append(frozenset(seen))
        answer_toks = [analyse(a.answer)[1][:200] for a in articles]
        answers = [[vid(t, len(self.vocab)) for t in toks] for toks in answer_toks]
        #: every stemmed word an article uses (phrasings and answer), for service agreement
        self.words = [p.union(a) for p, a in zip(phr_toks, answer_toks, strict=True)]
        self.services = ServiceTerms(catalog or {}, articles, phr_toks, norm)
        self.terms = [frozenset(p).union(a) for p, a in zip(pooled, answers, strict=True)]
        n = max(len(articles), 1)
        df = np.bincount(
            np.fromiter((t for ts in self.terms for t in ts), dtype=np.int64),
            minlength=len(self.vocab),
        )
        self.idf = np.log(1 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
        self.max_idf = math.log(1 + (n - 0.5) / 1.5) if n > 1 else 1.0
        self.phr = bm25_field(phr_docs, self.idf)
        self.pool = bm25_field(pooled, self.idf)
        self.ans = bm25_field(answers, self.idf)
        self.chars = _Cosine([" ".join(c).split() for c in self.phr_clean])
        #: each phrasing's words in sorted order, for token_sort_ratio at query time
        self.phr_sorted = [[_sorted_words(p) for p in c] for c in self.phr_clean]
        self.owner = np.asarray(owner, dtype=np.int32)
        emb = default_embedder()
        self.sem = (
            SemanticIndex(
                emb,
                [p for a in articles for p in a.phrasings],
                self.owner,
                len(articles),
                [a.answer for a in articles],
            )
            if emb is not None
            else None
        )
        # reduceat needs the first phrasing of each article.
        counts = np.bincount(self.owner, minlength=len(articles)) if owner else np.zeros(0, int)
        self.starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        self.near = _Neighbours(self.vocab)
        self.learned_owner = np.zeros(0, dtype=np.int64)
        self.learned: _Postings | None = None
        self.learned_docs: list[list[int]] = []
        # Translations ("x" and "x-en") are one answer in two languages: a family.
        self.family = [_family(a) for a in articles]
        self.members: dict[str, dict[str, int]] = {}
        for i, a in enumerate(articles):
            self.members.setdefault(self.family[i], {}).setdefault(a.lang, i)

    def with_learned(self, i: int, phrasing: str, norm: Normalizer) -> _Index:
        """A copy with one more phrasing for article ``i``, without a full rebuild.

        Learned phrasings get their own small BM25 field (scored with the main
        IDF, new words counting as rare); the pooled and character fields pick
        them up at the next full rebuild.
        """
        new = copy.copy(self)
        words, toks = norm.analyse(phrasing)
        new.vocab = dict(self.vocab)
        ids = [new.vocab.setdefault(t, len(new.vocab)) for t in toks]
        if len(new.vocab) > len(self.idf):
            extra = np.full(len(new.vocab) - len(self.idf), self.max_idf, dtype=np.float32)
            new.idf = np.concatenate([self.idf, extra])
            new.near = self.near.with_words(list(new.vocab)[len(self.idf) :])
        new.learned_docs = [*self.learned_docs, ids]
        new.learned_owner = np.append(self.learned_owner, i)
        new.learned = bm25_field(new.learned_docs, new.idf)
        art = self.articles[i]
        new.articles = list(self.articles)
        new.articles[i] = replace(art, alternates=(*art.alternates, phrasing))
        new.phr_clean = list(self.phr_clean)
        new.phr_clean[i] = [*self.phr_clean[i], " ".join(words)]
        new.polarity = list(self.polarity)
        new.polarity[i] = self.polarity[i].with_phrasing(polarity(words, norm.stopwords, stem))
        new.phr_sorted = list(self.phr_sorted)
        new.phr_sorted[i] = [*self.phr_sorted[i], _sorted_words(" ".join(words))]
        new.terms = list(self.terms)
        new.terms[i] = self.terms[i].union(ids)
        new.words = list(self.words)
        new.words[i] = self.words[i].union(toks)
        if self.sem is not None:
            new.sem = self.sem.with_phrasing(phrasing, i)
        return new


#: a query's terms, their vocabulary ids and IDF, its IDF mass, candidates, components
_Ranked = tuple[list[str], list[int], list[float], float, np.ndarray, np.ndarray, Polarity]


class Matcher:
    """Thread-safe: searches read one immutable index; changes build and swap a new one."""

    def __init__(
        self,
        articles: Iterable[Article],
        *,
        answer_threshold: float = DEFAULT_ANSWER,
        suggest_threshold: float = DEFAULT_SUGGEST,
        slang_path: Path | None = None,
        default_lang: str = "id",
        catalog_path: Path | None = DEFAULT_CATALOG,
    ) -> None:
        self.answer_threshold = answer_threshold
        self.suggest_threshold = suggest_threshold
        self.default_lang = default_lang
        self.normalizer = Normalizer(slang_path)
        self._catalog = read_catalog_terms(catalog_path)
        self._apps = read_catalog_apps(catalog_path)
        self._cache: dict[str, _Analysed] = {}
        self._lock = threading.Lock()
        #: the language-independent ranking of recent queries, by (index, text, k)
        self._ranked: OrderedDict[tuple[int, str, int], tuple[_Index, _Ranked | None]] = (
            OrderedDict()
        )
        with _no_gc():
            self._index = _Index(list(articles), self.normalizer, self._cache, self._catalog)

    @property
    def articles(self) -> list[Article]:
        return list(self._index.articles)

    def article(self, article_id: str) -> Article | None:
        idx = self._index
        i = idx.by_id.get(article_id)
        return idx.articles[i] if i is not None else None

    def rebuild(self, articles: Iterable[Article]) -> None:
        """Replace the whole knowledge base (reload after files change)."""
        with _no_gc():
            new = _Index(list(articles), self.normalizer, self._cache, self._catalog)
        with self._lock:
            self._index = new
            self._ranked.clear()

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
            self._index = idx.with_learned(i, phrasing.strip(), self.normalizer)
            self._ranked.clear()

    # -- querying ---------------------------------------------------------

    @staticmethod
    def _query_terms(idx: _Index, tokens: list[str]) -> list[str]:
        """Stemmed query terms, with unknown words mapped to a close indexed word."""
        out: list[str] = []
        for t in tokens:
            if t in idx.vocab or len(t) < 4 or t.isdigit():
                out.append(t)
                continue
            best = process.extractOne(t, idx.near.candidates(t), scorer=fuzz.ratio, score_cutoff=80)
            out.append(best[0] if best else t)
        return out

    def features(
        self, text: str, k: int = 5, lang: str | None = None, idx: _Index | None = None
    ) -> tuple[list[int], np.ndarray]:
        """Ranked article positions and, per candidate, the calibration features.

        Features: fused score, margin to the best other candidate, share of the
        query's IDF mass that the article contains, fuzzy similarity of the
        best phrasing, and the query's length in content words.
        """
        idx = idx or self._index
        ranked = self._rank(idx, text, k)
        if ranked is None:
            return [], np.zeros((0, N_FEATURES))
        terms, ids, term_idf, qmass, top, comps, qpol = ranked
        fused = comps @ np.asarray(_RANK_W)
        if qpol.negated or qpol.asserted:
            flip = np.fromiter(
                (disagrees(qpol, idx.polarity[int(i)]) for i in top), dtype=bool, count=len(top)
            )
            fused = np.where(flip, fused * _POLARITY, fused)
        named = idx.services.named(terms)
        ext = self.normalizer.external
        others = [t for t in terms if t in ext]
        if others:  # "wa web": "web" is part of the app's name, not our web site
            kinds = frozenset().union(*(ext[t] for t in others))
            named = {t: s for t, s in named.items() if t not in kinds}
        if named or others:
            arts, words, apps = idx.articles, idx.words, self._apps
            clash = np.fromiter(
                (
                    conflicts(named, arts[int(i)].service, words[int(i)])
                    or other_app(others, named, arts[int(i)].service, apps, words[int(i)])
                    for i in top
                ),
                dtype=bool,
                count=len(top),
            )
            fused = np.where(clash, fused * _CONFLICT, fused)
        fz = comps[:, 4]
        shown = top.copy()
        order = self._one_per_family(
            idx, shown, np.argsort(-fused), lang or guess_lang(text) or self.default_lang
        )[:k]
        top, shown, fused, fz = top[order], shown[order], fused[order], fz[order]
        second = fused[1] if len(fused) > 1 else 0.0
        margin = np.where(np.arange(len(fused)) == 0, fused - second, fused - fused[0])
        # per candidate x query term: does the article use the term? Known terms it
        # does not use are words another article explains: the question may be about
        # another object than this article's ("wa web" vs the ministry's own site).
        idf = np.asarray(term_idf)
        has = np.array([[t in idx.terms[i] for t in ids] for i in top], dtype=bool).reshape(
            len(top), len(ids)
        )
        known = np.asarray(ids) >= 0
        cover = has @ idf / qmass
        elsewhere = (~has & known) @ idf / qmass
        qlen = np.full(len(top), math.log1p(len(terms)))
        return [int(i) for i in shown], np.column_stack([fused, margin, cover, fz, qlen, elsewhere])

    def prepare(self, text: str) -> None:
        """Do a query's expensive, language-independent part now and keep it for a
        while: the conversation engine calls this before its transaction, so on SQLite,
        where one transaction writes at a time, the matching holds no lock."""
        self._rank(self._index, text, MAX_CHOICES)

    def _rank(self, idx: _Index, text: str, k: int) -> _Ranked | None:
        key = (id(idx), text, k)
        with self._lock:
            hit = self._ranked.get(key)
            if hit is not None and hit[0] is idx:  # the index it was ranked on
                self._ranked.move_to_end(key)
                return hit[1]
        ranked = self._rank_afresh(idx, text, k)
        with self._lock:
            if idx is self._index:  # a swap meanwhile cleared the cache: keep it clear
                self._ranked[key] = (idx, ranked)
                while len(self._ranked) > RANKED_KEPT:
                    self._ranked.popitem(last=False)
        return ranked

    def _rank_afresh(self, idx: _Index, text: str, k: int) -> _Ranked | None:
        if not idx.articles:
            return None
        # A chat question is a sentence or two; past that (a pasted log or mail) the
        # rest adds cost in proportion and little meaning, so the time per query is bounded.
        words = text.split()
        if len(words) > MAX_QUERY_WORDS:
            text = " ".join(words[:MAX_QUERY_WORDS])
        qwords, qtoks = self.normalizer.analyse(text)
        terms = list(dict.fromkeys(self._query_terms(idx, qtoks)))
        if not terms:
            return None
        ids = [idx.vocab.get(t, -1) for t in terms]
        term_idf = [float(idx.idf[i]) if i >= 0 else idx.max_idf for i in ids]
        qmass = max(sum(term_idf), 1e-6)
        known = [i for i in ids if i >= 0]
        top, comps = self._candidates(idx, text, qwords, known, qmass, k)
        if len(top) == 0:
            return None
        top.setflags(write=False)
        comps.setflags(write=False)
        return (
            terms,
            ids,
            term_idf,
            qmass,
            top,
            comps,
            polarity(qwords, self.normalizer.stopwords, stem),
        )

    @staticmethod
    def _candidates(
        idx: _Index, text: str, qwords: list[str], known: list[int], qmass: float, k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """The best few articles and, per article, the ranking components
        (see _RANK_W); a cheap sum selects them, the components rank them."""
        norm = qmass * (_K1 + 1)
        phr = idx.phr.scores(known)
        best_phr = np.maximum.reduceat(phr, idx.starts) if len(phr) else phr
        pool = idx.pool.scores(known)
        if idx.learned is not None:
            learned = idx.learned.scores(known)
            np.maximum.at(best_phr, idx.learned_owner, learned)
            # until the next rebuild pools it, a learned phrasing scores its article's
            # pooled field at least as high as itself (the best-phrasing field alone
            # carries no ranking weight)
            np.maximum.at(pool, idx.learned_owner, learned)
        ans = idx.ans.scores(known)
        chars = idx.chars.scores(char_grams(qwords))
        raw = (1 - _W_CHAR) * (
            _W_PHR * best_phr + _W_POOL * pool + _W_ANS * ans
        ) / norm + _W_CHAR * chars
        sel = raw
        if idx.sem is not None:
            qids, qvec, qcover = idx.sem.encode_query(text)
            cent = calling_thread_matvec(idx.sem.centroids, qvec)
            mu, sd = float(cent.mean()), float(cent.std()) + 1e-6
            cent = (cent - mu) / sd * qcover
            sel = raw + _SEL_SEM * cent
        n = min(max(_RERANK, k), len(raw))
        top = np.argpartition(-sel, n - 1)[:n] if n < len(sel) else np.arange(len(sel))
        top = top[sel[top] > 0]
        if len(top) == 0:
            return top, np.zeros((0, len(_RANK_W)))
        # token_sort_ratio is ratio on sorted words: the phrasings are kept sorted, so
        # one C call scores all the candidates' phrasings.
        sorted_phr = idx.phr_sorted
        choices = [p for i in top for p in sorted_phr[i]]
        sizes = np.fromiter((len(sorted_phr[i]) for i in top), dtype=np.int64, count=len(top))
        qsorted = " ".join(sorted(qwords))
        flat = process.cdist([qsorted], choices, scorer=fuzz.ratio, dtype=np.float32)[0]
        fz = np.maximum.reduceat(flat, np.cumsum(sizes) - sizes) / 100
        semc = al_f = al_bag = np.zeros(len(top))
        if idx.sem is not None:
            semc = cent[top]
            al_f, al_bag = idx.sem.align(qids, top)
            al_f, al_bag = al_f * qcover, al_bag * qcover
        comps = np.column_stack(
            [
                best_phr[top] / norm,
                pool[top] / norm,
                ans[top] / norm,
                chars[top],
                fz,
                semc,
                al_f,
                al_bag,
            ]
        )
        return top, comps

    @staticmethod
    def _one_per_family(
        idx: _Index, top: np.ndarray, order: np.ndarray, lang: str | None
    ) -> np.ndarray:
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
        idx = self._index  # one snapshot: a swap mid-query must not mix indexes
        top, feats = self.features(text, k, lang, idx)
        if not top:
            return []
        relative = feats[:, 1] / np.maximum(feats[:, 0], 1e-3)
        x = np.column_stack([feats[:, :5], relative, feats[:, 5:]])
        z = x @ np.asarray(_CALIB[1:]) + _CALIB[0]
        conf = 1 / (1 + np.exp(-z))
        if feats[0, 3] >= 0.999 and feats[0, 1] > 0:
            conf[0] = max(conf[0], _VERBATIM)
        arts = idx.articles
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
