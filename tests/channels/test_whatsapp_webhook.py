"""WhatsApp's webhook over real HTTP: our app (uvicorn, lifespan, the inbox) against the
fake Cloud API. The verification handshake, the signature on every POST, the body
limit, redeliveries, and delivery receipts recorded on the outbox notice."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlmodel import Session, select

from bot.core import notices
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import InboxEvent, Notice, Ticket
from tests.channels.fake_whatsapp import VERIFY_TOKEN, FakeCloudApi
from tests.channels.whatsapp_harness import WhatsAppUnderTest, body_text

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


def inbox_count(helpdesk: Helpdesk) -> int:
    with Session(helpdesk.engine) as s:
        return len(s.exec(select(InboxEvent).where(InboxEvent.source == "whatsapp")).all())


def test_verification_handshake(wa: WhatsAppUnderTest) -> None:
    good = {
        "hub.mode": "subscribe",
        "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "1158201444",
    }
    answer = httpx.get(wa.url, params=good, timeout=10)
    assert (answer.status_code, answer.text) == (200, "1158201444")
    for wrong in (
        {**good, "hub.verify_token": "guessed"},
        {**good, "hub.verify_token": "vérifié"},  # non-ASCII: refused, not an error
        {**good, "hub.mode": "unsubscribe"},
        {"hub.challenge": "1158201444"},
    ):
        refused = httpx.get(wa.url, params=wrong, timeout=10)
        assert refused.status_code == 403 and "1158201444" not in refused.text


def test_signature_good_bad_missing_and_non_ascii(
    helpdesk: Helpdesk, wa: WhatsAppUnderTest, api: FakeCloudApi
) -> None:
    body = wa.hooks.encode(wa.hooks.text(BUDI, "Bagaimana cara reset password email? é"))
    good = wa.hooks.sign(body)
    flipped = good[:-1] + ("0" if good[-1] != "0" else "1")
    for signature in (
        None,  # missing
        "",
        flipped,  # one hex digit off
        good.removeprefix("sha256="),  # no algorithm prefix
        "sha1=" + good.removeprefix("sha256="),
        "sha256=" + "é" * 64,  # non-ASCII in the header
    ):
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["X-Hub-Signature-256"] = signature
        answer = httpx.post(
            wa.url, content=body, headers={k: v.encode() for k, v in headers.items()}, timeout=10
        )
        assert answer.status_code == 401, signature
    # a body changed after signing is refused too
    assert wa.post_raw(body.replace(b"email", b"EMAIL"), good).status_code == 401
    wa.settle()
    assert inbox_count(helpdesk) == 0 and api.calls == []  # nothing stored, nothing sent
    # the right signature over the exact bytes (UTF-8, non-ASCII inside) is taken
    assert wa.post_raw(body, good).status_code == 200
    wa.settle()
    assert inbox_count(helpdesk) == 1 and len(api.sent(BUDI)) >= 1


def test_malformed_and_oversized_bodies(helpdesk: Helpdesk, wa: WhatsAppUnderTest) -> None:
    for body in (b"not json", b"[]", b'{"object": "page", "entry": []}'):
        assert wa.post_raw(body, wa.hooks.sign(body)).status_code == 400
    big = b'{"object": "whatsapp_business_account", "pad": "' + b"x" * (1024 * 1024) + b'"}'
    assert wa.post_raw(big, wa.hooks.sign(big)).status_code == 413
    wa.settle()
    assert inbox_count(helpdesk) == 0


def test_another_phone_number_is_not_ours(
    helpdesk: Helpdesk, wa: WhatsAppUnderTest, api: FakeCloudApi
) -> None:
    data = wa.hooks.text(BUDI, "halo")
    data["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999"
    assert wa.post(data) == 200
    assert inbox_count(helpdesk) == 0 and api.calls == []


def test_a_redelivered_message_changes_nothing(
    helpdesk: Helpdesk, wa: WhatsAppUnderTest, api: FakeCloudApi
) -> None:
    wa.say(BUDI, "/lapor")
    data = wa.hooks.button(BUDI, "svc:vpn", "Akses Jarak Jauh (VPN)")
    assert wa.post(data) == 200
    first = len(api.sent(BUDI))
    with Session(helpdesk.engine) as s:
        state = s.exec(select(InboxEvent.key).where(InboxEvent.source == "whatsapp")).all()
    for _ in range(3):  # Meta resends a POST it thinks was not taken
        assert wa.post(data) == 200
    assert len(api.sent(BUDI)) == first  # no second answer
    with Session(helpdesk.engine) as s:
        assert s.exec(select(InboxEvent.key).where(InboxEvent.source == "whatsapp")).all() == state
    # the same message id inside a new batch is also known
    batch = wa.hooks.text(
        BUDI, "lain", message_id=data["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    )
    assert wa.post(batch) == 200
    assert len(api.sent(BUDI)) == first


def test_status_callbacks_are_recorded_on_the_notice(
    helpdesk: Helpdesk, wa: WhatsAppUnderTest, api: FakeCloudApi
) -> None:
    wa.say(BUDI, "halo")  # opens the 24-hour window
    with session_scope(helpdesk.engine) as s:
        notices.enqueue(
            s,
            channel="whatsapp",
            target=BUDI,
            kind="ticket.state",
            payload={"text": "Tiket INC-1 sedang dikerjakan."},
            dedupe_key="t1",
        )
        notices.enqueue(
            s,
            channel="whatsapp",
            target=BUDI,
            kind="ticket.comment",
            payload={"text": "Catatan petugas."},
            dedupe_key="t2",
        )
    assert wa.deliver() == 2
    with Session(helpdesk.engine) as s:
        first, second = s.exec(select(Notice).order_by(Notice.id)).all()
    sent = api.sent(BUDI)[-2:]
    assert [first.platform_ref, second.platform_ref] == [c.result for c in sent]
    assert [body_text(c) for c in sent] == ["Tiket INC-1 sedang dikerjakan.", "Catatan petugas."]
    assert (first.status, first.receipt) == ("sent", None)

    ref = first.platform_ref or ""
    for status in ("sent", "delivered", "read"):
        assert wa.post(wa.hooks.status(ref, status, BUDI)) == 200
    assert wa.post(wa.hooks.status(ref, "delivered", BUDI)) == 200  # late: read stays
    assert wa.post(wa.hooks.status(ref, "read", BUDI)) == 200  # again: changes nothing
    failure = [
        {
            "code": 131026,
            "title": "Message undeliverable",
            "error_data": {"details": "not on WhatsApp"},
        }
    ]
    assert (
        wa.post(wa.hooks.status(second.platform_ref or "", "failed", BUDI, errors=failure)) == 200
    )
    # a receipt of a conversation reply names no notice: nothing to record, no error
    assert wa.post(wa.hooks.status(api.sent(BUDI)[0].result or "", "read", BUDI)) == 200
    with Session(helpdesk.engine) as s:
        first, second = s.exec(select(Notice).order_by(Notice.id)).all()
        assert s.exec(select(Ticket)).all() == []
    assert (first.status, first.receipt, first.last_error) == ("sent", "read", None)
    assert first.receipt_at is not None
    assert (second.status, second.receipt) == ("failed", "failed")
    assert second.last_error == "code 131026: Message undeliverable (not on WhatsApp)"


def test_enabled_when_its_four_settings_are_set(helpdesk: Helpdesk) -> None:
    from pydantic import SecretStr

    from bot.channels import registry, whatsapp

    assert whatsapp.SPEC not in registry.enabled_specs(helpdesk.settings)
    four = {
        "whatsapp_access_token": SecretStr("t"),
        "whatsapp_phone_number_id": "1",
        "whatsapp_app_secret": SecretStr("s"),
        "whatsapp_verify_token": SecretStr("v"),
    }
    assert whatsapp.SPEC in registry.enabled_specs(helpdesk.settings.model_copy(update=four))
    for missing in four:
        three = {**four, missing: None}
        assert not whatsapp.SPEC.enabled(helpdesk.settings.model_copy(update=three))
    empty = {**four, "whatsapp_app_secret": SecretStr("")}  # an empty secret is no secret
    assert not whatsapp.SPEC.enabled(helpdesk.settings.model_copy(update=empty))


def test_a_receipt_before_its_send_is_recorded_is_taken_again_later(
    helpdesk: Helpdesk, wa: WhatsAppUnderTest, api: FakeCloudApi
) -> None:
    import dataclasses
    from datetime import timedelta

    intake = wa.app.state.intake
    intake.policy = dataclasses.replace(intake.policy, backoff=timedelta(0))
    with session_scope(helpdesk.engine) as s:
        notices.enqueue(
            s,
            channel="whatsapp",
            target=BUDI,
            kind="ticket.state",
            payload={"text": "x"},
            dedupe_key="racing",
        )
        racing = s.exec(select(Notice)).one()
        racing.status = "sending"  # the transport has it at Meta; its id not yet stored
        s.add(racing)
    body = wa.hooks.encode(wa.hooks.status("wamid.RACE", "delivered", BUDI))
    assert wa.post_raw(body, wa.hooks.sign(body)).status_code == 200
    # the worker finds no notice with that id while one to Budi is being sent: not done
    wa.server.run(_until(lambda: len(intake.failures) >= 1))
    assert type(intake.failures[0][1]).__name__ == "ReceiptTooEarly"
    with session_scope(helpdesk.engine) as s:
        racing = s.exec(select(Notice)).one()
        racing.status, racing.platform_ref = "sent", "wamid.RACE"  # the send is recorded
        s.add(racing)
    wa.settle()  # the receipt is taken again and finds its notice
    with Session(helpdesk.engine) as s:
        assert s.exec(select(Notice)).one().receipt == "delivered"


async def _until(check: object, timeout: float = 10.0) -> None:
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await asyncio.to_thread(check):  # type: ignore[arg-type]
        if loop.time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.02)
