"""The inventory's chart: profit per month as an SVG picture (pygal), one series per currency.

Rendered on the server and shown with <img> (ARCHITECTURE "charts"): pygal's `js=[]` drops its
tooltip scripts, but pygal still writes a <script> with its config; it is removed from the tree
before serialising, so the SVG carries no script at all, only its own inline style.
"""

import datetime

import pygal

from lofisite.charts import chart_style, svg_of

from .inventory import InventorySummary

CHART_STYLE = chart_style(label_font_size=17, major_label_font_size=17, value_font_size=16, legend_font_size=18)


def month_label(day: datetime.date) -> str:
    return day.strftime("%b ’%y")


def _y_title(summary: InventorySummary) -> str:
    if len(summary.currencies) == 1:
        return f"Profit ({summary.currencies[0].currency})"
    return "Profit"


def profit_per_month_svg(summary: InventorySummary) -> bytes:
    several = len(summary.currencies) > 1
    chart = pygal.Bar(
        js=[], style=CHART_STYLE, width=540, height=440, margin=10,
        # pygal leaves no room for a bottom legend under rotated labels.
        margin_bottom=40 if several else 10,
        show_legend=several, legend_at_bottom=True, legend_at_bottom_columns=4,
        x_label_rotation=-40, truncate_label=-1,
        # Past a year, a label every few months (twelve fit; sixty do not).
        x_labels_major_every=max(1, -(-len(summary.month_starts) // 12)), show_minor_x_labels=False,
        y_labels_major_count=5, y_title=_y_title(summary), pretty_print=False,
    )
    chart.x_labels = [month_label(day) for day in summary.month_starts]
    for figures in summary.currencies:
        chart.add(figures.currency, [float(month.profit) for month in figures.months],
                  formatter=lambda value, currency=figures.currency: f"{value:,.2f} {currency}")
    return svg_of(chart)
