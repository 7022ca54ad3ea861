"""Matcher behaviour on the bundled knowledge base: slang, typos, English, no-match."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from knowledge import (
    DEFAULT_ANSWER,
    DEFAULT_SUGGEST,
    Article,
    Matcher,
    load_articles,
)

KB = Path(__file__).resolve().parents[2] / "knowledge" / "articles"


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_articles(KB))


def top(matcher: Matcher, text: str) -> str:
    return matcher.search(text, k=1)[0].article.id


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pw sso sy lupa gmn resetnya", "sso-lupa-sandi"),
        ("vpn ga konek dari rumah", "vpn-tidak-tersambung"),
        ("tolonggg printernya gk bisa ngeprint", "printer-tidak-bisa-cetak"),
        ("absen online gagal, lokasi ga kebaca", "presensi-gagal"),
        ("minta link zoom buat rapat jam 2", "vicon-pesan-akun"),
    ],
)
def test_slang_queries(matcher: Matcher, text: str, expected: str) -> None:
    assert top(matcher, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pasword sso lupaa", "sso-lupa-sandi"),
        ("priter tidak bsa mencetak", "printer-tidak-bisa-cetak"),
        ("passphrse tte lupa", "tte-lupa-passphrase"),
    ],
)
def test_typos(matcher: Matcher, text: str, expected: str) -> None:
    assert top(matcher, text) == expected


def test_english_query_gets_english_version(matcher: Matcher) -> None:
    assert top(matcher, "I forgot my password, how do I reset it?") == "sso-lupa-sandi-en"
    assert top(matcher, "lupa password sso gimana resetnya") == "sso-lupa-sandi"


def test_translations_do_not_compete(matcher: Matcher) -> None:
    ids = [m.article.id for m in matcher.search("lupa kata sandi sso", k=5)]
    assert "sso-lupa-sandi" in ids and "sso-lupa-sandi-en" not in ids


def test_lang_argument_picks_translation(matcher: Matcher) -> None:
    assert top_lang(matcher, "sso password reset", "en") == "sso-lupa-sandi-en"
    assert top_lang(matcher, "sso password reset", "id") == "sso-lupa-sandi"


def top_lang(matcher: Matcher, text: str, lang: str) -> str:
    return matcher.search(text, k=1, lang=lang)[0].article.id


def test_clear_question_is_answered(matcher: Matcher) -> None:
    d = matcher.decide("akun sso saya terkunci karena salah kata sandi")
    assert d.kind == "answer"
    assert d.matches[0].article.id == "sso-akun-terkunci"


@pytest.mark.parametrize("text", ["menu kantin hari ini apa", "skor bola semalam", "asdfgh qwerty"])
def test_unrelated_question_is_not_answered(matcher: Matcher, text: str) -> None:
    assert matcher.decide(text).kind != "answer"


def test_empty_and_stopword_only_queries(matcher: Matcher) -> None:
    assert matcher.search("") == []
    assert matcher.decide("yang di ke").kind == "none"


def test_scores_are_probabilities_in_rank_order(matcher: Matcher) -> None:
    ms = matcher.search("wifi kantor tidak bisa tersambung", k=5)
    assert len(ms) == 5
    assert all(0.0 <= m.score <= 1.0 for m in ms)
    assert ms[0].score == max(m.score for m in ms)


def test_choices_between_thresholds() -> None:
    arts = [
        Article("a", "cara reset kata sandi email", ("lupa sandi email",), "1. langkah"),
        Article("b", "cara reset kata sandi vpn", ("lupa sandi vpn",), "1. langkah"),
    ]
    m = Matcher(arts, answer_threshold=0.99, suggest_threshold=0.01)
    d = m.decide("reset kata sandi")
    assert d.kind == "choices"
    assert {x.article.id for x in d.matches} == {"a", "b"}
    assert 0 < DEFAULT_SUGGEST < DEFAULT_ANSWER < 1


def test_add_alternate_takes_effect_at_once(matcher: Matcher) -> None:
    m = Matcher(matcher.articles)
    text = "mesin cetak pojok ngadat total"
    before = m.decide(text)
    assert before.kind != "answer" or before.matches[0].article.id != "printer-tidak-bisa-cetak"
    m.add_alternate("printer-tidak-bisa-cetak", "mesin cetak pojok ngadat")
    after = m.decide(text)
    assert after.kind == "answer"
    assert after.matches[0].article.id == "printer-tidak-bisa-cetak"
    assert "mesin cetak pojok ngadat" in m.article("printer-tidak-bisa-cetak").alternates
    with pytest.raises(KeyError):
        m.add_alternate("tidak-ada", "apa saja")


def test_empty_knowledge_base() -> None:
    m = Matcher([])
    assert m.search("vpn") == []
    assert m.decide("vpn").kind == "none"
    assert m.article("x") is None


def test_concurrent_search_and_learning(matcher: Matcher) -> None:
    m = Matcher(matcher.articles)
    errors: list[BaseException] = []

    def ask() -> None:
        try:
            for _ in range(30):
                assert m.search("vpn tidak tersambung", k=3)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for n in range(10):
        m.add_alternate("vpn-tidak-tersambung", f"vpn rewel nomor {n}")
    for t in threads:
        t.join()
    assert not errors
