"""The static daily report and the Prefect artifacts: warehouse rows → tables and charts → HTML.

``data`` loads a day (:class:`ReportData`), ``payoff`` and ``tables`` derive what is shown,
``charts`` draws it, ``formatting`` writes numbers, ``html`` renders the Jinja2 templates
of ``templates/`` and ``artifacts`` publishes the Prefect artifacts.
"""

from report.data import ReportData, ReportError, load_report_data
from report.html import render_html, report_filename, write_report

__all__ = [
    "ReportData",
    "ReportError",
    "load_report_data",
    "render_html",
    "report_filename",
    "write_report",
]
