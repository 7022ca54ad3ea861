"""The WhatsApp outbox transport over real HTTP against the fake Cloud API: the 24-hour
customer-service window and templates, throttling then success, a closed window the
platform reports, an invalid token, replies that wait out throttling, and how messages
are cut to the Cloud API's limits."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, timedelta

import pytest
from sqlmodel import Session, select

from bot.channels.whatsapp import messages_for, template_parameter
from bot.core import chat_contacts, notices
from bot.dialogue.messages import Choice
from bot.i18n import t
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import Notice, utcnow
from tests.channels.fake_whatsapp import FakeCloudApi
from tests.channels.whatsapp_harness import WhatsAppUnderTest, actions_of, body_text

BUDI = "6281234567001"
TEMPLATES = {"default": "helpdesk_pemberitahuan", "ticket.state": "helpdesk_status_tiket"}


@pytest.fixture
def api() -> Iterator[FakeCloudApi]:
    fake = FakeCloudApi().start()
    yield fake
    fake.stop()


@pytest.fixture
def wa(helpdesk: Helpdesk, api: FakeCloudApi) -> Iterator[WhatsAppUnderTest]:
    with WhatsAppUnderTest(helpdesk, api, templates=TEMPLATES) as running:
        yield running
        assert running.errors == []


@pytest.fixture
def bare(helpdesk: Helpdesk, api: FakeCloudApi) -> Iterator[WhatsAppUnderTest]:
    """No templates configured."""
    with WhatsAppUnderTest(helpdesk, api) as running:
        yield running


def enqueue(helpdesk: Helpdesk, key: str, kind: str = "ticket.state", **payload: object) -> int:
    with session_scope(helpdesk.engine) as s:
        notices.enqueue(
            s,
            channel="whatsapp",
            target=BUDI,
            kind=kind,
            payload={"text": "Tiket INC-7 sedang dikerjakan.\nCatatan:   cek kabel", **payload},
            dedupe_key=key,
        )
        notice = s.exec(select(Notice).where(Notice.dedupe_key == key)).one()
        assert notice.id is not None
        return notice.id


def notice(helpdesk: Helpdesk, notice_id: int) -> Notice:
    with Session(helpdesk.engine) as s:
        found = s.get(Notice, notice_id)
        assert found is not None
        return found


def test_inside_the_window_a_notice_goes_as_it_is_with_its_buttons(
    helpdesk: Helpdesk, wa: WhatsAppUnderTest, api: FakeCloudApi
) -> None:
    wa.say(BUDI, "halo")
    choices = [{"label": "Tutup tiket", "action": "t:close:INC-7"}]
    nid = enqueue(helpdesk, "n1", choices=choices)
    assert wa.deliver() == 1
    sent = api.sent(BUDI)[-1]
    assert sent.body["type"] == "interactive"
    assert body_text(sent) == "Tiket INC-7 sedang dikerjakan.\nCatatan:   cek kabel"
    assert actions_of(sent) == ["t:close:INC-7"]
    assert (notice(helpdesk, nid).status, notice(helpdesk, nid).platform_ref) == (
        "sent",
        sent.result,
    )


def test_outside_the_window_a_notice_goes_as_its_template(
    helpdesk: Helpdesk, wa: WhatsAppUnderTest, api: FakeCloudApi
) -> None:
    state = enqueue(helpdesk, "n1")  # Budi never wrote: no window
    other = enqueue(helpdesk, "n2", kind="ticket.comment")
    assert wa.deliver() == 2
    first, second = api.sent(BUDI, "template")
    assert first.body["template"] == {
        "name": "helpdesk_status_tiket",
        "language": {"code": "id"},
        "components": [
            {
                "type": "body",
                # one line: the new line became " · ", the run of spaces one space
                "parameters": [
                    {"type": "text", "text": "Tiket INC-7 sedang dikerjakan. · Catatan: cek kabel"}
                ],
            }
        ],
    }
    assert second.body["template"]["name"] == "helpdesk_pemberitahuan"  # the default
    assert notice(helpdesk, state).platform_ref == first.result
    assert notice(helpdesk, other).status == "sent"


def test_the_window_closes_24_hours_after_the_last_message(
    helpdesk: Helpdesk, wa: WhatsAppUnderTest, api: FakeCloudApi
) -> None:
    wa.say(BUDI, "halo")
    with Session(helpdesk.engine) as s:
        wrote = chat_contacts.last_inbound(s, "whatsapp", BUDI)
    assert wrote is not None
    wrote = wrote.replace(tzinfo=UTC)  # the message's own time, as Meta stamped it
    wa.channel.transport.now = lambda: wrote + timedelta(hours=23, minutes=59)
    enqueue(helpdesk, "n1")
    assert wa.deliver() == 1
    assert api.sent(BUDI)[-1].body["type"] == "text"
    wa.channel.transport.now = lambda: wrote + timedelta(hours=24, minutes=1)
    enqueue(helpdesk, "n2")
    assert wa.deliver() == 1
    assert api.sent(BUDI)[-1].body["type"] == "template"


def test_outside_the_window_without_a_template_the_notice_fails_with_the_reason(
    helpdesk: Helpdesk, bare: WhatsAppUnderTest, api: FakeCloudApi
) -> None:
    nid = enqueue(helpdesk, "n1")
    assert bare.deliver() == 0
    failed = notice(helpdesk, nid)
    assert failed.status == "failed" and failed.attempts == 1  # permanent: not tried again
    assert "24-hour window" in (failed.last_error or "")
    assert "no template for ticket.state" in (failed.last_error or "")
    assert api.calls == []  # nothing was even tried at Meta


def test_a_window_meta_says_is_closed_falls_back_to_the_template(
    helpdesk: Helpdesk, wa: WhatsAppUnderTest, api: FakeCloudApi
) -> None:
    wa.say(BUDI, "halo")
    api.fail(131047, to=BUDI, message_type="text")
    nid = enqueue(helpdesk, "n1")
    assert wa.deliver() == 1
    assert [c.body["type"] for c in api.refused()] == ["text"]
    template = api.sent(BUDI, "template")[-1]
    assert notice(helpdesk, nid).platform_ref == template.result


def test_a_window_meta_says_is_closed_without_a_template_fails_permanently(
    helpdesk: Helpdesk, bare: WhatsAppUnderTest, api: FakeCloudApi
) -> None:
    bare.say(BUDI, "halo")
    api.fail(131047, to=BUDI)
    nid = enqueue(helpdesk, "n1")
    assert bare.deliver() == 0
    failed = notice(helpdesk, nid)
    assert failed.status == "failed"
    assert "131047" in (failed.last_error or "") and "no template" in (failed.last_error or "")


def test_throttling_then_success(
    helpdesk: Helpdesk, wa: WhatsAppUnderTest, api: FakeCloudApi
) -> None:
    wa.say(BUDI, "halo")
    api.fail(131056, to=BUDI, retry_after=7)
    nid = enqueue(helpdesk, "n1")
    now = utcnow()
    assert wa.deliver(now) == 0
    waiting = notice(helpdesk, nid)
    assert waiting.status == "pending" and "131056" in (waiting.last_error or "")
    due = waiting.next_attempt_at.replace(tzinfo=now.tzinfo)
    assert due == now + timedelta(seconds=7)  # Retry-After: 7
    assert wa.deliver(now + timedelta(seconds=6)) == 0  # not yet due: not tried
    assert len(api.refused()) == 1
    assert wa.deliver(now + timedelta(seconds=7)) == 1
    assert notice(helpdesk, nid).status == "sent" and notice(helpdesk, nid).attempts == 2


def test_throttling_without_retry_after_backs_off(
    helpdesk: Helpdesk, wa: WhatsAppUnderTest, api: FakeCloudApi
) -> None:
    wa.say(BUDI, "halo")
    api.fail(130429, to=BUDI, http_status=429, count=2)
    nid = enqueue(helpdesk, "n1")
    now = utcnow()
    assert wa.deliver(now) == 0
    first = notice(helpdesk, nid).next_attempt_at.replace(tzinfo=now.tzinfo)
    assert first == now + timedelta(seconds=5)  # 5 s × 2^(1 − 1) after attempt 1
    later = now + timedelta(seconds=5)
    assert wa.deliver(later) == 0
    second = notice(helpdesk, nid).next_attempt_at.replace(tzinfo=now.tzinfo)
    assert second == later + timedelta(seconds=10)  # 5 s × 2^(2 − 1) after attempt 2
    assert wa.deliver(later + timedelta(seconds=10)) == 1


def test_an_invalid_token_fails_the_notice_for_good(
    helpdesk: Helpdesk, wa: WhatsAppUnderTest, api: FakeCloudApi
) -> None:
    wa.say(BUDI, "halo")
    api.fail(190, to=BUDI)
    nid = enqueue(helpdesk, "n1")
    assert wa.deliver() == 0
    failed = notice(helpdesk, nid)
    assert failed.status == "failed" and failed.attempts == 1
    assert "code 190" in (failed.last_error or "")


def test_edits_are_refused_for_good(wa: WhatsAppUnderTest, api: FakeCloudApi) -> None:
    from bot.delivery import TransportError

    edit = Notice(
        channel="whatsapp", target=BUDI, kind="change.edit", payload={"text": "x"}, dedupe_key="e"
    )
    with pytest.raises(TransportError) as refused:
        wa.server.run(wa.channel.transport.send(edit))
    assert refused.value.permanent and api.calls == []


def test_a_reply_waits_out_throttling(
    helpdesk: Helpdesk, wa: WhatsAppUnderTest, api: FakeCloudApi
) -> None:
    api.fail(131056, to=BUDI, count=2, retry_after=1)
    (answer, *_) = wa.say(BUDI, "/bantuan")
    assert len(api.refused()) == 2  # refused twice, the third try went through
    assert body_text(answer)


def test_a_media_upload_after_a_server_error_is_tried_again(
    helpdesk: Helpdesk, wa: WhatsAppUnderTest, api: FakeCloudApi
) -> None:
    phone = link_coordinator(helpdesk)
    api.fail(131000, kind="media")  # HTTP 500 once
    text, document = wa.say(phone, "/laporan katalog")
    assert [c.path for c in api.refused()] == ["media"]
    (upload,) = api.uploads()
    assert document.body["document"]["id"] == upload.result


def test_a_refused_upload_loses_the_document_not_the_text(
    helpdesk: Helpdesk, wa: WhatsAppUnderTest, api: FakeCloudApi
) -> None:
    phone = link_coordinator(helpdesk)
    api.fail(131026, kind="media")  # HTTP 400: refused, trying again cannot help
    (text,) = wa.say(phone, "/laporan katalog")
    assert "Katalog Layanan SPBE" in body_text(text)
    assert api.uploads() == [] and len(api.refused()) == 1
    with Session(helpdesk.engine) as s:  # the event is finished, not retried in vain
        from storage.models import InboxEvent

        assert {e.state for e in s.exec(select(InboxEvent))} == {"done"}


def link_coordinator(helpdesk: Helpdesk) -> str:
    from storage.models import Identity, Person

    phone = "6281234567009"
    with session_scope(helpdesk.engine) as s:
        coordinator = next(p for p in s.exec(select(Person)) if "koordinator_layanan" in p.roles)
        s.add(Identity(person_id=coordinator.id, channel="whatsapp", external_id=phone))
    return phone


# -- what one reply becomes -------------------------------------------------------------


def test_long_texts_are_split_with_the_choices_on_the_last_piece() -> None:
    two = [Choice("Ya", "faq:yes:1"), Choice("Tidak", "faq:no:1")]
    messages = messages_for("x" * 9000, two, "id")
    # 9000 = 4096 + 4096 + 808: two texts, then the rest as the buttons' body
    assert [m["type"] for m in messages] == ["text", "text", "interactive"]
    assert [len(m["text"]["body"]) for m in messages[:2]] == [4096, 4096]
    assert len(messages[2]["interactive"]["body"]["text"]) == 808
    # an interactive body holds 1024: a last piece of 2000 goes 1024 as text, 976 as the body
    messages = messages_for("y" * 2000, two, "id")
    assert [m["type"] for m in messages] == ["text", "interactive"]
    assert len(messages[0]["text"]["body"]) == 1024
    assert len(messages[1]["interactive"]["body"]["text"]) == 976


def test_buttons_lists_and_typed_numbers() -> None:
    three = [Choice(f"Pilihan {i}", f"c:{i}") for i in range(1, 4)]
    (m,) = messages_for("Pilih", three, "id")
    assert m["interactive"]["type"] == "button" and len(m["interactive"]["action"]["buttons"]) == 3
    four = [*three, Choice("Batal", "cancel")]
    (m,) = messages_for("Pilih", four, "id")
    assert m["interactive"]["type"] == "list"
    # a label over 20 characters does not fit a button: a list even for two choices
    (m,) = messages_for("Pilih", [Choice("Akses Jarak Jauh (VPN)", "svc:vpn"), three[0]], "id")
    assert m["interactive"]["type"] == "list"
    ten = [Choice(f"Layanan {i}", f"s:{i}") for i in range(1, 11)]
    (m,) = messages_for("Pilih", ten, "id")
    assert len(m["interactive"]["action"]["sections"][0]["rows"]) == 10
    eleven = [*ten, Choice("Batal", "cancel")]
    (m,) = messages_for("Pilih", eleven, "id")
    assert m["type"] == "text"
    lines = m["text"]["body"].splitlines()
    assert lines[:2] == ["Pilih", ""] and lines[2] == "1. Layanan 1" and lines[12] == "11. Batal"
    assert lines[-1] == t("whatsapp.type_number", "id")
    # choices without a text still have a body
    (m,) = messages_for("", three[:1], "id")
    assert m["interactive"]["body"]["text"] == t("whatsapp.choose", "id")


def test_template_parameters_are_one_line_and_bounded() -> None:
    assert template_parameter("a\n\n  b\tc    d") == "a · b c d"
    long = template_parameter("z" * 1500)
    assert len(long) == 1000 and long.endswith("…")  # 999 characters and the ellipsis
