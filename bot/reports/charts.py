"""Charts as PNG bytes (matplotlib, headless Agg backend); axis labels, legends and every
number on them in the report's language (`bot.i18n.fmt_number`), so a chart reads the
same as the table beside it."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from babel.dates import format_date, format_datetime, format_interval  # noqa: E402
from matplotlib.axis import Axis  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator  # noqa: E402

from bot.i18n import DEFAULT_LANG, fmt_number, fmt_percent, norm_lang, t  # noqa: E402

if TYPE_CHECKING:
    from bot.core.summary import Summary


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def week_label(first: date, last: date, lang: str = DEFAULT_LANG) -> str:
    """The days a weekly figure covers, as a reader says them: "24–30 Nov",
    "29 Nov – 5 Des" (Babel's interval format of the language)."""
    return format_interval(first, last, "MMMd", locale=norm_lang(lang))


def day_label(day: date, lang: str = DEFAULT_LANG) -> str:
    return format_date(day, "d MMM", locale=norm_lang(lang))


def _count_axis(axis: Axis, lang: str) -> None:
    """Counts are whole numbers: no 2.5 tickets on the axis, thousands grouped the
    language's way."""
    axis.set_major_locator(MaxNLocator(integer=True))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt_number(round(v), lang)))


def _number_axis(axis: Axis, lang: str, digits: int) -> None:
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt_number(float(v), lang, digits)))


def volume_figure(
    days: list[date], counts: list[int], title: str, lang: str = DEFAULT_LANG
) -> Figure:
    fig, ax = plt.subplots(figsize=(8, 2.8))
    xs = list(range(len(days)))
    ax.bar(xs, counts, color="#8b0000")
    step = max(1, len(days) // 15)
    ax.xaxis.set_major_locator(FixedLocator(xs[::step]))
    ax.set_xticklabels([day_label(d, lang) for d in days[::step]], fontsize=7, rotation=30)
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(t("reports.chart.tickets", lang))
    _count_axis(ax.yaxis, lang)
    ax.set_ylim(0, max([*counts, 1]) * 1.1)
    return fig


def compliance_figure(
    labels: list[str],
    response: list[float | None],
    resolution: list[float | None],
    title: str,
    lang: str = DEFAULT_LANG,
) -> Figure:
    """SLA compliance per week; `labels` say the dates of each week (`week_label`)."""
    fig, ax = plt.subplots(figsize=(8, 2.8))
    xs = range(len(labels))
    ax.plot(
        xs,
        [v if v is not None else float("nan") for v in response],
        marker="o",
        label=t("reports.chart.response", lang),
    )
    ax.plot(
        xs,
        [v if v is not None else float("nan") for v in resolution],
        marker="s",
        label=t("reports.chart.resolution", lang),
    )
    ax.set_xticks(list(xs), labels, fontsize=7, rotation=30)
    ax.set_ylim(0, 105)
    _number_axis(ax.yaxis, lang, 0)
    ax.set_ylabel(t("reports.chart.sla_pct", lang))
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return fig


def _target_label(targets: Sequence[float], lang: str) -> str:
    """What the black mark means: one figure when every service has the same target."""
    if targets and len(set(targets)) == 1:
        return t("reports.chart.target_value", lang, value=fmt_percent(targets[0], lang, 1))
    return t("reports.chart.target_each", lang)


def availability_figure(
    names: list[str],
    values: list[float | None],
    targets: list[float],
    title: str,
    lang: str = DEFAULT_LANG,
) -> Figure:
    """Availability per service against its target; the bars run top to bottom in the
    order of `names`, the order of the table the chart stands beside."""
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(names) + 1.4))
    ys = list(range(len(names)))
    shown = [v if v is not None else 0.0 for v in values]
    colors = [
        "#15803d" if v is not None and v >= goal else "#b91c1c"
        for v, goal in zip(values, targets, strict=True)
    ]
    ax.barh(ys, shown, color=colors)
    ax.scatter(targets, ys, marker="|", s=200, color="black", label=_target_label(targets, lang))
    low = min([v for v in values if v is not None] + targets + [99.0])
    ax.set_xlim(max(0.0, low - 1), 100.05)
    ax.set_yticks(ys, names, fontsize=7)
    ax.invert_yaxis()
    _number_axis(ax.xaxis, lang, 1)
    ax.set_xlabel(t("reports.chart.availability_pct", lang))
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="lower left")
    return fig


def summary_availability(s: Summary, lang: str = DEFAULT_LANG) -> bytes | None:
    """The status summary's picture: 7-day availability per service against its target,
    for channels that show images; None when no service is monitored."""
    if not s.week_availability:
        return None
    items = sorted(s.week_availability.items(), key=lambda kv: s.names.get(kv[0], kv[0]))
    return availability(
        [s.names.get(k, k) for k, _ in items],
        [v for _, v in items],
        [s.targets[k] for k, _ in items],
        t("summary.chart_title", lang),
        lang,
    )


#: the time under a step: hours and minutes the way `bot.i18n.fmt_dt` writes them
_STEP_TIME = {"id": "d MMM HH.mm", "en": "d MMM HH:mm"}


@dataclass(frozen=True)
class Step:
    """One recorded change of a ticket on the swimlane: when, in which lane, what."""

    at: datetime
    lane: int
    label: str


def swimlane_figure(
    lanes: list[str], steps: list[Step], title: str, tz: str, lang: str = DEFAULT_LANG
) -> Figure:
    """The trail of one ticket as a swimlane diagram (guideline ch. 3.6, level 3 e): a
    lane per role, the steps in time order joined by a line that crosses lanes where the
    work is handed over. Times on the axis in the agency's zone."""
    # a long trail gets a wider picture (the PDF scales it to the page), up to twice
    fig, ax = plt.subplots(figsize=(min(18, max(9, 0.55 * len(steps))), 0.7 * len(lanes) + 1.6))
    zone = ZoneInfo(tz)
    xs = list(range(len(steps)))
    ys = [s.lane for s in steps]
    for lane in range(len(lanes)):
        ax.axhspan(lane - 0.5, lane + 0.5, color="#f3f4f6" if lane % 2 else "#ffffff", zorder=0)
    ax.plot(xs, ys, color="#6b7280", linewidth=1, zorder=1, drawstyle="steps-post")
    ax.scatter(xs, ys, color="#8b0000", s=40, zorder=2)
    for x, step in zip(xs, steps, strict=True):
        ax.annotate(
            step.label,
            (x, step.lane),
            textcoords="offset points",
            xytext=(0, 7),
            ha="center",
            fontsize=6,
        )
    ax.set_yticks(list(range(len(lanes))), lanes, fontsize=7)
    ax.set_ylim(len(lanes) - 0.5, -0.5)
    ax.set_xticks(
        xs,
        [
            format_datetime(
                s.at.astimezone(zone), _STEP_TIME[norm_lang(lang)], locale=norm_lang(lang)
            )
            for s in steps
        ],
        fontsize=6,
        rotation=35,
        ha="right",
    )
    ax.set_xlim(-0.6, max(len(steps) - 0.4, 0.6))
    ax.set_title(title, fontsize=10)
    return fig


def volume(days: list[date], counts: list[int], title: str, lang: str = DEFAULT_LANG) -> bytes:
    return _png(volume_figure(days, counts, title, lang))


def compliance(
    labels: list[str],
    response: list[float | None],
    resolution: list[float | None],
    title: str,
    lang: str = DEFAULT_LANG,
) -> bytes:
    return _png(compliance_figure(labels, response, resolution, title, lang))


def availability(
    names: list[str],
    values: list[float | None],
    targets: list[float],
    title: str,
    lang: str = DEFAULT_LANG,
) -> bytes:
    return _png(availability_figure(names, values, targets, title, lang))


def swimlane(
    lanes: list[str], steps: list[Step], title: str, tz: str, lang: str = DEFAULT_LANG
) -> bytes:
    return _png(swimlane_figure(lanes, steps, title, tz, lang))
