"""Object-aware matching: the thing a question is about must be the article's.

Two questions from issue #16 on the bundled knowledge base, then made-up cases in
the same spirit: another organisation's app or site (knowledge/external.txt) is
not one of our services of the same kind, and words of its name ("web" in "wa
web") do not name our service.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge import Article, Matcher, load_articles

KB_DIR = Path(__file__).resolve().parents[2] / "knowledge" / "articles"


@pytest.fixture(scope="module")
def bundled() -> Matcher:
    return Matcher(load_articles(KB_DIR))


def offered(m: Matcher, text: str) -> list[str]:
    return [x.article.id for x in m.decide(text).matches]


def test_whatsapp_web_is_not_our_official_site(bundled: Matcher) -> None:
    text = "wa web ga bisa dibuka di kantor"
    assert "situs-tidak-bisa-diakses" not in offered(bundled, text)
    assert bundled.decide(text).kind != "answer"  # unsure: choices or nothing, never wrong


def test_office_email_login_is_not_the_simpeg_login(bundled: Matcher) -> None:
    text = "pagi min, email kantor sy ga bisa login"
    ranked = [x.article.id for x in bundled.search(text, k=5)]
    assert "simpeg-tidak-bisa-masuk" not in ranked
    assert not any(a.startswith("simpeg") for a in offered(bundled, text))


def test_our_site_is_still_our_site(bundled: Matcher) -> None:
    d = bundled.decide("web resmi kementerian ga bisa dibuka")
    assert d.kind == "answer" and d.matches[0].article.id == "situs-tidak-bisa-diakses"


KB = [
    Article(
        "web-down",
        "Situs web resmi kementerian tidak bisa diakses",
        ("website kementerian down",),
        "1. Coba dari jaringan lain. 2. Lapor ke tim situs.",
        service="website",
    ),
    Article(
        "web-blokir",
        "Situs yang dibutuhkan untuk kerja diblokir jaringan kantor",
        ("minta buka blokir situs",),
        "1. Catat alamat situs. 2. Ajukan buka blokir.",
        service="jaringan",
    ),
    Article(
        "mail-login",
        "Tidak bisa masuk ke email dinas",
        ("email kantor ga bisa login",),
        "1. Periksa sandi SSO. 2. Coba dari peramban lain.",
        service="email",
    ),
    Article(
        "mail-kirim",
        "Email gagal terkirim ke alamat luar",
        (),
        "1. Periksa alamat penerima.",
        service="email",
    ),
]


@pytest.fixture(scope="module")
def small() -> Matcher:
    return Matcher(KB)  # with the bundled catalog: website and email are apps, jaringan is not


@pytest.mark.parametrize(
    "text",
    ["youtube ga bisa dibuka di kantor", "instagram ga bisa dibuka", "wa web ga bisa dibuka"],
)
def test_another_sites_trouble_goes_to_blocking_not_to_our_site(small: Matcher, text: str) -> None:
    ranked = small.search(text, k=2)
    assert ranked[0].article.id == "web-blokir"
    assert "web-down" not in offered(small, text)


def test_a_personal_mailbox_is_not_our_email(small: Matcher) -> None:
    assert small.decide("gmail pribadi sy ga bisa login").kind != "answer"
    d = small.decide("email dinas ga bisa login")
    assert d.kind == "answer" and d.matches[0].article.id == "mail-login"


def test_our_service_named_beside_another_app_still_counts(small: Matcher) -> None:
    d = small.decide("kirim email ke gmail gagal")
    assert d.kind == "answer" and d.matches[0].article.id == "mail-kirim"


def test_external_names_come_from_the_list(small: Matcher) -> None:
    norm = small.normalizer
    assert norm.tokens("wa web") == ["whatsapp", "situs"]
    assert "whatsapp" in norm.external and "situs" in norm.external["whatsapp"]
