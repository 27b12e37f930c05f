"""AI spend per day as an SVG picture (pygal), for the costs page and the home dashboard.

Rendered on the server and shown with <img> (ARCHITECTURE "UI conventions"): `js=[]` drops pygal's
tooltip scripts and `svg_of` removes the config <script> it still writes, so the picture carries no
script at all, only its own inline style (lofisite.charts: the one chart style and `svg_of`).
"""

import pygal

from lofisite.charts import CHART_STYLE, svg_of


def chart_options(count: int) -> dict:
    """Options every daily chart shares: size, no script, a label every few days past two weeks."""
    return {
        "js": [], "style": CHART_STYLE, "width": 640, "height": 360, "margin": 10, "pretty_print": False,
        "x_label_rotation": -40, "truncate_label": -1, "truncate_legend": -1, "show_minor_x_labels": False,
        "show_minor_y_labels": False,
        "x_labels_major_every": max(1, -(-count // 10)), "y_labels_major_count": 5,
    }


def day_label(day) -> str:
    return f"{day:%b} {day.day}"


def daily_spend_svg(days: list[dict], *, title: str = "") -> bytes:
    """Bars of USD spent per day; `days` as monitoring.costs.daily_spend returns them."""
    chart = pygal.Bar(**chart_options(len(days)), show_legend=False, y_title="USD", title=title or None)
    chart.x_labels = [day_label(row["day"]) for row in days]
    chart.add("AI spend", [float(row["cost_usd"]) for row in days], formatter=lambda value: f"${value:,.4f}")
    return svg_of(chart)
