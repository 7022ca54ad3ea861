"""Negation-aware matching: what a question says is, or is NOT, the case.

The knowledge base here is made up for these tests; each question below is
answered wrongly when polarity is ignored (the wrong article shares more words).
"""

from __future__ import annotations

import pytest

from knowledge import Article, Matcher
from knowledge.normalize import Normalizer, stem
from knowledge.polarity import polarity

KB = [
    Article(
        "vpn-putus",
        "VPN tidak bisa tersambung",
        ("vpn gagal konek",),
        "1. Periksa internet. 2. Mulai ulang klien VPN.",
    ),
    Article(
        "vpn-app",
        "Sudah tersambung ke VPN tetapi aplikasi tidak terbuka",
        (),
        "1. Periksa alamat aplikasi. 2. Bersihkan cache DNS.",
    ),
    Article(
        "print-mati",
        "Printer tidak mau mencetak",
        ("printer ga bisa ngeprint",),
        "1. Periksa kabel. 2. Hapus antrean.",
    ),
    Article(
        "print-pudar",
        "Printer sudah mencetak tetapi hasilnya pudar",
        (),
        "1. Ganti toner. 2. Bersihkan head.",
    ),
    Article(
        "mail-kirim",
        "Email berhasil terkirim tetapi penerima tidak menerima",
        (),
        "1. Periksa folder spam penerima.",
    ),
    Article("mail-gagal", "Email gagal dikirim", ("email ga kekirim",), "1. Periksa lampiran."),
    Article("laptop-lambat", "Laptop sangat lambat", (), "1. Tutup aplikasi yang tidak dipakai."),
]


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(KB, catalog_path=None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the question negates what the other article asserts ("sudah tersambung")
        ("aplikasi di vpn gak kebuka, vpn ga konek", "vpn-putus"),
        ("printer tidak mencetak hasilnya kosong", "print-mati"),
        ("email tidak terkirim ke penerima", "mail-gagal"),
        # the question asserts what the other article negates
        ("printer sudah bisa ngeprint tapi hasilnya pudar", "print-pudar"),
        ("email sudah terkirim tapi penerima bilang belum masuk", "mail-kirim"),
        ("vpn udah konek tapi aplikasinya ga kebuka", "vpn-app"),
    ],
)
def test_polarity_picks_the_article_that_agrees(matcher: Matcher, text: str, expected: str) -> None:
    ranked = matcher.search(text, k=2)
    assert ranked[0].article.id == expected
    decision = matcher.decide(text)
    # never a confident answer that says the opposite of the question
    assert decision.kind != "answer" or decision.matches[0].article.id == expected


def read(text: str) -> tuple[set[str], set[str]]:
    norm = Normalizer()
    p = polarity(norm.words(text), norm.stopwords, stem)
    return set(p.negated), set(p.asserted)


def test_negator_reaches_past_modals() -> None:
    assert read("aplikasinya tidak bisa dibuka") == ({stem("buka")}, set())
    assert read("it doesn't open") == ({"open"}, set())


def test_a_device_that_wont_is_a_fault() -> None:
    assert read("printer ga mau nyetak") == ({stem("cetak")}, set())


def test_sudah_and_a_contrast_assert() -> None:
    neg, asserted = read("wifi nyambung tapi ga ada internet")
    assert stem("sambung") in asserted and "wifi" in asserted
    assert neg == {stem("internet")}
    assert stem("sambung") in read("vpn udah konek")[1]


def test_a_negative_clause_before_a_contrast_asserts_nothing() -> None:
    neg, asserted = read("laptop tidak menyala tapi lampunya kedip")
    assert stem("nyala") in neg
    assert asserted == set()


def test_wishes_and_goals_are_not_faults() -> None:
    assert read("saya tidak ingin akun dihapus") == (set(), set())
    assert read("I don't want my account any more") == (set(), set())
    assert read("gimana biar data di laptop ga hilang") == (set(), set())


def test_plain_mentions_and_how_to_questions_say_neither() -> None:
    assert read("cara konek vpn dari rumah") == (set(), set())


def test_said_so_and_not_so_says_neither() -> None:
    neg, asserted = read("sudah konek lalu tidak konek lagi")
    assert stem("sambung") not in neg | asserted


def test_learned_phrasing_adds_its_polarity() -> None:
    m = Matcher(KB, catalog_path=None)
    m.add_alternate("print-mati", "printer sudah nyala tapi tidak mencetak")
    assert m.search("printer udah nyala tapi ga mau mencetak", k=1)[0].article.id == "print-mati"
