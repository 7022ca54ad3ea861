"""Labels more than one report writes the same way, in the report's language."""

from __future__ import annotations

from bot.core.priority import PRIORITY_NAMES
from bot.i18n import t


def priority_label(prio: int, lang: str) -> str:
    """The priority as "P1 kritis" (in English "P1 critical"): number and name together,
    because readers of the printed forms know both."""
    return f"P{prio} {t(f'priority.{PRIORITY_NAMES[prio]}', lang)}"
