"""Ticket and service texts shared by every channel."""

from __future__ import annotations

from sqlmodel import Session

from bot.core import reporter_contact, sla
from bot.core.priority import PRIORITY_NAMES
from bot.core.roles import is_operator
from bot.core.ticket_states import MENUNGGU
from bot.dialogue.turn import Turn
from bot.i18n import fmt_number
from storage.models import Person, Service, Ticket


def ticket_line(turn: Turn, ticket: Ticket) -> str:
    state = turn.t(f"state.{ticket.state}")
    line = f"{ticket.number} · P{ticket.priority} · {state} · {ticket.title[:60]}"
    if ticket.triage_priority is not None:
        line += " · " + turn.t("triage.mark", priority=ticket.triage_priority)
    return line


def ticket_detail(turn: Turn, session: Session, ticket: Ticket) -> str:
    service = session.get(Service, ticket.service_id) if ticket.service_id else None
    assignee = session.get(Person, ticket.assignee_id) if ticket.assignee_id else None
    lines = [
        turn.t("ticket.detail.header", number=ticket.number),
        turn.t("ticket.detail.title", title=ticket.title),
        turn.t("ticket.detail.type", type=turn.t(f"type.{ticket.type}")),
        turn.t("ticket.detail.service", service=service.name if service else turn.t("common.none")),
        turn.t("ticket.detail.state", state=turn.t(f"state.{ticket.state}")),
        turn.t(
            "ticket.detail.priority",
            priority=ticket.priority,
            name=turn.t(f"priority.{PRIORITY_NAMES[ticket.priority]}"),
        ),
        turn.t(
            "ticket.detail.assignee",
            name=assignee.name if assignee else turn.t("ticket.unassigned"),
        ),
        turn.t("ticket.detail.created", at=turn.dt(ticket.created_at)),
    ]
    if ticket.triage_priority is not None:
        lines.insert(6, turn.t("triage.detail", priority=ticket.triage_priority))
    contact = (
        reporter_contact.operator_line(ticket, turn.lang) if is_operator(turn.person) else None
    )
    if contact:  # the reporter's contact is for operators, not for other users
        lines.append(contact)
    if ticket.response_due_at or ticket.resolution_due_at:
        lines.append(
            turn.t(
                "ticket.detail.due",
                response=turn.dt(ticket.response_due_at),
                resolution=turn.dt(ticket.resolution_due_at),
            )
        )
        lines.extend(sla_lines(turn, session, ticket))
    if ticket.resolution:
        lines.append(turn.t("ticket.detail.resolution", note=ticket.resolution))
    if ticket.root_cause:
        lines.append(turn.t("ticket.detail.root_cause", note=ticket.root_cause))
    return "\n".join(lines)


def sla_lines(turn: Turn, session: Session, ticket: Ticket) -> list[str]:
    """SLA state and business time used of the resolution clock; the response clock while open."""
    status = sla.status(session, ticket, turn.now)
    clock = status.resolution
    lines = [
        turn.t(
            "sla.detail",
            state=turn.t(f"sla.state.{status.state}"),
            used=sla.format_duration(clock.used, turn.lang),
            target=sla.format_duration(clock.target, turn.lang),
            percent=round(clock.ratio * 100),
        )
    ]
    lines.append(turn.t("sla.detail_response", state=turn.t(f"sla.state.{status.response.state}")))
    if status.paused and ticket.state == MENUNGGU:
        lines.append(turn.t("sla.paused"))
    return lines


def service_line(service: Service) -> str:
    return f"• {service.name} ({service.id})"


def service_detail(turn: Turn, session: Session, service: Service) -> str:
    manager = (
        session.get(Person, service.service_manager_id) if service.service_manager_id else None
    )
    return "\n".join(
        [
            f"{service.name} ({service.id})",
            service.description,
            turn.t("service.provider", unit=service.provider_unit),
            turn.t("service.manager", name=manager.name if manager else "-"),
            turn.t("service.access", access=service.access or "-"),
            turn.t("service.target", target=fmt_number(service.availability_target, turn.lang, 1)),
            turn.t("service.hours", hours=service.business_hours),
        ]
    )
