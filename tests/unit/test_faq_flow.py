"""The FAQ conversation around suggestions: their labels, and "none of these"."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.dialogue.flows.faq import MAX_LABEL, label_of
from bot.runtime import Helpdesk
from storage.models import KbFeedback
from tests.helpers import Chat

# Informal questions the bundled knowledge base is unsure about (it offers choices).
UNSURE = (
    "hp lama rusak, skrg kode verifikasinya ga bisa dpt",
    "staf baru masuk minggu ini, akunnya minta dibuatkan",
    "kirim email ke gmail orang luar gagal",
)


def test_label_is_cut_on_a_word_boundary() -> None:
    question = "Bagaimana meminta alamat email grup atau milis untuk unit kerja yang baru dibentuk?"
    label = label_of(question)
    assert len(label) <= MAX_LABEL
    assert label.endswith(" …")
    kept = label.removesuffix(" …").split()
    # every kept word is a whole word of the question, in order
    assert kept == question.split()[: len(kept)]
    assert label_of("Internet kantor lambat sekali") == "Internet kantor lambat sekali"


def _choices_chat(helpdesk: Helpdesk, chat: Chat) -> None:
    for text in UNSURE:
        chat.say(text)
        if any(a.startswith("faq:pick:") for a in chat.actions):
            return
    raise AssertionError("none of the unsure questions got choices")


def test_suggestion_labels_are_whole_words(helpdesk: Helpdesk, chat: Chat) -> None:
    _choices_chat(helpdesk, chat)
    for reply in chat.replies:
        for choice in reply.choices:
            if choice.action.startswith("faq:pick:"):
                article = helpdesk.kb.matcher().article(choice.action.removeprefix("faq:pick:"))
                assert article is not None
                assert choice.label == label_of(article.question)


def test_none_fit_does_not_speak_of_an_answer(helpdesk: Helpdesk, chat: Chat) -> None:
    _choices_chat(helpdesk, chat)
    chat.press("faq:none")
    assert "Apakah ini membantu?" not in chat.text
    assert "jawabannya belum membantu" not in chat.text
    assert "tidak ada yang cocok" in chat.text.lower()
    assert "rep:start" in chat.actions
    with Session(helpdesk.engine) as s:  # nothing shown, so no feedback recorded
        assert s.exec(select(KbFeedback)).all() == []
