"""The terminal channel (`helpdesk chat`): the same conversation, choices as numbers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bot.channels.base import Capabilities, ChannelSpec
from bot.channels.markdown import shown
from bot.config import Settings
from bot.dialogue.engine import Conversations
from bot.dialogue.messages import Incoming, Reply
from bot.i18n import t

CHANNEL = "console"


def save_document(directory: Path, name: str, data: bytes) -> Path:
    """The document as a file in `directory`, never overwriting one already there
    (laporan.pdf, laporan-2.pdf, …). Only the file name of `name` is used."""
    base = Path(Path(name).name or "dokumen")
    path = directory / base
    n = 1
    while path.exists():
        n += 1
        path = directory / f"{base.stem}-{n}{base.suffix}"
    path.write_bytes(data)
    return path


def render(replies: list[Reply], documents: Path | None = None) -> str:
    """Replies as terminal lines; a document is saved under `documents` (the current
    directory when None) and its path printed, since a terminal cannot attach it."""
    out = []
    for r in replies:
        prefix = "🔔 " if r.kind == "notice" else ""
        out.append(prefix + shown(r))
        for n, choice in enumerate(r.choices, start=1):
            out.append(f"  [{n}] {choice.label}")
        if r.document is not None:
            name, data = r.document
            directory = documents if documents is not None else Path.cwd()
            try:
                out.append(
                    t("console.document_saved", path=str(save_document(directory, name, data)))
                )
            except OSError as exc:
                out.append(
                    t("console.document_failed", path=str(directory / Path(name).name),
                      reason=exc.strerror or str(exc))
                )  # fmt: skip
    return "\n".join(out)


def run(
    conversations: Conversations,
    user_id: str,
    *,
    read: Callable[[str], str] = input,
    write: Callable[[str], None] = print,
    display_name: str | None = None,
    documents: Path | None = None,
) -> None:
    """Read lines until EOF or /keluar; numbers pick from the last choices; documents
    are saved under `documents` (default: the current directory)."""

    def turn(text: str) -> None:
        msg = Incoming(
            channel=CHANNEL, chat_id=user_id, user_id=user_id, text=text, display_name=display_name
        )
        write(render(conversations.handle(msg), documents))

    turn("/mulai")
    while True:
        notices = conversations.pull_notices(CHANNEL, user_id)
        if notices:
            write(render(notices, documents))
        try:
            line = read("> ")
        except (EOFError, KeyboardInterrupt):
            write("")
            return
        if line.strip().lower() in ("/keluar", "/exit", "/quit"):
            return
        turn(line)


def enabled(_settings: Settings) -> bool:
    """Never served by the web app: `helpdesk chat` runs it in the terminal."""
    return False


#: choices are offered as numbers, not buttons; images are not shown; documents are
#: saved as files and their path printed
SPEC: ChannelSpec[None] = ChannelSpec(
    name=CHANNEL, enabled=enabled, capabilities=Capabilities(delivery="pull", documents=True)
)
