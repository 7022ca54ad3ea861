"""What keeps a query's cost bounded: the words read, and typo lookup by deletions."""

from __future__ import annotations

import pytest

from knowledge import Article, Matcher
from knowledge.matcher import MAX_QUERY_WORDS

KB = [
    Article("vpn", "VPN tidak bisa tersambung dari rumah", (), "1. Periksa internet."),
    Article("printer", "Printer tidak bisa mencetak", (), "1. Periksa kabel."),
]


def test_a_long_text_is_read_up_to_the_cap() -> None:
    m = Matcher(KB, catalog_path=None)
    pasted = " ".join(["lorem"] * MAX_QUERY_WORDS) + " printer tidak bisa mencetak" * 100
    # the question first, a pasted wall of text after it: only the question is read
    assert m.search(f"vpn ga konek dari rumah {pasted}", k=1)[0].article.id == "vpn"
    # words past the cap are not read at all
    late = " ".join(["lorem"] * MAX_QUERY_WORDS) + " printer tidak bisa mencetak"
    assert m.search(late, k=1) == []


def test_typo_of_a_learned_word_is_corrected() -> None:
    m = Matcher(KB, catalog_path=None)
    m.add_alternate("vpn", "fortigate menolak sambungan")
    assert m.search("fortigte menolak", k=1)[0].article.id == "vpn"  # one transposition
    assert m.search("fortigatte menolak", k=1)[0].article.id == "vpn"  # one insertion


def test_dense_rows_of_common_ngrams_score_as_the_postings_do() -> None:
    import random

    import numpy as np

    from knowledge.matcher import _Cosine, char_grams

    rng = random.Random(5)
    words = ["printer", "jaringan", "sandi", "akun", "surel", "vpn", "laptop", "tinta", "wifi"]
    docs = [
        [rng.choice(words) + rng.choice(["", "nya", "an"]) for _ in range(6)] for _ in range(1500)
    ]
    cos = _Cosine(docs)
    assert len(cos.post.dense) > 0  # common n-grams went dense
    grams = char_grams(["printernya", "ga", "bisa", "wifi", "kantor"])
    with_dense = cos.scores(grams)
    cos.post.dense = cos.post.dense[:0]  # the same field, postings only
    np.testing.assert_allclose(with_dense, cos.scores(grams), rtol=1e-5, atol=1e-6)


def test_products_on_the_calling_thread_equal_the_plain_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import numpy as np

    from knowledge import semantic

    rng = np.random.default_rng(1)
    a = rng.standard_normal((15, 256)).astype(np.float32)
    b = rng.standard_normal((900, 256)).astype(np.float32)
    m = rng.standard_normal((3000, 256)).astype(np.float32)
    for one_cpu in (True, False):  # one call, or blocks below BLAS's thread threshold
        monkeypatch.setattr(semantic, "_ONE_CPU", one_cpu)
        np.testing.assert_allclose(
            semantic.calling_thread_product(a, b), a @ b.T, rtol=1e-4, atol=1e-4
        )
        np.testing.assert_allclose(
            semantic.calling_thread_matvec(m, a[0]), m @ a[0], rtol=1e-4, atol=1e-4
        )
        np.testing.assert_allclose(
            semantic.calling_thread_rowsum(b[:20], np.ones(20, np.float32)),
            b[:20].sum(axis=0),
            rtol=1e-4,
            atol=1e-4,
        )
