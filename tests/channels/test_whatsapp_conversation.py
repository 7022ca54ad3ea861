"""WhatsApp conversations over real HTTP: signed webhooks into our app, replies at the
fake Cloud API. FAQ answers, a whole report through buttons, lists and typed numbers,
reports as documents and charts as images, linking by phone number or code, and an
operator acting on a ticket from WhatsApp."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.channels.whatsapp._outgoing import whatsapp_text
from bot.core import escalation, people
from bot.i18n import t
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import Conversation, Identity, Person, ServiceState, Ticket, utcnow
from tests.channels.fake_whatsapp import FakeCloudApi
from tests.channels.whatsapp_harness import WhatsAppUnderTest, actions_of, body_text, titles_of
from tests.helpers import Chat

BUDI = "6281234567001"


@pytest.fixture
def api() -> Iterator[FakeCloudApi]:
    fake = FakeCloudApi().start()
    yield fake
    fake.stop()


@pytest.fixture
def wa(helpdesk: Helpdesk, api: FakeCloudApi) -> Iterator[WhatsAppUnderTest]:
    with WhatsAppUnderTest(helpdesk, api) as running:
        yield running
        assert running.errors == []


def an_article(helpdesk: Helpdesk) -> Any:
    """An Indonesian article whose own question the matcher answers directly."""
    matcher = helpdesk.kb.current
    for article in matcher.articles:
        if article.lang == "id" and article.service and len(article.answer) < 3000:
            decision = matcher.decide(article.question)
            if decision.kind == "answer" and decision.matches[0].article.id == article.id:
                return article
    raise AssertionError("no article answers its own question")


def kind(call: Any) -> str:
    inter = call.body.get("interactive")
    return f"interactive.{inter['type']}" if inter else str(call.body["type"])


def test_faq_answer_with_yes_no_buttons(
    helpdesk: Helpdesk, wa: WhatsAppUnderTest, api: FakeCloudApi
) -> None:
    article = an_article(helpdesk)
    answer, helpful = wa.say(BUDI, article.question)
    assert kind(answer) == "text" and answer.body["to"] == BUDI
    # the article's Markdown in WhatsApp's own formatting: *bold*, no "**"
    assert body_text(answer) == whatsapp_text(f"**{article.question}**\n\n{article.answer}")
    assert body_text(answer).startswith(f"*{article.question}*") and "**" not in body_text(answer)
    assert answer.body["text"]["preview_url"] is False
    assert kind(helpful) == "interactive.button"
    assert body_text(helpful) == "Apakah ini membantu?"
    assert titles_of(helpful) == ["Ya", "Tidak"]
    assert actions_of(helpful) == [f"faq:yes:{article.id}", f"faq:no:{article.id}"]
    (glad,) = wa.press(BUDI, f"faq:yes:{article.id}", title="Ya")
    assert body_text(glad) == t("faq.glad", "id")
    with Session(helpdesk.engine) as s:
        assert s.exec(select(Ticket)).all() == []


def test_a_whole_report_through_buttons_lists_and_a_typed_number(
    helpdesk: Helpdesk, wa: WhatsAppUnderTest, api: FakeCloudApi
) -> None:
    with Session(helpdesk.engine) as s:
        from storage.models import Service

        services = len(s.exec(select(Service)).all())
    assert services > 10  # more than a list message holds: typed numbers
    (ask,) = wa.say(BUDI, "/lapor")
    assert kind(ask) == "text"
    lines = body_text(ask).splitlines()
    assert "1. Akses Jarak Jauh (VPN)" in lines
    assert lines[-1] == t("whatsapp.type_number", "id")
    with Session(helpdesk.engine) as s:
        conv = s.exec(
            select(Conversation).where(
                Conversation.channel == "whatsapp", Conversation.chat_id == BUDI
            )
        ).one()
    labels = [label for label, _ in conv.data["choices"]]  # what a typed number picks from
    assert len(labels) > services  # every service, and more (other, Batal)
    assert [line for line in lines if line[:1].isdigit()] == [
        f"{i}. {label}" for i, label in enumerate(labels, start=1)
    ]

    (types,) = wa.say(BUDI, "1")  # the typed number picks the first choice: VPN
    assert kind(types) == "interactive.list"  # four choices: more than three buttons
    assert actions_of(types) == ["type:gangguan", "type:permintaan", "type:keluhan", "cancel"]
    assert types.body["interactive"]["action"]["button"] == t("whatsapp.list_button", "id")

    (describe,) = wa.press(BUDI, "type:gangguan")
    assert body_text(describe) == t("report.ask_description.gangguan", "id")
    assert kind(describe) == "interactive.button" and actions_of(describe) == ["cancel"]
    description = "VPN putus tiap 5 menit *tebal* _miring_ ~coret~ dari rumah"
    (impact,) = wa.say(BUDI, description)
    assert kind(impact) == "interactive.list"
    rows = impact.body["interactive"]["action"]["sections"][0]["rows"]
    long = next(r for r in rows if r["id"] == "imp:1")
    label = t("impact.1", "id")  # "Banyak unit / layanan publik": 28 characters
    assert len(label) == 28
    assert long["title"] == label[:23].rstrip() + "…"  # cut to 24 with the ellipsis
    assert long["description"] == label  # the whole label below the title
    wa.press(BUDI, "imp:1")
    (summary,) = wa.press(BUDI, "urg:2")
    assert actions_of(summary) == ["rep:send", "cancel"]
    assert description in body_text(summary)  # verbatim: no markup is added or removed
    (created,) = wa.press(BUDI, "rep:send")
    with Session(helpdesk.engine) as s:
        ticket = s.exec(select(Ticket)).one()
        reporter = s.get(Person, ticket.reporter_id)
    assert body_text(created) == t("report.created", "id", number=ticket.number, priority=2)
    assert (ticket.service_id, ticket.type, ticket.priority) == ("vpn", "gangguan", 2)
    assert (ticket.reporter_channel, ticket.reporter_chat_id) == ("whatsapp", BUDI)
    assert ticket.description == description
    assert reporter is not None and reporter.name == "Budi"  # the WhatsApp profile name
    assert api.refused() == []  # every message was one the Cloud API accepts


def test_messages_it_cannot_read_get_one_short_answer(
    wa: WhatsAppUnderTest, api: FakeCloudApi
) -> None:
    photo = wa.hooks.message(
        BUDI, {"type": "image", "image": {"id": "1234", "mime_type": "image/jpeg"}}
    )
    assert wa.post(photo) == 200
    assert wa.post(photo) == 200  # redelivered: not answered twice
    (answer,) = api.sent(BUDI)
    assert body_text(answer) == t("whatsapp.unsupported", "id")


def test_report_pdf_as_a_document_and_chart_as_an_image(
    helpdesk: Helpdesk, wa: WhatsAppUnderTest, api: FakeCloudApi
) -> None:
    coordinator_phone = "6281234567009"
    with session_scope(helpdesk.engine) as s:
        coordinator = next(p for p in s.exec(select(Person)) if "koordinator_layanan" in p.roles)
        s.add(Identity(person_id=coordinator.id, channel="whatsapp", external_id=coordinator_phone))
    text, document = wa.say(coordinator_phone, "/laporan katalog")
    assert "Katalog Layanan SPBE" in body_text(text)
    (upload,) = api.uploads()
    assert upload.body["type"] == upload.body["content_type"] == "application/pdf"
    assert upload.body["filename"].startswith("catalogue-") and upload.file is not None
    assert upload.file.startswith(b"%PDF")
    assert document.body["type"] == "document"
    assert document.body["document"] == {"id": upload.result, "filename": upload.body["filename"]}
    # somebody else is refused and gets no document
    (refused,) = wa.say(BUDI, "/laporan katalog")
    assert kind(refused) == "text" and len(api.uploads()) == 1
    # with a monitored service the summary brings its availability chart as an image
    with session_scope(helpdesk.engine) as s:
        s.add(
            ServiceState(service_id="vpn", state="up", monitored_since=utcnow() - timedelta(days=3))
        )
    summary, image = wa.say(coordinator_phone, "/ringkasan")
    assert "Ringkasan status" in body_text(summary)
    chart = api.uploads()[-1]
    assert chart.body["content_type"] == "image/png" and (chart.file or b"").startswith(b"\x89PNG")
    assert image.body["image"] == {"id": chart.result}


def test_a_number_in_the_people_import_links_at_the_first_message(
    helpdesk: Helpdesk, wa: WhatsAppUnderTest, api: FakeCloudApi, tmp_path: Path
) -> None:
    people_file = tmp_path / "people.csv"
    people_file.write_text(
        "name,email,roles,phone\n"
        "Sari Dewi,sari@kominfo.go.id,pengguna,+62 812-3456-7002\n"
        "Rina,rina@kominfo.go.id,pengguna,0812 3456 7003\n"
        "Joko,joko@kominfo.go.id,pengguna,0812 3456 7003\n",  # a shared number
        encoding="utf-8",
    )
    with session_scope(helpdesk.engine) as s:
        assert people.import_people(s, people_file) == (3, 0)
        sari = s.exec(select(Person).where(Person.email == "sari@kominfo.go.id")).one()
        assert sari.phone == "6281234567002"  # +62 812-3456-7002 in digits
    wa.say("6281234567002", "halo")
    wa.say("6281234567003", "halo")
    with Session(helpdesk.engine) as s:
        linked = s.exec(select(Identity).where(Identity.channel == "whatsapp")).all()
        by_number = {i.external_id: s.get(Person, i.person_id) for i in linked}
    sari_person = by_number["6281234567002"]
    assert sari_person is not None and sari_person.email == "sari@kominfo.go.id"
    assert "6281234567003" not in by_number  # a shared number links nobody by itself


def test_a_link_code_links_a_number_not_in_the_import(
    helpdesk: Helpdesk, wa: WhatsAppUnderTest, api: FakeCloudApi
) -> None:
    with session_scope(helpdesk.engine) as s:
        person = s.exec(select(Person).where(Person.email.is_not(None))).first()  # type: ignore[union-attr]
        assert person is not None
        email = person.email
        code = people.issue_link_code(s, person, ttl=timedelta(minutes=15))
    wa.say(BUDI, f"/tautkan {code}")
    with Session(helpdesk.engine) as s:
        linked = people.identify(s, "whatsapp", BUDI)
    assert linked is not None and linked.email == email


def test_an_operator_acts_from_whatsapp_with_buttons(
    helpdesk: Helpdesk, wa: WhatsAppUnderTest, api: FakeCloudApi
) -> None:
    from storage.models import ServiceTechnician

    with session_scope(helpdesk.engine) as s:
        techs = s.exec(
            select(ServiceTechnician.person_id).where(ServiceTechnician.service_id == "vpn")
        ).all()
        phones = {pid: f"62812345670{50 + i}" for i, pid in enumerate(sorted(set(techs)))}
        for pid, phone in phones.items():
            s.add(Identity(person_id=pid, channel="whatsapp", external_id=phone))
    for phone in phones.values():
        wa.say(phone, "halo")  # the operators wrote today: their windows are open
    reporter = Chat.as_person(helpdesk, "console", "lina.marlina@kementerian.go.id")
    reporter.say("/lapor")
    reporter.press("svc:vpn")
    reporter.press("type:gangguan")
    reporter.say("VPN kantor mati total sejak pagi")
    reporter.press("imp:1")
    reporter.press("urg:2")
    reporter.press("rep:send")
    with Session(helpdesk.engine) as s:
        ticket = s.exec(select(Ticket)).one()
    assert ticket.priority == 2 and ticket.response_risk_at is not None
    escalation.sla_tick(helpdesk.engine, ticket.response_risk_at)
    with Session(helpdesk.engine) as s:
        assignee = s.get(Person, s.get(Ticket, ticket.id).assignee_id)  # type: ignore[union-attr]
    assert assignee is not None and assignee.id is not None
    phone, lang = phones[assignee.id], assignee.lang or "id"
    mark = api.mark()
    assert wa.deliver(ticket.response_risk_at) >= 1  # the page is due at the risk time
    page = next(c for c in api.since(mark) if c.body["to"] == phone and actions_of(c))
    assert ticket.number in body_text(page)
    assert actions_of(page) == [f"t:ack:{ticket.number}", f"t:take:{ticket.number}"]
    assert titles_of(page) == [t("button.ack", lang), t("button.take", lang)]  # Akui, Ambil
    wa.press(phone, f"t:ack:{ticket.number}", title="Akui")
    with Session(helpdesk.engine) as s:
        acked = s.get(Ticket, ticket.id)
    assert acked is not None and acked.acknowledged_at is not None


def test_an_unlinked_number_is_not_linked_by_phone_again(
    helpdesk: Helpdesk, wa: WhatsAppUnderTest, tmp_path: Path
) -> None:
    people_file = tmp_path / "people.yaml"
    people_file.write_text(
        "people:\n  - name: Sari Dewi\n    email: sari@kominfo.go.id\n    phone: '0812 3456 7002'\n",
        encoding="utf-8",
    )
    with session_scope(helpdesk.engine) as s:
        people.import_people(s, people_file)
    wa.say("6281234567002", "halo")
    with session_scope(helpdesk.engine) as s:
        assert people.unlink_account(s, "whatsapp", "6281234567002") is not None
    wa.say("6281234567002", "halo lagi")
    with Session(helpdesk.engine) as s:
        again = people.identify(s, "whatsapp", "6281234567002")
    assert again is None  # only a link code links it again


def test_reactions_and_group_messages_get_no_answer(
    wa: WhatsAppUnderTest, api: FakeCloudApi
) -> None:
    reaction = {"type": "reaction", "reaction": {"message_id": "wamid.X", "emoji": "👍"}}
    assert wa.post(wa.hooks.message(BUDI, reaction)) == 200
    group = {"type": "text", "text": {"body": "/lapor"}, "group_id": "120363000000000001"}
    assert wa.post(wa.hooks.message(BUDI, group)) == 200
    assert api.sent() == []


def test_people_import_refuses_what_is_no_phone_number(tmp_path: Path) -> None:
    bad = tmp_path / "people.csv"
    bad.write_text("name,email,phone\nSari,sari@kominfo.go.id,kantor pusat\n", encoding="utf-8")
    with pytest.raises(people.PeopleError, match="phone"):
        people.parse_people(bad)
    assert people.normalize_phone("+62 812-3456-7002") == "6281234567002"
    assert people.normalize_phone("0812 3456 7002") == "6281234567002"  # 0 → 62
    assert people.normalize_phone("0062 812 3456 7002") == "6281234567002"
    assert people.normalize_phone("1234567") is None  # 7 digits: shorter than E.164 allows


def test_an_operator_takes_and_resolves_from_whatsapp(
    helpdesk: Helpdesk, wa: WhatsAppUnderTest, api: FakeCloudApi
) -> None:
    test_an_operator_acts_from_whatsapp_with_buttons(helpdesk, wa, api)  # paged, acknowledged
    with Session(helpdesk.engine) as s:
        ticket = s.exec(select(Ticket)).one()
        operator = s.get(Person, ticket.assignee_id)
        assert operator is not None
        phone = s.exec(
            select(Identity.external_id).where(
                Identity.person_id == operator.id, Identity.channel == "whatsapp"
            )
        ).one()
    lang, n = operator.lang or "id", ticket.number
    (detail,) = wa.say(phone, f"/status {n}")
    assert actions_of(detail) == [f"t:take:{n}", f"t:resolve:{n}"]
    assert titles_of(detail) == [
        t("button.take", lang),
        t("button.resolve", lang),
    ]  # Ambil, Selesai
    (taken,) = wa.press(phone, f"t:take:{n}")
    assert actions_of(taken) == [f"t:resolve:{n}"]
    wa.press(phone, f"t:resolve:{n}")
    wa.say(phone, "Konfigurasi VPN gateway dipulihkan dan diuji dari dua lokasi.")
    (done,) = wa.say(phone, "Sertifikat gateway kedaluwarsa")  # the root cause
    assert kind(done) == "text" and n in body_text(done)
    with Session(helpdesk.engine) as s:
        resolved = s.get(Ticket, ticket.id)
    assert resolved is not None and resolved.state == "selesai"
    assert api.refused() == []
