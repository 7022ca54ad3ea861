"""Service agreement: the service a question names constrains the answer."""

from __future__ import annotations

from pathlib import Path

from knowledge import Article, Matcher, load_articles
from knowledge.normalize import Normalizer
from knowledge.services import DEFAULT_CATALOG, ServiceTerms, conflicts, read_catalog_terms

ROOT = Path(__file__).resolve().parents[2]


def _bundled() -> Matcher:
    return Matcher(load_articles(ROOT / "knowledge" / "articles"))


def test_catalog_words_mark_their_service_only_when_distinctive() -> None:
    matcher = _bundled()
    marks = matcher._index.services.service_of
    assert marks["surel"] == "email"  # "email" reaches it through the slang map
    assert marks["simpeg"] == "simpeg"
    assert marks["vpn"] == "vpn"
    # an SSO keyword, but used by the login articles of many applications
    assert "masuk" not in marks


def test_email_login_is_not_answered_with_the_simpeg_article() -> None:
    """The issue's case: it was answered, confidently, with the SIMPEG login article."""
    matcher = _bundled()
    decision = matcher.decide("pagi min, email kantor sy ga bisa login")
    assert all(m.article.service != "simpeg" for m in decision.matches)
    assert decision.kind != "answer" or decision.matches[0].article.service in ("email", "sso")
    # naming SIMPEG still finds it
    simpeg = matcher.decide("simpeg ga bisa login")
    assert simpeg.kind == "answer" and simpeg.matches[0].article.id == "simpeg-tidak-bisa-masuk"


def _tiny(tmp_path: Path) -> Matcher:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(
        "services:\n"
        "  - {id: surat, name: Surat Elektronik, keywords: [surel, kotak masuk]}\n"
        "  - {id: gaji, name: Aplikasi Penggajian, keywords: [gaji, slip]}\n",
        encoding="utf-8",
    )
    articles = [
        Article(
            "gaji-masuk",
            "Tidak bisa masuk ke aplikasi gaji",
            ("gaji gagal login",),
            "Masuk dengan akun SSO.",
            service="gaji",
        ),
        Article(
            "surel-penuh",
            "Kotak surel penuh",
            ("surel tidak bisa menerima",),
            "Hapus surat lama.",
            service="surat",
        ),
        Article("umum", "Cara menghubungi helpdesk", (), "Ketik /lapor.", service=None),
    ]
    return Matcher(articles, catalog_path=catalog)


def test_an_article_of_another_service_drops_behind(tmp_path: Path) -> None:
    matcher = _tiny(tmp_path)
    assert matcher._index.services.named(["surel", "gagal", "login"]) == {"surel": "surat"}
    query = "surel gagal login"
    # Without the catalog, the payroll article's "gagal login" wins.
    blind = Matcher(matcher.articles, catalog_path=None).search(query, k=3)
    assert blind[0].article.id == "gaji-masuk"
    # With it, the question is about e-mail: the payroll article is not the answer.
    ranked = matcher.search(query, k=3)
    assert ranked[0].article.id == "surel-penuh"
    assert matcher.decide(query).kind != "answer"  # and the e-mail one is no sure answer


def test_conflict_rule() -> None:
    named = {"surel": "surat"}
    assert conflicts(named, "gaji", frozenset({"gaji", "masuk"}))
    assert not conflicts(named, "surat", frozenset({"kotak"}))  # same service
    assert not conflicts(named, None, frozenset())  # about no service
    # the article itself uses the word: it may well answer it
    assert not conflicts(named, "gaji", frozenset({"gaji", "surel"}))
    assert not conflicts({}, "gaji", frozenset())


def test_without_a_catalog_nothing_is_named(tmp_path: Path) -> None:
    assert read_catalog_terms(tmp_path / "missing.yaml") == {}
    assert read_catalog_terms(None) == {}
    norm = Normalizer()
    terms = ServiceTerms({}, [], [], norm)
    assert terms.named(["surel"]) == {}
    assert "email" in read_catalog_terms(DEFAULT_CATALOG)
