"""Who may do what with a change request, and the rules the settings give: the approval
rule per kind, and how many working days an emergency change has for its review.
Installed per engine (runtime.build), as the SLA policy is."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.core.business_calendar import Calendar, calendar
from bot.core.change_states import DARURAT, KOORDINATOR, NORMAL, PENGELOLA, RULES, STANDAR
from bot.core.per_engine import PerEngine
from bot.core.roles import Role, has_any
from storage.models import ChangeRequest, Person, Service, ServiceTechnician

if TYPE_CHECKING:
    from bot.config import Settings

#: who may raise a change: the technical and service managers of the service (checked
#: per service), and coordinators and admins for any service
RAISER_ROLES = frozenset(
    {Role.PENGELOLA_TEKNIS, Role.PENGELOLA_LAYANAN, Role.KOORDINATOR_LAYANAN, Role.ADMIN}
)
#: a working day, counted whole (00:00–24:00), closed on holidays and cuti bersama
WORKING_DAYS = "senin-jumat 00:00-24:00"


@dataclass(frozen=True)
class Policy:
    rules: Mapping[str, str] = field(default_factory=lambda: {STANDAR: "none", NORMAL: "all"})
    review_days: int = 2
    timezone: str = "Asia/Jakarta"
    cuti_bersama: frozenset[date] = frozenset()
    package_cuti_bersama: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(
            rules=dict(settings.change_approval_rules),
            review_days=settings.change_emergency_review_days,
            timezone=settings.timezone,
            cuti_bersama=frozenset(settings.cuti_bersama),
            package_cuti_bersama=settings.cuti_bersama_from_holidays,
        )

    def rule_for(self, kind: str) -> str:
        """Emergency changes go ahead at once: no approval before, a review after."""
        if kind == DARURAT:
            return "none"
        rule = self.rules.get(kind, "all")
        return rule if rule in RULES else "all"

    @property
    def working_days(self) -> Calendar:
        return calendar(WORKING_DAYS, self.timezone, self.cuti_bersama, self.package_cuti_bersama)

    def review_due(self, after: datetime) -> datetime:
        return self.working_days.add(after, timedelta(days=self.review_days))


DEFAULT = Policy()
_policies = PerEngine(DEFAULT)


def install(engine: Engine, policy: Policy) -> None:
    """Make `policy` the one every session on `engine` uses (runtime.build does this)."""
    _policies.install(engine, policy)


def policy_for(session: Session) -> Policy:
    return _policies.of(session)


def may_raise(session: Session, person: Person | None, service_id: str | None = None) -> bool:
    """Technical managers for their services, service managers for theirs, coordinators
    and admins for all. Without a service: whether the person may raise any change."""
    if not has_any(person, RAISER_ROLES):
        return False
    if service_id is None or has_any(person, {Role.KOORDINATOR_LAYANAN, Role.ADMIN}):
        return True
    assert person is not None
    service = session.get(Service, service_id)
    if service is not None and service.service_manager_id == person.id:
        return True
    return session.get(ServiceTechnician, (service_id, person.id)) is not None


def parties_of(session: Session, person: Person | None, change: ChangeRequest) -> list[str]:
    """The approver parties `person` speaks for on this change (empty: not an approver)."""
    if person is None:
        return []
    parties = [KOORDINATOR] if has_any(person, {Role.KOORDINATOR_LAYANAN}) else []
    service = session.get(Service, change.service_id)
    if service is not None and service.service_manager_id == person.id:
        parties.append(PENGELOLA)
    return parties


def required_parties(session: Session, change: ChangeRequest) -> set[str]:
    service = session.get(Service, change.service_id)
    has_manager = service is not None and service.service_manager_id is not None
    return {KOORDINATOR, PENGELOLA} if has_manager else {KOORDINATOR}


def may_view(person: Person | None) -> bool:
    return has_any(person, RAISER_ROLES | {Role.PENYEDIA_LAYANAN, Role.KOORDINATOR_PEMULIHAN})


def may_implement(session: Session, person: Person | None, change: ChangeRequest) -> bool:
    return (
        person is None
        or change.requested_by == person.id
        or may_raise(session, person, change.service_id)
    )
