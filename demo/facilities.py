"""The facility seed figures as a demo dataset (DOMAIN.md §5), and a loader over RPC.

``generate_facilities()`` yields ``{"command": ..., "payload": {...}}`` for the facilities
service: one ``open_facility`` per facility in the seed figures, the home services (meals,
bathing, …, each with a daily capacity) of the facilities in the demo county and of
Jincheng's day-care centres, so that orders can be placed for the demo's elders, then a star
rating for about a third of the rated kinds (Sanmenxia's ratings earn the one-time awards
its policy pays). Same seed, same commands.

Seed figures: Puyang 9 county support centres, 75 township homes, 2,016 happiness homes
(000); Jincheng 34 township homes, 371 rural day-care centres (004); Sanmenxia 167
community day-care centres, 69 township homes (003). Facilities are spread over the real
counties of each city in ``data/divisions/base.csv``; township and village parts of their
division codes are synthetic. Capacities, opening dates, operators and ratings are
plausible guesses, not data.

``python -m demo.facilities --out FILE.jsonl`` writes the commands;
``eldercare demo facilities`` loads them into the running facilities service.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter, deque
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Iterator

DEMO_ACTOR = {"department": "civil_affairs", "user": "demo-loader", "role": "county_coordinator"}


@dataclass(frozen=True)
class Seed:
    city: str                       # 4-digit city code
    counties: tuple[str, ...]       # 6-digit county codes
    kind: str
    count: int
    capacity: tuple[int, int]       # inclusive range of beds/places
    source: str


SEEDS = (
    Seed("4109", ("410902", "410922", "410923", "410926", "410927", "410928"), "county_support_centre", 9,
         (80, 300), "000"),
    Seed("4109", ("410902", "410922", "410923", "410926", "410927", "410928"), "township_nursing_home", 75,
         (30, 120), "000"),
    Seed("4109", ("410902", "410922", "410923", "410926", "410927", "410928"), "happiness_home", 2016,
         (8, 30), "000"),
    Seed("1405", ("140502", "140521", "140522", "140524", "140525", "140581"), "township_nursing_home", 34,
         (30, 100), "004"),
    Seed("1405", ("140502", "140521", "140522", "140524", "140525", "140581"), "day_care_centre_with_meals", 371,
         (15, 50), "004"),
    Seed("4112", ("411202", "411203", "411221", "411224", "411281", "411282"), "day_care_centre_with_meals", 167,
         (20, 60), "003"),
    Seed("4112", ("411202", "411203", "411221", "411224", "411281", "411282"), "township_nursing_home", 69,
         (30, 120), "003"),
)
KIND_NAMES = {"county_support_centre": "特困供养中心", "township_nursing_home": "敬老院",
              "happiness_home": "幸福院", "day_care_centre_with_meals": "日间照料中心"}
SERVICES = {"county_support_centre": ["beds", "meals", "nursing", "medical"],
            "township_nursing_home": ["beds", "meals", "nursing"], "happiness_home": ["beds", "meals", "activities"],
            "day_care_centre_with_meals": ["meals", "day_care", "activities"]}
COUNTY_NAMES = {
    "410902": "华龙区", "410922": "清丰县", "410923": "南乐县", "410926": "范县", "410927": "台前县", "410928": "濮阳县",
    "140502": "城区", "140521": "沁水县", "140522": "阳城县", "140524": "陵川县", "140525": "泽州县", "140581": "高平市",
    "411202": "湖滨区", "411203": "陕州区", "411221": "渑池县", "411224": "卢氏县", "411281": "义马市", "411282": "灵宝市",
}
# Home services by kind: (service, least, most orders a day). Guesses, not data.
HOME_SERVICES = {
    "county_support_centre": (("meals", 30, 60), ("bathing", 4, 8), ("medical_help", 4, 8), ("cleaning", 2, 6)),
    "township_nursing_home": (("meals", 15, 40), ("bathing", 2, 6), ("medical_help", 2, 4)),
    "happiness_home": (("meals", 8, 20), ("accompaniment", 1, 3)),
    "day_care_centre_with_meals": (("meals", 20, 50), ("bathing", 2, 4), ("cleaning", 2, 4), ("accompaniment", 1, 3)),
}
HOME_SERVICE_COUNTIES = ("410928",)          # the demo county (`eldercare demo load`)
OPERATING_MODELS = ("public_built_public_run", "public_built_private_run", "private_built_public_subsidised")
TOWNSHIPS_PER_COUNTY = 12
RATED_SHARE = 0.35


def seed_totals() -> Counter:
    """``(city, kind) → count`` of the seed figures."""
    return Counter({(s.city, s.kind): s.count for s in SEEDS})


def generate_facilities(seed: int = 42, today: date = date(2026, 11, 1)) -> Iterator[dict]:
    """Every ``open_facility`` first, then the home services (dated on the opening day, so no
    rating is dated before them), then the ratings (each dated after its opening)."""
    offers, ratings = [], []
    for spec in SEEDS:
        rng = random.Random(f"demo-facilities/{spec.city}/{spec.kind}/{seed}")
        for number in range(1, spec.count + 1):
            payload = _opening(spec, number, rng, today)
            yield {"command": "open_facility", "payload": payload}
            if payload["division_code"][:6] in HOME_SERVICE_COUNTIES or spec.kind == "day_care_centre_with_meals" \
                    and spec.city == "1405":
                offers.append(_home_services(payload, rng))
            # Happiness homes are rated far less often than institutions.
            if rng.random() < (RATED_SHARE / 3 if spec.kind == "happiness_home" else RATED_SHARE):
                ratings.append(_rating(payload, rng, today))
    yield from offers
    yield from ratings


def _home_services(opening: dict, rng: random.Random) -> dict:
    return {"command": "declare_home_services", "payload": {
        "facility_id": opening["facility_id"], "effective_date": opening["effective_date"],
        "offers": [{"service_kind": kind, "daily_capacity": rng.randint(least, most)}
                   for kind, least, most in HOME_SERVICES[opening["kind"]]]}}


def _opening(spec: Seed, number: int, rng: random.Random, today: date) -> dict:
    county = spec.counties[(number - 1) % len(spec.counties)]
    township = 100 + rng.randrange(TOWNSHIPS_PER_COUNTY)
    village = 201 + rng.randrange(40) if spec.kind == "happiness_home" else 0
    opened = date(2010, 1, 1) + timedelta(days=rng.randrange((date(2022, 12, 31) - date(2010, 1, 1)).days))
    return {"facility_id": f"fac-{spec.city}-{spec.kind}-{number:04d}",
            "name": f"{COUNTY_NAMES[county]}第{number}{KIND_NAMES[spec.kind]}",
            "division_code": f"{county}{township:03d}{village:03d}", "kind": spec.kind,
            "operating_model": rng.choice(OPERATING_MODELS),
            "operator": "村委会" if spec.kind == "happiness_home" else f"{COUNTY_NAMES[county]}民政局",
            "capacity": rng.randint(*spec.capacity), "services": SERVICES[spec.kind],
            "effective_date": min(opened, today).isoformat()}


def _rating(opening: dict, rng: random.Random, today: date) -> dict:
    opened = date.fromisoformat(opening["effective_date"])
    start = max(opened, date(2023, 1, 1))
    assessed = start + timedelta(days=rng.randrange(max((today - start).days, 1)))
    return {"command": "rate_facility", "payload": {
        "facility_id": opening["facility_id"], "stars": rng.choices((1, 2, 3, 4, 5), (10, 25, 35, 20, 10))[0],
        "assessor": "市民政局星级评定委员会", "effective_date": min(assessed, today).isoformat()}}


def load_facilities(config: dict, *, seed: int = 42, in_flight: int = 16, progress_factory, console) -> Counter:
    """Send the demo facilities to the running facilities service over RPC, ``in_flight``
    calls at a time (openings all land before the ratings are sent)."""
    from nameko.standalone.rpc import ClusterRpcProxy

    from kernel.errors import EldercareError

    commands = list(generate_facilities(seed))
    outcomes: Counter = Counter()
    with ClusterRpcProxy({"AMQP_URI": config["AMQP_URI"], "serializer": "json"}, timeout=60) as cluster, \
            progress_factory() as progress:
        task = progress.add_task(f"demo facilities: {len(commands)} commands", total=len(commands))
        pending: deque = deque()
        for index, command in enumerate(commands):
            if command["command"] != commands[index - 1]["command"] and index:
                _drain(pending, 0, outcomes, progress, task, EldercareError)     # openings before ratings
            _drain(pending, in_flight - 1, outcomes, progress, task, EldercareError)
            pending.append(getattr(cluster.facilities, command["command"]).call_async(command["payload"], DEMO_ACTOR))
        _drain(pending, 0, outcomes, progress, task, EldercareError)
    console.print(f"[green]✓[/] demo facilities loaded: {outcomes['accepted']} commands accepted"
                  + "".join(f", {count} {kind}" for kind, count in outcomes.items() if kind != "accepted"))
    return outcomes


def _drain(pending: deque, keep: int, outcomes: Counter, progress, task, error_class) -> None:
    while len(pending) > keep:
        try:
            pending.popleft().result()
            outcomes["accepted"] += 1
        except error_class as error:
            outcomes[f"refused ({error.code})"] += 1
        progress.advance(task)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo.facilities", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=argparse.FileType("w", encoding="utf-8"), default=sys.stdout)
    args = parser.parse_args(argv)
    for command in generate_facilities(args.seed):
        args.out.write(json.dumps(command, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
