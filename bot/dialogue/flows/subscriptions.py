"""Chat side of service subscriptions: /langganan LAYANAN, /berhenti LAYANAN, a plain
/langganan listing the chat's subscriptions with a button to stop each, and the
"Langganan" / "Berhenti" buttons other answers (/layanan, /ketersediaan) and the
notices themselves carry. Every answer is complete in one turn: no states.

Anyone may subscribe the chat they write in (a group included); a button only ever
acts on this chat's own subscriptions (bot.core.subscriptions.owned).
"""

from __future__ import annotations

from bot.core import subscriptions
from bot.core.errors import HelpdeskError
from bot.core.subscriptions import STOP_ACTION, SUBSCRIBE_ACTION
from bot.dialogue.messages import MAX_ACTION_BYTES, Choice, Reply
from bot.dialogue.router import Button, Flow
from bot.dialogue.turn import Turn
from storage.models import Service, Subscription

STATES: tuple[str, ...] = ()
#: buttons shown at most (Telegram's keyboard, Slack's blocks)
MAX_BUTTONS = 12


def _chat(turn: Turn) -> subscriptions.Chat:
    return subscriptions.Chat(turn.msg.channel, turn.msg.chat_id, turn.person, turn.conv.lang)


def _action(prefix: str, value: object) -> str | None:
    """None when it would not fit a button (Telegram's 64 bytes): no button then, the
    typed command still works."""
    action = f"{prefix}:{value}"
    return action if len(action.encode()) <= MAX_ACTION_BYTES else None


def _subscribe_button(turn: Turn, service: Service, key: str) -> list[Choice]:
    action = _action(SUBSCRIBE_ACTION, service.id)
    return [Choice(turn.t(key, service=service.name)[:60], action)] if action else []


def _stop_button(turn: Turn, sub: Subscription, service: Service, key: str) -> Choice:
    return Choice(turn.t(key, service=service.name)[:60], f"{STOP_ACTION}:{sub.id}")


def service_choice(turn: Turn, service: Service) -> list[Choice]:
    """The button a service answer carries: subscribe, or stop when the chat already is."""
    sub = subscriptions.subscription_of(turn.session, service.id, _chat(turn))
    if sub is not None:
        return [_stop_button(turn, sub, service, "subscription.stop_named")]
    return _subscribe_button(turn, service, "subscription.subscribe_button")


def services_choices(turn: Turn, services: list[Service]) -> list[Choice]:
    """One subscribe button per service of a list answer (those not subscribed yet)."""
    mine = {svc.id for _, svc in subscriptions.of_chat(turn.session, _chat(turn))}
    out: list[Choice] = []
    for svc in services:
        if svc.id not in mine and len(out) < MAX_BUTTONS:
            out += _subscribe_button(turn, svc, "subscription.subscribe_named")
    return out


# -- commands -----------------------------------------------------------------------


def subscribe_command(turn: Turn, query: str) -> list[Reply]:
    if not query:
        return list_subscriptions(turn)
    found = subscriptions.candidates(turn.session, query)
    if not found:
        raise HelpdeskError("subscription.unknown_service", service=query[:60])
    if len(found) > 1:
        choices = [c for svc in found for c in _subscribe_button(turn, svc, "subscription.pick")]
        return turn.say(turn.t("subscription.which", text=query[:60]), choices)
    return _subscribe(turn, found[0], "command")


def stop_command(turn: Turn, query: str) -> list[Reply]:
    if not query:
        return list_subscriptions(turn)
    found = subscriptions.candidates(turn.session, query)
    if not found:
        raise HelpdeskError("subscription.unknown_service", service=query[:60])
    chat = _chat(turn)
    mine = [
        (sub, svc)
        for svc in found
        if (sub := subscriptions.subscription_of(turn.session, svc.id, chat)) is not None
    ]
    if not mine:
        names = ", ".join(svc.name for svc in found)
        return turn.say(
            turn.t("subscription.not_subscribed", service=names),
            [turn.choice("subscription.list_button", "subs:list")],
        )
    if len(mine) > 1:
        return turn.say(
            turn.t("subscription.which_stop", text=query[:60]),
            [_stop_button(turn, sub, svc, "subscription.stop_named") for sub, svc in mine],
        )
    sub, svc = mine[0]
    return _stop(turn, sub, svc, "command")


def list_subscriptions(turn: Turn) -> list[Reply]:
    mine = subscriptions.of_chat(turn.session, _chat(turn))
    if not mine:
        return turn.say(turn.t("subscription.none"))
    lines = [turn.t("subscription.list_header")]
    lines += [turn.t("subscription.list_line", service=svc.name, id=svc.id) for _, svc in mine]
    lines.append(turn.t("subscription.list_hint"))
    return turn.say(
        "\n".join(lines),
        [
            _stop_button(turn, sub, svc, "subscription.stop_named")
            for sub, svc in mine[:MAX_BUTTONS]
        ],
    )


# -- the work -----------------------------------------------------------------------


def _subscribe(turn: Turn, service: Service, via: str) -> list[Reply]:
    sub, started = subscriptions.subscribe(
        turn.session, service.id, _chat(turn), via=via, now=turn.now
    )
    key = "subscription.done" if started else "subscription.already"
    return turn.say(
        turn.t(key, service=service.name, id=service.id),
        [_stop_button(turn, sub, service, "subscription.stop_button")],
    )


def _stop(turn: Turn, sub: Subscription, service: Service, via: str) -> list[Reply]:
    stopped = subscriptions.unsubscribe(turn.session, sub, by=turn.person, via=via, now=turn.now)
    key = "subscription.stopped" if stopped else "subscription.already_stopped"
    return turn.say(
        turn.t(key, service=service.name, id=service.id),
        _subscribe_button(turn, service, "subscription.again_button"),
    )


def on_subscribe_button(turn: Turn, service_id: str) -> list[Reply]:
    service = subscriptions.active_service(turn.session, service_id)
    return _subscribe(turn, service, "button")


def on_stop_button(turn: Turn, value: str) -> list[Reply] | None:
    """From a list, an answer or a notice. A value that is no number is stale; another
    chat's subscription is refused (bot.core.subscriptions.owned)."""
    if not (value.isascii() and value.isdecimal() and len(value) <= 12):
        return None
    sub = subscriptions.owned(turn.session, int(value), _chat(turn))
    service = turn.session.get(Service, sub.service_id)  # stoppable even once retired
    assert service is not None  # a foreign key
    return _stop(turn, sub, service, "button")


FLOW = Flow(
    name="subscriptions",
    commands={
        ("langganan", "subscribe"): subscribe_command,
        ("berhenti", "unsubscribe"): stop_command,
    },
    buttons={
        SUBSCRIBE_ACTION: Button(on_subscribe_button),
        STOP_ACTION: Button(on_stop_button),
        "subs:list": Button(lambda turn, _: list_subscriptions(turn), exact=True),
    },
)
