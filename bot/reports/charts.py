"""Charts as PNG bytes (matplotlib, headless Agg backend); axis labels and legends in the
report's language."""

from __future__ import annotations

import io
from datetime import date
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from bot.i18n import DEFAULT_LANG, t  # noqa: E402

if TYPE_CHECKING:
    from bot.core.summary import Summary


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def volume(days: list[date], counts: list[int], title: str, lang: str = DEFAULT_LANG) -> bytes:
    fig, ax = plt.subplots(figsize=(8, 2.8))
    ax.bar(days, counts, color="#8b0000")  # type: ignore[arg-type]  # matplotlib takes dates
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(t("reports.chart.tickets", lang))
    fig.autofmt_xdate()
    return _png(fig)


def compliance(
    labels: list[str],
    response: list[float | None],
    resolution: list[float | None],
    title: str,
    lang: str = DEFAULT_LANG,
) -> bytes:
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
    ax.set_ylabel(t("reports.chart.sla_pct", lang))
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return _png(fig)


def availability(
    names: list[str],
    values: list[float | None],
    targets: list[float],
    title: str,
    lang: str = DEFAULT_LANG,
) -> bytes:
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(names) + 1.2))
    ys = range(len(names))
    shown = [v if v is not None else 0.0 for v in values]
    colors = [
        "#15803d" if v is not None and v >= goal else "#b91c1c"
        for v, goal in zip(values, targets, strict=True)
    ]
    ax.barh(list(ys), shown, color=colors)
    ax.scatter(
        targets, list(ys), marker="|", s=200, color="black", label=t("reports.chart.target", lang)
    )
    low = min([v for v in values if v is not None] + targets + [99.0])
    ax.set_xlim(max(0.0, low - 1), 100.05)
    ax.set_yticks(list(ys), names, fontsize=7)
    ax.set_xlabel(t("reports.chart.availability_pct", lang))
    ax.set_title(title, fontsize=10)
    return _png(fig)


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
