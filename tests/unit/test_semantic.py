"""Static token vectors (knowledge/semantic.py) and their part in matching."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from knowledge import Article, Matcher
from knowledge.semantic import (
    VECTORS_DIR,
    SemanticIndex,
    StaticEmbedder,
    WordPiece,
    basic_split,
    default_embedder,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def emb() -> StaticEmbedder:
    got = default_embedder()
    assert got is not None, "knowledge/vectors/tokens.npy is missing"
    return got


def test_vectors_ship_with_their_licence() -> None:
    vocab = (VECTORS_DIR / "vocab.txt").read_text(encoding="utf-8").splitlines()
    table = np.load(VECTORS_DIR / "tokens.npy")
    assert table.shape == (len(vocab), 256) and table.dtype == np.float16
    notice = (VECTORS_DIR / "NOTICE").read_text(encoding="utf-8")
    assert "all-MiniLM-L6-v2" in notice and "Microsoft" in notice and "Apache License 2.0" in notice
    assert "Apache License" in (VECTORS_DIR / "LICENSE").read_text(encoding="utf-8")
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"*.npy"' in pyproject and '"NOTICE"' in pyproject and '"LICENSE"' in pyproject


def test_bert_style_tokenisation() -> None:
    assert basic_split("Héllo, World!") == ["hello", ",", "world", "!"]
    wp = WordPiece(["[UNK]", "un", "##aff", "##able", "runn", "##ing"])
    assert wp.ids("unaffable running") == [1, 2, 3, 4, 5]
    assert wp.ids("xyz") == [0]


def test_coverage_is_lower_for_words_outside_the_vocabulary(emb: StaticEmbedder) -> None:
    _, en = emb.encode_ids("how do I reset my password")
    _, slang = emb.encode_ids("pw sso sy lupa gmn resetnya")
    assert en == 1.0 and slang < en


def test_alignment_rewards_synonyms(emb: StaticEmbedder) -> None:
    texts = ["How do I delete my account?", "How do I print a document?"]
    answers = ["Open settings and choose delete.", "Choose print in the file menu."]
    sem = SemanticIndex(emb, texts, np.array([0, 1]), 2, answers)
    ids, _, _ = sem.encode_query("remove my profile")
    f, bag = sem.align(ids, np.array([0, 1]))
    assert f[0] > f[1] and bag[0] > bag[1]
    assert 0 < f[0] <= 1 and 0 < bag[0] <= 1


def test_alignment_of_an_article_without_known_words(emb: StaticEmbedder) -> None:
    sem = SemanticIndex(emb, ["!!!", "reset password"], np.array([0, 1]), 2, ["", "steps"])
    ids, _, _ = sem.encode_query("password reset")
    f, bag = sem.align(ids, np.array([0, 1]))
    assert f[0] == 0 and bag[0] == 0 and f[1] > 0.9
    assert sem.align([], np.array([0, 1]))[0].tolist() == [0.0, 0.0]


def test_learned_phrasing_counts_for_alignment(emb: StaticEmbedder) -> None:
    sem = SemanticIndex(emb, ["printer jammed", "wifi is slow"], np.array([0, 1]), 2, ["a", "b"])
    ids, _, _ = sem.encode_query("paper stuck in the copier")
    before = sem.align(ids, np.array([0]))[0][0]
    after = sem.with_phrasing("paper stuck in the copier", 0).align(ids, np.array([0]))[0][0]
    assert after > before and after > 0.99
    assert sem.align(ids, np.array([0]))[0][0] == before  # the original is unchanged


def _kb() -> list[Article]:
    return [
        Article(id=i, question=q, alternates=(), answer="See the help centre.", lang="en")
        for i, q in [
            ("die", "What happens to your Facebook account when you die?"),
            ("del", "How do I delete my Facebook account?"),
            ("pw", "How do I change my Facebook password?"),
            ("fr", "Who can see my Facebook friends list?"),
        ]
    ]


def test_meaning_raises_confidence_in_a_rephrasing(monkeypatch: pytest.MonkeyPatch) -> None:
    query = "get rid of my facebook account"
    with_vectors = Matcher(_kb()).search(query, k=1)[0]
    monkeypatch.setattr("knowledge.matcher.default_embedder", lambda: None)
    words_only = Matcher(_kb()).search(query, k=1)[0]
    assert with_vectors.article.id == words_only.article.id == "del"

    # Probabilities saturate near 1 on a three-article base: compare log-odds.
    def logit(p: float) -> float:
        return math.log(p / (1 - p))

    assert logit(with_vectors.score) > logit(words_only.score) + 0.5
