"""Static sentence vectors: a meaning signal that needs no model at run time.

Why: word overlap (BM25, character n-grams) misses rephrasings that share no
words ("crossed out" vs "strikethrough"). A transformer sees them, but costs
tens of milliseconds per query. Following model2vec, every WordPiece token of
all-MiniLM-L6-v2 was run through the transformer once, offline
(scripts/build_static_vectors.py), reduced with PCA and stored in
knowledge/vectors/; a text's vector is then the weighted mean of its tokens'
vectors, which costs microseconds.

The vocabulary is English. :meth:`StaticEmbedder.coverage` says how much of a
text the vocabulary knows as whole words, so callers can trust the signal less
on Indonesian or slang.
"""

from __future__ import annotations

import copy
import math
import os
import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

VECTORS_DIR = Path(__file__).resolve().parent / "vectors"
# The start of an answer is enough to say what it is about, and cheap to encode.
_ANSWER_CHARS, _ANSWER_TOKENS = 1000, 100


def _is_punct(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


_ASCII_SPLIT = re.compile(r"[a-z0-9]+|[^\sa-z0-9]")


def basic_split(text: str) -> list[str]:
    """bert-base-uncased pre-tokenisation: lower case, strip accents, split
    on whitespace and around every punctuation character."""
    text = text.lower()
    if text.isascii():  # every other ASCII character is punctuation to BERT
        return _ASCII_SPLIT.findall(text)
    if not text.isascii():
        text = "".join(
            c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn"
        )
    out: list[str] = []
    for chunk in text.split():
        word = ""
        for ch in chunk:
            if _is_punct(ch):
                if word:
                    out.append(word)
                    word = ""
                out.append(ch)
            elif unicodedata.category(ch) not in ("Cc", "Cf") or ch in "\t\n\r":
                word += ch
        if word:
            out.append(word)
    return out


class WordPiece:
    """Greedy longest-match-first WordPiece, as BERT's tokenizer does it."""

    def __init__(self, vocab: list[str], unk: str = "[UNK]", max_chars: int = 100) -> None:
        self.vocab = {t: i for i, t in enumerate(vocab)}
        self.unk = self.vocab.get(unk, 0)
        self.max_chars = max_chars
        self._word = lru_cache(maxsize=100_000)(self._pieces)

    def _pieces(self, word: str) -> tuple[int, ...]:
        if len(word) > self.max_chars:
            return (self.unk,)
        out: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            found = -1
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                found = self.vocab.get(piece, -1)
                if found >= 0:
                    break
                end -= 1
            if found < 0:
                return (self.unk,)
            out.append(found)
            start = end
        return tuple(out)

    def word_ids(self, text: str) -> list[tuple[int, ...]]:
        """Token ids per pre-tokenised word."""
        return [self._word(w) for w in basic_split(text)]

    def ids(self, text: str) -> list[int]:
        return [i for w in self.word_ids(text) for i in w]


class StaticEmbedder:
    """Token vectors (float16, unit rows scaled by a frequency weight) -> text vectors."""

    def __init__(self, directory: Path | str = VECTORS_DIR) -> None:
        directory = Path(directory)
        vocab = (directory / "vocab.txt").read_text(encoding="utf-8").splitlines()
        self.tokenizer = WordPiece(vocab)
        self.vectors = np.load(directory / "tokens.npy").astype(np.float32)
        self.dim = self.vectors.shape[1]
        # Row norms carry the frequency weight; unit rows compare token meanings.
        self.norms = np.linalg.norm(self.vectors, axis=1)
        self.unit = self.vectors / np.maximum(self.norms, 1e-9)[:, None]
        self._word_info = lru_cache(maxsize=200_000)(self._info)
        # Punctuation and special tokens carry no meaning of their own.
        self.skip = np.zeros(len(vocab), dtype=bool)
        for i, t in enumerate(vocab):
            if (t.startswith("[") and t.endswith("]")) or (len(t) == 1 and _is_punct(t)):
                self.skip[i] = True

    def encode_ids(self, text: str) -> tuple[list[int], float]:
        """Content token ids and the share of words that are whole vocabulary words."""
        info = self._word_info
        words = [got for got in map(info, basic_split(text)) if got[1] >= 0]
        if not words:
            return [], 0.0
        ids = [i for pieces, _ in words for i in pieces]
        return ids, sum(whole for _, whole in words) / len(words)

    def _info(self, word: str) -> tuple[tuple[int, ...], int]:
        """(content pieces, 1 if a whole vocabulary word else 0), or -1 for punctuation."""
        w = self.tokenizer._word(word)
        if len(w) == 1 and self.skip[w[0]]:
            return (), -1
        return tuple(i for i in w if not self.skip[i]), int(
            len(w) == 1 and w[0] != self.tokenizer.unk
        )

    def embed(self, text: str) -> tuple[np.ndarray, float]:
        """Unit vector (zeros when nothing is known) and whole-word coverage."""
        ids, cover = self.encode_ids(text)
        if not ids:
            return np.zeros(self.dim, dtype=np.float32), 0.0
        v = self.vectors[ids].sum(axis=0)
        n = float(np.sqrt(v @ v))
        return (v / n if n > 0 else v), cover

    def embed_many(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        cover = np.zeros(len(texts), dtype=np.float32)
        for r, t in enumerate(texts):
            out[r], cover[r] = self.embed(t)
        return out, cover


class SemanticIndex:
    """Phrasing vectors and per-article centroids for one knowledge base, and
    the token lists that :meth:`align` compares one by one.

    Token weights combine the stored frequency prior with this knowledge base's
    own IDF (over phrasings), so words every article shares count less.
    """

    def __init__(
        self,
        emb: StaticEmbedder,
        texts: Sequence[str],
        owner: np.ndarray,
        n_articles: int,
        answers: Sequence[str] = (),
    ) -> None:
        self.emb = emb
        self.n_articles = n_articles
        encoded = [emb.encode_ids(t)[0] for t in texts]
        n = len(encoded)
        lens = np.fromiter((len(e) for e in encoded), dtype=np.int64, count=n)
        flat = np.fromiter((t for e in encoded for t in e), dtype=np.int64, count=int(lens.sum()))
        offs = np.concatenate([[0], np.cumsum(lens)])
        once = np.fromiter(
            (t for e in encoded for t in set(e)), dtype=np.int64
        )  # each token once per phrasing
        df = np.bincount(once, minlength=len(emb.skip)).astype(np.float32)
        self.idf = (np.log((n + 1) / (df + 1)) + 1).astype(np.float32)
        # Alignment weight of a token: KB rarity times the stored frequency prior.
        self.tw = self.idf * emb.norms
        self.phr = self._vectors(lens, flat)
        self.owner = np.asarray(owner, dtype=np.int64)
        order = np.argsort(self.owner, kind="stable")
        bounds = np.searchsorted(self.owner[order], np.arange(n_articles + 1))
        self.rows = [order[bounds[a] : bounds[a + 1]] for a in range(n_articles)]
        self.centroids = self._centroids()
        # Per article, for align(): its non-empty phrasings' token ids and then
        # the first words of its answer, which only the bag recall uses.
        # Each answer token once, in order: the answer only adds its best match per
        # query token (the bag recall), which repeats do not change.
        answer_ids = [
            list(dict.fromkeys(emb.encode_ids(a[:_ANSWER_CHARS])[0][:_ANSWER_TOKENS]))
            for a in answers
        ]
        self.blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for a in range(n_articles):
            r = self.rows[a]
            seg = lens[r]
            if len(r) and r[-1] - r[0] + 1 == len(r):  # phrasings stored together: one slice
                toks = flat[offs[r[0]] : offs[r[-1] + 1]]
            else:
                toks = (
                    np.concatenate([flat[offs[i] : offs[i + 1]] for i in r]) if len(r) else flat[:0]
                )
            answer = answer_ids[a] if a < len(answer_ids) else []
            self.blocks.append(self._block(toks, seg[seg > 0], np.asarray(answer, dtype=np.int64)))

    @staticmethod
    def _block(
        toks: np.ndarray, seg: np.ndarray, answer: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(token ids, segment lengths, segment-is-answer flags) of one article:
        its non-empty phrasings, then its answer's first tokens (if it has a phrasing)."""
        if not len(seg):
            return _empty_ids(), _empty_ids(), np.zeros(0, dtype=bool)
        is_ans = np.zeros(len(seg) + bool(len(answer)), dtype=bool)
        if len(answer):
            toks = np.concatenate([toks, answer])
            seg = np.append(seg, len(answer))
            is_ans[-1] = True
        return toks, seg, is_ans

    def _vectors(self, lens: np.ndarray, flat: np.ndarray) -> np.ndarray:
        """Unit IDF-weighted sums of token vectors, one row per text (``lens``
        tokens each, concatenated in ``flat``)."""
        out = np.zeros((len(lens), self.emb.dim), dtype=np.float32)
        table = self.emb.vectors * self.idf[:, None] if len(flat) > 10_000 else None
        offs = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
        step = 64  # small chunks keep the gathered rows in cache
        for s in range(0, len(lens), step):
            e = min(s + step, len(lens))
            toks = flat[offs[s] : offs[e]]
            if not len(toks):
                continue
            rows = (
                table[toks]
                if table is not None
                else self.emb.vectors[toks] * self.idf[toks][:, None]
            )
            has = lens[s:e] > 0
            out[s:e][has] = np.add.reduceat(rows, (offs[s:e] - offs[s])[has], axis=0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-9)

    def _centroids(self) -> np.ndarray:
        c = np.zeros((self.n_articles, self.emb.dim), dtype=np.float32)
        if len(self.owner):
            order = np.concatenate(self.rows)
            sizes = np.fromiter((len(r) for r in self.rows), dtype=np.int64, count=self.n_articles)
            has = sizes > 0
            starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])[has]
            c[has] = np.add.reduceat(self.phr[order], starts, axis=0)
        return c / np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-9)

    def with_phrasing(self, text: str, article: int) -> SemanticIndex:
        """A copy with one more phrasing (IDF kept, as for the lexical fields)."""
        new = copy.copy(self)
        ids = self.emb.encode_ids(text)[0]
        vec = self._vectors(np.asarray([len(ids)]), np.asarray(ids, dtype=np.int64))
        new.phr = np.vstack([self.phr, vec])
        new.owner = np.append(self.owner, article)
        new.rows = list(self.rows)
        new.rows[article] = np.append(self.rows[article], len(self.owner))
        new.centroids = self.centroids.copy()
        members = new.phr[new.rows[article]].sum(axis=0)
        new.centroids[article] = members / max(float(np.linalg.norm(members)), 1e-9)
        if ids:
            toks, seg, is_ans = self.blocks[article]
            n_phr = int(seg[~is_ans].sum())
            answer = toks[n_phr:]
            if not len(seg):  # the article had no known words: keep its answer out, as at build
                answer = np.zeros(0, dtype=np.int64)
            new.blocks = list(self.blocks)
            new.blocks[article] = self._block(
                np.concatenate([toks[:n_phr], np.asarray(ids, dtype=np.int64)]),
                np.append(seg[~is_ans], len(ids)),
                answer,
            )
        return new

    def encode_query(self, text: str) -> tuple[list[int], np.ndarray, float]:
        """Content token ids, unit query vector (IDF-weighted) and whole-word coverage."""
        ids, cover = self.emb.encode_ids(text)
        if not ids:
            return ids, np.zeros(self.emb.dim, dtype=np.float32), 0.0
        v = self.idf[ids] @ self.emb.vectors[ids]
        n = float(math.sqrt(float(v @ v)))
        return ids, (v / n if n > 0 else v), cover

    def query(self, text: str) -> tuple[np.ndarray, float]:
        """Unit query vector (IDF-weighted) and whole-word vocabulary coverage."""
        _, v, cover = self.encode_query(text)
        return v, cover

    def align(self, qids: Sequence[int], articles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Token-level soft matching of the query against a few articles.

        Every query token is paired with its most similar token (cosine of the
        static vectors) and the reverse, BERTScore-style, weighted by
        :attr:`tw`. Returns per article the best F-measure over its phrasings
        and the query's recall against all its phrasings plus the start of its
        answer ("bag"). Both are 0 for an article without known tokens.
        """
        f_best = np.zeros(len(articles))
        bag = np.zeros(len(articles))
        if not len(qids) or not len(articles):
            return f_best, bag
        q = np.asarray(qids, dtype=np.int64)
        qw = self.tw[q]
        qw = qw / max(float(qw.sum()), 1e-9)
        blocks = [self.blocks[int(a)] for a in articles]
        n_seg = np.fromiter((len(b[1]) for b in blocks), dtype=np.int64, count=len(blocks))
        if not n_seg.any():
            return f_best, bag
        flat = np.concatenate([b[0] for b in blocks])
        seg_len = np.concatenate([b[1] for b in blocks])
        is_ans = np.concatenate([b[2] for b in blocks])
        uniq, inv = np.unique(flat, return_inverse=True)  # gather each table row once
        sim_u = calling_thread_product(self.emb.unit[q], self.emb.unit[uniq])
        best_q = sim_u.max(axis=0)  # per distinct article token, its best query token
        sim = sim_u[:, inv]  # query tokens x article tokens
        starts = np.concatenate([[0], np.cumsum(seg_len)[:-1]])
        seg_max = np.maximum.reduceat(
            sim, starts, axis=1
        )  # per query token, best match in each segment
        recall = qw @ seg_max
        tw = self.tw[flat]
        prec = np.add.reduceat(best_q[inv] * tw, starts) / np.maximum(
            np.add.reduceat(tw, starts), 1e-9
        )
        f = np.where(is_ans, -1.0, 2 * recall * prec / np.maximum(recall + prec, 1e-9))
        has = n_seg > 0
        first = np.concatenate([[0], np.cumsum(n_seg)[:-1]])[has]
        f_best[has] = np.maximum.reduceat(f, first)
        bag[has] = qw @ np.maximum.reduceat(seg_max, first, axis=1)
        return f_best, bag

    def best_phrasing(self, q: np.ndarray, articles: np.ndarray) -> np.ndarray:
        """Per candidate article, the best cosine over its phrasings."""
        return np.array(
            [
                float((self.phr[self.rows[a]] @ q).max()) if len(self.rows[a]) else 0.0
                for a in articles
            ]
        )


#: multiply-adds per BLAS call below which OpenBLAS stays on the calling thread
#: (its SMP threshold, 65536 x GEMM_MULTITHREAD_THRESHOLD 4)
_ONE_THREAD_MACS = 262_144


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))  # what this process may use (taskset, cgroups)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


#: BLAS sizes its thread pool at load time from the CPUs this process may use
_ONE_CPU = _cpus() == 1


def calling_thread_product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b.T`` computed in column blocks small enough for BLAS to keep on this thread.

    Why: the query-time products are small (tens of rows by hundreds), and the
    threaded BLAS spends more on waking and waiting for its threads than on the
    sums; on a busy machine one such product took 2-13 ms instead of 0.1 ms.
    einsum avoids BLAS too but is 3-6 times slower than these blocks.
    """
    rows, dim = a.shape
    cols = max(1, _ONE_THREAD_MACS // max(rows * dim, 1) - 1)
    if len(b) <= cols or _ONE_CPU:  # on one CPU, BLAS has no threads to start
        return a @ b.T
    out = np.empty((rows, len(b)), dtype=np.result_type(a, b))
    for s in range(0, len(b), cols):
        np.matmul(a, b[s : s + cols].T, out=out[:, s : s + cols])
    return out


def calling_thread_matvec(m: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``m @ v`` on this thread: BLAS when it has no threads, einsum otherwise
    (BLAS would hand a product of 5,000 rows to threads; see above)."""
    return m @ v if _ONE_CPU else np.einsum("ij,j->i", m, v)


def calling_thread_rowsum(rows: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``w @ rows`` (a weighted sum of rows) on this thread, as calling_thread_matvec."""
    return w @ rows if _ONE_CPU else np.einsum("i,ij->j", w, rows)


def _empty_ids() -> np.ndarray:
    return np.zeros(0, dtype=np.int64)


@lru_cache(maxsize=1)
def default_embedder() -> StaticEmbedder | None:
    """The bundled vectors, loaded once per process; None if they are missing."""
    if not (VECTORS_DIR / "tokens.npy").exists():
        return None
    return StaticEmbedder(VECTORS_DIR)
