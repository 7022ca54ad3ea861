"""/bantuan lists exactly the commands the person may use, on the chat they use."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from bot.i18n import t
from bot.runtime import Helpdesk
from storage.models import Person
from tests.helpers import Chat

#: every user may use these, linked or not, on every channel
EVERYONE = {
    "lapor", "status", "tiketsaya", "komentar", "nilai", "layanan", "bahasa",
    "ketersediaan", "pemeliharaan", "langganan", "berhenti", "tautkan", "batal",
}  # fmt: skip
#: a reporter's own tickets: close a resolved one, reopen one
OWN_TICKETS = {"tutup", "buka"}
OPERATOR = {
    "antrian", "ambil", "akui", "tunda", "selesaikan", "tutup", "buka", "batalkan",
    "triase", "masalah",
}  # fmt: skip
#: what a command without arguments answers to somebody who may not use it
REFUSALS = {
    "antrian": "auth.operator_only",
    "triase": "auth.operator_only",
    "lepaskan": "auth.admin_only",
    "kandidat": "auth.reviewer_only",
    "ringkasan": "summary.not_allowed",
    "laporan": "summary.not_allowed",
    "perubahan": "changes.not_allowed_view",
    "reviu": "review.not_allowed",
    "latihanpemulihan": "auth.recovery_only",
}
#: change requests: seen by the raisers, service providers and recovery coordinators;
#: releases published by the raisers
CHANGES = {"perubahan", "rilis"}


def listed(chat: Chat) -> set[str]:
    chat.say("/bantuan")
    return set(re.findall(r"(?:^• |; )/(\w+)", chat.text, flags=re.MULTILINE))


def email_with_role(helpdesk: Helpdesk, role: str) -> str:
    with Session(helpdesk.engine) as s:
        people = s.exec(select(Person).where(Person.email.is_not(None))).all()  # type: ignore[union-attr]
    return next(p.email for p in people if p.email and role in p.roles)


def test_anonymous_visitors_get_the_user_commands_without_logout(helpdesk: Helpdesk) -> None:
    for chat in (Chat(helpdesk, "web", "visitor-1"), Chat(helpdesk, "telegram", "42")):
        assert listed(chat) == EVERYONE | OWN_TICKETS


@pytest.mark.parametrize("channel", ["web", "telegram", "slack", "whatsapp"])
def test_a_linked_user_may_also_log_out(helpdesk: Helpdesk, channel: str) -> None:
    chat = Chat.as_person(helpdesk, channel, email_with_role(helpdesk, "pengguna"))
    assert listed(chat) == EVERYONE | OWN_TICKETS | {"keluar"}
    expected = "akhiri sesi ini" if channel == "web" else "lepaskan tautan akun chat ini"
    assert expected in chat.text


@pytest.mark.parametrize(
    ("role", "extra"),
    [
        # reads every ticket and change, works none: the user's help besides
        ("penyedia_layanan", {"perubahan"}),
        ("pengelola_teknis", OPERATOR | CHANGES),
        ("pengelola_layanan", OPERATOR | CHANGES | {"kandidat", "ringkasan", "laporan", "reviu"}),
        ("koordinator_layanan", OPERATOR | CHANGES | {"kandidat", "ringkasan", "laporan", "reviu"}),
        (
            "koordinator_pemulihan",
            OPERATOR | {"perubahan", "ringkasan", "laporan", "latihanpemulihan"},
        ),
        (
            "admin",
            OPERATOR
            | CHANGES
            | {"lepaskan", "kandidat", "ringkasan", "laporan", "reviu", "latihanpemulihan"},
        ),
    ],
)
def test_each_role_gets_its_commands(helpdesk: Helpdesk, role: str, extra: set[str]) -> None:
    chat = Chat.as_person(helpdesk, "telegram", email_with_role(helpdesk, role))
    own = set() if extra >= OPERATOR else OWN_TICKETS  # an operator's /tutup, /buka: any ticket
    assert listed(chat) == EVERYONE | own | {"keluar"} | extra
    # and the commands it leaves out are the ones refused; those it lists are not
    for command, key in REFUSALS.items():
        chat.say(f"/{command}")
        refused = t(key, "id") in chat.text
        assert refused == (command not in extra), (role, command, chat.text)


def test_help_in_english_follows_the_same_rules(helpdesk: Helpdesk) -> None:
    chat = Chat.as_person(helpdesk, "web", email_with_role(helpdesk, "pengelola_teknis"))
    chat.say("/bahasa en")
    chat.say("/help")
    assert "For technical managers:" in chat.text and "/logout — end this session" in chat.text
    assert "/unlink" not in chat.text and "/reportdoc" not in chat.text
