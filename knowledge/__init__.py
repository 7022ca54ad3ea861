"""Knowledge base: articles, Indonesian-aware matching, checks and evaluation.

Other packages import from here only, so the modules inside can move.
"""

from knowledge.articles import Article, KnowledgeError, load_articles, load_jsonl_articles
from knowledge.check import check_knowledge
from knowledge.evaluation import evaluate
from knowledge.matcher import DEFAULT_ANSWER, DEFAULT_SUGGEST, Decision, Match, Matcher

__all__ = [
    "DEFAULT_ANSWER",
    "DEFAULT_SUGGEST",
    "Article",
    "Decision",
    "KnowledgeError",
    "Match",
    "Matcher",
    "check_knowledge",
    "evaluate",
    "load_articles",
    "load_jsonl_articles",
]
