"""Labels more than one report writes the same way, in the report's language.

A document shows what a reader calls a thing, never the code the records keep
("menunggu pengguna", not `menunggu_pengguna`; "Layanan tidak tersedia", not
`service.down`). A code without a text (a new kind nobody described yet) is shown as it
is rather than as a missing text key.
"""

from __future__ import annotations

from bot.core.priority import PRIORITY_NAMES
from bot.i18n import catalogue, norm_lang, t


def priority_label(prio: int, lang: str) -> str:
    """The priority as "P1 kritis" (in English "P1 critical"): number and name together,
    because readers of the printed forms know both."""
    return f"P{prio} {t(f'priority.{PRIORITY_NAMES[prio]}', lang)}"


def _known(key: str, lang: str) -> bool:
    return key in catalogue(norm_lang(lang))


def state_label(state: str | None, lang: str) -> str:
    """A ticket's state: "menunggu pengguna" / "waiting for the user"."""
    if not state:
        return "-"
    key = f"state.{state}"
    return t(key, lang) if _known(key, lang) else state


def ticket_type_label(type_: str | None, lang: str) -> str:
    """gangguan / permintaan / keluhan as the reader says them."""
    if not type_:
        return "-"
    key = f"type.{type_}"
    return t(key, lang) if _known(key, lang) else type_


def alert_kind_label(kind: str | None, lang: str) -> str:
    """What an alert was about: "Tiket baru", "Layanan tidak tersedia", …"""
    if not kind:
        return "-"
    key = f"reports.label.alert.{kind}"
    return t(key, lang) if _known(key, lang) else kind


def criticality_label(level: str | None, lang: str) -> str:
    """A service's criticality (kritikalitas): tinggi / sedang / rendah."""
    if not level:
        return "-"
    key = f"reports.label.criticality.{level}"
    return t(key, lang) if _known(key, lang) else level
