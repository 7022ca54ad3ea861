"""Knowledge-base articles and the files they live in.

Articles are edited by service managers, not programmers, so every problem is
reported with the file and line where it can be fixed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

ARTICLE_SUFFIXES = (".yaml", ".yml", ".md", ".markdown")
_LINE_KEY = "__line__"
_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*\r?$\n?", re.S | re.M)


class KnowledgeError(Exception):
    """A problem in the knowledge files; the message starts with "file:line:"."""


@dataclass(frozen=True)
class Article:
    id: str
    question: str
    alternates: tuple[str, ...]
    answer: str
    service: str | None = None
    tags: tuple[str, ...] = ()
    lang: str = "id"
    owner: str | None = None
    last_reviewed: date | None = None
    source: str = ""

    @property
    def phrasings(self) -> tuple[str, ...]:
        """Every way of asking the question this article answers."""
        return (self.question, *self.alternates)


_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml is ~10x faster


class _LineLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    """Remembers where each mapping starts so messages can point at it."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping[_LINE_KEY] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


@dataclass
class RawArticle:
    """An article mapping as found in a file, before validation."""

    data: dict[str, Any]
    path: Path
    line: int

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def _yaml_error(path: Path, exc: yaml.YAMLError, offset: int = 0) -> KnowledgeError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = (mark.line + 1 if mark else 1) + offset
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return KnowledgeError(f"{path}:{line}: broken YAML: {problem}")


def _raw_from_yaml(path: Path, text: str) -> list[RawArticle]:
    try:
        docs = [d for d in yaml.load_all(text, Loader=_LineLoader) if d is not None]
    except yaml.YAMLError as exc:
        raise _yaml_error(path, exc) from exc
    items: list[Any] = []
    for doc in docs:
        if isinstance(doc, dict) and isinstance(doc.get("articles"), list):
            items.extend(doc["articles"])
        elif isinstance(doc, list):
            items.extend(doc)
        else:
            items.append(doc)
    out = []
    for item in items:
        if not isinstance(item, dict):
            raise KnowledgeError(
                f"{path}:1: expected an article mapping, found {type(item).__name__}"
            )
        out.append(RawArticle(item, path, int(item.get(_LINE_KEY, 1))))
    return out


def _raw_from_markdown(path: Path, text: str) -> list[RawArticle]:
    m = _FRONT.match(text)
    if not m:
        raise KnowledgeError(f"{path}:1: broken front matter: file must start with a '---' block")
    try:
        data = yaml.load(m.group(1), Loader=_LineLoader)
    except yaml.YAMLError as exc:
        raise _yaml_error(path, exc, offset=1) from exc
    if not isinstance(data, dict):
        raise KnowledgeError(f"{path}:2: broken front matter: expected 'key: value' lines")
    body = text[m.end() :].strip()
    if body and not data.get("answer"):
        data["answer"] = body
    return [RawArticle(data, path, 1)]


def read_raw(path: Path) -> list[RawArticle]:
    """Article mappings of one file, raising KnowledgeError when it cannot be parsed."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KnowledgeError(f"{path}:1: cannot read: {exc}") from exc
    if path.suffix.lower() in (".md", ".markdown"):
        return _raw_from_markdown(path, text)
    return _raw_from_yaml(path, text)


def _strings(value: Any, where: str, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
        raise KnowledgeError(f"{where}: '{field}' must be a list of texts")
    return tuple(str(v).strip() for v in value if str(v).strip())


def _date(value: Any, where: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise KnowledgeError(f"{where}: last_reviewed must be YYYY-MM-DD, got {value!r}") from exc


def _opt_str(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def build_article(raw: RawArticle) -> Article:
    """Validate one mapping; raises KnowledgeError naming file and line."""
    d, where = raw.data, raw.where
    art_id = _opt_str(d.get("id"))
    if not art_id:
        raise KnowledgeError(f"{where}: article has no id")
    question = _opt_str(d.get("question"))
    if not question:
        raise KnowledgeError(f"{where}: article '{art_id}' has no question")
    answer = d.get("answer")
    if not isinstance(answer, str) or not answer.strip():
        raise KnowledgeError(f"{where}: article '{art_id}' has an empty answer")
    return Article(
        id=art_id,
        question=question,
        alternates=_strings(d.get("alternates"), where, "alternates"),
        answer=answer.strip(),
        service=_opt_str(d.get("service")),
        tags=_strings(d.get("tags"), where, "tags"),
        lang=_opt_str(d.get("lang")) or "id",
        owner=_opt_str(d.get("owner")),
        last_reviewed=_date(d.get("last_reviewed"), where),
        source=where,
    )


def article_files(directory: Path | str) -> Iterator[Path]:
    """Article files in a stable order, so duplicates are reported the same way every time."""
    root = Path(directory)
    if root.is_file():
        yield root
        return
    if not root.is_dir():
        raise KnowledgeError(f"{root}:1: no such knowledge directory")
    for path in sorted(root.rglob("*")):
        if (
            path.is_file()
            and path.suffix.lower() in ARTICLE_SUFFIXES
            and not path.name.startswith(".")
        ):
            yield path


def load_articles(directory: Path | str) -> list[Article]:
    """All articles under ``directory``; the first problem found raises KnowledgeError."""
    seen: dict[str, str] = {}
    out: list[Article] = []
    for path in article_files(directory):
        for raw in read_raw(path):
            art = build_article(raw)
            if art.id in seen:
                raise KnowledgeError(
                    f"{art.source}: duplicate id '{art.id}' (first at {seen[art.id]})"
                )
            seen[art.id] = art.source
            out.append(art)
    return out


def load_jsonl_articles(path: Path | str) -> list[Article]:
    """Articles in the FAQ evaluation interchange format (one JSON object per line)."""
    path = Path(path)
    out: list[Article] = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
            except json.JSONDecodeError as exc:
                raise KnowledgeError(f"{path}:{lineno}: broken JSON: {exc.msg}") from exc
            d[_LINE_KEY] = lineno
            out.append(build_article(RawArticle(d, path, lineno)))
    return out
