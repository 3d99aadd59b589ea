"""Charts drawn on the server as SVG: no script, no library, nothing from another site, and
they print. Colours are presentation attributes (the page's CSP allows no inline style),
each chart has a title for screen readers, and every number is also written as text."""
from __future__ import annotations

from markupsafe import Markup, escape

SERIES_COLOURS = ("#1f6fb2", "#d9822b", "#3a9a5b")
GOAL_COLOUR = "#b3261e"
ROW = 26
LABEL_WIDTH = 120
WIDTH = 360


def bar_chart(rows, series, title: str) -> Markup:
    """Horizontal bars, one group per row: ``rows`` are ``(label, link or None, values)``,
    one value per series. 360 units wide, so a phone shows it without scrolling."""
    if not rows:
        return Markup("")
    top = max((max(values) for _, _, values in rows), default=0) or 1
    plot = WIDTH - LABEL_WIDTH - 40
    group = ROW * len(series) + 8
    height = 24 + group * len(rows) + 18
    # With links (drill-down) the chart is a group a screen reader can enter; an image may
    # hold nothing interactive.
    role = "group" if any(link for _, link, _ in rows) else "img"
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="{role}" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for index, name in enumerate(series):
        x = LABEL_WIDTH + index * 110
        parts.append(f'<rect x="{x}" y="4" width="12" height="12" fill="{SERIES_COLOURS[index]}"/>'
                     f'<text x="{x + 16}" y="15" font-size="12">{escape(name)}</text>')
    for row_index, (label, link, values) in enumerate(rows):
        y = 24 + row_index * group
        text = f'<text x="0" y="{y + ROW * len(series) / 2 + 4:.0f}" font-size="13">{escape(label)}</text>'
        parts.append(f'<a href="{escape(link)}">{text}</a>' if link else text)
        for index, value in enumerate(values):
            width = plot * value / top
            bar_y = y + index * ROW
            parts.append(f'<rect x="{LABEL_WIDTH}" y="{bar_y}" width="{width:.1f}" height="{ROW - 6}" '
                         f'fill="{SERIES_COLOURS[index]}"/>'
                         f'<text x="{LABEL_WIDTH + width + 4:.1f}" y="{bar_y + ROW - 11}" font-size="12">'
                         f'{escape(value)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def coverage_chart(months, gettext) -> Markup:
    """Visit coverage by closed month (vertical bars, percent) against the policy's goal (a
    line at the highest goal any target class has); a month with nothing due shows "—"."""
    if not months:
        return Markup("")
    height, base, plot = 200, 170, 140
    step = (WIDTH - 30) / len(months)
    goals = [cls.get("goal") for _, report in months if report
             for cls in (report.get("by_class") or {}).values() if cls.get("goal")]
    title = gettext("Visit coverage by month")
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
             f'<line x1="24" y1="{base}" x2="{WIDTH}" y2="{base}" stroke="#666" stroke-width="1"/>',
             f'<text x="0" y="{base - plot + 4}" font-size="11">100%</text>'
             f'<text x="0" y="{base + 4}" font-size="11">0</text>']
    for index, (month, report) in enumerate(months):
        x = 30 + index * step
        rate = report.get("coverage_rate") if report else None
        if rate is not None:
            bar = plot * rate
            parts.append(f'<rect x="{x + 4:.1f}" y="{base - bar:.1f}" width="{step - 8:.1f}" height="{bar:.1f}" '
                         f'fill="{SERIES_COLOURS[0]}"/>')
        shown = "—" if rate is None else f"{rate * 100:.0f}%"
        parts.append(f'<text x="{x + step / 2:.1f}" y="{base - (plot * (rate or 0)) - 4:.1f}" font-size="12" '
                     f'text-anchor="middle" data-month="{escape(month)}">{escape(shown)}</text>'
                     f'<text x="{x + step / 2:.1f}" y="{base + 16}" font-size="11" text-anchor="middle">'
                     f'{escape(month[2:])}</text>')
    if goals:
        goal, goal_label = max(goals), gettext("Goal")
        y = base - plot * goal
        parts.append(f'<line x1="24" y1="{y:.1f}" x2="{WIDTH}" y2="{y:.1f}" stroke="{GOAL_COLOUR}" '
                     f'stroke-width="2" stroke-dasharray="6 4"/>'
                     f'<text x="{WIDTH - 4}" y="{y - 4:.1f}" font-size="12" text-anchor="end" fill="{GOAL_COLOUR}">'
                     f'{escape(goal_label)} {goal * 100:.0f}%</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
