"""Normalisation: what employees type must meet what articles say."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from knowledge.normalize import DEFAULT_SLANG, Normalizer, guess_lang, read_slang, stem


@pytest.fixture(scope="module")
def norm() -> Normalizer:
    return Normalizer()


def test_case_punctuation_and_stretched_letters(norm: Normalizer) -> None:
    assert norm.clean("Tolonggg!!! PRINTER-nya, ERROR???") == "tolong printer nya error"
    # a real double letter survives when it makes a word
    assert norm.clean("maaaf") == "maaf"


def test_reduplication_keeps_one_copy(norm: Normalizer) -> None:
    assert norm.clean("file2 dan berkas-berkas") == "file dan berkas"


def test_slang_and_abbreviations(norm: Normalizer) -> None:
    words = norm.words("pw sso sy lupa gmn resetnya")
    assert words[:2] == ["kata", "sandi"]
    assert "saya" in words and "bagaimana" in words
    for variant in ("gak", "ga", "nggak", "tdk", "gk"):
        assert norm.words(f"vpn {variant} konek") == ["vpn", "tidak", "sambung"]


def test_multiword_slang_key(norm: Normalizer) -> None:
    assert norm.words("tidak bisa log in") == ["tidak", "bisa", "masuk"]


def test_stopwords_keep_negations_and_access_words(norm: Normalizer) -> None:
    toks = norm.tokens("saya tidak bisa masuk ke aplikasi yang baru")
    assert {"tidak", "bisa", "masuk"} <= set(toks)
    assert "yang" not in toks and "saya" not in toks


def test_stemming_indonesian_english_and_colloquial() -> None:
    assert stem("mengirimkan") == "kirim"
    assert stem("printernya") == stem("printer")
    assert stem("deleting") == stem("deleted") == stem("delete")
    assert stem("ngajuin") == "aju"
    assert stem("nerima") == "terima"
    assert stem("kesimpen") == "simpan"


def test_english_contractions(norm: Normalizer) -> None:
    assert "not" in norm.words("I can't log in, it doesn't work")


def test_slang_file_is_large_and_operator_extensible(tmp_path: Path) -> None:
    assert len(read_slang(DEFAULT_SLANG)) >= 150
    custom = tmp_path / "slang.txt"
    custom.write_text("# komentar\nngadat, ngambek = macet\n", encoding="utf-8")
    assert Normalizer(custom).words("printer ngambek") == ["printer", "macet"]


def test_guess_lang() -> None:
    assert guess_lang("my vpn is not working from home") == "en"
    assert guess_lang("vpn sy ga bisa konek dari rumah") == "id"
    assert guess_lang("vpn") is None


@given(st.text(max_size=60))
def test_any_text_normalises_without_error(text: str) -> None:
    norm = Normalizer()
    toks = norm.tokens(text)
    assert all(t and " " not in t for t in toks)
