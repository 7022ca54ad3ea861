"""User-facing texts, one catalogue per language (bot/texts/*.yaml); Indonesian first.

Keys are dotted paths into the YAML; a key missing in English falls back to Indonesian,
so a new text never shows up as a raw key.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from babel.numbers import format_decimal

TEXTS_DIR = Path(__file__).resolve().parent / "texts"
LANGUAGES = ("id", "en")
DEFAULT_LANG = "id"
_MONTHS = {
    "id": ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"],
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
}
_ZONE_NAMES = {"Asia/Jakarta": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, path + "."))
        else:
            flat[path] = value
    return flat


@cache
def catalogue(lang: str) -> dict[str, Any]:
    with open(TEXTS_DIR / f"{lang}.yaml", encoding="utf-8") as fh:
        return _flatten(yaml.safe_load(fh) or {})


def norm_lang(lang: str | None) -> str:
    return lang if lang in LANGUAGES else DEFAULT_LANG


def t(key: str, lang: str | None = None, **params: Any) -> str:
    lang = norm_lang(lang)
    template = catalogue(lang).get(key)
    if template is None:
        template = catalogue(DEFAULT_LANG).get(key, key)
    if isinstance(template, list):
        template = "\n".join(str(x) for x in template)
    try:
        return str(template).format(**params)
    except (KeyError, IndexError, ValueError):
        return str(template)


def zone_name(tz: str) -> str:
    """What Indonesians call the zone: WIB, WITA, WIT (else the zone's own abbreviation)."""
    return _ZONE_NAMES.get(tz) or datetime.now(ZoneInfo(tz)).strftime("%Z")


def fmt_dt(value: datetime | None, lang: str | None = None, tz: str = "Asia/Jakarta") -> str:
    """Stored in UTC, shown in the agency's zone: "29 Nov 2026 11.40 WIB"."""
    if value is None:
        return "-"
    local = value.astimezone(ZoneInfo(tz))
    month = _MONTHS[norm_lang(lang)][local.month - 1]
    sep = "." if norm_lang(lang) == "id" else ":"
    zone = _ZONE_NAMES.get(tz, local.strftime("%Z"))
    return f"{local.day} {month} {local.year} {local.hour:02d}{sep}{local.minute:02d} {zone}"


def fmt_number(value: float | int | None, lang: str | None = None, digits: int = 2) -> str:
    """One number format per language, everywhere (documents, charts, chat): 1.234,56 in
    Indonesian, 1,234.56 in English. Integers stay integers; None is "-"."""
    if value is None:
        return "-"
    if isinstance(value, int) and not isinstance(value, bool):
        return format_decimal(value, format="#,##0", locale=norm_lang(lang))
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return format_decimal(value, format=pattern, locale=norm_lang(lang))


def fmt_percent(value: float | None, lang: str | None = None, digits: int = 2) -> str:
    """A percentage figure (already 0–100) as "99,85%" in Indonesian, "99.85%" in English."""
    return "-" if value is None else f"{fmt_number(float(value), lang, digits)}%"
