"""AI spend per day as an SVG picture (pygal), for the costs page and the home dashboard.

Rendered on the server and shown with <img> (ARCHITECTURE "UI conventions"): `js=[]` drops pygal's
tooltip scripts and `svg_of` removes the config <script> it still writes, so the picture carries no
script at all, only its own inline style. `svg_of` and `CHART_STYLE` are also what the pipeline's
dashboard charts use (one way to draw a chart outside the Vinted desk's own).
"""

import pygal
from pygal.etree import etree
from pygal.style import Style

# Readable on a light and a dark page alike (the <img> cannot follow the page's theme).
CHART_STYLE = Style(
    background="transparent",
    plot_background="transparent",
    foreground="#7a8194",
    foreground_strong="#7a8194",
    foreground_subtle="#9aa0b0",
    opacity="0.9",
    opacity_hover="1",
    colors=("#4f46e5", "#0d9488", "#d97706", "#db2777", "#64748b", "#65a30d"),
    font_family="system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif",
    label_font_size=16,
    major_label_font_size=16,
    value_font_size=15,
    legend_font_size=17,
    title_font_size=18,
)


def chart_options(count: int) -> dict:
    """Options every daily chart shares: size, no script, a label every few days past two weeks."""
    return {
        "js": [], "style": CHART_STYLE, "width": 640, "height": 360, "margin": 10, "pretty_print": False,
        "x_label_rotation": -40, "truncate_label": -1, "truncate_legend": -1, "show_minor_x_labels": False,
        "show_minor_y_labels": False,
        "x_labels_major_every": max(1, -(-count // 10)), "y_labels_major_count": 5,
    }


def svg_of(chart) -> bytes:
    """The chart's SVG without any <script> (nor comments)."""
    tree = chart.render_tree()
    for parent in tree.iter():
        for child in list(parent):
            if not isinstance(child.tag, str) or child.tag.rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    return etree.tostring(tree, encoding="utf-8")


def day_label(day) -> str:
    return f"{day:%b} {day.day}"


def daily_spend_svg(days: list[dict], *, title: str = "") -> bytes:
    """Bars of USD spent per day; `days` as monitoring.costs.daily_spend returns them."""
    chart = pygal.Bar(**chart_options(len(days)), show_legend=False, y_title="USD", title=title or None)
    chart.x_labels = [day_label(row["day"]) for row in days]
    chart.add("AI spend", [float(row["cost_usd"]) for row in days], formatter=lambda value: f"${value:,.4f}")
    return svg_of(chart)
