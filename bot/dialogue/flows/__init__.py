"""One module per flow of the conversation, and the registry of those the product runs.

A flow module declares everything the router needs in its `FLOW`; adding one is a new
module and a line here (tests pass their own list to `Conversations(flows=...)`).
"""

from __future__ import annotations

from bot.dialogue.flows import (
    account,
    changes,
    faq,
    general,
    guided_report,
    monitoring,
    problems,
    recovery,
    report_documents,
    review,
    review_cycle,
    satisfaction,
    subscriptions,
    ticket_commands,
    triage,
)
from bot.dialogue.router import Flow

DEFAULT_FLOWS: tuple[Flow, ...] = (
    general.FLOW,
    guided_report.FLOW,
    faq.FLOW,
    ticket_commands.FLOW,
    monitoring.FLOW,
    report_documents.FLOW,
    review.FLOW,
    review_cycle.FLOW,
    satisfaction.FLOW,
    triage.FLOW,
    account.FLOW,
    subscriptions.FLOW,
    problems.FLOW,
    changes.FLOW,
    recovery.FLOW,
)
