"""Knowledge-base Markdown as each channel shows it."""

from __future__ import annotations

from bot.channels import console, webchat
from bot.channels.markdown import shown, to_html, to_plain
from bot.channels.slack._blocks import message
from bot.channels.slack._mrkdwn import from_markdown
from bot.dialogue.messages import Reply
from bot.runtime import Helpdesk
from tests.helpers import Chat

ANSWER = (
    "Jaringan menyaring situs <b>berisiko</b> & lainnya.\n"
    "1. Ketik /lapor, pilih permintaan **Buka blokir situs**.\n"
    "2. Contoh: `/status TK-2026-000123`.\n"
    "3. Lihat [panduan](https://intra.example.go.id/a?b=1&c=2) atau [ini](javascript:alert(1))."
)


def test_plain_text_has_no_markup() -> None:
    plain = to_plain(ANSWER)
    assert "**" not in plain and "`" not in plain
    assert "2. Contoh: /status TK-2026-000123." in plain
    assert "permintaan Buka blokir situs." in plain
    assert "panduan (https://intra.example.go.id/a?b=1&c=2)" in plain
    assert "<b>berisiko</b> & lainnya" in plain  # plain text shows what was written


def test_html_is_a_safe_subset() -> None:
    out = to_html(ANSWER)
    assert "<strong>Buka blokir situs</strong>" in out
    assert "<code>/status TK-2026-000123</code>" in out
    assert "&lt;b&gt;berisiko&lt;/b&gt; &amp; lainnya" in out  # raw HTML stays text
    assert "<ol>" in out and out.count("<li>") == 3
    assert 'href="https://intra.example.go.id/a?b=1&amp;c=2"' in out
    assert "javascript:" not in out.replace("[ini](javascript:alert(1))", "")
    assert "<a" in out and out.count("<a ") == 1  # only the http(s) link is made
    assert to_html("<script>alert(1)</script>") == "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"


def test_slack_mrkdwn() -> None:
    out = from_markdown(ANSWER)
    assert "*Buka blokir situs*" in out and "**" not in out
    assert "`/status TK-2026-000123`" in out
    assert "&lt;b&gt;berisiko&lt;/b&gt; &amp; lainnya" in out
    assert "<https://intra.example.go.id/a?b=1&amp;c=2|panduan>" in out
    reply = Reply(ANSWER, markdown=True)
    section = message([reply])["blocks"][0]["text"]["text"]
    assert "*Buka blokir situs*" in section and "&amp;amp;" not in section


def test_only_markdown_replies_are_rendered() -> None:
    typed = Reply("saya tulis **dua bintang**")  # e.g. a user's words echoed back
    assert shown(typed) == typed.text
    assert shown(Reply("**tebal**", markdown=True)) == "tebal"


def test_a_faq_answer_on_each_channel(helpdesk: Helpdesk, chat: Chat) -> None:
    article = helpdesk.kb.matcher().article("situs-diblokir")
    assert article is not None and "**Buka blokir situs**" in article.answer
    chat.say(article.question)
    answer = next(r for r in chat.replies if r.markdown)
    assert "**" not in console.render([answer])
    shown_web = webchat.render([answer])[0]
    assert "**" not in shown_web["text"]
    assert "<strong>Buka blokir situs</strong>" in shown_web["html"]
    assert webchat.render([Reply("x")])[0]["html"] is None
