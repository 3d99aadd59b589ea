"""Demo visits for the demo county, through the running visits service's RPC: one village
cadre per village, each left-behind elder assigned to their village's cadre (which issues the
written notice), and a seeded month of visits — some elders visited twice, some not at all,
a few risks found — so overdue lists and coverage have something to show."""
from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta

from nameko.standalone.rpc import ClusterRpcProxy

from kernel.divisions import configured_division_table
from kernel.errors import EldercareError

DEMO_ACTOR = {"department": "civil_affairs", "user": "demo-loader", "role": "village_worker"}
SURNAMES = "王李张刘陈杨赵黄周吴"
GIVEN = ("建国", "秀兰", "志强", "桂英", "海燕", "明", "红梅", "立新", "春生", "玉兰")
RISKS = (("home_safety_hazard", "medium", "灶台旁堆放柴草，电线老化"),
         ("critical_illness", "high", "持续发热三天，未就医"),
         ("neglect_by_supporter", "medium", "子女三个月未联系"))


def load_visits(config: dict, *, county: str, seed: int, today: date, console) -> Counter:
    randomness = random.Random(seed)
    outcomes: Counter = Counter()
    divisions = configured_division_table(config)
    villages = divisions.villages_within(county)
    with ClusterRpcProxy({"AMQP_URI": config["AMQP_URI"], "serializer": "json"}, timeout=60) as cluster:
        visits = cluster.visits
        cadres = {}
        for index, village in enumerate(villages):
            name = SURNAMES[index % len(SURNAMES)] + GIVEN[(index // len(SURNAMES)) % len(GIVEN)]
            cadres[village] = visits.register_visitor({
                "visitor_id": f"cadre-{village}", "name": name, "phone": f"139{index:08d}",
                "role": "village_cadre", "organisation": f"{divisions.get(village).name}村民委员会", "village_codes": [village],
            }, DEMO_ACTOR)["visitor_id"] if not _exists(visits, village) else f"cadre-{village}"
        plans = _all_plans(visits, county.ljust(12, "0"))
        month_start = today.replace(day=1)
        for plan in plans:
            if not plan["classes"] or plan["division_code"] not in cadres:
                continue
            cadre = cadres[plan["division_code"]]
            _call(outcomes, "assigned", visits.assign_visitor, {"elder_id": plan["elder_id"], "visitor_id": cadre})
            for _ in range(randomness.choice((0, 1, 1, 2))):
                day = month_start + timedelta(days=randomness.randrange(max(1, (today - month_start).days)))
                risks = [dict(zip(("kind", "severity", "description"), randomness.choice(RISKS)))] \
                    if randomness.random() < 0.03 else []
                _call(outcomes, "visits", visits.record_visit, {
                    "elder_id": plan["elder_id"], "visitor_id": cadre, "visited_on": day.isoformat(),
                    "mode": randomness.choice(("home", "home", "phone", "video")),
                    "services": ["emotional_comfort", "safety_supervision"],
                    "findings": {"health": randomness.choice(("良好", "血压偏高", "行动不便")),
                                 "home_safety": "良好"}, "risks": risks})
    console.print(f"[green]✓[/] demo visits: {len(cadres)} village cadres, "
                  + ", ".join(f"{count} {kind}" for kind, count in outcomes.items()))
    return outcomes


def _exists(visits, village: str) -> bool:
    return any(v["visitor_id"] == f"cadre-{village}" for v in visits.list_visitors({"division_code": village}))


def _all_plans(visits, division_code: str) -> list[dict]:
    found, offset = [], 0
    while True:
        page = visits.list_plans({"division_code": division_code, "limit": 1000, "offset": offset})
        found += page
        if len(page) < 1000:
            return found
        offset += 1000


def _call(outcomes: Counter, kind: str, method, payload) -> None:
    try:
        method(payload, DEMO_ACTOR)
        outcomes[kind] += 1
    except EldercareError as error:
        outcomes[f"refused ({error.code})"] += 1
