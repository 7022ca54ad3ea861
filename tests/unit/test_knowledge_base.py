"""The live knowledge base: reload on file change, learning from use, review in chat."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlmodel import Session, select

from bot.config import Settings
from bot.core import learning
from bot.core.knowledge_base import KnowledgeBase
from bot.runtime import Helpdesk, build
from storage.db import session_scope
from storage.models import KbCandidate, Person
from tests.helpers import Chat

NEW_ARTICLE = """
- id: kantin-jam-buka
  question: Jam berapa kantin kantor buka?
  alternates: [kantin buka jam brp, jam operasional kantin, kapan kantin buka]
  answer: Kantin buka pukul 07.00–15.00 WIB pada hari kerja.
  tags: [umum]
  lang: id
  owner: Biro Umum
  last_reviewed: 2026-11-01
"""


def kb_copy(tmp_path: Path, settings: Settings) -> Path:
    target = tmp_path / "articles"
    shutil.copytree(settings.knowledge_dir, target)
    return target


def test_articles_reload_when_files_change(helpdesk: Helpdesk, tmp_path: Path) -> None:
    directory = kb_copy(tmp_path, helpdesk.settings)
    kb = KnowledgeBase(directory, helpdesk.engine, check_every=0)
    before = len(kb.matcher().articles)
    assert kb.matcher().article("kantin-jam-buka") is None
    (directory / "umum.yaml").write_text(NEW_ARTICLE, encoding="utf-8")
    assert len(kb.matcher().articles) == before + 1
    decision = kb.matcher().decide("kantin buka jam berapa ya")
    assert decision.matches and decision.matches[0].article.id == "kantin-jam-buka"


def test_a_broken_file_keeps_the_last_good_knowledge(helpdesk: Helpdesk, tmp_path: Path) -> None:
    directory = kb_copy(tmp_path, helpdesk.settings)
    kb = KnowledgeBase(directory, helpdesk.engine, check_every=0)
    count = len(kb.matcher().articles)
    (directory / "rusak.yaml").write_text("- id: x\n  question: [unclosed\n", encoding="utf-8")
    assert len(kb.matcher().articles) == count
    assert kb.last_error and "rusak.yaml" in kb.last_error


def test_learned_phrasing_is_approved_in_chat_and_used_at_once(
    helpdesk: Helpdesk, tmp_path: Path
) -> None:
    directory = kb_copy(tmp_path, helpdesk.settings)
    (directory / "umum.yaml").write_text(NEW_ARTICLE, encoding="utf-8")
    settings = helpdesk.settings.model_copy(update={"knowledge_dir": directory})
    hd = build(settings, upgrade=False, engine=helpdesk.engine)
    hd.kb.check_every = 0
    phrasing = "mau makan siang di lantai dasar jamnya kapan"
    before = hd.kb.matcher().decide(phrasing)
    assert before.kind != "answer" or before.matches[0].article.id != "kantin-jam-buka"
    # a user confirmed this phrasing for the article (as after picking it from the choices)
    with session_scope(hd.engine) as s:
        learning.propose(s, "kantin-jam-buka", phrasing)
        learning.propose(s, "kantin-jam-buka", phrasing)
    user = Chat(hd, "web", "learner")
    user.say("/kandidat")
    assert "hanya pengelola layanan" in user.text
    with Session(hd.engine) as s:
        manager = next(p for p in s.exec(select(Person)) if "pengelola_layanan" in p.roles)
    reviewer = Chat.as_person(hd, "console", manager.email or "")
    reviewer.say("/kandidat")
    assert phrasing in reviewer.text and "2 kali" in reviewer.text
    reviewer.press(next(a for a in reviewer.actions if a.startswith("kb:ok:")))
    assert "disetujui" in reviewer.text
    after = hd.kb.matcher().decide(phrasing)
    assert after.kind == "answer" and after.matches[0].article.id == "kantin-jam-buka"
    user.say(phrasing)
    assert "07.00" in user.text


def test_rejected_phrasing_is_not_used(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        learning.propose(s, "x", "frasa aneh sekali")
        cand = s.exec(select(KbCandidate)).one()
        learning.decide(s, cand.id or 0, False, None, cli=True)
        assert cand.status == "rejected"
        assert learning.pending(s) == []


def test_failing_articles_are_listed(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        for helpful in (False, False, True, False):
            learning.record_feedback(s, "vpn-a", helpful, "q")
        for helpful in (True, True, True):
            learning.record_feedback(s, "sso-b", helpful, "q")
    with Session(helpdesk.engine) as s:
        assert learning.failing_articles(s) == [("vpn-a", 3, 4)]
