"""Catalog and people imports: idempotent, with clear errors on bad files; link codes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.config import KNOWLEDGE_DIR
from bot.core import catalog, people
from bot.core.errors import HelpdeskError
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import Identity, Person, Service, ServiceTechnician
from tests.helpers import Chat

SAMPLE_IDS = {
    "eoffice", "email", "sso", "vpn", "perencanaan", "simpeg", "presensi", "website", "portal-layanan",
    "jaringan", "vicon", "pusat-data",
}  # fmt: skip


def test_sample_catalog_has_the_required_fields(helpdesk: Helpdesk) -> None:
    with Session(helpdesk.engine) as s:
        services = s.exec(select(Service)).all()
        assert {x.id for x in services} == SAMPLE_IDS
        for svc in services:
            assert svc.name and svc.description and svc.provider_unit and svc.access
            assert svc.service_manager_id is not None
            assert 90 <= svc.availability_target <= 100
            assert svc.category in ("administrasi pemerintahan", "layanan publik")
            assert svc.criticality in ("tinggi", "sedang", "rendah")
            assert set(svc.sla) == {"1", "2", "3", "4"}
            assert s.exec(
                select(ServiceTechnician).where(ServiceTechnician.service_id == svc.id)
            ).first()
        units = {x.provider_unit for x in services}
        assert len(units) >= 3, "providers spread across units"


def test_catalog_import_is_idempotent(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        assert catalog.import_catalog(s, KNOWLEDGE_DIR / "catalog.yaml") == (0, 0)
        assert people.import_people(s, KNOWLEDGE_DIR / "people.yaml") == (0, 0)


def test_catalog_import_updates_changed_services(helpdesk: Helpdesk, tmp_path: Path) -> None:
    text = (KNOWLEDGE_DIR / "catalog.yaml").read_text(encoding="utf-8")
    changed = tmp_path / "c.yaml"
    changed.write_text(
        text.replace("availability_target: 99.9", "availability_target: 99.95", 1), encoding="utf-8"
    )
    with session_scope(helpdesk.engine) as s:
        created, updated = catalog.import_catalog(s, changed)
    assert (created, updated) == (0, 1)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("services: [", "invalid YAML"),
        (
            "services:\n  - id: Bad Id!\n    name: X\n    provider_unit: U\n",
            "service #1 (Bad Id!): id",
        ),
        ("services:\n  - id: x\n    name: Xx\n", "provider_unit"),
        (
            "services:\n  - id: x\n    name: Xx\n    provider_unit: U\n    availability_target: 120\n",
            "availability_target",
        ),
        (
            "services:\n  - id: x\n    name: Xx\n    provider_unit: U\n    sla: {7: {response: 1, resolution: 2}}\n",
            "priorities must be 1..4",
        ),
        (
            "services:\n  - {id: x, name: Xx, provider_unit: U}\n  - {id: x, name: Yy, provider_unit: U}\n",
            "duplicate service ids: x",
        ),
        (
            "services:\n  - {id: x, name: Xx, provider_unit: U, service_manager: nobody@example.go.id}\n",
            "unknown person nobody@example.go.id",
        ),
    ],
)
def test_catalog_errors_are_clear(
    helpdesk: Helpdesk, tmp_path: Path, content: str, message: str
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(content, encoding="utf-8")
    with pytest.raises(catalog.CatalogError) as err, session_scope(helpdesk.engine) as s:
        catalog.import_catalog(s, bad)
    assert message in str(err.value) and str(bad) in str(err.value)


def test_catalog_file_missing(helpdesk: Helpdesk, tmp_path: Path) -> None:
    with (
        pytest.raises(catalog.CatalogError, match="file not found"),
        session_scope(helpdesk.engine) as s,
    ):
        catalog.import_catalog(s, tmp_path / "none.yaml")


def test_people_from_csv(helpdesk: Helpdesk, tmp_path: Path) -> None:
    csv_file = tmp_path / "people.csv"
    csv_file.write_text(
        "name,email,unit,roles,skills,lang\n"
        "Rina Putri,rina.putri@kementerian.go.id,Biro Umum,pengelola_teknis;pengelola_layanan,vpn;sso,id\n"
        "Joko,joko@kementerian.go.id,Biro SDM,,,\n",
        encoding="utf-8",
    )
    with session_scope(helpdesk.engine) as s:
        assert people.import_people(s, csv_file) == (2, 0)
        assert people.import_people(s, csv_file) == (0, 0)
        rina = s.exec(select(Person).where(Person.email == "rina.putri@kementerian.go.id")).one()
        joko = s.exec(select(Person).where(Person.email == "joko@kementerian.go.id")).one()
        assert rina.roles == ["pengelola_teknis", "pengelola_layanan"] and rina.skills == [
            "vpn",
            "sso",
        ]
        assert joko.roles == ["pengguna"]


def test_people_errors_are_clear(helpdesk: Helpdesk, tmp_path: Path) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text(
        "people:\n  - {name: A, email: not-an-email}\n  - {name: B, email: b@x.go.id, roles: [raja]}\n"
    )
    with pytest.raises(people.PeopleError) as err, session_scope(helpdesk.engine) as s:
        people.import_people(s, bad)
    assert (
        "entry #1: email" in str(err.value)
        and "entry #2: roles" in str(err.value)
        and "raja" in str(err.value)
    )


def test_unknown_chat_user_becomes_pengguna(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        p = people.ensure_person(s, "telegram", "777", "Tamu")
        assert p.roles == ["pengguna"] and p.email is None
        assert people.ensure_person(s, "telegram", "777").id == p.id


def test_link_code_works_once_and_expires(helpdesk: Helpdesk) -> None:
    email = Chat.technician_of(helpdesk, "vpn")
    now = datetime.now(UTC)
    with session_scope(helpdesk.engine) as s:
        person = people.find_person(s, email)
        assert person is not None
        code = people.issue_link_code(s, person, ttl=timedelta(minutes=15), now=now)
        old_code = people.issue_link_code(
            s, person, ttl=timedelta(minutes=15), now=now - timedelta(hours=1)
        )
    chat = Chat(helpdesk, "telegram", "5551")
    chat.say("/antrian")
    assert "hanya untuk pengelola teknis" in chat.text
    chat.say(f"/tautkan {old_code}")
    assert "tidak berlaku" in chat.text
    chat.say(f"/tautkan {code.lower()}")
    assert "tertaut" in chat.text and "pengelola teknis" in chat.text
    chat.say("/antrian")
    assert "hanya untuk" not in chat.text
    other = Chat(helpdesk, "telegram", "5552")
    other.say(f"/tautkan {code}")
    assert "tidak berlaku" in other.text
    with Session(helpdesk.engine) as s:
        ident = s.exec(
            select(Identity).where(Identity.channel == "telegram", Identity.external_id == "5551")
        ).one()
        assert ident.person_id == person.id
        assert s.exec(select(Identity).where(Identity.external_id == "5552")).first() is None


def test_linking_moves_earlier_tickets(helpdesk: Helpdesk) -> None:
    chat = Chat(helpdesk, "telegram", "6001")
    chat.say("/lapor monitor berkedip terus")
    chat.press("svc:-")
    chat.press("type:gangguan")
    chat.press("imp:3")
    chat.press("urg:3")
    chat.press("rep:send")
    with session_scope(helpdesk.engine) as s:
        person = s.exec(
            select(Person).where(Person.roles == ["pengguna"], Person.email.is_not(None))
        ).first()  # type: ignore[union-attr]
        code = people.issue_link_code(s, person, ttl=timedelta(minutes=5))
    chat.say(f"/tautkan {code}")
    chat.say("/tiketsaya")
    assert chat.last_ticket().number in chat.text
    assert chat.last_ticket().reporter_id == person.id


def test_redeem_rejects_garbage(helpdesk: Helpdesk) -> None:
    with pytest.raises(HelpdeskError), session_scope(helpdesk.engine) as s:
        people.redeem_link_code(s, "'; --", "web", "x")
