"""/langganan and /berhenti through the real conversation engine, on a push channel
(Telegram) and the web chat (pull): subscribe, list, stop, fuzzy names, unknown
services, double subscriptions, the buttons on service answers and forged buttons."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, col, select

from bot.dialogue.messages import Incoming
from bot.runtime import Helpdesk
from storage.models import Subscription, SubscriptionEvent
from tests.helpers import Chat

NOW = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)  # Monday 08.00 WIB


def subs(helpdesk: Helpdesk) -> list[Subscription]:
    with Session(helpdesk.engine) as s:
        return list(s.exec(select(Subscription).order_by(col(Subscription.id))))


def events(helpdesk: Helpdesk) -> list[tuple[int, str, str]]:
    with Session(helpdesk.engine) as s:
        return [
            (e.subscription_id, e.kind, e.via)
            for e in s.exec(select(SubscriptionEvent).order_by(col(SubscriptionEvent.id)))
        ]


def test_subscribe_list_and_stop_on_telegram(helpdesk: Helpdesk) -> None:
    tg = Chat(helpdesk, "telegram", "5001")
    tg.say("/langganan vpn", now=NOW)
    assert "berlangganan Akses Jarak Jauh (VPN)" in tg.text
    [sub] = subs(helpdesk)
    assert (sub.service_id, sub.channel, sub.chat_id, sub.ended_at) == (
        "vpn",
        "telegram",
        "5001",
        None,
    )
    assert tg.actions == [f"unsub:{sub.id}"]

    tg.say("/langganan VPN", now=NOW)  # twice: still one subscription, one start recorded
    assert "sudah berlangganan" in tg.text
    assert len(subs(helpdesk)) == 1
    assert events(helpdesk) == [(sub.id, "subscribed", "command")]

    tg.say("/langganan presnsi pegawai", now=NOW)  # a typo still finds the service
    assert "Presensi Pegawai Elektronik" in tg.text
    tg.say("/langganan", now=NOW)
    assert "Akses Jarak Jauh (VPN)" in tg.text and "Presensi Pegawai Elektronik" in tg.text
    presensi = next(s for s in subs(helpdesk) if s.service_id == "presensi")
    # listed by service name: "Akses…" before "Presensi…"
    assert tg.actions == [f"unsub:{sub.id}", f"unsub:{presensi.id}"]

    tg.press(f"unsub:{sub.id}", now=NOW)
    assert "dihentikan" in tg.text
    assert tg.actions == ["sub:vpn"]  # subscribe again
    tg.say("/langganan", now=NOW)
    assert "Akses Jarak Jauh (VPN)" not in tg.text and tg.actions == [f"unsub:{presensi.id}"]

    tg.say("/berhenti presensi", now=NOW)
    assert "dihentikan" in tg.text
    tg.say("/langganan", now=NOW)
    assert "belum berlangganan" in tg.text and tg.actions == []
    tg.say("/berhenti vpn", now=NOW)
    assert "tidak berlangganan" in tg.text

    tg.say("/langganan vpn", now=NOW)  # subscribing again reuses the row
    assert [s.service_id for s in subs(helpdesk) if s.ended_at is None] == ["vpn"]
    assert len(subs(helpdesk)) == 2
    assert [kind for _, kind, _ in events(helpdesk)] == [
        "subscribed",  # vpn
        "subscribed",  # presensi
        "unsubscribed",  # vpn, by button
        "unsubscribed",  # presensi, by command
        "subscribed",  # vpn again
    ]
    assert events(helpdesk)[2] == (sub.id, "unsubscribed", "button")


def test_english_aliases_and_language(helpdesk: Helpdesk) -> None:
    tg = Chat(helpdesk, "telegram", "5002")
    tg.say("/language en", now=NOW)
    tg.say("/subscribe email", now=NOW)
    assert "now subscribes to Surat Elektronik Dinas (Surel)" in tg.text
    tg.say("/unsubscribe email", now=NOW)
    assert "stopped" in tg.text
    [sub] = subs(helpdesk)
    assert sub.ended_at is not None and sub.lang == "en"


def test_unknown_service_is_refused(helpdesk: Helpdesk, chat: Chat) -> None:
    replies = chat.say("/langganan mesin kopi lantai tiga", now=NOW)
    assert [r.kind for r in replies] == ["error"]
    assert "tidak ditemukan" in chat.text and "/layanan" in chat.text
    chat.say("/berhenti zzqqxx", now=NOW)
    assert "tidak ditemukan" in chat.text
    assert subs(helpdesk) == []


def test_web_chat_subscribes_from_the_service_answers(helpdesk: Helpdesk, chat: Chat) -> None:
    chat.say("/layanan vpn", now=NOW)
    assert "sub:vpn" in chat.actions
    chat.press("sub:vpn", now=NOW)
    assert "berlangganan Akses Jarak Jauh (VPN)" in chat.text
    [sub] = subs(helpdesk)
    assert (sub.channel, sub.chat_id, sub.person_id) == ("web", "visitor-1", None)
    assert events(helpdesk) == [(sub.id, "subscribed", "button")]
    chat.say("/layanan vpn", now=NOW)  # now the answer offers to stop instead
    assert f"unsub:{sub.id}" in chat.actions and "sub:vpn" not in chat.actions
    chat.say("/layanan", now=NOW)  # the catalogue, then one service's card
    chat.press("svcinfo:email", now=NOW)
    assert "sub:email" in chat.actions


def test_forged_buttons_are_refused(helpdesk: Helpdesk, chat: Chat) -> None:
    tg = Chat(helpdesk, "telegram", "5003")
    tg.say("/langganan vpn", now=NOW)
    [theirs] = subs(helpdesk)

    chat.act(f"unsub:{theirs.id}", now=NOW)  # another chat's subscription
    assert "tidak ada di chat ini" in chat.text
    chat.act("unsub:999999", now=NOW)
    assert "tidak ada di chat ini" in chat.text
    chat.act("unsub:1;DROP", now=NOW)  # not a number: a stale button
    assert "tidak berlaku" in chat.text or "tidak lagi" in chat.text
    chat.act("sub:tidak-ada", now=NOW)
    assert "tidak ditemukan" in chat.text
    chat.act("sub:", now=NOW)
    assert "tidak ditemukan" in chat.text
    assert [(s.chat_id, s.ended_at) for s in subs(helpdesk)] == [("5003", None)]
    assert events(helpdesk) == [(theirs.id, "subscribed", "command")]


def test_a_stopped_subscription_stops_once(helpdesk: Helpdesk) -> None:
    tg = Chat(helpdesk, "telegram", "5004")
    tg.say("/langganan vpn", now=NOW)
    [sub] = subs(helpdesk)
    tg.act(f"unsub:{sub.id}", now=NOW)
    tg.act(f"unsub:{sub.id}", now=NOW)  # the old button pressed again
    assert "sudah dihentikan sebelumnya" in tg.text
    assert [kind for _, kind, _ in events(helpdesk)] == ["subscribed", "unsubscribed"]


def test_ambiguous_name_offers_a_choice(helpdesk: Helpdesk, chat: Chat) -> None:
    chat.say("/langganan pegawai", now=NOW)  # the SSO and the attendance service alike
    assert "Layanan mana" in chat.text
    assert sorted(chat.actions) == ["sub:presensi", "sub:sso"]
    assert subs(helpdesk) == []
    chat.press("sub:presensi", now=NOW)
    assert [s.service_id for s in subs(helpdesk)] == ["presensi"]


def test_a_group_subscribes_as_a_chat(helpdesk: Helpdesk) -> None:
    """In a group, the subscription is the group's: its notices go to the group, and any
    member may stop it, from the list or the notice."""

    def say(user: str, text: str | None = None, action: str | None = None) -> str:
        msg = Incoming(
            channel="telegram",
            chat_id="-100500",
            user_id=user,
            text=text,
            action=action,
            group=True,
        )
        return "\n".join(r.text for r in helpdesk.conversations.handle(msg, now=NOW))

    assert "berlangganan Akses Jarak Jauh (VPN)" in say("801", "/langganan vpn")
    [sub] = subs(helpdesk)
    assert (sub.channel, sub.chat_id) == ("telegram", "-100500")
    assert "Akses Jarak Jauh (VPN)" in say("802", "/langganan")  # another member sees it
    assert "dihentikan" in say("802", action=f"unsub:{sub.id}")
    assert subs(helpdesk)[0].ended_at is not None
