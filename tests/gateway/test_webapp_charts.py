"""The dashboard's SVG charts, drawn from data: bars in proportion, the goal line at the
policy's goal, every number also written as text, and names escaped."""
import re

from gateway.webapp.charts import bar_chart, coverage_chart
from gateway.webapp.i18n import translations


def test_coverage_bars_follow_the_rates_and_the_goal_line_sits_at_the_goal():
    months = [("2026-09", {"coverage_rate": 0.5, "by_class": {"key_target": {"goal": 1.0}}}),
              ("2026-10", {"coverage_rate": 1.0, "by_class": {"general": {"goal": 0.9}}}),
              ("2026-11", {"coverage_rate": None, "by_class": {}})]
    svg = str(coverage_chart(months, translations("zh").gettext))
    heights = [float(h) for h in re.findall(r'<rect [^>]*height="([0-9.]+)"', svg)]
    assert heights == [70.0, 140.0]                       # half and all of the 140-unit plot
    assert "目标 100%" in svg and ">50%<" in svg and ">100%<" in svg and ">—<" in svg


def test_bars_are_in_proportion_link_down_and_escape_names():
    svg = str(bar_chart([("<b>镇</b>", "/app/dashboard/410928101000", (10, 5)), ("乙镇", None, (20, 0))],
                        ("留守", "重点对象"), "各地老年人"))
    widths = [float(w) for w in re.findall(r'<rect x="120" y="[0-9]+" width="([0-9.]+)" height="20"', svg)]
    assert widths == [100.0, 50.0, 200.0, 0.0]
    assert 'href="/app/dashboard/410928101000"' in svg and "&lt;b&gt;镇&lt;/b&gt;" in svg and "<b>" not in svg
    assert 'role="group"' in svg
