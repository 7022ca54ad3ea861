"""The text catalogues against the code: every key the code can use is in id.yaml and
en.yaml, both catalogues have the same keys, and each key has the same placeholders in
both languages. The keys are found by reading the code (tests/text_keys.py), so a new
`t("...")`, wrapper or f-string key is checked without anyone listing it here."""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pytest

from bot.core import (
    availability,
    change_states,
    changes,
    outages,
    priority,
    review_actions,
    review_figures,
    reviews,
    sla,
)
from bot.core.roles import Role
from bot.core.ticket_states import STATES, TYPES
from bot.i18n import LANGUAGES, catalogue
from bot.reports import criteria
from bot.reports import reviews as review_report
from tests.text_keys import HOLE, Scanner, Use

REPO = Path(__file__).resolve().parents[2]
ROOTS = ("bot", "knowledge", "storage")  # storage: the keys of storage.backup.BackupError
_TEMPLATE_KEY = re.compile(r"""\bt\(\s*(["'])([^"'{}]+)\1""")

#: Where no module exports a list of them: what ServiceState.state holds (storage/models.py:
#: "unknown | up | degraded | down") and the states only the status views add.
SERVICE_STATES = ("unknown", "up", "degraded", "down", "maintenance", "unmonitored", "reported")


@cache
def scanner() -> Scanner:
    return Scanner(REPO, ROOTS)


def _alert_kinds() -> list[str]:
    """Whatever the code raises: the `kind` of every raise_alert() call."""
    kinds = {u.key for u in scanner().keys_into("bot.core.alerts", "raise_alert", "kind")}
    assert kinds and not any(HOLE in k for k in kinds), kinds
    return sorted(kinds)


#: The parts of keys only known at run time, by pattern, from the modules that define them.
DOMAINS: dict[str, Callable[[], Iterable[object]]] = {
    "state.{}": lambda: STATES,
    "type.{}": lambda: TYPES,
    "report.ask_description.{}": lambda: TYPES,
    "reports.records.{}": lambda: TYPES,
    "role.{}": lambda: [r.value for r in Role],
    "sla.state.{}": lambda: (sla.ON_TRACK, sla.AT_RISK, sla.BREACHED, sla.MET),
    # impact and urgency are the two axes of the priority matrix
    "impact.{}": lambda: sorted({i for i, _ in priority._MATRIX}),
    "urgency.{}": lambda: sorted({u for _, u in priority._MATRIX}),
    "status.state.{}": lambda: SERVICE_STATES,
    "availability.period.{}": lambda: [
        p.name for p in availability.periods(datetime.now(UTC), "Asia/Jakarta")
    ],
    "alert.headline.{}": _alert_kinds,
    # the guideline's criteria and what the agency attaches, from bot/reports/criteria.yaml
    "reports.evidence.criterion.{}": lambda: [c.code for c in criteria.load().criteria],
    "reports.evidence.attach.{}": lambda: sorted(
        {a for c in criteria.load().criteria for a in c.attach}
    ),
    "review.state.{}": lambda: (*reviews.STATES, *review_actions.STATES),
    "reports.review.event.{}": lambda: reviews.EVENT_KINDS,
    "review.missing.{}": lambda: reviews.RECORD_PARTS,
    "reports.review.measure.{}": lambda: review_figures.MEASURES,
    "reports.review.column.{}": lambda: review_report.COLUMNS,
    "changes.kind.{}": lambda: change_states.KINDS,
    "changes.risk.{}": lambda: change_states.RISKS,
    "changes.state.{}": lambda: change_states.STATES,
    "changes.result.{}": lambda: change_states.RESULTS,
    "changes.rule.{}": lambda: change_states.RULES,
    "changes.post.decision.{}": lambda: change_states.DECISIONS,
    "changes.ask.{}": lambda: changes.TEXT_FIELDS,
    "changes.short.{}": lambda: changes.TEXT_FIELDS,
    "changes.ask_note.{}": lambda: ("tolak", "info"),
    "reports.changes.decision.{}": lambda: change_states.DECISIONS,
    "reports.label.alert.{}": _alert_kinds,
    "reports.label.criticality.{}": lambda: outages.IMPACT_URGENCY,
}


def template_uses() -> set[Use]:
    """`t("key")` in the Jinja templates (the status page)."""
    uses = set()
    for path in sorted((REPO / "bot").rglob("templates/*.html")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for m in _TEMPLATE_KEY.finditer(line):
                uses.add(Use(m.group(2), str(path.relative_to(REPO)), n))
    return uses


@cache
def code_uses() -> tuple[tuple[Use, ...], tuple[Use, ...]]:
    """(the keys the code can use, with run-time parts expanded; patterns nobody expands)."""
    found = scanner().keys_into("bot.i18n", "t", "key") | template_uses()
    keys: set[Use] = set()
    unknown: set[Use] = set()
    for use in found:
        if HOLE not in use.key:
            keys.add(use)
        elif use.key in DOMAINS:
            keys |= {
                Use(use.key.replace(HOLE, str(v)), use.path, use.line) for v in DOMAINS[use.key]()
            }
        else:
            unknown.add(use)
    for pattern, values in DOMAINS.items():  # every value of a domain must have its text
        keys |= {
            Use(pattern.replace(HOLE, str(v)), "tests/unit/test_texts.py", 0) for v in values()
        }
    order = sorted(keys, key=lambda u: (u.key, u.path, u.line))
    return tuple(order), tuple(sorted(unknown, key=lambda u: (u.path, u.line)))


def _placeholders(text: object) -> set[str]:
    joined = "\n".join(map(str, text)) if isinstance(text, list) else str(text)
    return {field for _, field, _, _ in string.Formatter().parse(joined) if field is not None}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_key_the_code_uses_has_a_text(lang: str) -> None:
    texts = catalogue(lang)
    missing = [f"{u.key}  ({u.path}:{u.line})" for u in code_uses()[0] if u.key not in texts]
    assert not missing, f"keys missing from bot/texts/{lang}.yaml:\n" + "\n".join(missing)


def test_every_key_built_at_run_time_has_known_values() -> None:
    unknown = [f"{u.key}  ({u.path}:{u.line})" for u in code_uses()[1]]
    assert not unknown, (
        "keys whose run-time part ({}) the scan cannot tell; add the pattern to DOMAINS "
        "in tests/unit/test_texts.py, with values imported from the module that defines "
        "them:\n" + "\n".join(unknown)
    )


def test_the_catalogues_have_the_same_keys() -> None:
    first, *others = LANGUAGES
    for lang in others:
        only_first = sorted(set(catalogue(first)) - set(catalogue(lang)))
        only_other = sorted(set(catalogue(lang)) - set(catalogue(first)))
        assert not only_first, f"only in {first}.yaml: {only_first}"
        assert not only_other, f"only in {lang}.yaml: {only_other}"


def test_every_key_has_the_same_placeholders_in_every_language() -> None:
    first, *others = LANGUAGES
    differ = [
        f"{key}: {first} {sorted(_placeholders(text))}, {lang} "
        f"{sorted(_placeholders(catalogue(lang)[key]))}"
        for lang in others
        for key, text in catalogue(first).items()
        if key in catalogue(lang) and _placeholders(text) != _placeholders(catalogue(lang)[key])
    ]
    assert not differ, "placeholders differ between the languages:\n" + "\n".join(differ)


def test_the_scan_sees_the_reports_and_the_scheduled_posts() -> None:
    """A guard on the scan itself: keys written in several ways are all found."""
    keys = {u.key for u in code_uses()[0]}
    assert {
        "reports.evaluation.summary",  # i18n.t("...", lang)
        "reports.kind.incidents",  # t(KINDS[kind][0], lang)
        "reports.evidence.forms.sla",  # f-string over a module tuple
        "reports.priority.level.1",  # f-string over a literal loop
        "reports.records.gangguan",  # functools.partial(..., type_="gangguan")
        "posts.weekly",  # passed on as a parameter, through a lambda
        "maintenance.when.bad_time",  # raise WhenError("..."), read back as exc.key
        "kb.candidate_approved",  # f-string with a conditional part
        "status.title",  # a Jinja template
    } <= keys


def test_the_scan_finds_keys_through_wrappers_patterns_and_errors(tmp_path: Path) -> None:
    """The scan on a small made-up package, so what it follows is pinned down."""
    app = tmp_path / "app"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "i18n.py").write_text("def t(key, lang=None, **params):\n    return key\n")
    (app / "talk.py").write_text(
        "from functools import partial\n"
        "from app.i18n import t\n"
        "KINDS = {'a': ('kind.a', 1), 'b': ('kind.b', 2)}\n"
        "class Refused(Exception):\n"
        "    def __init__(self, key):\n"
        "        self.key = key\n"
        "class NotHere(Refused):\n"
        "    pass\n"
        "def say(key, lang):\n"
        "    return t(key, lang)\n"
        "def title(kind):\n"
        "    return t(KINDS[kind][0])\n"
        "def record(state, *, type_):\n"
        "    t(f'records.{type_}')\n"
        "    return t(f'state.{state.name}')\n"
        "incidents = partial(record, type_='incident')\n"
        "def run(ok):\n"
        "    say('hello.world' if ok else 'hello.nobody', 'en')\n"
        "    for stage in ('start', 'end'):\n"
        "        t('announce.' + stage)\n"
        "    try:\n"
        "        raise NotHere('error.not_here')\n"
        "    except Refused as exc:\n"
        "        return t(exc.key)\n"
    )
    uses = Scanner(tmp_path, ["app"]).keys_into("app.i18n", "t", "key")
    assert {(u.key, u.path, u.line) for u in uses} == {
        ("hello.world", "app/talk.py", 18),
        ("hello.nobody", "app/talk.py", 18),
        ("kind.a", "app/talk.py", 3),
        ("kind.b", "app/talk.py", 3),
        ("records.incident", "app/talk.py", 14),
        ("state.{}", "app/talk.py", 15),
        ("announce.start", "app/talk.py", 20),
        ("announce.end", "app/talk.py", 20),
        ("error.not_here", "app/talk.py", 22),
    }
