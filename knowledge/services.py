"""Which service a question names, so an answer about another service is not given.

Why: word overlap ranks "email kantor sy ga bisa login" close to the SIMPEG login
article, because "tidak bisa masuk" is most of the question. The one word that
matters, the service ("email" -> "surel"), is a small share of it. The catalog
(knowledge/catalog.yaml) names every service and the words people use for it;
read through the same normaliser (slang map, stemming) as the articles, those
words say which service a question is about, and an article of another service
that does not even contain the word is not the answer.

A catalog word marks its service only when it is distinctive: it belongs to one
service's names and keywords, and most knowledge-base articles that use it in
their questions belong to that service (or to none). "masuk" is an SSO keyword
but appears in login articles of every application, so it marks nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import yaml

from knowledge.articles import Article
from knowledge.normalize import Normalizer

DEFAULT_CATALOG = Path(__file__).resolve().parent / "catalog.yaml"
#: share of the articles using a word (in their phrasings) that must belong to its service
_OWN_SHARE = 0.5


def read_catalog_terms(path: Path | str | None) -> dict[str, list[str]]:
    """Service id -> the phrases that name it (id, name, the name's parts, keywords).

    A missing or unreadable catalog gives no terms: matching then works as before.
    """
    if path is None:
        return {}
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return {}
    out: dict[str, list[str]] = {}
    for entry in data.get("services") or []:
        if not isinstance(entry, dict) or not entry.get("id"):
            continue
        sid = str(entry["id"])
        name = str(entry.get("name") or "")
        phrases = [sid, name, *name.replace("(", ",").replace(")", ",").split(",")]
        phrases += [str(k) for k in entry.get("keywords") or []]
        out[sid] = [p for p in phrases if p.strip()]
    return out


def read_catalog_apps(path: Path | str | None) -> frozenset[str]:
    """Services reached at their own web address: our applications and sites, the
    peers of another organisation's app (knowledge/external.txt). The network or the
    VPN, reached otherwise, are the way to any app, not one of them."""
    if path is None:
        return frozenset()
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return frozenset()
    return frozenset(
        str(e["id"])
        for e in data.get("services") or []
        if isinstance(e, dict)
        and e.get("id")
        and str(e.get("access") or "").startswith(("http://", "https://"))
    )


class ServiceTerms:
    """Distinctive stemmed tokens per service, and the services a query names."""

    def __init__(
        self,
        catalog: dict[str, list[str]],
        articles: Sequence[Article],
        article_tokens: Sequence[frozenset[str]],
        norm: Normalizer,
    ) -> None:
        by_token: dict[str, set[str]] = {}
        for sid, phrases in catalog.items():
            for phrase in phrases:
                for tok in norm.tokens(phrase):
                    if len(tok) >= 3 and not tok.isdigit():
                        by_token.setdefault(tok, set()).add(sid)
        known = set(catalog)
        self.service_of: dict[str, str] = {}
        for tok, sids in by_token.items():
            if len(sids) != 1:
                continue
            (sid,) = sids
            users = [
                a.service
                for a, toks in zip(articles, article_tokens, strict=True)
                if tok in toks and a.service in known
            ]
            if users and sum(s == sid for s in users) / len(users) < _OWN_SHARE:
                continue
            self.service_of[tok] = sid

    def named(self, tokens: Iterable[str]) -> dict[str, str]:
        """The query's distinctive tokens and the service each names."""
        return {t: self.service_of[t] for t in tokens if t in self.service_of}


def other_app(
    external: Sequence[str],
    named: dict[str, str],
    service: str | None,
    apps: frozenset[str],
    article_tokens: frozenset[str],
) -> bool:
    """True when the question is about another organisation's app (``external``
    names) and this article is about one of our apps that the question does not
    name, without mentioning that app: "wa web ga bisa dibuka" is not about our site."""
    if not external or service is None or service not in apps or service in named.values():
        return False
    return not any(e in article_tokens for e in external)


def conflicts(named: dict[str, str], service: str | None, article_tokens: frozenset[str]) -> bool:
    """True when the question names a service this article is not about, by a word
    the article does not use. Articles about no service never conflict."""
    if not named or service is None or service in named.values():
        return False
    return any(t not in article_tokens for t in named)
