"""Documents show what readers call things, in their language: no state, alert or
criticality code (`menunggu_pengguna`, `ticket.new`, `service.down`), and one number
format per language."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import Session

from bot.core import tickets
from bot.core.tickets import Actor
from bot.reports import KINDS, build_report, to_csv, to_html
from bot.reports.labels import alert_kind_label, criticality_label, state_label
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import Alert
from tests.unit.test_reports import END, NOW, START, T0, TZ, _person, _tech, records, table

__all__ = ["records"]  # the fixture of test_reports, used here

CODES = re.compile(r"menunggu_pengguna|ticket\.new|service\.down|sla\.(response|resolution)_breach")


@pytest.fixture
def waiting(records: Helpdesk) -> Helpdesk:
    """The fixture of test_reports, plus a VPN incident waiting for its user and an
    unacknowledged "service down" alert."""
    with session_scope(records.engine) as s:
        e = tickets.open_ticket(
            s,
            type_="gangguan",
            title="E",
            service_id="vpn",
            reporter=_person(s, "pengguna"),
            now=T0 + timedelta(days=2),
        )
        tech = Actor(_tech(s, "vpn"), "console")
        tickets.take(s, e, tech, now=e.created_at + timedelta(minutes=10))
        tickets.hold_for_user(s, e, tech, "log?", now=e.created_at + timedelta(minutes=20))
        s.add(
            Alert(
                key="down",
                kind="service.down",
                service_id="vpn",
                priority=2,
                created_at=T0 + timedelta(days=3),
            )
        )
    return records


def test_labels_have_texts_in_both_languages() -> None:
    assert state_label("menunggu_pengguna", "id") == "menunggu pengguna"
    assert state_label("menunggu_pengguna", "en") == "waiting for user"
    assert alert_kind_label("ticket.new", "id") == "Tiket baru"
    assert alert_kind_label("service.down", "en") == "Service unavailable"
    assert criticality_label("tinggi", "en") == "high"
    assert alert_kind_label("something.new", "id") == "something.new"  # no key shown


def test_no_code_in_any_document(waiting: Helpdesk) -> None:
    with Session(waiting.engine) as s:
        for lang in ("id", "en"):
            for kind in KINDS:
                report = build_report(kind, s, start=START, end=END, tz=TZ, now=NOW, lang=lang)
                for text in (to_html(report), to_csv(report)):
                    found = CODES.search(text)
                    assert found is None, f"{kind}/{lang}: {found.group(0)}"


def test_exception_and_records_name_kinds_and_states(waiting: Helpdesk) -> None:
    with Session(waiting.engine) as s:
        exc = build_report("exception", s, start=START, end=END, tz=TZ, now=NOW)
        exc_en = build_report("exception", s, start=START, end=END, tz=TZ, now=NOW, lang="en")
        records_ = build_report("incidents", s, start=START, end=END, tz=TZ, now=NOW)
        catalogue = build_report("catalogue", s, start=START, end=END, tz=TZ, now=NOW, lang="en")
    assert sorted(r[0] for r in table(exc, "Peringatan yang tidak diakui")) == [
        "Layanan tidak tersedia",
        "Tiket baru",
    ]
    unacked_en = next(t for t in exc_en.tables if t.name == "unacknowledged").rows
    assert sorted(r[0] for r in unacked_en) == ["New ticket", "Service unavailable"]
    # times in WIB, as the reader writes them: B's resolution was due 2 Mar 10:00 + 8 h
    breach = next(t for t in exc.tables if t.name == "breaches").rows
    assert "2 Mar 2026 18.00 WIB" in {r[4] for r in breach}
    states = {r[4]: r[3] for r in records_.tables[0].rows}
    assert states["E"] == "menunggu pengguna" and states["A"] == "selesai"
    # the handling records' times say their zone too (columns 5-7: created, acked, resolved)
    times = [cell for r in records_.tables[0].rows for cell in r[5:8] if cell]
    assert times and all(cell.endswith(" WIB") for cell in times)
    crit = {r[1]: r[9] for r in catalogue.tables[0].rows}
    assert set(crit.values()) == {"high", "medium", "low"}
    target = {r[1]: r[8] for r in catalogue.tables[0].rows}
    assert "99.5%" in target.values() and "99.9%" in target.values()
