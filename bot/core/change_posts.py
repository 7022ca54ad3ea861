"""A change request as its approvers see it: posted with Setujui / Tolak / Minta info to
the approvers' chats and the service's operator groups, and edited in place on every
channel where it was posted when it is decided, so each post shows who decided, when
and through which channel.

Posts are rendered from the records when they are sent (the outbox may hold them a
while), like alert posts (bot.core.alerts): the transports keep the message reference
of a "change.post" and edit it on a "change.edit".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from bot.core import alerts, notices
from bot.core.change_states import DIAJUKAN
from bot.core.escalation import chats_of, people_with_role
from bot.core.roles import Role
from bot.i18n import fmt_dt, t
from storage.models import (
    ChangeApproval,
    ChangePost,
    ChangeRequest,
    Identity,
    Notice,
    Person,
    Service,
    utcnow,
)

POST, EDIT, NOTICE = "change.post", "change.edit", "change.notice"


def _name(session: Session, person_id: int | None, lang: str) -> str:
    person = session.get(Person, person_id) if person_id else None
    return person.name if person else t("changes.cli_actor", lang)


def render(
    session: Session, change: ChangeRequest, lang: str = "id", tz: str = "Asia/Jakarta"
) -> tuple[str, list[dict[str, str]]]:
    """The request as it stands now: what, when, how safe, then every decision."""
    service = session.get(Service, change.service_id)
    lines = [
        t(
            "changes.post.headline",
            lang,
            number=change.number,
            kind=t(f"changes.kind.{change.kind}", lang),
            service=service.name if service else change.service_id,
        ),
        t(
            "changes.post.body",
            lang,
            title=change.title,
            risk=t(f"changes.risk.{change.risk}", lang),
            impact=change.impact[:300],
            start=fmt_dt(change.planned_start, lang, tz),
            end=fmt_dt(change.planned_end, lang, tz),
            requester=_name(session, change.requested_by, lang),
            rollback=change.rollback_plan[:300],
        ),
    ]
    rows = session.exec(
        select(ChangeApproval)
        .where(ChangeApproval.change_id == change.id)
        .order_by(col(ChangeApproval.id))
    )
    for a in rows:
        lines.append(
            t(
                f"changes.post.decision.{a.decision}",
                lang,
                who=_name(session, a.person_id, lang),
                at=fmt_dt(a.at, lang, tz),
                channel=a.channel or "-",
                note=a.note or "",
            )
        )
    if change.result:
        lines.append(
            t("changes.post.result", lang, result=t(f"changes.result.{change.result}", lang))
        )
    lines.append(t("changes.post.state", lang, state=t(f"changes.state.{change.state}", lang)))
    choices: list[dict[str, str]] = []
    if change.state == DIAJUKAN:
        choices = [
            {"label": t("changes.button.approve", lang), "action": f"chg:ok:{change.id}"},
            {"label": t("changes.button.reject", lang), "action": f"chg:no:{change.id}"},
            {"label": t("changes.button.info", lang), "action": f"chg:info:{change.id}"},
        ]
    return "\n".join(lines), choices


def _approver_chats(session: Session, change: ChangeRequest) -> list[tuple[str, str, str]]:
    """(channel, target, language): coordinators' and the service manager's chats, then
    the service's operator groups; each chat once, the requester's own left out."""
    people = people_with_role(session, Role.KOORDINATOR_LAYANAN)
    service = session.get(Service, change.service_id)
    if service is not None and service.service_manager_id is not None:
        manager = session.get(Person, service.service_manager_id)
        if manager is not None and manager not in people:
            people.append(manager)
    people = [p for p in people if p.id != change.requested_by]
    langs = {p.id: p.lang or "id" for p in people}
    seen: dict[tuple[str, str], str] = {}
    for ident in session.exec(
        select(Identity)
        .where(col(Identity.person_id).in_([p.id for p in people]))
        .order_by(col(Identity.id))
    ):
        seen.setdefault((ident.channel, ident.external_id), langs.get(ident.person_id, "id"))
    for dest in alerts.operator_channels(session, change.service_id):
        seen.setdefault((dest.channel, dest.target), "id")
    return [(c, target, lang) for (c, target), lang in seen.items()]


def post_request(session: Session, change: ChangeRequest, now: datetime, tz: str = "") -> int:
    tz = tz or "Asia/Jakarta"
    queued = 0
    for channel, target, lang in _approver_chats(session, change):
        text, choices = render(session, change, lang, tz)
        queued += notices.enqueue(
            session,
            channel=channel,
            target=target,
            kind=POST,
            payload={
                "change_id": change.id,
                "text": text,
                "choices": choices,
                "lang": lang,
                "tz": tz,
            },
            dedupe_key=f"change:{change.id}:post:{channel}:{target}",
            now=now,
        )
    return queued


def request_changed(session: Session, change: ChangeRequest, now: datetime) -> None:
    """Edit every post that went out; a post still waiting is rendered afresh when sent."""
    for p in session.exec(select(ChangePost).where(ChangePost.change_id == change.id)):
        if not p.message_ref or _edit_pending(session, change.id or 0, p.id or 0):
            continue
        lang, tz = _post_lang(session, change, p)
        text, choices = render(session, change, lang, tz)
        notices.enqueue(
            session,
            channel=p.channel,
            target=p.target,
            kind=EDIT,
            payload={
                "change_id": change.id,
                "message_ref": p.message_ref,
                "text": text,
                "choices": choices,
                "lang": lang,
                "tz": tz,
            },
            dedupe_key=f"change:{change.id}:edit:{p.id}:{change.state}:{now.timestamp():.6f}",
            now=now,
        )


def _post_lang(session: Session, change: ChangeRequest, p: ChangePost) -> tuple[str, str]:
    first = session.exec(
        select(Notice).where(Notice.dedupe_key == f"change:{change.id}:post:{p.channel}:{p.target}")
    ).first()
    payload: dict[str, Any] = first.payload if first is not None else {}
    return str(payload.get("lang") or "id"), str(payload.get("tz") or "Asia/Jakarta")


def _edit_pending(session: Session, change_id: int, post_id: int) -> bool:
    return (
        session.exec(
            select(Notice.id)
            .where(col(Notice.dedupe_key).startswith(f"change:{change_id}:edit:{post_id}:"))
            .where(col(Notice.status) == "pending")
            .limit(1)
        ).first()
        is not None
    )


def refresh_payload(session: Session, notice: Notice) -> None:
    """Posts and edits show the request as it stands at the moment of sending."""
    if notice.kind not in (POST, EDIT):
        return
    change = session.get(ChangeRequest, notice.payload.get("change_id"))
    if change is not None:
        lang = str(notice.payload.get("lang") or "id")
        text, choices = render(
            session, change, lang, str(notice.payload.get("tz") or "Asia/Jakarta")
        )
        notice.payload = {**notice.payload, "text": text, "choices": choices}


def record_post(session: Session, notice: Notice, message_ref: str | None) -> None:
    """Called once a post went out; if the request changed meanwhile, the post is edited."""
    change_id = int(notice.payload.get("change_id") or 0)
    row = session.exec(
        select(ChangePost).where(
            ChangePost.change_id == change_id,
            ChangePost.channel == notice.channel,
            ChangePost.target == notice.target,
        )
    ).first()
    if row is None:
        row = ChangePost(change_id=change_id, channel=notice.channel, target=notice.target)
    row.message_ref = message_ref
    session.add(row)
    session.flush()
    change = session.get(ChangeRequest, change_id)
    if change is None or message_ref is None:
        return
    lang = str(notice.payload.get("lang") or "id")
    tz = str(notice.payload.get("tz") or "Asia/Jakarta")
    text, choices = render(session, change, lang, tz)
    if text != notice.payload.get("text"):
        notices.enqueue(
            session,
            channel=notice.channel,
            target=notice.target,
            kind=EDIT,
            payload={
                "change_id": change_id,
                "message_ref": message_ref,
                "text": text,
                "choices": choices,
                "lang": lang,
                "tz": tz,
            },
            dedupe_key=f"change:{change_id}:edit:{row.id}:late:{utcnow().timestamp()}",
        )


def tell_person(
    session: Session,
    person_id: int | None,
    key: str,
    dedupe: str,
    now: datetime,
    **params: Any,
) -> int:
    """A notice to every chat a person linked, in their language."""
    person = session.get(Person, person_id) if person_id else None
    if person is None:
        return 0
    lang = person.lang or "id"
    text = t(key, lang, **params)
    sent = 0
    for channel, target in chats_of(session, [person]):
        sent += notices.enqueue(
            session,
            channel=channel,
            target=target,
            kind=NOTICE,
            payload={"text": text},
            dedupe_key=f"{dedupe}:{person.id}:{channel}:{target}",
            now=now,
        )
    return sent


def tell_requester(
    session: Session, change: ChangeRequest, key: str, now: datetime, *, note: str = ""
) -> int:
    return tell_person(
        session,
        change.requested_by,
        key,
        f"change:{change.id}:{key}:{now.timestamp():.6f}",
        now,
        number=change.number,
        title=change.title,
        note=note,
    )
