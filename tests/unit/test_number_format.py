"""One number format per language: comma decimals in Indonesian, points in English."""

from __future__ import annotations

from bot.i18n import fmt_number, fmt_percent


def test_indonesian_uses_comma_decimals_and_point_thousands() -> None:
    assert fmt_number(1234.5, "id") == "1.234,50"
    assert fmt_number(99.854, "id", 3) == "99,854"
    assert fmt_number(12345, "id") == "12.345"
    assert fmt_percent(99.854, "id", 3) == "99,854%"


def test_english_uses_point_decimals_and_comma_thousands() -> None:
    assert fmt_number(1234.5, "en") == "1,234.50"
    assert fmt_percent(99.5, "en", 1) == "99.5%"


def test_unknown_language_falls_back_to_indonesian_and_none_is_a_dash() -> None:
    assert fmt_number(0.5, "fr") == "0,50"
    assert fmt_number(None) == "-"
    assert fmt_percent(None, "en") == "-"
    assert fmt_number(2.0, "id", 0) == "2"
