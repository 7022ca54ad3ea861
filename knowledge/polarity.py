"""Which words a question says are, and are NOT, the case, so "X works but Y does
not" is not answered with the article for "X does not work".

Why: word overlap ignores negation. "vpn sudah konek tapi aplikasi internal ga
kebuka" shares "vpn" and "sambung" with "VPN tidak tersambung" and everything
with "Sudah tersambung VPN tetapi aplikasi internal tidak bisa dibuka"; only
the polarity of "sambung" tells them apart.

Scope is the usual short one for chat text: a negator ("tidak", "belum",
"gagal", "not", "cannot", ...) negates the first content word after it,
skipping modal and function words ("tidak bisa dibuka" negates "buka"); "sudah"
/ "already" asserts the word after it the same way, and a contrast ("tapi",
"but") asserts what its clause states plainly before it ("wifi nyambung tapi
...": "sambung" is asserted). Negations that state a wish or a goal rather than
what is happening are left out: "don't want", "ga perlu", and anything after
"biar" / "supaya" / "so that". Only what a text asserts or negates counts; a
plain mention ("cara konek vpn") says neither, so how-to questions are never
read as claims. Words are compared after slang expansion and stemming, as the
index sees them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

NEGATORS = frozenset(
    str.split(
        "tidak belum bukan gagal gabisa not no never cannot cant unable fail fails failed "
        "failing dont doesnt didnt isnt wont arent wasnt couldnt"
    )
)
ASSERTERS = frozenset(str.split("sudah telah berhasil already successfully succeeded"))
CONTRASTS = frozenset(str.split("tapi tetapi namun padahal but however"))
#: a goal follows: what is negated after it is wished for, not happening
PURPOSES = frozenset(str.split("biar agar supaya so prevent avoid jangan"))
#: negating these states a wish or a need ("don't want", "ga perlu"), not a fault
#: ("tidak mau" is not among them: of a device it says "won't", "printer ga mau nyetak")
WISHES = frozenset(str.split("want like need wish ingin perlu butuh pengen pingin"))
#: words between a negator and what it negates ("tidak BISA dibuka", "can NOT be opened")
MODALS = frozenset(
    str.split(
        "bisa dapat mau boleh sempat pernah lagi juga mampu ada sih kok pun "
        "can could will would be able to is are was were been do does did get got"
    )
)
#: how far after a negator its word may stand
_REACH = 3


@dataclass(frozen=True)
class Polarity:
    """Stemmed content words a text negates, and words it asserts."""

    negated: frozenset[str] = frozenset()
    asserted: frozenset[str] = frozenset()


def polarity(words: Sequence[str], stop: frozenset[str], stem: Callable[[str], str]) -> Polarity:
    """Read ``words`` (cleaned, slang expanded) for negated and asserted words."""
    negated: set[str] = set()
    asserted: set[str] = set()
    markers = NEGATORS | ASSERTERS | CONTRASTS | PURPOSES
    clause: list[str] = []  # plain content words of the clause so far
    goal = negative = False  # the clause states a goal / holds a negation
    skip_to = 0
    for i, w in enumerate(words):
        if w in CONTRASTS:
            if not negative and not goal:
                asserted.update(stem(c) for c in clause)
            clause, goal, negative = [], False, False
            continue
        if w in PURPOSES:
            clause, goal = [], True
            continue
        if w in NEGATORS or w in ASSERTERS:
            negative = negative or w in NEGATORS
            for j in range(i + 1, min(i + 1 + _REACH, len(words))):
                nxt = words[j]
                if nxt in markers or nxt in WISHES:
                    break
                if nxt in MODALS or nxt in stop:
                    continue
                if not goal:
                    (negated if w in NEGATORS else asserted).add(stem(nxt))
                skip_to = j + 1
                break
            continue
        if i >= skip_to and w not in stop and w not in MODALS and w not in WISHES:
            clause.append(w)
    # a word said to be so and not so (in two clauses) says neither
    both = negated & asserted
    return Polarity(frozenset(negated - both), frozenset(asserted - both))


@dataclass(frozen=True)
class ArticlePolarity:
    """Words some phrasing of an article negates, and words some phrasing asserts."""

    negated: frozenset[str] = frozenset()
    asserted: frozenset[str] = frozenset()

    @classmethod
    def of(cls, phrasings: Iterable[Polarity]) -> ArticlePolarity:
        out = cls()
        for p in phrasings:
            out = out.with_phrasing(p)
        return out

    def with_phrasing(self, p: Polarity) -> ArticlePolarity:
        return ArticlePolarity(self.negated | p.negated, self.asserted | p.asserted)


def disagrees(query: Polarity, article: ArticlePolarity) -> bool:
    """True when the question negates a word the article asserts (and never
    negates), or asserts a word the article negates (and never asserts)."""
    if query.negated and not query.negated.isdisjoint(article.asserted - article.negated):
        return True
    return bool(query.asserted) and not query.asserted.isdisjoint(
        article.negated - article.asserted
    )
