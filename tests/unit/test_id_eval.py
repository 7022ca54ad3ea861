"""The bundled Indonesian knowledge base against queries written the way employees write.

tests/data/id_eval.jsonl holds informal questions (slang, typos, abbreviations,
mixed English) that are not copies of any article's phrasings, plus questions no
article answers. Quality is asserted; time is not (the benchmark measures it).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rapidfuzz import fuzz, utils

from knowledge import Matcher, load_articles
from knowledge.evaluation import evaluate_matcher, load_queries

ROOT = Path(__file__).resolve().parents[2]
QUERIES = ROOT / "tests" / "data" / "id_eval.jsonl"


@pytest.fixture(scope="module")
def result() -> dict:
    matcher = Matcher(load_articles(ROOT / "knowledge" / "articles"))
    return evaluate_matcher(matcher, load_queries(QUERIES))


def test_eval_set_shape() -> None:
    rows = [json.loads(line) for line in QUERIES.read_text(encoding="utf-8").splitlines() if line]
    answerable = [r for r in rows if r["expected"]]
    assert len(answerable) >= 150
    assert len(rows) - len(answerable) >= 30
    ids = {a.id: a for a in load_articles(ROOT / "knowledge" / "articles")}
    assert {r["expected"] for r in answerable} <= set(ids)
    for r in answerable:  # written fresh, not pasted from the articles
        phrasings = ids[r["expected"]].phrasings
        best = max(fuzz.ratio(r["query"], p, processor=utils.default_process) for p in phrasings)
        assert best < 90, r["query"]


def test_top1_accuracy(result: dict) -> None:
    assert result["top1"] >= 0.90, result


def test_rarely_confidently_wrong(result: dict) -> None:
    assert result["confident_wrong"] <= 0.03, result
