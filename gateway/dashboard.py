"""The joint-meeting dashboard: one server-rendered page per division (no build step, no
script), Chinese labels by default and English with ``?lang=en``, live from the services'
projections over RPC, with links one level down (county → township → village).

The page asks every service at once (``call_async``) and then waits for the answers, so it
takes as long as the slowest service rather than the sum of them; each service answers from
counts it keeps per village, so a county of a million elders costs what a village does.

Every figure is in an element with a stable ``id`` (``data-figure``), so a test can compare
the page with the API."""
from __future__ import annotations

import html
from datetime import datetime, timezone

from nameko.exceptions import MethodNotFound, RemoteError, RpcTimeout, UnknownService

from gateway.webapp.i18n import translations
from gateway.webapp.names import name_of
from kernel.divisions import configured_division_table, significant_prefix

LABELS = {
    "zh": {"title": "农村留守老年人关爱服务 · 联席会议", "elders": "老年人", "active": "在册", "left_behind": "留守",
           "key_target": "重点对象", "hospitalised": "住院", "deceased": "已故", "visits": "巡访",
           "under_obligation": "应巡访", "visited_this_month": "本月已巡访", "open_overdue": "逾期未访",
           "coverage": "上月巡访覆盖率", "goal": "目标", "alerts": "预警", "open_alerts": "未关闭预警",
           "referrals": "部门转介", "open_referrals": "未办结转介", "overdue_referrals": "逾期转介",
           "facilities": "养老设施", "beds": "床位", "residents": "入住", "occupancy": "入住率",
           "places": "下级区划", "unavailable": "暂不可用", "age": "已开", "hours": "小时", "department": "部门",
           "hard_up": "经济困难", "advanced_age": "高龄", "disabled": "失能", "living_alone": "独居",
           "updated": "数据时间", "language": "English", "disbursements": "本月补贴发放", "amount": "金额（元）",
           "departments": "各部门工作", "health_checked_this_year": "今年已健康体检（65岁以上）",
           "health_risks_this_year": "体检发现风险", "chronic_followups_this_year": "今年慢病随访",
           "family_doctor_contracts": "家庭医生签约", "pension_receiving": "领取养老金",
           "pension_suspended": "养老金暂停", "poverty_registered": "建档立卡", "poverty_monitored": "防返贫监测户",
           "open_cases": "未结案件", "cases_closed_this_year": "今年结案", "legal_aid_this_year": "今年法律援助",
           "cultural_services_this_year": "今年文化服务", "payments_awaiting_bank": "待银行回盘",
           "payments_failed": "发放失败待重发"},
    "en": {"title": "Care for rural left-behind elders · joint meeting", "elders": "Elders", "active": "registered",
           "left_behind": "left-behind", "key_target": "key targets", "hospitalised": "in hospital",
           "deceased": "deceased", "visits": "Visits", "under_obligation": "owed visits",
           "visited_this_month": "visited this month", "open_overdue": "overdue", "coverage": "last month's coverage",
           "goal": "goal", "alerts": "Alerts", "open_alerts": "open alerts", "referrals": "Referrals",
           "open_referrals": "open referrals", "overdue_referrals": "overdue referrals", "facilities": "Facilities",
           "beds": "beds", "residents": "residents", "occupancy": "occupancy", "places": "Places one level down",
           "unavailable": "unavailable", "age": "open for", "hours": "h", "department": "department",
           "hard_up": "hard-up", "advanced_age": "80+", "disabled": "disabled", "living_alone": "living alone",
           "updated": "as of", "language": "中文", "disbursements": "Disbursements this month",
           "amount": "amount (yuan)", "departments": "Departments' work",
           "health_checked_this_year": "65+ checked this year", "health_risks_this_year": "health risks found",
           "chronic_followups_this_year": "chronic follow-ups this year",
           "family_doctor_contracts": "family-doctor contracts", "pension_receiving": "receiving a pension",
           "pension_suspended": "pension suspended", "poverty_registered": "registered as poor",
           "poverty_monitored": "watched for a return to poverty", "open_cases": "open cases",
           "cases_closed_this_year": "cases closed this year", "legal_aid_this_year": "legal aid this year",
           "cultural_services_this_year": "cultural services this year",
           "payments_awaiting_bank": "payments awaiting the bank", "payments_failed": "failed payments to re-issue"},
}
AGE_BUCKETS = (("under_24h", "<24"), ("24h_to_72h", "24–72"), ("over_72h", ">72"))
NOT_ANSWERING = (UnknownService, RpcTimeout, MethodNotFound, RemoteError)


def _ask(send):
    """Send one RPC now; returns a function giving its answer, or None when the service
    does not answer (absent, too slow, or failing: its section says so, the page still renders)."""
    try:
        reply = send()
    except NOT_ANSWERING:
        return lambda: None

    def answer():
        try:
            return reply.result()
        except NOT_ANSWERING:
            return None
    return answer


def gather(rpc, division_code: str, month: str, now: datetime) -> dict:
    """Everything the page shows, as data (also what a test compares with the API): every
    question sent before any answer is awaited."""
    asked = {
        "elders": _ask(lambda: rpc["registry"].division_summary.call_async(division_code)),
        "visits": _ask(lambda: rpc["visits"].division_summary.call_async({"division_code": division_code})),
        "alerts": _ask(lambda: rpc["notifications"].alert_summary.call_async(
            {"division_code": division_code, "now": now.isoformat()})),
        "facilities": _ask(lambda: rpc["facilities"].facility_statistics.call_async(division_code)),
        "runs": _ask(lambda: rpc["subsidies"].list_runs.call_async({"month": month, "limit": 1000})),
        "departments": _ask(lambda: rpc["departments"].division_summary.call_async({"division_code": division_code})),
    }
    return {name: answer() for name, answer in asked.items()}


def _figure(key: str, value) -> str:
    shown = "—" if value is None else html.escape(str(value))
    return f'<span id="{key}" data-figure="{key}">{shown}</span>'


def _percent(rate) -> str | None:
    return None if rate is None else f"{rate * 100:.1f}%"


def render_dashboard(rpc, division_code: str, lang: str, today, config) -> str:
    labels = LABELS["en" if lang == "en" else "zh"]
    gettext = translations("en" if lang == "en" else "zh").gettext
    labels = {**labels, "name": lambda kind, code: html.escape(name_of(kind, code, gettext))}
    data = gather(rpc, division_code, today.strftime("%Y-%m"), datetime.now(timezone.utc))
    divisions = configured_division_table(config)
    place = divisions.get(division_code)
    name = place.name if place else division_code
    sections = [_elders(data["elders"], labels, divisions, lang), _visits(data["visits"], labels),
                _alerts(data["alerts"], labels), _facilities(data["facilities"], labels),
                _disbursements(data["runs"], division_code, labels, divisions), _departments(data["departments"], labels)]
    other = "en" if lang != "en" else "zh"
    return (f"<!doctype html><html lang='{'en' if lang == 'en' else 'zh-CN'}'><head><meta charset='utf-8'>"
            f"<title>{html.escape(labels['title'])} · {html.escape(name)}</title>"
            "<style>body{font-family:'Noto Sans CJK SC','WenQuanYi Micro Hei',sans-serif;margin:1.5em;color:#222}"
            "section{display:inline-block;vertical-align:top;margin:0 1.5em 1.5em 0;padding:1em;border:1px solid #ccc;"
            "border-radius:6px;min-width:16em}h2{font-size:1.1em;margin-top:0}td{padding:.15em .5em}"
            ".big{font-size:1.6em;font-weight:bold}</style></head><body>"
            f"<h1>{html.escape(labels['title'])} · <span id='division-name'>{html.escape(name)}</span></h1>"
            f"<p>{labels['updated']} {today.isoformat()} · <a href='?lang={other}'>{labels['language']}</a></p>"
            + "".join(sections) + "</body></html>")


def _place_name(divisions, jurisdiction: str) -> str:
    """A run's jurisdiction is a division prefix (``410928``): the division it names."""
    place = divisions.get(jurisdiction.ljust(12, "0"))
    return place.name if place else jurisdiction


def _unavailable(title: str, labels) -> str:
    return f"<section><h2>{title}</h2><p>{labels['unavailable']}</p></section>"


def _elders(summary, labels, divisions, lang) -> str:
    if summary is None:
        return _unavailable(labels["elders"], labels)
    rows = "".join(f"<tr><td>{labels[k]}</td><td>{_figure('elders-' + k, summary[k])}</td></tr>"
                   for k in ("active", "left_behind", "key_target", "hospitalised", "deceased"))
    reasons = "".join(f"<tr><td>· {labels[r]}</td><td>{_figure('key-target-' + r, summary['key_target_' + r])}</td></tr>"
                      for r in ("hard_up", "advanced_age", "disabled", "living_alone"))
    children = "".join(
        f"<tr><td><a href='/dashboard/{c['division_code']}?lang={lang}'>"
        f"{html.escape(divisions.get(c['division_code']).name if divisions.get(c['division_code']) else c['division_code'])}"
        f"</a></td><td>{c['left_behind']}</td><td>{c['key_target']}</td></tr>" for c in summary["children"])
    return (f"<section><h2>{labels['elders']}</h2><table>{rows}{reasons}</table></section>"
            f"<section><h2>{labels['places']}</h2><table><tr><th></th><th>{labels['left_behind']}</th>"
            f"<th>{labels['key_target']}</th></tr>{children}</table></section>")


def _visits(summary, labels) -> str:
    if summary is None:
        return _unavailable(labels["visits"], labels)
    coverage = summary["last_closed_month"]
    goals = [f"{labels['name']('target_class', c)}: {_percent(b.get('goal'))}"
             for c, b in coverage.get("by_class", {}).items() if b.get("goal")]
    return (f"<section><h2>{labels['visits']} · {html.escape(summary['month'])}</h2><table>"
            f"<tr><td>{labels['under_obligation']}</td><td>{_figure('visits-under-obligation', summary['under_obligation'])}</td></tr>"
            f"<tr><td>{labels['visited_this_month']}</td><td>{_figure('visits-visited-this-month', summary['visited_this_month'])}</td></tr>"
            f"<tr><td>{labels['open_overdue']}</td><td>{_figure('visits-open-overdue', summary['open_overdue'])}</td></tr>"
            f"<tr><td>{labels['coverage']} ({html.escape(coverage['period'])})</td>"
            f"<td class='big'>{_figure('visits-coverage-rate', _percent(coverage['coverage_rate']))}</td></tr>"
            + (f"<tr><td>{labels['goal']}</td><td>{', '.join(goals)}</td></tr>" if goals else "")
            + "</table></section>")


def _alerts(summary, labels) -> str:
    if summary is None:
        return _unavailable(labels["alerts"], labels)
    ages = "".join(f"<tr><td>{labels['age']} {label} {labels['hours']}</td><td>{summary['by_age'][key]}</td></tr>"
                   for key, label in AGE_BUCKETS)
    departments = "".join(f"<tr><td>{labels['name']('department', d)}</td><td>{n}</td></tr>"
                          for d, n in sorted(summary["by_department"].items()))
    return (f"<section><h2>{labels['alerts']}</h2><table>"
            f"<tr><td>{labels['open_alerts']}</td><td class='big'>{_figure('alerts-open', summary['open_alerts'])}</td></tr>"
            f"{ages}{departments}</table></section>"
            f"<section><h2>{labels['referrals']}</h2><table>"
            f"<tr><td>{labels['open_referrals']}</td><td>{_figure('referrals-open', summary['open_referrals'])}</td></tr>"
            f"<tr><td>{labels['overdue_referrals']}</td><td>{_figure('referrals-overdue', summary['overdue_referrals'])}</td></tr>"
            "</table></section>")


def _facilities(statistics, labels) -> str:
    if statistics is None:
        return _unavailable(labels["facilities"], labels)
    total = statistics["total"]
    kinds = "".join(f"<tr><td>{labels['name']('facility_kind', kind)}</td><td>{f['facilities']}</td><td>{f['beds']}</td>"
                    f"<td>{_percent(f['occupancy_rate']) or '—'}</td></tr>" for kind, f in statistics["by_kind"].items())
    return (f"<section><h2>{labels['facilities']}</h2><table>"
            f"<tr><td>{labels['facilities']}</td><td>{_figure('facilities-total', total['facilities'])}</td></tr>"
            f"<tr><td>{labels['beds']}</td><td>{_figure('facilities-beds', total['beds'])}</td></tr>"
            f"<tr><td>{labels['residents']}</td><td>{_figure('facilities-residents', total['residents'])}</td></tr>"
            f"<tr><td>{labels['occupancy']}</td><td>{_figure('facilities-occupancy', _percent(total['occupancy_rate']))}</td></tr>"
            f"</table><table>{kinds}</table></section>")


# Each department's figures, under its name (health; HR & social security; poverty office;
# public security and justice; culture and the aging office).
DEPARTMENT_FIGURES = (
    (("health",), ("health_checked_this_year", "health_risks_this_year", "chronic_followups_this_year",
                "family_doctor_contracts")),
    (("human_resources_social_security",), ("pension_receiving", "pension_suspended")),
    (("poverty_alleviation",), ("poverty_registered", "poverty_monitored")),
    (("public_security", "justice"), ("open_cases", "cases_closed_this_year", "legal_aid_this_year")),
    (("culture", "aging_office"), ("cultural_services_this_year",)),
    (("finance",), ("payments_awaiting_bank", "payments_failed")),
)


def _departments(summary, labels) -> str:
    """What each department recorded in the division this year, and its records in force."""
    if summary is None:
        return _unavailable(labels["departments"], labels)
    rows = []
    for departments, figures in DEPARTMENT_FIGURES:
        names = " / ".join(labels["name"]("department", department) for department in departments)
        rows.append(f"<tr><th colspan='2'>{names}</th></tr>")
        rows += [f"<tr><td>{labels[key]}</td><td>{_figure('departments-' + key.replace('_', '-'), summary[key])}</td></tr>"
                 for key in figures]
    return (f"<section><h2>{labels['departments']} · {summary['year']}</h2><table>{''.join(rows)}</table>"
            "</section>")


def _disbursements(runs, division_code: str, labels, divisions) -> str:
    """This month's runs that cover the division or lie inside it (a run is per jurisdiction)."""
    if runs is None:
        return _unavailable(labels["disbursements"], labels)
    prefix = significant_prefix(division_code)
    relevant = [r for r in runs if r["jurisdiction"].startswith(prefix) or prefix.startswith(
        significant_prefix(r["jurisdiction"].ljust(12, "0")))]
    total = sum((r.get("disbursed_fen") or 0) + (r.get("adjusted_fen") or 0) for r in relevant)
    rows = "".join(f"<tr><td>{html.escape(_place_name(divisions, r['jurisdiction']))}</td>"
                   f"<td>{labels['name']('run_status', r['status'])}</td>"
                   f"<td>{((r.get('disbursed_fen') or 0) + (r.get('adjusted_fen') or 0)) / 100:,.2f}</td></tr>"
                   for r in relevant)
    return (f"<section><h2>{labels['disbursements']}</h2><table>"
            f"<tr><td>{labels['amount']}</td><td class='big'>{_figure('disbursed-yuan', f'{total / 100:,.2f}')}</td></tr>"
            f"{rows}</table></section>")
