"""Knowledge files: loading and `kb check` messages that name file and line."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from knowledge import KnowledgeError, check_knowledge, load_articles, load_jsonl_articles

ROOT = Path(__file__).resolve().parents[2]
KB = ROOT / "knowledge" / "articles"
SERVICES = {
    s["id"] for s in yaml.safe_load((ROOT / "knowledge" / "catalog.yaml").read_text())["services"]
}

GOOD = """\
- id: satu
  question: Pertanyaan satu?
  alternates: [a, b, c]
  answer: |
    1. Langkah.
  service: vpn
  tags: [x]
  owner: orang@contoh.go.id
  last_reviewed: 2026-01-31

- id: dua
  question: Pertanyaan dua?
  answer: "1. Langkah."
"""


def write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return path


def test_bundled_knowledge_base_is_clean_and_complete() -> None:
    assert check_knowledge(KB, SERVICES) == []
    arts = load_articles(KB)
    indonesian = [a for a in arts if a.lang == "id"]
    english = [a for a in arts if a.lang == "en"]
    assert len(indonesian) >= 60
    assert len(english) >= 20
    ids = {a.id for a in arts}
    for a in english:
        assert a.id.endswith("-en") and a.id[:-3] in ids
    for a in indonesian:
        assert len(a.alternates) >= 3, a.id
        assert "1." in a.answer, a.id
        assert a.owner and a.last_reviewed and a.tags, a.id


def test_yaml_list_and_markdown_front_matter(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", GOOD)
    write(
        tmp_path,
        "b.md",
        "---\nid: tiga\nquestion: Tiga?\nalternates: [x]\nservice: email\n---\n1. Buka surel.\n",
    )
    arts = {a.id: a for a in load_articles(tmp_path)}
    assert set(arts) == {"satu", "dua", "tiga"}
    assert arts["satu"].alternates == ("a", "b", "c")
    assert arts["satu"].last_reviewed == date(2026, 1, 31)
    assert arts["satu"].source.endswith("a.yaml:1")
    assert arts["dua"].source.endswith("a.yaml:11")
    assert arts["tiga"].answer == "1. Buka surel."
    assert arts["dua"].lang == "id" and arts["dua"].service is None


def test_duplicate_ids_are_reported_with_both_places(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", GOOD)
    write(tmp_path, "b.yaml", "- id: satu\n  question: Lagi?\n  answer: jawab\n")
    problems = check_knowledge(tmp_path)
    assert len(problems) == 1
    assert problems[0].startswith(f"{tmp_path / 'b.yaml'}:1: duplicate id 'satu'")
    assert f"{tmp_path / 'a.yaml'}:1" in problems[0]
    with pytest.raises(KnowledgeError, match="duplicate id"):
        load_articles(tmp_path)


def test_empty_answer_and_unknown_service(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a.yaml",
        "- id: kosong\n  question: Q?\n  answer: ''\n\n- id: asing\n  question: Q?\n  answer: ya\n  service: kantin\n",
    )
    problems = check_knowledge(tmp_path, known_services={"vpn"})
    assert problems == [
        f"{tmp_path / 'a.yaml'}:1: article 'kosong' has an empty answer",
        f"{tmp_path / 'a.yaml'}:5: article 'asing' names unknown service 'kantin'",
    ]
    # without a catalog the service is not judged
    assert len(check_knowledge(tmp_path)) == 1


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    write(tmp_path, "rusak.yaml", "- id: a\n  question: Q?\n  answer: [tidak ditutup\n")
    problems = check_knowledge(tmp_path)
    assert len(problems) == 1
    assert problems[0].startswith(f"{tmp_path / 'rusak.yaml'}:")
    assert "broken YAML" in problems[0]
    line = int(problems[0].split(":")[1])
    assert 3 <= line <= 4


def test_broken_front_matter(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "tanpa front matter\n")
    write(tmp_path, "b.md", "---\nid: b\nquestion: [rusak\n---\nisi\n")
    problems = check_knowledge(tmp_path)
    assert (
        problems[0]
        == f"{tmp_path / 'a.md'}:1: broken front matter: file must start with a '---' block"
    )
    assert problems[1].startswith(f"{tmp_path / 'b.md'}:") and "broken YAML" in problems[1]


def test_missing_id_and_bad_date(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a.yaml",
        "- question: Q?\n  answer: a\n- id: t\n  question: Q?\n  answer: a\n  last_reviewed: kemarin\n",
    )
    problems = check_knowledge(tmp_path)
    assert problems[0] == f"{tmp_path / 'a.yaml'}:1: article has no id"
    assert problems[1].startswith(f"{tmp_path / 'a.yaml'}:3: last_reviewed must be YYYY-MM-DD")


def test_jsonl_interchange_format(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "articles.jsonl",
        '{"id": "x", "question": "Q?", "alternates": ["q"], "answer": "A", "lang": "en"}\n\n{"id": "y",\n',
    )
    with pytest.raises(KnowledgeError, match=r"articles.jsonl:3: broken JSON"):
        load_jsonl_articles(path)
    path.write_text(
        '{"id": "x", "question": "Q?", "alternates": ["q"], "answer": "A", "lang": "en"}\n'
    )
    (art,) = load_jsonl_articles(path)
    assert art.lang == "en" and art.alternates == ("q",) and art.source.endswith(":1")
