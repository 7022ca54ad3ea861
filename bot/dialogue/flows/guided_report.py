"""The guided report: service, type, description, impact, urgency, confirmation.

A web chat visitor who is not linked to a person account also gives a name and a way to
be reached (bot.core.reporter_contact) before the summary; a session that gave them with
an earlier report reuses them, says so, and may change them from the summary.

Each step stores its answers in the conversation row, so a restart or another replica
continues where the user left off. Nothing is written to the ticket tables before the
user confirms.
"""

from __future__ import annotations

from bot.core import catalog, reporter_contact, usecases
from bot.core.errors import HelpdeskError
from bot.core.priority import PRIORITY_NAMES, priority_for
from bot.core.ticket_states import GANGGUAN, TYPES
from bot.dialogue.flows import monitoring as monitoring_chat
from bot.dialogue.messages import Choice, Reply
from bot.dialogue.router import Button, Flow, Text
from bot.dialogue.turn import Turn
from storage.models import Service

SERVICE = "report_service"
TYPE = "report_type"
DESCRIPTION = "report_description"
IMPACT = "report_impact"
URGENCY = "report_urgency"
CONFIRM = "report_confirm"
NAME = "report_name"
CONTACT = "report_contact"
STATES = (SERVICE, TYPE, DESCRIPTION, IMPACT, URGENCY, CONFIRM, NAME, CONTACT)

MAX_SERVICE_BUTTONS = 12


def start(turn: Turn, description: str = "", service_id: str | None = None) -> list[Reply]:
    turn.go(SERVICE, keep=False, description=description.strip())
    if service_id and turn.session.get(Service, service_id):
        svc = turn.session.get(Service, service_id)
        assert svc is not None
        return turn.say(
            turn.t("report.service_guess", service=svc.name),
            [
                turn.choice("common.yes", f"svc:{svc.id}"),
                turn.choice("report.other_service", "svc:?"),
                turn.choice("common.cancel", "cancel"),
            ],
        )
    return ask_service(turn)


def ask_service(turn: Turn, prefix: str = "") -> list[Reply]:
    services = catalog.list_services(turn.session)[:MAX_SERVICE_BUTTONS]
    choices = [Choice(s.name, f"svc:{s.id}") for s in services]
    choices += [turn.choice("report.no_service", "svc:-"), turn.choice("common.cancel", "cancel")]
    turn.update(step="service")
    text = turn.t("report.ask_service")
    return turn.say(f"{prefix}\n{text}".strip(), choices)


def on_service_text(turn: Turn, text: str) -> list[Reply]:
    found = catalog.search_services(turn.session, text, limit=3)
    if not found:
        return ask_service(turn, turn.t("report.service_not_found", text=text[:80]))
    if len(found) == 1 or found[0][1] - found[1][1] >= 50:
        return chose_service(turn, found[0][0].id)
    choices = [Choice(s.name, f"svc:{s.id}") for s, _ in found]
    choices += [turn.choice("report.no_service", "svc:-"), turn.choice("common.cancel", "cancel")]
    return turn.say(turn.t("report.service_which"), choices)


def chose_service(turn: Turn, service_id: str) -> list[Reply]:
    if service_id == "?":
        return ask_service(turn)
    if service_id != "-" and turn.session.get(Service, service_id) is None:
        return ask_service(turn, turn.t("report.service_not_found", text=service_id))
    turn.go(TYPE, keep=True, service=None if service_id == "-" else service_id)
    return turn.say(
        turn.t("report.ask_type"),
        [
            turn.choice("type.gangguan", "type:gangguan"),
            turn.choice("type.permintaan", "type:permintaan"),
            turn.choice("type.keluhan", "type:keluhan"),
            turn.choice("common.cancel", "cancel"),
        ],
    )


def chose_type(turn: Turn, type_: str) -> list[Reply]:
    if type_ not in TYPES:
        return turn.say(turn.t("report.ask_type"))
    turn.update(type=type_)
    if type_ == GANGGUAN:  # a service already known down: join its incident
        known = monitoring_chat.known_outage(turn, turn.data.get("service"))
        if known is not None:
            return known
    if usecases.description_ok(turn.data.get("description")):
        return ask_impact(turn)
    turn.go(DESCRIPTION, keep=True)
    return turn.say(
        turn.t(f"report.ask_description.{type_}"), [turn.choice("common.cancel", "cancel")]
    )


def on_description(turn: Turn, text: str) -> list[Reply]:
    text = text.strip()
    if not usecases.description_ok(text):
        return turn.say(
            turn.t("report.description_short", n=usecases.MIN_DESCRIPTION),
            [turn.choice("common.cancel", "cancel")],
        )
    turn.update(description=text)
    return ask_impact(turn)


def ask_impact(turn: Turn) -> list[Reply]:
    turn.go(IMPACT, keep=True)
    return turn.say(
        turn.t("report.ask_impact"),
        [
            turn.choice("impact.3", "imp:3"),
            turn.choice("impact.2", "imp:2"),
            turn.choice("impact.1", "imp:1"),
            turn.choice("common.cancel", "cancel"),
        ],
    )


def chose_impact(turn: Turn, value: str) -> list[Reply]:
    if value not in ("1", "2", "3"):
        return ask_impact(turn)
    turn.go(URGENCY, keep=True, impact=int(value))
    return turn.say(
        turn.t("report.ask_urgency"),
        [
            turn.choice("urgency.3", "urg:3"),
            turn.choice("urgency.2", "urg:2"),
            turn.choice("urgency.1", "urg:1"),
            turn.choice("common.cancel", "cancel"),
        ],
    )


def chose_urgency(turn: Turn, value: str) -> list[Reply]:
    if value not in ("1", "2", "3"):
        return chose_impact(turn, str(turn.data.get("impact", 3)))
    turn.update(urgency=int(value))
    return ask_contact_or_summary(turn)


def contact_needed(turn: Turn) -> bool:
    return reporter_contact.needed(turn.msg.channel, turn.person)


def ask_contact_or_summary(turn: Turn) -> list[Reply]:
    """The summary, once the reporter's contact is known where it is needed: given in this
    draft, or remembered from the session's last report (and said so)."""
    if contact_needed(turn) and not turn.data.get("reporter_contact"):
        given = reporter_contact.remembered(turn.session, turn.msg.channel, turn.msg.chat_id)
        if given is None:
            return ask_name(turn)
        turn.update(reporter_name=given.name, reporter_contact=given.contact, contact_reused=True)
    turn.go(CONFIRM, keep=True)
    return summary(turn)


def ask_name(turn: Turn, prefix: str = "") -> list[Reply]:
    turn.go(NAME, keep=True)
    text = turn.t("reporter_contact.ask_name")
    return turn.say(f"{prefix}\n{text}".strip(), [turn.choice("common.cancel", "cancel")])


def on_name(turn: Turn, text: str) -> list[Reply]:
    try:
        name = reporter_contact.parse_name(text)
    except HelpdeskError as exc:  # asked again; the report so far stays
        return ask_name(turn, turn.t(exc.key, **exc.params))
    turn.update(reporter_name=name)
    return ask_contact(turn)


def ask_contact(turn: Turn, prefix: str = "") -> list[Reply]:
    turn.go(CONTACT, keep=True)
    text = turn.t("reporter_contact.ask_contact", name=turn.data.get("reporter_name", ""))
    return turn.say(f"{prefix}\n{text}".strip(), [turn.choice("common.cancel", "cancel")])


def on_contact(turn: Turn, text: str) -> list[Reply]:
    try:
        contact = reporter_contact.parse_contact(text)
    except HelpdeskError as exc:
        return ask_contact(turn, turn.t(exc.key, **exc.params))
    turn.update(reporter_contact=contact, contact_reused=False)
    return ask_contact_or_summary(turn)


def change_contact(turn: Turn) -> list[Reply]:
    turn.update(reporter_contact=None, contact_reused=False)
    return ask_name(turn)


def summary(turn: Turn) -> list[Reply]:
    d = turn.data
    svc = turn.session.get(Service, d["service"]) if d.get("service") else None
    prio = priority_for(d["impact"], d["urgency"])
    text = turn.t(
        "report.confirm",
        type=turn.t(f"type.{d['type']}"),
        service=svc.name if svc else turn.t("common.none"),
        description=d["description"][:1000],
        impact=turn.t(f"impact.{d['impact']}"),
        urgency=turn.t(f"urgency.{d['urgency']}"),
        priority=prio,
        priority_name=turn.t(f"priority.{PRIORITY_NAMES[prio]}"),
    )
    choices = [turn.choice("report.send", "rep:send")]
    if contact_needed(turn) and d.get("reporter_contact"):
        given = reporter_contact.ReporterContact(d.get("reporter_name", ""), d["reporter_contact"])
        line = turn.t("reporter_contact.summary", name=given.name, contact=given.shown())
        if d.get("contact_reused"):
            line += " " + turn.t("reporter_contact.reused")
        last = text.rfind("\n")  # before the closing question
        text = f"{text[:last]}\n{line}{text[last:]}" if last >= 0 else f"{text}\n{line}"
        choices.append(turn.choice("reporter_contact.change", "rep:contact"))
    return turn.say(text, [*choices, turn.choice("common.cancel", "cancel")])


def submit(turn: Turn) -> list[Reply]:
    d = turn.data
    if not all(k in d for k in ("type", "description", "impact", "urgency")):
        turn.reset()
        return turn.say(turn.t("report.incomplete"))
    contact = None
    if contact_needed(turn):
        if not d.get("reporter_contact"):  # a draft from before the question: ask now
            return ask_name(turn)
        contact = reporter_contact.ReporterContact(
            d.get("reporter_name", ""), d["reporter_contact"]
        )
    form = usecases.ReportForm(
        type=d["type"],
        description=d["description"],
        service_id=d.get("service"),
        impact=d["impact"],
        urgency=d["urgency"],
        contact=contact,
    )
    ticket = usecases.open_report(
        turn.session,
        turn.ensure_person(),
        turn.msg.channel,
        turn.msg.chat_id,
        form,
        lang=turn.lang,
        now=turn.now,
        limits=turn.limits,
        address=turn.msg.address,
        anonymous_channels=turn.anonymous_channels,
    )
    turn.reset()
    text = turn.t("report.created", number=ticket.number, priority=ticket.priority)
    if ticket.triage_priority is not None:
        text += "\n\n" + turn.t("triage.reporter_note", priority=ticket.triage_priority)
    return turn.say(text, [turn.choice("menu.status", f"t:status:{ticket.number}")])


FLOW = Flow(
    name="guided_report",
    commands={("lapor", "report"): start},
    buttons={
        "menu:report": Button(lambda turn, _: start(turn), exact=True),
        "svc": Button(chose_service, states=(SERVICE,)),
        "type": Button(chose_type, states=(TYPE,)),
        "imp": Button(chose_impact, states=(IMPACT,)),
        "urg": Button(chose_urgency, states=(URGENCY,)),
        "rep:send": Button(lambda turn, _: submit(turn), states=(CONFIRM,), exact=True),
        "rep:contact": Button(lambda turn, _: change_contact(turn), states=(CONFIRM,), exact=True),
    },
    states={
        SERVICE: on_service_text,
        TYPE: Text.USE_BUTTONS,
        DESCRIPTION: on_description,
        IMPACT: Text.USE_BUTTONS,
        URGENCY: Text.USE_BUTTONS,
        CONFIRM: Text.USE_BUTTONS,
        NAME: on_name,
        CONTACT: on_contact,
    },
)
