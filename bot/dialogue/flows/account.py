"""Ending a link between a chat account and a person: `/keluar` (`/logout`) by the
person, `/lepaskan EMAIL [CHANNEL]` by an administrator.

As in ServiceNow's or Zammad's chat, signing out ends what speaks for you here and
nothing else: in the web chat the session itself ends (the page then starts a new,
anonymous one); on Telegram or Slack this chat account is no longer linked to the person,
who links it again with a new code. Tickets stay with their reporter either way.
"""

from __future__ import annotations

import logging

from bot.core import people, web_sessions
from bot.core.errors import NotAllowed, NotFound
from bot.core.roles import is_admin
from bot.dialogue.messages import Reply
from bot.dialogue.router import Flow, split_first
from bot.dialogue.turn import Turn

log = logging.getLogger(__name__)


def logout(turn: Turn) -> list[Reply]:
    channel, account = turn.msg.channel, turn.msg.user_id
    person = people.unlink_account(turn.session, channel, account)
    ended = web_sessions.end(turn.session, account, turn.now)
    turn.reset()
    if person is not None:
        log.info("%s account of person %s signed out", channel, person.id)
    if ended:
        return turn.say(turn.t("logout.session_ended"))
    if person is not None:
        return turn.say(turn.t("logout.unlinked", name=person.name))
    return turn.say(turn.t("logout.not_linked"))


def unlink(turn: Turn, args: str) -> list[Reply]:
    """Admins only: a lost phone, a staff member who left, a session left open."""
    if not is_admin(turn.person):
        raise NotAllowed("auth.admin_only")
    email, rest = split_first(args)
    if not email:
        return turn.say(turn.t("usage.unlink"))
    person = people.find_person(turn.session, email)
    if person is None or person.email is None:
        raise NotFound("unlink.unknown", text=email[:80])
    channel = split_first(rest.strip())[0] or None
    dropped = people.unlink_person(turn.session, person, channel, now=turn.now)
    assert turn.person is not None
    log.warning(
        "admin %s unlinked %d chat account(s) of person %s (channel %s)",
        turn.person.id,
        len(dropped),
        person.id,
        channel or "all",
    )
    return turn.say(turn.t("unlink.done", name=person.name, n=len(dropped)))


FLOW = Flow(
    name="account",
    commands={
        ("keluar", "logout"): lambda turn, _: logout(turn),
        ("lepaskan", "unlink"): unlink,
    },
)
