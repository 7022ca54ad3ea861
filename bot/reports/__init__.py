"""Reports that serve as SPBE evidence, built from the product's own records.

Each builder returns a `Report` (tables and charts as data); the renderers turn it into
printable HTML, PDF and CSV, so every report has the same three forms.
"""

from bot.reports.model import Chart, Report, Table
from bot.reports.registry import KINDS, build_report
from bot.reports.render import to_csv, to_html, to_pdf

__all__ = ["KINDS", "Chart", "Report", "Table", "build_report", "to_csv", "to_html", "to_pdf"]
