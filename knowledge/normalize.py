"""Turn what employees type into comparable tokens.

Chat text is short, informal and mixed Indonesian/English, so matching on raw
words fails on "pw", "gak", "tolonggg" or "printernya". Every phrasing of an
article and every query goes through the same :class:`Normalizer`, so whatever
it does to a word it does on both sides.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

from Sastrawi.Dictionary.ArrayDictionary import ArrayDictionary
from Sastrawi.Stemmer.Stemmer import Stemmer
from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

HERE = Path(__file__).resolve().parent
DEFAULT_SLANG = HERE / "slang.txt"
DEFAULT_STOPWORDS = HERE / "stopwords.txt"
DEFAULT_EXTERNAL = HERE / "external.txt"

_TOKEN = re.compile(r"[a-z0-9]+")
_REPEAT3 = re.compile(r"([a-z])\1{2,}")
# "kata2" and "buku-buku" are Indonesian reduplication: keep one copy.
_REDUP_DIGIT = re.compile(r"\b([a-z]{2,})2\b")
_REDUP_DASH = re.compile(r"\b([a-z]{2,})-\1\b")
_CANT = re.compile(r"\b(?:can|won)['\u2019]t\b")
_CANT_MAP = {"ca": "can not", "wo": "will not"}
_NT = re.compile(r"n['\u2019]t\b")
# -nya/-lah/-kah/-pun on words Sastrawi does not know (loanwords: "printernya").
_ID_CLITIC = re.compile(r"^([a-z]{3,}?)(nya|lah|kah|pun)$")

_ROOT_LIST = [w.strip() for w in StemmerFactory().get_words() if w.strip()]
_ID_ROOTS: frozenset[str] = frozenset(_ROOT_LIST)
_stemmer = Stemmer(ArrayDictionary(_ROOT_LIST))


def read_word_list(path: Path | str) -> list[str]:
    """One entry per line; '#' starts a comment so operators can annotate."""
    out: list[str] = []
    for raw in Path(path).read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            out.append(line)
    return out


def read_slang(path: Path | str) -> dict[str, str]:
    """Lines look like ``gak, ga, nggak = tidak``; the right side may be several words."""
    table: dict[str, str] = {}
    for line in read_word_list(path):
        if "=" not in line:
            continue
        left, right = line.split("=", 1)
        target = " ".join(_TOKEN.findall(fold(right)))
        for key in left.split(","):
            key = " ".join(_TOKEN.findall(fold(key)))
            if key and target:
                table[key] = target
    return table


def fold(text: str) -> str:
    """Lower-case and strip accents so "Résumé" and "resume" meet."""
    text = text.lower()
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c))


def _unstretch(token: str) -> str:
    """ "tolonggg" -> "tolong" but "maaaf" -> "maaf": keep a double letter if it makes a word."""
    if not _REPEAT3.search(token):
        return token
    two = _REPEAT3.sub(r"\1\1", token)
    return two if two in _ID_ROOTS else _REPEAT3.sub(r"\1", token)


_EN_SUFFIXES = (
    ("ational", "ate"),
    ("ization", "ize"),
    ("fulness", "ful"),
    ("iveness", "ive"),
    ("ations", "ate"),
    ("ation", "ate"),
    ("ingly", ""),
    ("ments", ""),
    ("ment", ""),
    ("ness", ""),
    ("ies", "y"),
    ("ied", "y"),
    ("sses", "ss"),
    ("ing", ""),
    ("ers", ""),
    ("er", ""),
    ("ed", ""),
    ("ly", ""),
    ("es", ""),
    ("s", ""),
)


@lru_cache(maxsize=200_000)
def _stem_en(word: str) -> str:
    """A light English suffix stripper; Porter is too eager on Indonesian words.

    Only has to map inflections of one word to one key ("deleting", "deleted",
    "delete" -> "delet"), not to produce a real word.
    """
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith(("ss", "us", "is")):
        return word
    stem = word
    for suffix, repl in _EN_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: len(word) - len(suffix)] + repl
            if len(stem) > 3 and stem[-1] == stem[-2] and stem[-1] not in "lsz":
                stem = stem[:-1]  # "stopped" -> "stop"
            break
    if len(stem) > 3 and stem.endswith("e"):
        stem = stem[:-1]
    return stem


_COLLOQ_PREFIX = (
    ("nge", ""),
    ("ny", "c"),
    ("ny", "s"),
    ("ng", "k"),
    ("ng", ""),
    ("n", "t"),
    ("ke", ""),
    ("di", ""),
    ("m", "p"),
)


def _formal_root(word: str) -> str | None:
    """Root of a Jakarta-colloquial verb: "ngajuin" -> "aju", "nerima" -> "terima",
    "kesimpen" -> "simpan". Sastrawi only knows formal affixes (me-...-kan)."""
    bases = [word]
    for suffix in ("innya", "in", "nya"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            bases.append(word[: -len(suffix)])
    cands: list[str] = []
    for base in bases:
        cands.append(base)
        for prefix, repl in _COLLOQ_PREFIX:
            if base.startswith(prefix) and len(base) - len(prefix) >= 3:
                cands.append(repl + base[len(prefix) :])
    for cand in cands:
        for form in (cand, cand[:-2] + "a" + cand[-1] if cand[-2:-1] == "e" else cand):
            if form in _ID_ROOTS:
                return form
    return None


# Endings no Indonesian word has once roots are excluded.
_EN_ONLY_ENDINGS = ("ing", "ed", "tion", "tions", "ness", "ment", "ments", "ly")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Indonesian stem when Sastrawi knows the word, otherwise a light English one.

    Cached per token: Sastrawi costs milliseconds per sentence uncached.
    """
    if word.isdigit() or len(word) <= 3:
        return word
    if word in _ID_ROOTS:
        return word
    if word.endswith(_EN_ONLY_ENDINGS):
        return _stem_en(word)  # Sastrawi would read "deleting" as de-l-eting
    s = _stemmer.stem_word(word)
    if s != word and s:
        return s
    root = _formal_root(word)
    if root:
        return root
    m = _ID_CLITIC.match(word)
    if m and m.group(1) not in _ID_ROOTS and len(m.group(1)) >= 3:
        return _stem_en(m.group(1))
    return _stem_en(word)


_EN_MARKERS = frozenset(
    str.split(
        "the a an my i is are am was how what why when where can cant cannot do does dont "
        "to of in on for with not it this that you your me please will be have has and or "
        "from at by after again every any there which but no out up keeps keep always never "
        "still anymore working work shows show now need help new before while because "
        "just only all get got wont isnt doesnt didnt cant should would could"
    )
)
_ID_MARKERS = frozenset(
    str.split(
        "yang yg di ke dari saya sy aku gw tidak gak ga nggak tdk bisa gabisa gimana gmn "
        "bagaimana apa ini itu dan untuk utk ada sudah udah udh belum blm mau tolong mohon "
        "kenapa knp kok ya dong min pak bu sih nya lagi kalo kalau tapi tp cara caranya "
        "mulu melulu terus trus aja saja juga jg masih msh banget bgt nih deh gmana gimna"
    )
)


def guess_lang(text: str) -> str | None:
    """ "id" or "en" from function words; None when the text gives no clue.

    Only used to pick between translations of one article, so a rough guess is enough.
    """
    words = _TOKEN.findall(fold(text).replace("'", ""))
    en = sum(w in _EN_MARKERS for w in words)
    ind = sum(w in _ID_MARKERS for w in words)
    if en == ind:
        return None
    return "en" if en > ind else "id"


class Normalizer:
    """Shared by index and query so both sides agree on every token."""

    def __init__(
        self,
        slang_path: Path | str | None = None,
        stopwords_path: Path | str | None = None,
    ) -> None:
        external = read_slang(DEFAULT_EXTERNAL) if DEFAULT_EXTERNAL.exists() else {}
        #: other organisations' apps (knowledge/external.txt): name token -> kind tokens
        self.external: dict[str, frozenset[str]] = {}
        for target in external.values():
            name, *kinds = target.split()
            self.external.setdefault(stem(name), frozenset())
            self.external[stem(name)] |= {stem(k) for k in kinds}
        # an operator's slang entry for the same words wins over the bundled list
        self.slang = {**external, **read_slang(slang_path or DEFAULT_SLANG)}
        self.stopwords = frozenset(read_word_list(stopwords_path or DEFAULT_STOPWORDS))
        self._multi = {k: v for k, v in self.slang.items() if " " in k}
        self._max_key = max((k.count(" ") + 1 for k in self._multi), default=1)
        self._multi_first = frozenset(k.split()[0] for k in self._multi)
        self._split = {k: v.split() for k, v in self.slang.items()}

    def clean(self, text: str) -> str:
        """Case, accents, punctuation, stretched letters and reduplication."""
        text = fold(text)
        if "'" in text or "\u2019" in text:
            text = _CANT.sub(lambda m: _CANT_MAP[m.group(0)[:2]], text)
            text = _NT.sub(" not", text).replace("'", "").replace("\u2019", "")
        if _REPEAT3.search(text):
            text = " ".join(_unstretch(t) for t in text.split())
        if "-" in text:
            text = _REDUP_DASH.sub(r"\1", text)
        if "2" in text:
            text = _REDUP_DIGIT.sub(r"\1", text)
        return " ".join(_TOKEN.findall(text))

    def words(self, text: str) -> list[str]:
        """Cleaned words with slang expanded, before stop words and stemming."""
        toks = self.clean(text).split()
        out: list[str] = []
        i = 0
        split = self._split
        while i < len(toks):
            tok = toks[i]
            if tok in self._multi_first:
                for n in range(min(self._max_key, len(toks) - i), 1, -1):
                    key = " ".join(toks[i : i + n])
                    if key in self._multi:
                        out.extend(split[key])
                        i += n
                        break
                else:
                    out.extend(split.get(tok, (tok,)))
                    i += 1
            else:
                out.extend(split.get(tok, (tok,)))
                i += 1
        return out

    def tokens(self, text: str) -> list[str]:
        """Stemmed content words: what term weighting counts."""
        return self.analyse(text)[1]

    def analyse(self, text: str) -> tuple[list[str], list[str]]:
        """(words, tokens) in one pass, for callers that need both."""
        words = self.words(text)
        stop = self.stopwords
        return words, [stem(w) for w in words if w not in stop]
