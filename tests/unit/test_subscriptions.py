"""What subscribers receive: `announce` itself, outages (down and recovered), the
maintenance stages (each once, however often the tick runs), delivery on a push channel
and pulling on the web chat, stopping from the notice's own button, and the status
page's "Langganan" form through the web app."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from bot.core import maintenance, outages, subscriptions, web_sessions
from bot.core.readings import Reading
from bot.core.web_sessions import chat_key
from bot.delivery import Deliverer
from bot.runtime import Helpdesk
from bot.web.app import create_app
from storage.db import session_scope
from storage.models import (
    MaintenanceWindow,
    Notice,
    Person,
    Subscription,
    SubscriptionEvent,
)
from tests.helpers import Chat

T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)  # Monday 2 Mar 2026, 08.00 WIB
STEP = dt.timedelta(minutes=1)
POLICY = outages.Policy(down_after=3, up_after=2)


def sub_notices(helpdesk: Helpdesk) -> list[Notice]:
    with Session(helpdesk.engine) as s:
        return list(
            s.exec(
                select(Notice)
                .where(col(Notice.kind).startswith("subscription."))
                .order_by(col(Notice.id))
            )
        )


def read(helpdesk: Helpdesk, state: str, at: dt.datetime, service: str = "vpn") -> None:
    outages.record_readings(helpdesk.engine, [Reading(service, state)], at, POLICY)


class Recorder:
    """The platform's edge: what a push transport was handed."""

    def __init__(self) -> None:
        self.sent: list[Notice] = []

    async def send(self, notice: Notice) -> str | None:
        self.sent.append(notice)
        return f"ref-{notice.id}"


# -- announce ---------------------------------------------------------------------------


def test_announce_writes_one_notice_per_subscriber_in_their_language(
    helpdesk: Helpdesk,
) -> None:
    at = dt.datetime(2026, 3, 2, 7, 5, tzinfo=dt.UTC)  # 14.05 WIB
    with session_scope(helpdesk.engine) as s:
        english = s.exec(
            select(Person).where(Person.email == "sri.wahyuni@kementerian.go.id")
        ).one()
        english.lang = "en"
        s.add(english)
        web = subscriptions.Chat("web", "sess-1")
        tg = subscriptions.Chat("telegram", "7001", english)
        gone = subscriptions.Chat("telegram", "7002")
        for chat in (web, tg, gone):
            subscriptions.subscribe(s, "vpn", chat, via="command", now=T0)
        subscriptions.subscribe(
            s, "email", subscriptions.Chat("telegram", "7003"), via="command", now=T0
        )
        stopped = subscriptions.subscription_of(s, "vpn", gone)
        assert stopped is not None
        subscriptions.unsubscribe(s, stopped, by=None, via="command", now=T0)

    def release() -> int:
        with session_scope(helpdesk.engine) as s:
            return subscriptions.announce(
                s,
                service_id="vpn",
                topic="release",
                dedupe_key="release:42",
                text_key="subscription.outage.up",
                params={"service": "VPN", "at": at},
                now=at,
            )

    # vpn has three subscriptions, one stopped: 3 - 1 = 2 notices; email's is not told
    assert release() == 2
    assert release() == 0  # the same event again: nothing new
    rows = sub_notices(helpdesk)
    assert [(n.channel, n.target, n.kind) for n in rows] == [
        ("web", "sess-1", "subscription.release"),
        ("telegram", "7001", "subscription.release"),
    ]
    assert "pulih 2 Mar 2026 14.05 WIB" in rows[0].payload["text"]  # Indonesian by default
    assert "recovered 2 Mar 2026 14:05 WIB" in rows[1].payload["text"]  # the person's English
    assert "/berhenti vpn" in rows[0].payload["text"]
    assert "/unsubscribe vpn" in rows[1].payload["text"]
    with Session(helpdesk.engine) as s:
        ids = {
            sub.chat_id: sub.id
            for sub in s.exec(select(Subscription).where(Subscription.service_id == "vpn"))
        }
    assert rows[0].payload["choices"] == [{"label": "Berhenti", "action": f"unsub:{ids['sess-1']}"}]
    assert rows[1].payload["choices"] == [{"label": "Stop", "action": f"unsub:{ids['7001']}"}]
    assert [n.dedupe_key for n in rows] == ["release:42:web:sess-1", "release:42:telegram:7001"]

    with session_scope(helpdesk.engine) as s, pytest.raises(ValueError):
        subscriptions.announce(
            s,
            service_id="vpn",
            topic="gossip",
            dedupe_key="x",
            text_key="subscription.outage.up",
            params={},
            now=at,
        )


def test_a_web_session_that_is_over_stops_its_subscriptions(helpdesk: Helpdesk) -> None:
    policy = web_sessions.SessionPolicy(idle=dt.timedelta(hours=1))
    with session_scope(helpdesk.engine) as s:
        live = chat_key(web_sessions.issue(s, policy, T0))
        gone = chat_key(web_sessions.issue(s, policy, T0))
        for key in (live, gone):
            subscriptions.subscribe(s, "vpn", subscriptions.Chat("web", key), via="command", now=T0)
        web_sessions.end(s, gone, T0 + STEP)
    at = T0 + 2 * STEP  # both issued for an hour; one ended at T0 + 1 min
    with session_scope(helpdesk.engine) as s:
        written = subscriptions.announce(
            s,
            service_id="vpn",
            topic="outage",
            dedupe_key="outage:test:down",
            text_key="subscription.outage.down",
            params={"service": "VPN", "since": at},
            now=at,
        )
    assert written == 1 and [n.target for n in sub_notices(helpdesk)] == [live]
    with Session(helpdesk.engine) as s:
        ended = {x.chat_id: x.ended_at for x in s.exec(select(Subscription))}
        assert ended == {live: None, gone: at}
        assert [(e.kind, e.via) for e in s.exec(select(SubscriptionEvent))][-1] == (
            "unsubscribed",
            "session_ended",
        )


def test_notice_keys_too_long_are_hashed_not_cut() -> None:
    long_event = "release:" + "x" * 150
    a = subscriptions.notice_key(long_event, "slack", "C" * 60)
    b = subscriptions.notice_key(long_event, "slack", "C" * 59 + "D")
    assert a != b and len(a) <= 200 and len(b) <= 200
    assert subscriptions.notice_key("outage:1:down", "web", "abc") == "outage:1:down:web:abc"


# -- outages ----------------------------------------------------------------------------


async def test_outage_and_recovery_reach_subscribers_once(helpdesk: Helpdesk, chat: Chat) -> None:
    tg = Chat(helpdesk, "telegram", "8001")
    tg.say("/langganan vpn", now=T0)
    chat.say("/langganan vpn", now=T0)
    Chat(helpdesk, "telegram", "8002").say("/langganan email", now=T0)
    read(helpdesk, "up", T0)
    for n in range(1, 6):  # five failed readings: down at the third, then still down
        read(helpdesk, "down", T0 + n * STEP)
    downs = sub_notices(helpdesk)
    assert [(n.channel, n.target, n.kind) for n in downs] == [
        ("telegram", "8001", "subscription.outage"),
        ("web", "visitor-1", "subscription.outage"),
    ]
    # down at the third failure: T0 + 3 min = 08.03 WIB
    assert "sejak 2 Mar 2026 08.03 WIB" in downs[0].payload["text"]

    pulled = chat.notices()  # the web chat pulls its one notice, with its button
    assert len(pulled) == 1 and pulled[0].kind == "notice"
    assert [c.action for c in pulled[0].choices] == [downs[1].payload["choices"][0]["action"]]
    assert chat.notices() == []

    recorder = Recorder()  # the push channel: the deliverer hands it over at its next pass
    deliverer = Deliverer(helpdesk.engine)
    deliverer.register("telegram", recorder)
    await deliverer.drain(T0 + 6 * STEP)
    assert [(n.target, n.kind) for n in recorder.sent if n.kind.startswith("subscription.")] == [
        ("8001", "subscription.outage")
    ]

    read(helpdesk, "up", T0 + 7 * STEP)
    read(helpdesk, "up", T0 + 8 * STEP)  # back at the second good reading: 08.08 WIB
    read(helpdesk, "up", T0 + 9 * STEP)
    ups = sub_notices(helpdesk)[2:]
    assert [(n.channel, n.target) for n in ups] == [("telegram", "8001"), ("web", "visitor-1")]
    assert "pulih 2 Mar 2026 08.08 WIB" in ups[0].payload["text"]
    oid = _outage_id(helpdesk)  # the reporters' key too: a chat that also reported hears once
    assert [n.dedupe_key for n in ups] == [
        f"outage:{oid}:back:telegram:8001",
        f"outage:{oid}:back:web:visitor-1",
    ]
    # a second outage is a new event: told again (2 downs + 2 ups + 2 downs = 6)
    for n in range(10, 13):
        read(helpdesk, "down", T0 + n * STEP)
    assert len(sub_notices(helpdesk)) == 6


def _outage_id(helpdesk: Helpdesk) -> int:
    from storage.models import Outage

    with Session(helpdesk.engine) as s:
        first = s.exec(select(Outage).order_by(col(Outage.id))).first()
        assert first is not None and first.id is not None
        return first.id


async def test_a_planned_outage_inside_maintenance_is_not_an_outage_notice(
    helpdesk: Helpdesk,
) -> None:
    Chat(helpdesk, "telegram", "8101").say("/langganan vpn", now=T0)
    start, end = T0 + dt.timedelta(hours=2), T0 + dt.timedelta(hours=4)
    with session_scope(helpdesk.engine) as s:
        maintenance.schedule(s, None, ["vpn"], start, end, "pindah server", now=T0)
    read(helpdesk, "up", start - STEP)
    for n in range(1, 4):
        read(helpdesk, "down", start + n * STEP)
    read(helpdesk, "up", start + 5 * STEP)
    read(helpdesk, "up", start + 6 * STEP)
    assert [n.kind for n in sub_notices(helpdesk)] == []


# -- maintenance ------------------------------------------------------------------------


def test_maintenance_stages_each_once_however_often_the_tick_runs(helpdesk: Helpdesk) -> None:
    tg = Chat(helpdesk, "telegram", "9001")
    tg.say("/langganan vpn", now=T0)
    tg.say("/langganan email", now=T0)  # both services of the window: told once per stage
    web = Chat(helpdesk, "web", "visitor-9")
    web.say("/langganan email", now=T0)
    start = T0 + dt.timedelta(days=3)  # Thursday 5 Mar 2026 08.00 WIB
    end = start + dt.timedelta(hours=2)
    with session_scope(helpdesk.engine) as s:
        window = maintenance.schedule(s, None, ["vpn", "email"], start, end, "migrasi", now=T0)
        wid = window.id
    # three days ahead: more than 24 h, so subscribers hear of it now
    scheduled = sub_notices(helpdesk)
    assert [(n.target, n.dedupe_key) for n in scheduled] == [
        ("9001", f"maint:{wid}:scheduled:telegram:9001"),
        ("visitor-9", f"maint:{wid}:scheduled:web:visitor-9"),
    ]
    assert "5 Mar 2026 08.00 WIB s.d. 5 Mar 2026 10.00 WIB" in scheduled[0].payload["text"]

    tick = maintenance.maintenance_tick
    moments = {
        "24h": start - dt.timedelta(hours=23),
        "1h": start - dt.timedelta(minutes=50),
        "start": start + dt.timedelta(minutes=1),
        "end": end + dt.timedelta(minutes=1),
    }
    for stage, at in moments.items():
        tick(helpdesk.engine, at)
        tick(helpdesk.engine, at + dt.timedelta(seconds=30))  # the tick again
        with session_scope(helpdesk.engine) as s:  # a replica that read the window before
            w = s.get(MaintenanceWindow, wid)
            assert w is not None and w.announced == stage
            w.announced = maintenance.STAGES[maintenance.STAGES.index(stage) - 1]
            s.add(w)
        tick(helpdesk.engine, at + dt.timedelta(seconds=40))
        keys = [n.dedupe_key for n in sub_notices(helpdesk)]
        assert keys[-2:] == [
            f"maint:{wid}:{stage}:telegram:9001",
            f"maint:{wid}:{stage}:web:visitor-9",
        ], stage
    # 5 moments (scheduled, 24h, 1h, start, end) × 2 chats = 10 notices, none twice
    assert len(sub_notices(helpdesk)) == 10
    texts = [r.text for r in web.notices()]
    assert len(texts) == 5
    assert texts[1].startswith("🛠 Pemberitahuan pemeliharaan terjadwal")
    assert texts[4].startswith("✅ Pemeliharaan")


def test_cancelled_maintenance_is_announced_to_subscribers(helpdesk: Helpdesk) -> None:
    Chat(helpdesk, "telegram", "9101").say("/langganan vpn", now=T0)
    start = T0 + dt.timedelta(hours=10)  # within a day: no "scheduled" notice, the tick's
    with session_scope(helpdesk.engine) as s:
        wid = maintenance.schedule(
            s, None, ["vpn"], start, start + dt.timedelta(hours=1), "x", now=T0
        ).id
    assert sub_notices(helpdesk) == []
    maintenance.maintenance_tick(helpdesk.engine, T0 + STEP)
    with session_scope(helpdesk.engine) as s:
        maintenance.cancel(s, None, wid or 0, now=T0 + 2 * STEP)
    assert [n.dedupe_key for n in sub_notices(helpdesk)] == [
        f"maint:{wid}:24h:telegram:9101",
        f"maint:{wid}:cancelled:telegram:9101",
    ]


# -- stopping from the notice -----------------------------------------------------------


async def test_unsubscribe_from_the_notice_button(helpdesk: Helpdesk, chat: Chat) -> None:
    tg = Chat(helpdesk, "telegram", "8201")
    tg.say("/langganan vpn", now=T0)
    chat.say("/langganan vpn", now=T0)
    read(helpdesk, "up", T0)
    for n in range(1, 4):
        read(helpdesk, "down", T0 + n * STEP)

    [notice] = chat.notices()  # the web chat: the pulled notice on screen, its button pressed
    chat.replies = [notice]
    chat.press("Berhenti", now=T0 + 4 * STEP)
    assert "dihentikan" in chat.text

    recorder = Recorder()  # Telegram: the delivered message's button comes back as a press
    deliverer = Deliverer(helpdesk.engine)
    deliverer.register("telegram", recorder)
    await deliverer.drain(T0 + 4 * STEP)
    [sent] = [n for n in recorder.sent if n.kind == "subscription.outage"]
    tg.act(sent.payload["choices"][0]["action"], now=T0 + 4 * STEP)
    assert "dihentikan" in tg.text

    with Session(helpdesk.engine) as s:
        kinds = [
            e.kind for e in s.exec(select(SubscriptionEvent).order_by(col(SubscriptionEvent.id)))
        ]
    assert kinds == ["subscribed", "subscribed", "unsubscribed", "unsubscribed"]
    read(helpdesk, "up", T0 + 5 * STEP)
    read(helpdesk, "up", T0 + 6 * STEP)  # recovered: stopped subscriptions hear nothing
    assert len(sub_notices(helpdesk)) == 2  # the two "down" notices only
    assert chat.notices() == []


def test_availability_answers_carry_subscribe_buttons(helpdesk: Helpdesk, chat: Chat) -> None:
    read(helpdesk, "up", T0)
    read(helpdesk, "up", T0, service="email")
    chat.say("/ketersediaan", now=T0 + STEP)
    # one per monitored service, by name: "Akses…" (vpn) before "Surat…" (email)
    assert chat.actions == ["sub:vpn", "sub:email"]
    chat.press("sub:email", now=T0 + STEP)
    chat.say("/ketersediaan", now=T0 + STEP)
    assert chat.actions == ["sub:vpn"]
    chat.say("/ketersediaan surel", now=T0 + STEP)
    [sub] = _subs(helpdesk)
    assert chat.actions == [f"unsub:{sub.id}"]


def _subs(helpdesk: Helpdesk) -> list[Subscription]:
    with Session(helpdesk.engine) as s:
        return list(s.exec(select(Subscription)))


# -- the status page --------------------------------------------------------------------


@pytest.fixture
def client(helpdesk: Helpdesk) -> Iterator[TestClient]:
    with TestClient(create_app(helpdesk, run_jobs=False)) as c:
        yield c


def test_status_page_form_subscribes_the_web_session(
    client: TestClient, helpdesk: Helpdesk
) -> None:
    page = client.get("/status")
    assert page.status_code == 200
    assert 'action="/chat/subscribe"' in page.text
    assert '<input type="hidden" name="service" value="vpn">' in page.text
    assert "<script" not in page.text  # the page still runs no script
    assert "form-action 'self'" in page.headers["content-security-policy"]

    res = client.post(
        "/chat/subscribe", data={"service": "vpn", "lang": "id"}, follow_redirects=False
    )
    assert res.status_code == 303 and res.headers["location"] == "/chat"
    token = res.cookies.get("hd_sid") or client.cookies.get("hd_sid")
    assert token
    [sub] = _subs(helpdesk)
    assert (sub.service_id, sub.channel, sub.chat_id) == ("vpn", "web", chat_key(token))
    with Session(helpdesk.engine) as s:
        assert [(e.kind, e.via) for e in s.exec(select(SubscriptionEvent))] == [
            ("subscribed", "status_page")
        ]

    # the same session again (the cookie is kept): still one subscription, one confirmation
    res = client.post(
        "/chat/subscribe", data={"service": "vpn", "lang": "id"}, follow_redirects=False
    )
    assert res.status_code == 303 and "hd_sid" not in res.cookies
    assert len(_subs(helpdesk)) == 1
    polled = client.get("/api/chat/notices").json()["replies"]
    assert len(polled) == 1 and "berlangganan Akses Jarak Jauh (VPN)" in polled[0]["text"]
    assert polled[0]["choices"] == [{"label": "Berhenti", "action": f"unsub:{sub.id}"}]

    # the chat stops it from that button
    replies = client.post("/api/chat", json={"action": f"unsub:{sub.id}"}).json()["replies"]
    assert "dihentikan" in replies[0]["text"]
    assert _subs(helpdesk)[0].ended_at is not None


def test_status_page_form_refusals(client: TestClient, helpdesk: Helpdesk) -> None:
    res = client.post("/chat/subscribe", data={"service": "tidak-ada"}, follow_redirects=False)
    assert res.status_code == 404 and "tidak ditemukan" in res.text
    res = client.post(
        "/chat/subscribe",
        data={"service": "vpn"},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert res.status_code == 403
    res = client.post(
        "/chat/subscribe",
        data={"service": "vpn"},
        headers={"Sec-Fetch-Site": "cross-site"},
        follow_redirects=False,
    )
    assert res.status_code == 403
    res = client.post("/chat/subscribe", json={"service": "vpn"}, follow_redirects=False)
    assert res.status_code == 415
    res = client.post(
        "/chat/subscribe", data={"service": "vpn", "lang": "en"}, follow_redirects=False
    )
    assert res.status_code == 303 and res.headers["location"] == "/chat?lang=en"
    assert [s.service_id for s in _subs(helpdesk)] == ["vpn"]
