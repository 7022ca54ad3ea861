"""Releases (rilis layanan, guideline ch. 7.1.6): an approved change that was carried out
successfully is published to its users with release notes (Indonesian, and English),
the SOP of the service as it now works, its owners (the pengelola layanan and the
pengelola teknis) informed through the outbox, and how to report a problem with it.

Users hear of it through subscriptions (bot.core.subscriptions, built elsewhere):
`release_announcement` says what to announce, and the integrator connects the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from sqlmodel import Session, col, select

from bot.core import change_policy, change_posts, changes, subscriptions
from bot.core.change_states import BERHASIL, DILAKSANAKAN, DITINJAU
from bot.core.errors import HelpdeskError, InvalidTransition, NotAllowed
from bot.i18n import fmt_dt
from storage.db import saved_id
from storage.models import ChangeRequest, Person, Release, Service, ServiceTechnician

MIN_NOTES = 10
#: the command users report a problem with (the guided report), named in every notice
REPORT_COMMAND = "/lapor"


@dataclass(frozen=True)
class Announcement:
    """What to tell a service's subscribers: `t(key, lang, **announcement.params_for(lang))`
    (`params` carries the Indonesian notes; English readers get the English ones)."""

    service_id: str
    key: str
    params: dict[str, Any]
    notes_en: str = ""

    def params_for(self, lang: str) -> dict[str, Any]:
        if lang == "en" and self.notes_en:
            return {**self.params, "notes": self.notes_en}
        return dict(self.params)


def sop_ok(url: str) -> bool:
    parts = urlparse(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in url


def owners(session: Session, service_id: str) -> list[int]:
    """The service manager, then the technical managers: the service's penanggung jawab."""
    service = session.get(Service, service_id)
    ids = [service.service_manager_id] if service and service.service_manager_id else []
    for row in session.exec(
        select(ServiceTechnician.person_id)
        .where(ServiceTechnician.service_id == service_id)
        .order_by(col(ServiceTechnician.person_id))
    ):
        if row not in ids:
            ids.append(row)
    return ids


def release_of(session: Session, change: ChangeRequest) -> Release | None:
    return session.exec(select(Release).where(Release.change_id == change.id)).first()


def publish(
    session: Session,
    change: ChangeRequest,
    by: Person | None,
    channel: str | None,
    *,
    notes_id: str,
    notes_en: str = "",
    sop_url: str,
    now: datetime,
) -> Release:
    """`by=None` is the CLI. Only a change carried out successfully is released, once."""
    change = changes.find(session, saved_id(change))
    if by is not None and not change_policy.may_raise(session, by, change.service_id):
        raise NotAllowed("releases.not_allowed")
    if change.state not in (DILAKSANAKAN, DITINJAU) or change.result != BERHASIL:
        raise InvalidTransition("releases.not_releasable", number=change.number)
    if release_of(session, change) is not None:
        raise HelpdeskError("releases.already", number=change.number)
    if len(notes_id.strip()) < MIN_NOTES:
        raise HelpdeskError("releases.short_notes", n=MIN_NOTES)
    sop_url = sop_url.strip()
    if not sop_ok(sop_url):
        raise HelpdeskError("releases.bad_sop")
    release = Release(
        change_id=saved_id(change),
        service_id=change.service_id,
        notes_id=notes_id.strip()[:4000],
        notes_en=notes_en.strip()[:4000],
        sop_url=sop_url[:500],
        published_by=by.id if by else None,
        channel=channel,
        published_at=now,
    )
    session.add(release)
    session.flush()
    changes.record(session, change, by, channel, "release", new=str(release.id), now=now)
    tell_owners(session, release, change, now)
    tell_subscribers(session, release, now)
    return release


def tell_subscribers(session: Session, release: Release, now: datetime) -> int:
    """The chats subscribed to the service (`/langganan`) hear of the release once, each
    in its language (the English notes for English readers, when there are some)."""
    announcement = release_announcement(session, release, now)
    params: dict[str, Any] = {
        **announcement.params,
        "notes": lambda lang: announcement.params_for(lang)["notes"],
        "at": release.published_at,
    }
    tz = change_policy.policy_for(session).timezone
    return subscriptions.announce(
        session,
        service_id=announcement.service_id,
        topic="release",
        dedupe_key=f"release:{release.id}",
        text_key="releases.announce",  # announcement.key
        params=params,
        now=now,
        tz=tz,
    )


def _params(session: Session, release: Release, change: ChangeRequest) -> dict[str, Any]:
    service = session.get(Service, release.service_id)
    tz = change_policy.policy_for(session).timezone
    return {
        "number": change.number,
        "service": service.name if service else release.service_id,
        "notes": release.notes_id,
        "sop": release.sop_url,
        "report": REPORT_COMMAND,
        "at": fmt_dt(release.published_at, "id", tz),
    }


def tell_owners(session: Session, release: Release, change: ChangeRequest, now: datetime) -> int:
    """The penanggung jawab hear of it on every chat they linked, in their language."""
    params = _params(session, release, change)
    sent = 0
    for pid in owners(session, release.service_id):
        person = session.get(Person, pid)
        english = person is not None and person.lang == "en" and release.notes_en
        sent += change_posts.tell_person(
            session, pid, "releases.owner_notice", f"release:{release.id}:owner", now,
            **{**params, "notes": release.notes_en if english else release.notes_id},
        )  # fmt: skip
    return sent


def release_announcement(session: Session, release: Release, now: datetime) -> Announcement:
    """For the subscriptions' `announce(...)`: the service, the text key and its
    parameters (the notes in both languages, the SOP, the /lapor hint)."""
    change = session.get(ChangeRequest, release.change_id)
    assert change is not None
    return Announcement(
        service_id=release.service_id,
        key="releases.announce",
        params=_params(session, release, change),
        notes_en=release.notes_en,
    )
