"""What `helpdesk kb eval` reports about the answer threshold."""

from __future__ import annotations

from knowledge import Article, Matcher
from knowledge.evaluation import evaluate_matcher

ARTICLES = [
    Article("printer", "Printer kantor tidak bisa mencetak", (), "Periksa kabel dan antrean."),
    Article(
        "wifi", "Laptop tidak tersambung ke wifi kantor", (), "Lupakan jaringan, sambung lagi."
    ),
]


def test_answered_share_and_share_right_among_confident_answers() -> None:
    matcher = Matcher(ARTICLES, catalog_path=None)
    queries: list[tuple[str, str | None]] = [
        ("Printer kantor tidak bisa mencetak", "printer"),  # verbatim: answered, right
        ("Laptop tidak tersambung ke wifi kantor", "printer"),  # answered, but wrong
        ("zzqx vwpt", None),  # no word known: no answer
    ]
    assert [matcher.decide(q).kind for q, _ in queries] == ["answer", "answer", "none"]
    result = evaluate_matcher(matcher, queries)
    assert result["answered"] == round(2 / 3, 4)  # two of three answered outright
    assert result["confident_right"] == 0.5  # one of those two right
    assert result["confident_wrong"] == round(1 / 3, 4)  # one wrong of three queries
    assert result["no_match_recall"] == 1.0  # the one unanswerable got no answer
