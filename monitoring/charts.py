"""SVG charts of the monitoring pages, drawn on the server with pygal.

Each chart is served from its own URL as image/svg+xml and embedded with <img>, beside a table or text
with the same figures (ARCHITECTURE.md "UI conventions"): `js=[]` drops pygal's tooltip script from a
third-party host, which the strict CSP forbids, and an <img> SVG runs no script anyway.
"""

import pygal
from pygal.style import DefaultStyle

from lofisite.charts import svg_of

from . import system

_STYLE = DefaultStyle(font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
                      background="#ffffff", plot_background="#ffffff")


def _render(chart) -> bytes:
    return svg_of(chart)  # even with js=[] pygal writes an inline config <script>: lofisite.charts drops it


def _base(chart_class, title: str, height: int = 320, no_data_text: str = "No samples yet", **config):
    return chart_class(
        js=[], title=title, style=_STYLE, width=800, height=height, show_dots=False, stroke_style={"width": 2},
        legend_at_bottom=True, truncate_legend=-1, no_data_text=no_data_text, explicit_size=False,
        **config,
    )


def _time_line(title: str, series: dict[str, list[tuple]], *, y_title: str, y_range=None, formatter=None) -> bytes:
    chart = _base(pygal.DateTimeLine, title, y_title=y_title, range=y_range, allow_interruptions=True,
                  x_value_formatter=lambda moment: moment.strftime("%H:%M"), x_label_rotation=0,
                  value_formatter=formatter or (lambda value: f"{value:.1f}"))
    for name, points in series.items():
        if points:
            chart.add(name, points)
    return _render(chart)


def _sampled(samples, attribute: str, scale: float = 1.0) -> list[tuple]:
    return [(s.taken_at, None if getattr(s, attribute) is None else getattr(s, attribute) * scale)
            for s in samples]


def resources(samples) -> bytes:
    """CPU, memory and disk use in percent over the sampled period."""
    return _time_line("CPU, memory and disk (%)", {
        "CPU": _sampled(samples, "cpu_percent"),
        "Memory": _sampled(samples, "memory_percent"),
        "Disk": _sampled(samples, "disk_percent"),
    }, y_title="%", y_range=(0, 100))


def load(samples) -> bytes:
    """Load average and the number of processes."""
    return _time_line("Load average and processes", {
        "Load (1 min)": _sampled(samples, "load_1"),
        "Processes / 100": _sampled(samples, "processes", 0.01),
    }, y_title="")


def database(samples) -> bytes:
    return _time_line("Database size (MB)", {"Database": _sampled(samples, "database_bytes", 1 / (1024 * 1024))},
                      y_title="MB", formatter=lambda value: f"{value:.2f}")


def cache(samples) -> bytes:
    ratios = [(moment, None if ratio is None else ratio * 100) for moment, ratio in system.hit_ratios(samples)]
    return _time_line("Cache hit ratio per interval (%)", {"Hit ratio": ratios}, y_title="%", y_range=(0, 100))


SYSTEM_CHARTS = {"resources": resources, "load": load, "database": database, "cache": cache}


def job_success(stats) -> bytes:
    """Success rate per job (runs counted by the job wrapper since the last reset)."""
    rows = [row for row in stats if row.runs]
    chart = _base(pygal.HorizontalBar, "Success rate per job (%)", height=job_chart_height(len(rows)), range=(0, 100),
                  value_formatter=lambda value: f"{value:.0f} %", show_legend=False,
                  no_data_text="No runs since the last reset")
    chart.x_labels = [row.name for row in rows]
    chart.add("Success rate", [100 * row.success_rate for row in rows])
    return _render(chart)


def job_chart_height(jobs: int) -> int:
    """Room for a bar per job (and the title and axis), so a few jobs don't make fat bars."""
    return 110 + 36 * max(jobs, 1)
