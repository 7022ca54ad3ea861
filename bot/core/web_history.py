"""What a web chat page showed, so a reload draws the conversation again.

The conversation's state (the report half done) already survives in the database; the
page's lines did not, and a page that starts anew on every load sent `/mulai`, which
threw the flow in progress away. The lines are kept per chat id (a web session's hash),
move with the session when it is rotated, and go when it ends.

A document a turn produced (a report's PDF) keeps its bytes for `DOCUMENT_TTL`, so the
link the live reply showed (GET /api/chat/documents/ID, the session's own lines only)
works after a reload too; after that the bytes are dropped and the page says the link
expired (ask for the document again).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from storage.models import WebChatLine, utcnow

#: how many lines a reload draws again
HISTORY_LINES = 50
#: a visitor's own line is cut to this many characters (the engine refuses longer input)
MAX_TEXT = 4000
#: how long a document's link in the chat works
DOCUMENT_TTL = timedelta(hours=24)


@dataclass(frozen=True)
class Line:
    """One bubble of the page: the visitor's (`who="user"`) or the bot's."""

    who: str
    text: str
    kind: str = "answer"
    html: str | None = None
    choices: Sequence[tuple[str, str]] = field(default_factory=tuple)
    document: str | None = None
    #: the document's bytes, when recording a line
    document_data: bytes | None = field(default=None, repr=False)
    #: the stored line's id (its document's link), when read back
    id: int | None = None
    #: read back after its link expired: the name is shown, the bytes are gone
    document_expired: bool = False


def record(session: Session, chat_id: str, lines: Sequence[Line], now: datetime) -> list[int]:
    """Store the lines; their ids, in order (a document's link names its line)."""
    session.execute(  # documents whose links have expired give their bytes back
        sa.update(WebChatLine)
        .where(col(WebChatLine.chat_id) == chat_id)
        .where(col(WebChatLine.document_until) < now)
        .where(col(WebChatLine.document_data).is_not(None))
        .values(document_data=None),
        execution_options={"synchronize_session": False},
    )
    rows = [
        WebChatLine(
            chat_id=chat_id,
            at=now,
            who=line.who,
            kind=line.kind[:20],
            text=line.text[:MAX_TEXT] if line.who == "user" else line.text,
            html=line.html,
            choices=[[label, action] for label, action in line.choices],
            document=line.document[:200] if line.document else None,
            document_data=line.document_data if line.document else None,
            document_until=now + DOCUMENT_TTL if line.document_data else None,
        )
        for line in lines
    ]
    session.add_all(rows)
    session.flush()
    return [r.id for r in rows if r.id is not None]


def document(
    session: Session, chat_id: str, line_id: int, now: datetime
) -> tuple[str, bytes | None] | None:
    """The document of the chat's line `line_id`: its name and bytes, its name and None
    once the link expired, None when the chat has no such document (another session's
    line is not found either)."""
    row = session.exec(
        select(WebChatLine)
        .where(WebChatLine.id == line_id, WebChatLine.chat_id == chat_id)
        .where(col(WebChatLine.document).is_not(None))
    ).first()
    if row is None or row.document is None:
        return None
    live = row.document_data is not None and (
        row.document_until is not None and row.document_until > now
    )
    return row.document, row.document_data if live else None


def recent(
    session: Session, chat_id: str, now: datetime | None = None, limit: int = HISTORY_LINES
) -> list[Line]:
    """The chat's last `limit` lines, oldest first; a document's line says whether its
    link still works at `now` (the documents' bytes are not read)."""
    now = now or utcnow()
    rows = session.exec(
        select(WebChatLine)
        .options(defer(WebChatLine.document_data))  # type: ignore[arg-type]
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
            id=r.id,
            document_expired=bool(r.document)
            and not (r.document_until is not None and r.document_until > now),
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
