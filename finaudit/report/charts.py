"""Inline SVG charts for the HTML report, drawn in Python: no chart library, no network.

Three kinds, chosen by a rule's `chart` metadata:
- trend: one line per region (and level) over the years, decreases marked;
- bars: the measured value of each subject against what the rule requires;
- paired: two bars a year, the measure beside what it must exceed (education's growth
  beside recurring revenue's), the pair marked where the measure did not exceed it.
"""
from __future__ import annotations

from html import escape

WIDTH, HEIGHT = 720, 260
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 70, 150, 16, 34
MAX_SERIES, MAX_BARS = 8, 40
COLORS = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#17becf", "#7f7f7f", "#bcbd22", "#e377c2")
FAIL, REQUIRED, COMPARED, WARN = "#c62828", "#444", "#9e9e9e", "#e08a00"


def _nice(value: float) -> str:
    if abs(value) >= 1e8:
        return f"{value / 1e8:.2f}亿"
    if abs(value) >= 1e4:
        return f"{value / 1e4:.1f}万"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def _axis(low: float, high: float) -> tuple[float, float]:
    if high == low:
        high = low + (abs(low) or 1)
    margin = (high - low) * 0.08
    return (max(0.0, low - margin) if low >= 0 else low - margin), high + margin


def _frame(title: str, low: float, high: float, y_of) -> list[str]:
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg">', f"<title>{escape(title)}</title>"]
    for i in range(5):
        value = low + (high - low) * i / 4
        y = y_of(value)
        parts.append(f'<line x1="{PAD_LEFT}" y1="{y:.1f}" x2="{WIDTH - PAD_RIGHT}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{escape(_nice(value))}</text>')
    if low < 0 < high:      # a rate that fell: the zero it fell below, drawn and labelled
        y = y_of(0.0)
        parts.append(f'<line x1="{PAD_LEFT}" y1="{y:.1f}" x2="{WIDTH - PAD_RIGHT}" y2="{y:.1f}" stroke="#52606d"/>')
        parts.append(f'<text x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">0</text>')
    return parts


def trend(series: list[dict], title: str) -> str:
    """series: [{label, points: [(year, value, failed)]}]; decreases (failed points) in red."""
    series = [s for s in series if len(s["points"]) >= 1][:MAX_SERIES]
    values = [v for s in series for _, v, _ in s["points"] if v is not None]
    years = sorted({y for s in series for y, v, _ in s["points"] if v is not None})
    if not values or not years:
        return ""
    low, high = _axis(min(values), max(values))
    plot_w, plot_h = WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_TOP - PAD_BOTTOM

    def x_of(year):
        return PAD_LEFT + (plot_w * (years.index(year) + 0.5) / len(years))

    def y_of(value):
        return PAD_TOP + plot_h * (1 - (value - low) / (high - low))

    parts = _frame(title, low, high, y_of)
    for year in years:
        parts.append(f'<text x="{x_of(year):.1f}" y="{HEIGHT - 12}" text-anchor="middle" class="tick">{year}</text>')
    for n, s in enumerate(series):
        color = COLORS[n % len(COLORS)]
        points = [(y, v, f) for y, v, f in sorted(s["points"]) if v is not None]
        path = " ".join(f"{x_of(y):.1f},{y_of(v):.1f}" for y, v, _ in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for y, v, failed in points:
            fill = FAIL if failed else color
            radius = 5 if failed else 3
            parts.append(f'<circle cx="{x_of(y):.1f}" cy="{y_of(v):.1f}" r="{radius}" fill="{fill}">'
                         f"<title>{escape(s['label'])} {y}: {escape(_nice(v))}{' ↓' if failed else ''}</title></circle>")
        ly = PAD_TOP + 14 + n * 16
        parts.append(f'<rect x="{WIDTH - PAD_RIGHT + 10}" y="{ly - 9}" width="10" height="10" fill="{color}"/>')
        parts.append(f'<text x="{WIDTH - PAD_RIGHT + 24}" y="{ly}" class="legend">{escape(s["label"][:18])}</text>')
    parts.append("</svg>")
    return "".join(parts)


_LEGEND = {"zh": ("要求", "未达标"), "en": ("required", "short")}


def _tick(x: float, label: str) -> str:
    """A bar's label under it: region and year, then on a second line what tells the bars of
    one region-year apart (the level, the school), its end kept where it is long: two
    schools of one city differ in their last characters (定州市第一中学, 定州市第二中学)."""
    words = label.split(" ")
    first, rest = " ".join(words[:2]), " ".join(words[2:])
    if not rest:
        return f'<text x="{x:.1f}" y="{HEIGHT - 12}" text-anchor="middle" class="tick">{escape(first[:12])}</text>'
    return (f'<text x="{x:.1f}" y="{HEIGHT - 19}" text-anchor="middle" class="tick">{escape(first[:12])}'
            f'<tspan x="{x:.1f}" dy="12">{escape(rest if len(rest) <= 9 else "…" + rest[-8:])}</tspan></text>')


def _bar_plot(title: str, values: list[float], n: int):
    """The frame of a bar chart from zero: the width of each of `n` slots, the y of a value,
    and the SVG parts so far (the grid, the ticks, a zero line where values go below it)."""
    low, high = _axis(min(0.0, min(values)), max(0.0, max(values)))
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM

    def y_of(value):
        return PAD_TOP + plot_h * (1 - (value - low) / (high - low))

    return (WIDTH - PAD_LEFT - PAD_RIGHT) / n, y_of, _frame(title, low, high, y_of)


def bars(items: list[dict], title: str, unit: str, lang: str = "zh", fail: str = FAIL) -> str:
    """items: [{label, actual, required, failed}]; each bar with a mark at what is required,
    drawn from zero: up for a positive value, down for a negative one (a growth rate that fell)."""
    items = [i for i in items if i["actual"] is not None][:MAX_BARS]
    if not items:
        return ""
    values = [i["actual"] for i in items] + [i["required"] for i in items if i["required"] is not None]
    step, y_of, parts = _bar_plot(title, values, len(items))
    for n, item in enumerate(items):
        x = PAD_LEFT + n * step + step * 0.15
        w = step * 0.7
        end, zero = y_of(item["actual"]), y_of(0.0)
        color = fail if item["failed"] else COLORS[0]
        parts.append(f'<rect x="{x:.1f}" y="{min(end, zero):.1f}" width="{w:.1f}" height="{abs(zero - end):.1f}" '
                     f'fill="{color}">'
                     f"<title>{escape(item['label'])}: {escape(_nice(item['actual']))} {escape(unit)}</title></rect>")
        if item["required"] is not None:
            ry = y_of(item["required"])
            parts.append(f'<line x1="{x - 2:.1f}" y1="{ry:.1f}" x2="{x + w + 2:.1f}" y2="{ry:.1f}" stroke="{REQUIRED}" '
                         f'stroke-width="2" stroke-dasharray="4 2"><title>{escape(_nice(item["required"]))}</title></line>')
        if len(items) <= 16:
            parts.append(_tick(x + w / 2, item["label"]))
    parts.append(f'<line x1="{WIDTH - PAD_RIGHT + 10}" y1="{PAD_TOP + 10}" x2="{WIDTH - PAD_RIGHT + 24}" '
                 f'y2="{PAD_TOP + 10}" stroke="{REQUIRED}" stroke-width="2" stroke-dasharray="4 2"/>')
    parts.append(f'<text x="{WIDTH - PAD_RIGHT + 28}" y="{PAD_TOP + 14}" class="legend">{_LEGEND[lang][0]}</text>')
    parts.append(f'<rect x="{WIDTH - PAD_RIGHT + 10}" y="{PAD_TOP + 22}" width="10" height="10" fill="{fail}"/>')
    parts.append(f'<text x="{WIDTH - PAD_RIGHT + 24}" y="{PAD_TOP + 31}" class="legend">{_LEGEND[lang][1]}</text>')
    parts.append("</svg>")
    return "".join(parts)


def paired(items: list[dict], title: str, unit: str, legend: tuple[str, str, str], fail: str = FAIL) -> str:
    """items: [{label, actual, required, failed}], one pair of bars each from zero (down for a
    negative rate): `actual` in colour (red where it failed), `required` in grey beside it."""
    items = [i for i in items if i["actual"] is not None and i["required"] is not None][:MAX_BARS // 2]
    if not items:
        return ""
    step, y_of, parts = _bar_plot(title, [i["actual"] for i in items] + [i["required"] for i in items], len(items))
    zero = y_of(0.0)
    for n, item in enumerate(items):
        w = step * 0.34
        for k, (key, color, name) in enumerate((("actual", item.get("fail", fail) if item["failed"] else COLORS[0],
                                                  legend[0]),
                                                 ("required", COMPARED, legend[1]))):
            x = PAD_LEFT + n * step + step * 0.14 + k * w
            end = y_of(item[key])
            parts.append(f'<rect x="{x:.1f}" y="{min(end, zero):.1f}" width="{w:.1f}" height="{abs(zero - end):.1f}" '
                         f'fill="{color}"><title>{escape(item["label"])} {escape(name)}: '
                         f"{escape(_nice(item[key]))} {escape(unit)}</title></rect>")
        if len(items) <= 16:
            parts.append(_tick(PAD_LEFT + n * step + step / 2, item["label"]))
    for k, (color, name) in enumerate(((COLORS[0], legend[0]), (COMPARED, legend[1]), (fail, legend[2]))):
        ly = PAD_TOP + 14 + k * 16
        parts.append(f'<rect x="{WIDTH - PAD_RIGHT + 10}" y="{ly - 9}" width="10" height="10" fill="{color}"/>')
        parts.append(f'<text x="{WIDTH - PAD_RIGHT + 24}" y="{ly}" class="legend">{escape(name[:18])}</text>')
    parts.append("</svg>")
    return "".join(parts)
