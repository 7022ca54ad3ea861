"""The incident-log replay benchmark, on a slice of the real log: it must keep working
as the ticket core changes, and its priorities must match the log's."""

from __future__ import annotations

from datetime import UTC

import pytest
from sqlmodel import Session, col, select

from bench.replay_incident_log import LOG_ZIP, read_log, replay
from bot.runtime import Helpdesk
from storage.models import Ticket, TicketEvent

pytestmark = pytest.mark.skipif(not LOG_ZIP.exists(), reason=f"incident log not found at {LOG_ZIP}")

LIMIT = 200


@pytest.fixture(scope="module")
def incidents() -> list:
    return read_log(limit=LIMIT)


def test_log_is_read_in_time_order(incidents: list) -> None:
    assert len(incidents) == LIMIT
    for events in incidents:
        assert len({e.number for e in events}) == 1
        assert [e.at for e in events] == sorted(e.at for e in events)
        assert all(e.at.tzinfo is UTC for e in events)


def test_replay_matches_priorities_and_records_events(helpdesk: Helpdesk, incidents: list) -> None:
    result = replay(helpdesk.engine, incidents)

    assert result["incidents"] == LIMIT
    assert result["priority_match"] == 1.0
    assert result["events"] == sum(len(e) for e in incidents)
    assert result["tickets"] == LIMIT
    assert result["ticket_events"] > result["events"] / 2
    with Session(helpdesk.engine) as s:
        first = incidents[0][0]
        ticket = s.exec(select(Ticket).where(Ticket.external_ref == first.number)).one()
        assert ticket.type == "gangguan"
        assert ticket.state == "ditutup"
        assert ticket.root_cause
        kinds = set(s.exec(select(TicketEvent.kind).where(col(TicketEvent.ticket_id) == ticket.id)))
        assert {"created", "state", "resolution"} <= kinds
        states = s.exec(select(Ticket.state).where(col(Ticket.external_ref).is_not(None))).all()
        # Every incident of the log ends Closed; refused commands may leave a few elsewhere.
        assert states.count("ditutup") >= LIMIT - result["rejected_events"]
