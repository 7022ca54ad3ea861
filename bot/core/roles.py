"""Roles of the SPBE guideline and what each may do. Checked in the core, so every
channel (Telegram, Slack, web chat, console) enforces the same rules."""

from __future__ import annotations

from enum import StrEnum

from storage.models import Person


class Role(StrEnum):
    PENGGUNA = "pengguna"
    PENGELOLA_TEKNIS = "pengelola_teknis"
    PENGELOLA_LAYANAN = "pengelola_layanan"
    PENYEDIA_LAYANAN = "penyedia_layanan"
    KOORDINATOR_LAYANAN = "koordinator_layanan"
    KOORDINATOR_PEMULIHAN = "koordinator_pemulihan"
    ADMIN = "admin"


ALL_ROLES = frozenset(r.value for r in Role)
#: "technical managers and up": may work tickets.
OPERATOR_ROLES = frozenset(
    {
        Role.PENGELOLA_TEKNIS,
        Role.PENGELOLA_LAYANAN,
        Role.KOORDINATOR_LAYANAN,
        Role.KOORDINATOR_PEMULIHAN,
        Role.ADMIN,
    }
)
#: may read every ticket and the summaries.
OVERSEER_ROLES = OPERATOR_ROLES | {Role.PENYEDIA_LAYANAN}
#: may ask for summaries and reports.
SUMMARY_ROLES = frozenset(
    {Role.PENGELOLA_LAYANAN, Role.KOORDINATOR_LAYANAN, Role.KOORDINATOR_PEMULIHAN, Role.ADMIN}
)


def roles_of(person: Person | None) -> frozenset[str]:
    if person is None:
        return frozenset({Role.PENGGUNA.value})
    return frozenset(person.roles or [Role.PENGGUNA.value])


def has_any(person: Person | None, roles: frozenset[str] | set[str]) -> bool:
    return bool(roles_of(person) & set(roles))


def is_operator(person: Person | None) -> bool:
    return has_any(person, OPERATOR_ROLES)


def is_admin(person: Person | None) -> bool:
    return has_any(person, {Role.ADMIN})
