"""People, their roles and the chat identities that speak for them."""

from __future__ import annotations

import csv
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator
from sqlmodel import Session, col, select

from bot.core import web_sessions
from bot.core.errors import HelpdeskError
from bot.core.roles import ALL_ROLES
from storage.db import insert_for, saved_id
from storage.models import Identity, LinkCode, Person, Ticket, UnlinkedAccount, utcnow


class PeopleError(Exception):
    """A people file that cannot be imported; the message says where and why."""


class PersonEntry(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=320)
    unit: str | None = None
    roles: list[str] = ["pengguna"]
    skills: list[str] = []
    lang: str | None = None
    #: a mobile number in any usual writing (+62 812-3456-7890, 0812 3456 7890)
    phone: str | None = None

    @field_validator("phone", mode="before")
    @classmethod
    def _phone(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        digits = normalize_phone(str(value))
        if digits is None:
            raise ValueError(f"not a phone number: {value!r}")
        return digits

    @field_validator("roles", "skills", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]
        return value

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, value: list[str]) -> list[str]:
        unknown = [r for r in value if r not in ALL_ROLES]
        if unknown:
            raise ValueError(f"unknown roles {unknown}; known: {sorted(ALL_ROLES)}")
        return value or ["pengguna"]


def _read_rows(path: Path) -> list[dict]:
    if path.suffix.lower() == ".csv":
        with open(path, encoding="utf-8-sig", newline="") as fh:
            return [dict(row) for row in csv.DictReader(fh)]
    try:
        with open(path, encoding="utf-8") as fh:
            raw = yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        raise PeopleError(f"{path}: invalid YAML: {exc}") from None
    rows = raw.get("people") if isinstance(raw, dict) else raw
    if not isinstance(rows, list):
        raise PeopleError(f"{path}: expected a list under 'people'")
    return rows


def parse_people(path: Path) -> list[PersonEntry]:
    path = Path(path)
    if not path.exists():
        raise PeopleError(f"{path}: file not found")
    entries, problems = [], []
    for n, row in enumerate(_read_rows(path), start=1):
        try:
            entries.append(PersonEntry.model_validate(row))
        except ValidationError as exc:
            for err in exc.errors():
                problems.append(
                    f"{path}: entry #{n}: {'.'.join(map(str, err['loc']))}: {err['msg']}"
                )
    if problems:
        raise PeopleError("\n".join(problems))
    return entries


def import_people(session: Session, path: Path) -> tuple[int, int]:
    """Upsert by e-mail; idempotent. Returns (created, updated)."""
    created = updated = 0
    for e in parse_people(path):
        email = str(e.email).lower()
        person = session.exec(select(Person).where(Person.email == email)).first()
        values: dict[str, Any] = {  # column → value, for a new row and for the diff
            "name": e.name,
            "unit": e.unit,
            "roles": e.roles,
            "skills": e.skills,
            "lang": e.lang,
            "phone": e.phone,
        }
        if person is None:
            session.add(Person(email=email, **values))
            created += 1
        elif any(getattr(person, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(person, k, v)
            session.add(person)
            updated += 1
    session.flush()
    return created, updated


#: the country code a number written nationally (0812…) is in; the helpdesk serves
#: Indonesian government offices
DEFAULT_COUNTRY_CODE = "62"


def normalize_phone(raw: str, country_code: str = DEFAULT_COUNTRY_CODE) -> str | None:
    """Digits with the country code, as WhatsApp names its users (wa_id): "+62 812-3456
    7890", "0812 3456 7890" and "6281234567890" are one number. None for what cannot be
    a phone number (E.164 has 8 to 15 digits)."""
    text = raw.strip()
    if not text or any(c.isalpha() for c in text):
        return None
    digits = "".join(c for c in text if c.isdigit())
    if text.startswith("+") or text.startswith("00"):
        digits = digits[2:] if text.startswith("00") else digits
    elif digits.startswith("0"):
        digits = country_code + digits[1:]
    return digits if 8 <= len(digits) <= 15 else None


def find_by_phone(session: Session, phone: str) -> Person | None:
    """The one person with this number; None when nobody or several people have it (a
    shared office number links nobody by itself: they use a link code)."""
    digits = normalize_phone(phone)
    if digits is None:
        return None
    found = list(session.exec(select(Person).where(Person.phone == digits).limit(2)))
    return found[0] if len(found) == 1 else None


def identify(session: Session, channel: str, external_id: str) -> Person | None:
    """The person behind a chat account, or None for somebody we have never seen."""
    return session.exec(
        select(Person)
        .join(Identity, col(Identity.person_id) == col(Person.id))
        .where(Identity.channel == channel, Identity.external_id == external_id)
    ).first()


def ensure_person(
    session: Session, channel: str, external_id: str, display_name: str | None = None
) -> Person:
    """An unknown chat user becomes a pengguna with no operator rights."""
    person = identify(session, channel, external_id)
    if person is not None:
        return person
    person = Person(name=(display_name or f"{channel}:{external_id}")[:200], roles=["pengguna"])
    session.add(person)
    session.flush()
    session.add(
        Identity(
            person_id=saved_id(person),
            channel=channel,
            external_id=external_id,
            display_name=display_name,
        )
    )
    session.flush()
    return person


def find_person(session: Session, key: str) -> Person | None:
    """By e-mail or numeric id."""
    if key.isdigit():
        return session.get(Person, int(key))
    return session.exec(select(Person).where(Person.email == key.lower())).first()


def issue_link_code(
    session: Session, person: Person, *, ttl: timedelta, now: datetime | None = None
) -> str:
    now = now or utcnow()
    code = "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(8))
    session.add(LinkCode(code=code, person_id=saved_id(person), expires_at=now + ttl))
    session.flush()
    return code


def redeem_link_code(
    session: Session,
    code: str,
    channel: str,
    external_id: str,
    *,
    display_name: str | None = None,
    now: datetime | None = None,
) -> Person:
    """Link the chat account to the person of the code; works once, before it expires.
    Tickets the account reported before linking move to that person."""
    now = now or utcnow()
    used = session.execute(
        sa.update(LinkCode)
        .where(col(LinkCode.code) == code.strip().upper())
        .where(col(LinkCode.used_at).is_(None))
        .where(col(LinkCode.expires_at) > now)
        .values(used_at=now)
        .returning(col(LinkCode.person_id))
    ).scalar_one_or_none()
    if used is None:
        raise HelpdeskError("link.invalid_code")
    person = session.get(Person, used)
    assert person is not None
    session.execute(  # linked by code again: the profile e-mail may link it once more
        sa.delete(UnlinkedAccount).where(
            col(UnlinkedAccount.channel) == channel,
            col(UnlinkedAccount.external_id) == external_id,
        )
    )
    ident = session.exec(
        select(Identity).where(Identity.channel == channel, Identity.external_id == external_id)
    ).first()
    if ident is None:
        session.add(
            Identity(
                person_id=saved_id(person),
                channel=channel,
                external_id=external_id,
                display_name=display_name,
            )
        )
    elif ident.person_id != person.id:
        old = session.get(Person, ident.person_id)
        ident.person_id = saved_id(person)
        session.add(ident)
        if old is not None and old.email is None:
            # a person made for this chat account alone: its tickets are this user's
            session.execute(
                sa.update(Ticket)
                .where(col(Ticket.reporter_id) == old.id)
                .values(reporter_id=person.id)
            )
    session.flush()
    return person


def is_linked(person: Person | None) -> bool:
    """Whether the person is somebody the ministry knows (an imported staff entry with an
    e-mail), not a chat account that merely spoke to the bot."""
    return person is not None and person.email is not None


def unlink_account(session: Session, channel: str, external_id: str) -> Person | None:
    """The chat account stops speaking for its person (its next message comes from an
    unknown user); returns that person, or None when the account was not linked to one.
    The person's tickets stay theirs. The account links again only by one-time code
    (`remember_unlinked`)."""
    ident = session.exec(
        select(Identity).where(Identity.channel == channel, Identity.external_id == external_id)
    ).first()
    if ident is None:
        return None
    person = session.get(Person, ident.person_id)
    if not is_linked(person):
        return None
    session.delete(ident)
    remember_unlinked(session, ident)
    session.flush()
    return person


def unlink_person(
    session: Session, person: Person, channel: str | None = None, *, now: datetime | None = None
) -> list[Identity]:
    """Drop the person's chat accounts (of one channel, or all); their web sessions end,
    and none links again but by one-time code (`remember_unlinked`). Returns what was
    dropped, for the caller's record."""
    stmt = select(Identity).where(Identity.person_id == person.id)
    if channel:
        stmt = stmt.where(Identity.channel == channel)
    dropped = list(session.exec(stmt))
    web_keys = [i.external_id for i in dropped if i.channel == web_sessions.CHANNEL]
    web_sessions.end_for_keys(session, web_keys, now or utcnow())
    for ident in dropped:
        session.delete(ident)
        remember_unlinked(session, ident, now)
    session.flush()
    return dropped


def remember_unlinked(session: Session, ident: Identity, now: datetime | None = None) -> None:
    """Record that this account was unlinked on purpose. Channels that link accounts by
    their platform profile's e-mail before every turn (Slack) would otherwise link it
    straight back, with the person's rights; `email_link_blocked` says they may not,
    until a one-time code links it again (`redeem_link_code` clears the record)."""
    session.execute(
        insert_for(session)(UnlinkedAccount)
        .values(
            channel=ident.channel,
            external_id=ident.external_id,
            person_id=ident.person_id,
            unlinked_at=now or utcnow(),
        )
        .on_conflict_do_update(
            index_elements=["channel", "external_id"],
            set_={"person_id": ident.person_id, "unlinked_at": now or utcnow()},
        )
    )


def email_link_blocked(session: Session, channel: str, external_id: str) -> bool:
    """Whether the account was unlinked and has not been linked by code since: its
    profile e-mail must not link it."""
    return session.get(UnlinkedAccount, (channel, external_id)) is not None
