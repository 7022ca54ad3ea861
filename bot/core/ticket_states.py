"""Ticket states, types and the life cycle's transitions, defined once.

Tickets, alerts, SLA clocks, escalation, summaries and reports all reason about the same
states; they import them from here so a state cannot be misspelt in one place, and a new
state shows up everywhere it matters. The values are stored in the database (`Ticket.state`,
`TicketEvent.new`) and are text-catalogue keys (`state.<value>`, `type.<value>`), so they
stay the Indonesian words of the SPBE guideline. This module imports nothing of the bot,
so every core module can use it without an import cycle.
"""

from __future__ import annotations

import re
from typing import Final

# --- states -------------------------------------------------------------------------------

BARU: Final = "baru"
DITUGASKAN: Final = "ditugaskan"
DIKERJAKAN: Final = "dikerjakan"
MENUNGGU: Final = "menunggu_pengguna"
SELESAI: Final = "selesai"
DITUTUP: Final = "ditutup"
DIBATALKAN: Final = "dibatalkan"

#: every state, in life-cycle order (lists and reports show them in this order).
STATES: Final = (BARU, DITUGASKAN, DIKERJAKAN, MENUNGGU, SELESAI, DITUTUP, DIBATALKAN)
#: someone still has to act: queues, alerts, "open tickets" in summaries.
OPEN_STATES: Final = (BARU, DITUGASKAN, DIKERJAKAN, MENUNGGU)
#: nothing can happen any more: the SLA clock stops for good.
FINAL_STATES: Final = frozenset({DITUTUP, DIBATALKAN})
#: no longer open: resolved (the reporter may still reopen it), closed or cancelled.
CLOSED_STATES: Final = frozenset({SELESAI}) | FINAL_STATES

TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    BARU: frozenset({DITUGASKAN, DIKERJAKAN, DIBATALKAN}),
    DITUGASKAN: frozenset({DIKERJAKAN, DIBATALKAN}),
    DIKERJAKAN: frozenset({MENUNGGU, SELESAI, DIBATALKAN}),
    MENUNGGU: frozenset({DIKERJAKAN, SELESAI, DIBATALKAN}),
    SELESAI: frozenset({DITUTUP, DIKERJAKAN}),
    DITUTUP: frozenset(),
    DIBATALKAN: frozenset(),
}


# --- types --------------------------------------------------------------------------------

GANGGUAN: Final = "gangguan"
PERMINTAAN: Final = "permintaan"
KELUHAN: Final = "keluhan"

#: ticket type -> prefix of its number (INC-2026-000123).
TYPES: Final[dict[str, str]] = {GANGGUAN: "INC", PERMINTAAN: "REQ", KELUHAN: "KEL"}
#: a ticket number as people type it: prefix, year, sequence ("inc-2026-123" too).
NUMBER: Final = re.compile(r"^[A-Za-z]{3}-\d{4}-\d{1,8}$")

# --- what resolving requires ---------------------------------------------------------------

#: shortest resolution note an operator may give ("ok" tells the reporter nothing);
#: the chat and modal prompts ask the same of an incident's root cause.
MIN_NOTE: Final = 3


def requires_root_cause(type_: str) -> bool:
    """Incidents are resolved with their root cause (guideline ch. 7.1.2); requests and
    complaints need only the resolution note."""
    return type_ == GANGGUAN
