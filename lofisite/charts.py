"""The one way to draw a chart: pygal, rendered on the server to an SVG that carries no script.

Shown with <img> from its own URL as image/svg+xml (ARCHITECTURE "UI conventions"): `js=[]` drops
pygal's tooltip script from a third-party host, which the strict CSP forbids, and `svg_of` removes the
inline config <script> pygal still writes, so the picture has only its own inline style. CHART_STYLE
reads on a light and a dark page alike (an <img> cannot follow the page's theme).
"""

from pygal.etree import etree
from pygal.style import Style

_STYLE = {
    "background": "transparent",
    "plot_background": "transparent",
    "foreground": "#7a8194",
    "foreground_strong": "#7a8194",
    "foreground_subtle": "#9aa0b0",
    "opacity": "0.9",
    "opacity_hover": "1",
    "colors": ("#4f46e5", "#0d9488", "#d97706", "#db2777", "#64748b", "#65a30d"),
    "font_family": "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif",
    "label_font_size": 16,
    "major_label_font_size": 16,
    "value_font_size": 15,
    "legend_font_size": 17,
    "title_font_size": 18,
}


def chart_style(**overrides) -> Style:
    """The house style, with `overrides` (font sizes for a chart drawn smaller)."""
    return Style(**{**_STYLE, **overrides})


CHART_STYLE = chart_style()


def svg_of(chart) -> bytes:
    """The chart's SVG without any <script> (nor comments)."""
    tree = chart.render_tree()
    for parent in tree.iter():
        for child in list(parent):
            if not isinstance(child.tag, str) or child.tag.rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    return etree.tostring(tree, encoding="utf-8")
