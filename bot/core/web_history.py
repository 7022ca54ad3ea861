"""What a web chat page showed, so a reload draws the conversation again.

The conversation's state (the report half done) already survives in the database; the
page's lines did not, and a page that starts anew on every load sent `/mulai`, which
threw the flow in progress away. The lines are kept per chat id (a web session's hash),
move with the session when it is rotated, and go when it ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.models import WebChatLine

#: how many lines a reload draws again
HISTORY_LINES = 50
#: a visitor's own line is cut to this many characters (the engine refuses longer input)
MAX_TEXT = 4000


@dataclass(frozen=True)
class Line:
    """One bubble of the page: the visitor's (`who="user"`) or the bot's."""

    who: str
    text: str
    kind: str = "answer"
    html: str | None = None
    choices: Sequence[tuple[str, str]] = field(default_factory=tuple)
    document: str | None = None


def record(session: Session, chat_id: str, lines: Sequence[Line], now: datetime) -> None:
    for line in lines:
        session.add(
            WebChatLine(
                chat_id=chat_id,
                at=now,
                who=line.who,
                kind=line.kind[:20],
                text=line.text[:MAX_TEXT] if line.who == "user" else line.text,
                html=line.html,
                choices=[[label, action] for label, action in line.choices],
                document=line.document[:200] if line.document else None,
            )
        )


def recent(session: Session, chat_id: str, limit: int = HISTORY_LINES) -> list[Line]:
    """The chat's last `limit` lines, oldest first."""
    rows = session.exec(
        select(WebChatLine)
        .where(WebChatLine.chat_id == chat_id)
        .order_by(col(WebChatLine.id).desc())
        .limit(limit)
    ).all()
    return [
        Line(
            who=r.who,
            text=r.text,
            kind=r.kind,
            html=r.html,
            choices=tuple((c[0], c[1]) for c in r.choices),
            document=r.document,
        )
        for r in reversed(rows)
    ]


def move(session: Session, old: str, new: str) -> None:
    """A rotated session keeps its page."""
    session.execute(
        sa.update(WebChatLine).where(col(WebChatLine.chat_id) == old).values(chat_id=new),
        execution_options={"synchronize_session": False},
    )


def forget(session: Session, chat_ids: Sequence[str]) -> None:
    """An ended session's page is gone: the next visitor at that browser sees none of it."""
    if chat_ids:
        session.execute(
            sa.delete(WebChatLine).where(col(WebChatLine.chat_id).in_(list(chat_ids))),
            execution_options={"synchronize_session": False},
        )
