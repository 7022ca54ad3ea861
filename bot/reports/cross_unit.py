"""The cross-unit map (guideline ch. 3.6, level 3 e): for each service, the unit that
provides it, its service manager's unit and its technical managers' units, from the
catalogue and people tables; then the same read by unit, so an assessor sees that the
roles are not all in one unit."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlmodel import Session, col, select

from bot import i18n
from bot.i18n import DEFAULT_LANG
from bot.reports.model import Report, Table
from storage.models import Person, Service, ServiceTechnician


def cross_unit_map(session: Session, *, now: datetime, lang: str = DEFAULT_LANG) -> Report:
    services = list(session.exec(select(Service).where(col(Service.active)).order_by(Service.name)))
    people = {p.id: p for p in session.exec(select(Person))}
    techs: dict[str, list[Person]] = defaultdict(list)
    for link in session.exec(select(ServiceTechnician)):
        if link.person_id in people:
            techs[link.service_id].append(people[link.person_id])
    none = i18n.t("reports.crossunit.none", lang)
    rows = []
    by_unit: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    spread = 0
    for svc in services:
        manager = people.get(svc.service_manager_id) if svc.service_manager_id else None
        team = sorted(techs[svc.id], key=lambda p: p.name)
        team_units = sorted({p.unit for p in team if p.unit})
        units = {u for u in (svc.provider_unit, manager.unit if manager else None) if u}
        units |= set(team_units)
        spread += len(units) > 1
        rows.append(
            [
                svc.name,
                svc.provider_unit or none,
                manager.name if manager else none,
                (manager.unit if manager else None) or none,
                ", ".join(p.name for p in team) or none,
                ", ".join(team_units) or none,
                len(units),
            ]
        )
        if svc.provider_unit:
            by_unit[svc.provider_unit]["provider"].add(svc.name)
        if manager and manager.unit:
            by_unit[manager.unit]["manager"].add(svc.name)
        for unit in team_units:
            by_unit[unit]["technical"].add(svc.name)
    unit_rows = [
        [unit, len(roles["provider"]), len(roles["manager"]), len(roles["technical"])]
        for unit, roles in sorted(by_unit.items())
    ]
    return Report(
        "lintas-unit",
        i18n.t("reports.crossunit.title", lang),
        now,
        intro=i18n.t("reports.crossunit.intro", lang),
        sections=[
            Table(
                i18n.t("reports.crossunit.map", lang),
                [
                    i18n.t("reports.column.service", lang),
                    i18n.t("reports.column.provider", lang),
                    i18n.t("reports.column.service_manager", lang),
                    i18n.t("reports.crossunit.manager_unit", lang),
                    i18n.t("reports.column.technicians", lang),
                    i18n.t("reports.crossunit.technician_units", lang),
                    i18n.t("reports.crossunit.units", lang),
                ],
                rows,
                name="map",
            ),
            Table(
                i18n.t("reports.crossunit.by_unit", lang),
                [
                    i18n.t("reports.crossunit.unit", lang),
                    i18n.t("reports.crossunit.as_provider", lang),
                    i18n.t("reports.crossunit.as_manager", lang),
                    i18n.t("reports.crossunit.as_technical", lang),
                ],
                unit_rows,
                name="units",
            ),
        ],
        notes=[
            i18n.t(
                "reports.crossunit.summary",
                lang,
                units=len(unit_rows),
                spread=spread,
                services=len(services),
            )
        ],
        lang=lang,
    )
