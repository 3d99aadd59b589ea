"""The gateway at county scale: dashboard and elder-timeline latency over 1M elders and ~10M
events (issue 8), against an RPC round trip on the same running system.

Three phases, each reported:

1. **Template** (set-up, not timed): the real services — registry, visits, facilities,
   notifications, subsidies — run as nameko containers against a throw-away RabbitMQ vhost and
   SQLite files, and are driven over RPC the way ``bin/run`` drives them: one village cadre per
   village and an in-app inbox for every village committee, township, county office and
   department; the demo county (``demo.generator``) for ``template`` elders; the county's demo
   facilities and a few admissions; each elder owed visits assigned to their cadre (written
   notice); October and November 2026 visited (most elders as often as owed, some less, a few
   risks found), October closed on 2 November (met / overdue), status reviews, notification
   sweeps and deliveries (to a local SMS gateway), most alerts acknowledged and closed, the
   October and November subsidy runs approved by finance (the county given Jincheng's subsidy
   rules: the shipped policy pays nothing in Puyang). The clock moves between months. Every
   event, projection row, consumer table and inbox record is what the services wrote.
2. **Load** (set-up, timed and reported): every template elder is cloned until there are
   ``elders`` — their rows in every service's database, with their ids (elder, resident ID,
   events, alerts, deliveries, visits, stays …) replaced by fresh ones, their village rotated
   through the county's villages and an admission's facility through the county's facilities
   of the kind. Event rows are re-chained (positions, ``previous_hash``, ``hash`` exactly as
   ``kernel.store`` writes them) and the relay cursor is set at the head, as on a system that
   has published its log. Rows shared by all elders (visitors, facilities, runs, party
   contacts) are written once; what they hold over elders (a facility's occupancy and stream
   version, a run's totals) and the per-village dashboard counts are recomputed for the
   clones. One child process per service, two at a time. The result replays: every loaded
   projection equals a rebuild from the loaded log (``eldercare audit replay``).
3. **Measure**: each service and the gateway in its own ``nameko run`` process (as the
   Procfile starts them) over the loaded databases; sequential HTTP GETs from one client of
   the dashboard at county, township and village level and of the timeline of random elders
   (the timeline within a time budget), p50/p99 of each; the baseline is the bare RPC round
   trip (``registry.ping``) from the same client, p50/p99, and a raw SQL ``COUNT`` of the
   county's elders on the registry's database.
"""
from __future__ import annotations

import base64
import json
import os
import random
import re
import threading
import time
import warnings
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench.report import Result

DEFAULT_GATEWAY_ELDERS = 20_000
DEFAULT_REQUESTS = 300
COUNTY = "410928"
TEMPLATE_SERVICES = ("registry", "visits", "facilities", "notifications", "subsidies")
ACTOR = {"department": "civil_affairs", "user": "bench-loader", "role": "county_coordinator"}
CADRE = {"department": "civil_affairs", "user": "bench-cadre", "role": "village_worker"}
FINANCE = {"department": "finance", "user": "bench-finance", "role": "county_coordinator"}
# The template's calendar: registered by the end of September, visited in October and November,
# October closed, today 23 November 2026 (as the gateway tests' TODAY).
REGISTERED_BY = date(2026, 9, 30)
MONTHS = ((date(2026, 10, 1), date(2026, 10, 28)), (date(2026, 11, 1), date(2026, 11, 22)))
TODAY = date(2026, 11, 23)
RISKS = (("home_safety_hazard", "medium", "灶台旁堆放柴草，电线老化"),
         ("critical_illness", "high", "持续发热三天，未就医"),
         ("neglect_by_supporter", "medium", "子女三个月未联系"))
FACILITY_ADMISSIONS_SHARE = 0.015      # of elders, at most half the county's beds


def progress(message: str) -> None:
    from bench.infra import progress as say
    say(f"gateway: {message}")


# -- 1. the template: the real services on a sample ---------------------------------------------
def _service_classes():
    from services.facilities.service import FacilitiesService
    from services.notifications.service import NotificationsService
    from services.registry.service import RegistryService
    from services.subsidies.service import SubsidiesService
    from services.visits.service import VisitsService
    return (RegistryService, VisitsService, FacilitiesService, NotificationsService, SubsidiesService)


def build_template(directory: Path, amqp_uri: str, elders: int, scaled_to: int, seed: int = 42) -> dict:
    """Run the services on ``elders`` demo elders; returns ``{service: sqlite url}``."""
    from nameko.containers import ServiceContainer
    from nameko.standalone.rpc import ClusterRpcProxy

    from kernel import migrate
    from kernel.checkpoints import init_keys
    from kernel.providers import find_database

    urls = {name: f"sqlite:///{directory / (name + '.db')}" for name in TEMPLATE_SERVICES}
    for name, url in urls.items():
        migrate.upgrade(name, url)
    init_keys(list(urls), directory / "keys")       # each relay signs its batches; each consumer checks them
    sms, sms_url = _sms_gateway()
    config = {"AMQP_URI": amqp_uri, "serializer": "json", "max_workers": 10, "DATABASES": urls,
              "FIXED_TODAY": MONTHS[0][0].isoformat(), "RELAY": {"poll_interval": 0.05},
              "SUBSIDY_POLICY_FILE": str(subsidy_policy_file(directory)),
              "REGISTRY": {"status_review_interval_seconds": 3600},
              "VISITS": {"period_close_interval_seconds": 3600},
              "NOTIFICATIONS": {"sweep_interval_seconds": 3600, "delivery_interval_seconds": 0.5,
                                "sms_gateway_url": sms_url},
              "CHECKPOINTS": {"interval_seconds": 3600, "key_dir": str(directory / "keys")}}
    containers = [ServiceContainer(cls, config) for cls in _service_classes()]
    for container in containers:
        container.start()
    clocks = [find_database(container).clock for container in containers]
    randomness = random.Random(seed)
    outcomes: Counter = Counter()
    phase = _phases()
    try:
        with ClusterRpcProxy({"AMQP_URI": amqp_uri, "serializer": "json"}, timeout=120) as rpc:
            villages = _register_cadres(rpc, outcomes)
            _set_contacts(rpc, villages, outcomes)
            _load_county(rpc, elders, seed, outcomes)
            _wait_quiet(urls, amqp_uri)
            phase("cadres, contacts, registry")
            facilities = _open_facilities(rpc, outcomes)
            _wait_quiet(urls, amqp_uri)
            phase("facilities")
            plans = _plans(rpc)
            _admit(rpc, plans, facilities, elders, scaled_to, randomness, outcomes)
            for plan in plans:
                if plan["classes"]:
                    _call(outcomes, "assigned", rpc.visits.assign_visitor,
                          {"elder_id": plan["elder_id"], "visitor_id": villages[plan["division_code"]]}, CADRE)
            _wait_quiet(urls, amqp_uri)
            _subsidy_run(rpc, MONTHS[0][0], outcomes)
            phase("admissions, assignments, October's subsidies")
            for index, (first, last) in enumerate(MONTHS):
                if index:
                    _set_today(clocks, first + timedelta(days=1))
                    _month_turned(rpc, first, outcomes)
                    _wait_quiet(urls, amqp_uri)
                    phase(f"{first:%B} turned")
                _set_today(clocks, last)
                _visit_month(rpc, _plans(rpc), villages, first, last, randomness, outcomes)
                _wait_quiet(urls, amqp_uri)
                _answer_alerts(rpc, randomness, outcomes)
                _wait_quiet(urls, amqp_uri)
                phase(f"{first:%B} visited, alerts answered")
            _set_today(clocks, TODAY)
            rpc.notifications.sweep()
            _wait_quiet(urls, amqp_uri)
    finally:
        for container in containers:
            container.stop()
        sms.shutdown()
        sms.server_close()
    progress("template: " + ", ".join(f"{n} {k}" for k, n in sorted(outcomes.items())))
    return urls


def _phases():
    started = [time.perf_counter()]

    def done(what: str) -> None:
        now = time.perf_counter()
        progress(f"template {what} in {now - started[0]:.1f} s")
        started[0] = now
    return done


def subsidy_policy_file(directory: Path) -> Path:
    """The shipped subsidy rules, and Jincheng's rules for the demo county as well (the shipped
    file pays nothing in Puyang, so the dashboard's disbursements would be empty)."""
    import yaml

    from kernel.config import REPOSITORY_ROOT
    rules = yaml.safe_load((REPOSITORY_ROOT / "policies" / "subsidies.yml").read_text())
    rules["subsidy_rules"] += [{**rule, "jurisdiction": COUNTY, "source": f"bench: {rule['source']}"}
                               for rule in rules["subsidy_rules"] if rule["jurisdiction"] == "1405"
                               and rule["programme"] != "facility_operating_subsidy"]
    path = directory / "subsidies.yml"
    path.write_text(yaml.safe_dump(rules, allow_unicode=True))
    return path


class _AcceptingSmsGateway(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def _sms_gateway():
    """A local SMS gateway that accepts every message, so deliveries to families succeed."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AcceptingSmsGateway)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/sms"


def _set_contacts(rpc, villages: dict, outcomes: Counter) -> None:
    """Village committees, townships, county civil affairs and the county's departments read
    their in-app inbox (a party with no channel raises a 'contact unreachable' alert)."""
    from contracts.actors import DEFAULT_DEPARTMENTS
    parties = ([f"village_committee:{v}" for v in villages] + sorted({f"township:{v[:9]}" for v in villages})
               + [f"county_civil_affairs:{COUNTY}"] + [f"department:{d}:{COUNTY}" for d in DEFAULT_DEPARTMENTS])
    for party in parties:
        _call(outcomes, "contacts", rpc.notifications.set_party_contacts,
              {"party": party, "channels": [{"channel": "inbox", "address": party}]})


def _answer_alerts(rpc, randomness, outcomes: Counter) -> None:
    """Village committees acknowledge most open alerts and close most of those (an unanswered
    alert climbs to the township and the county at every sweep)."""
    from services.notifications.domain.model import level_party

    while True:
        page = rpc.notifications.list_alerts({"division_code": COUNTY.ljust(12, "0"), "status": "open",
                                              "limit": 1000})
        answered = 0
        for alert in page:
            if randomness.random() < 0.1:
                continue
            party = level_party(alert["level"], alert["division_code"])
            if _call(outcomes, "alerts acknowledged", rpc.notifications.acknowledge_alert,
                     {"alert_id": alert["alert_id"], "party": party, "note": "已电话联系"}, CADRE) is None:
                continue
            answered += 1
            if randomness.random() < 0.8:
                _call(outcomes, "alerts closed", rpc.notifications.close_alert,
                      {"alert_id": alert["alert_id"], "party": party, "outcome": "resolved", "note": "已上门处理"}, CADRE)
        if len(page) < 1000 or not answered:
            return


def _set_today(clocks, day: date) -> None:
    for clock in clocks:
        clock.set_today(day)


def _call(outcomes: Counter, kind: str, method, payload, actor=ACTOR):
    from kernel.errors import EldercareError
    try:
        result = method(payload, actor)
        outcomes[kind] += 1
        return result
    except EldercareError as error:
        outcomes[f"{kind} refused ({error.code})"] += 1
        return None


def _load_county(rpc, elders: int, seed: int, outcomes: Counter) -> None:
    from collections import deque

    from demo.generator import generate_county
    from kernel.errors import EldercareError

    pending: deque = deque()

    def collect():
        try:
            pending.popleft()[1].result()
            outcomes["registry commands"] += 1
        except EldercareError as error:
            outcomes[f"registry refused ({error.code})"] += 1

    for command in generate_county(county_code=COUNTY, elders=elders, seed=seed, today=REGISTERED_BY):
        elder_id = command["payload"]["elder_id"]
        while pending and (len(pending) >= 16 or any(e == elder_id for e, _ in pending)):
            collect()
        pending.append((elder_id, getattr(rpc.registry, command["command"]).call_async(command["payload"], ACTOR)))
    while pending:
        collect()


def _register_cadres(rpc, outcomes: Counter) -> dict[str, str]:
    """One village cadre per village of the county (as ``demo.visits``): village → visitor id."""
    from demo.visits import GIVEN, SURNAMES
    from kernel.divisions import configured_division_table

    cadres = {}
    for index, village in enumerate(configured_division_table({}).villages_within(COUNTY)):
        name = SURNAMES[index % len(SURNAMES)] + GIVEN[(index // len(SURNAMES)) % len(GIVEN)]
        _call(outcomes, "cadres", rpc.visits.register_visitor, {
            "visitor_id": f"cadre-{village}", "name": name, "phone": f"139{index:08d}", "role": "village_cadre",
            "organisation": f"{village}村民委员会", "village_codes": [village],
            "effective_date": MONTHS[0][0].isoformat()})
        cadres[village] = f"cadre-{village}"
    return cadres


def _open_facilities(rpc, outcomes: Counter) -> list[dict]:
    """The demo facilities of the county (its share of Puyang's seed figures); returns those with beds."""
    from demo.facilities import generate_facilities

    replies = [(command, getattr(rpc.facilities, command["command"]).call_async(command["payload"], ACTOR))
               for command in generate_facilities(today=MONTHS[0][0])
               if command["command"] == "open_facility" and command["payload"]["division_code"].startswith(COUNTY)]
    opened = []
    for command, reply in replies:
        reply.result()
        outcomes["facilities"] += 1
        payload = command["payload"]
        if "beds" in payload["services"]:
            opened.append(payload)
    return opened


def _plans(rpc) -> list[dict]:
    found, offset = [], 0
    while page := rpc.visits.list_plans({"division_code": COUNTY.ljust(12, "0"), "limit": 1000, "offset": offset}):
        found += page
        offset += len(page)
    return found


def _admit(rpc, plans, facilities, elders: int, scaled_to: int, randomness, outcomes) -> None:
    """Admit a share of the elders so that, scaled up, about half the county's beds are taken."""
    beds = sum(f["capacity"] for f in facilities)
    wanted = min(FACILITY_ADMISSIONS_SHARE * scaled_to, beds / 2) * elders / scaled_to
    for plan in randomness.sample(plans, min(len(plans), max(1, round(wanted)))):
        facility = randomness.choice(facilities)
        kind = "centralised_support" if facility["kind"] != "happiness_home" else "day_care"
        _call(outcomes, "admissions", rpc.facilities.admit_elder, {
            "facility_id": facility["facility_id"], "elder_id": plan["elder_id"], "admission_kind": kind,
            "effective_date": MONTHS[0][0].isoformat()})


def _visit_month(rpc, plans, villages, first: date, last: date, randomness, outcomes) -> None:
    """Most elders get the visits they are owed in the month (Puyang: key targets twice), one
    in ten fewer, a few more; 3% of visits find a risk."""
    for plan in plans:
        if not plan["classes"] or plan["division_code"] not in villages:
            continue
        owed = 2 if "key_target" in plan["classes"].split() else 1
        draw = randomness.random()
        for _ in range(owed if draw < 0.85 else owed + 1 if draw < 0.9 else owed - 1):
            day = first + timedelta(days=randomness.randrange((last - first).days + 1))
            risks = ([dict(zip(("kind", "severity", "description"), randomness.choice(RISKS)))]
                     if randomness.random() < 0.03 else [])
            _call(outcomes, "visits", rpc.visits.record_visit, {
                "elder_id": plan["elder_id"], "visitor_id": villages[plan["division_code"]],
                "visited_on": day.isoformat(), "mode": randomness.choice(("home", "home", "phone", "video")),
                "services": ["emotional_comfort", "safety_supervision"],
                "findings": {"health": randomness.choice(("良好", "血压偏高", "行动不便")), "home_safety": "良好"},
                "risks": risks}, CADRE)


def _month_turned(rpc, month_start: date, outcomes: Counter) -> None:
    """What the timers do when a month turns, and the month's subsidy run approved."""
    while rpc.registry.review_statuses():
        outcomes["status reviews"] += 1
    closed = rpc.visits.close_periods()
    outcomes["periods closed"] += sum(v for v in closed.values() if isinstance(v, int))
    rpc.notifications.sweep()
    _subsidy_run(rpc, month_start, outcomes)


def _subsidy_run(rpc, month_start: date, outcomes: Counter) -> None:
    month = f"{month_start.year}-{month_start.month:02d}"
    _call(outcomes, "subsidy runs", rpc.subsidies.start_run, {"jurisdiction": COUNTY, "month": month})
    _call(outcomes, "subsidy approvals", rpc.subsidies.approve_run,
          {"jurisdiction": COUNTY, "month": month, "note": "bench"}, FINANCE)


def _wait_quiet(urls: dict, amqp_uri: str, timeout: float = 600.0) -> None:
    """Until every relay has published its log and every consumer queue is empty and no inbox
    grows any more (two polls apart)."""
    import kombu
    from sqlalchemy import func, select

    from kernel.consumer import subscriptions_of
    from kernel.db import create_service_engine
    from kernel.schema import events, inbox, relay_cursor

    queues = [s.consumer for cls in _service_classes() for s in subscriptions_of(cls)]
    engines = {name: create_service_engine(url) for name, url in urls.items()}
    deadline, last = time.monotonic() + timeout, None
    try:
        with kombu.Connection(amqp_uri) as connection:
            channel = connection.default_channel
            while True:
                state = []
                for name, engine in engines.items():
                    with engine.connect() as conn:
                        head = conn.execute(select(func.max(events.c.position))).scalar() or 0
                        published = conn.execute(select(func.max(relay_cursor.c.position))).scalar() or 0
                        applied = conn.execute(select(func.count()).select_from(inbox)).scalar()
                    state.append((name, head, published, applied))
                waiting = sum(channel.queue_declare(queue=q, passive=True).message_count for q in queues)
                if waiting == 0 and all(head == published for _, head, published, _ in state) and state == last:
                    return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"services did not settle within {timeout:.0f} s: {state}, {waiting} queued")
                last = state
                time.sleep(0.5)
    finally:
        for engine in engines.values():
            engine.dispose()


# -- 2. the load: the template's rows cloned to ``elders`` ------------------------------------------
# Per-elder ids, as the services mint them: UUIDs (elder ids, event ids, UUIDv7 stream ids, inside
# "al-…"), 24-hex ids with a prefix (deliveries, referrals), demo facility ids, and the county's
# codes: an 18-character resident ID, a 12-digit village, a 9-digit township.
TOKEN = re.compile(r"(?P<uuid>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
                   r"|(?P<hex>(?<![0-9a-z])[a-z]{2}-[0-9a-f]{24}(?![0-9a-f]))"
                   r"|(?P<facility>fac-\d{4}-[a-z_]+-\d{4})"
                   rf"|(?<![0-9])(?:(?P<rid>{COUNTY}\d{{11}}[0-9X])|(?P<village>{COUNTY}\d{{6}})"
                   rf"|(?P<township>{COUNTY}\d{{3}}))"
                   r"(?![0-9X])")
# Rows written once whatever their contents (a run's resume cursor names its last elder).
GLOBAL_TABLES = {"run_progress", "visitors", "facilities", "runs", "party_contacts", "facility_grants",
                 "held_checkpoints", "unroutable_events"}
KERNEL_MANAGED = {"events", "relay_cursor", "alembic_version", "personal_keys"}   # clones are plaintext (see _clone_events)
# Producers before consumers, so an id is owned by the elder whose event minted it.
CLONE_ORDER = ("registry", "facilities", "visits", "notifications", "subsidies")
RUN_TOTALS = ("beneficiaries", "disbursements", "disbursed_fen", "adjustments", "adjusted_fen")


def count_fills(service: str) -> dict[str, list[str]]:
    """The per-village count tables of ``service`` and the statements its migrations fill them
    with from the rows they count: after a bulk load they are filled the same way, not cloned."""
    import importlib.util

    from kernel.config import REPOSITORY_ROOT
    fills = {}
    for path in sorted((REPOSITORY_ROOT / "services" / service / "migrations" / "versions").glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"_bench_migration_{service}_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        fills.update(getattr(module, "FILL_COUNTS", {}))
    return fills



class Cloner:
    """Which template elder owns each id, and each id's counterpart in clone ``j`` (clone 0 is
    the template elder itself). Every derived id is a pure function of (id, j), so a reference
    from one service's row to another's (a causation id, an inbox record, an alert about a
    visit) points at the same clone."""

    def __init__(self, template: dict[str, str], elders: int):
        import sqlite3

        from kernel.divisions import configured_division_table
        self.paths = {name: url[len("sqlite:///"):] for name, url in template.items()}
        registry = sqlite3.connect(self.paths["registry"])
        rows = registry.execute("SELECT elder_id, division_code, resident_id, birth_date, sex FROM elders "
                                "ORDER BY elder_id").fetchall()
        registry.close()
        self.villages = configured_division_table({}).villages_within(COUNTY)
        self.village_index = {v: i for i, v in enumerate(self.villages)}
        count, extra = divmod(elders, len(rows))
        self.copies = {row[0]: count + (i < extra) for i, row in enumerate(rows)}
        self.village_of = {row[0]: row[1] for row in rows}
        self.birth = {row[0]: (row[3], row[4]) for row in rows}
        self.rid_of = {row[0]: row[2] for row in rows}
        self.order_codes = Counter((row[3], row[4]) for row in rows)
        self.rids: dict[tuple[str, int], str] = {}
        self.owner: dict[str, str] = {elder: elder for elder in self.copies}
        self.facilities: dict[str, list[str]] = {}              # kind → the county's facility ids
        self.facility_kind: dict[str, str] = {}
        self.first_positions: dict[str, dict[int, int]] = {}     # service → template position → loaded
        self.elders = sum(self.copies.values())

    @cached_property
    def clone_letter(self) -> str:
        """Clone j (≥ 1) of an id begins with this letter and j in hex; clone 0 is the template's
        own id. A template id already beginning with the letter and a number below the copies
        would be met by one of its clones (a random ``dl-e0054b…`` is clone 0x54b of itself):
        the letter is one under which no owned id falls. Read after every ``learn``."""
        return clone_letter(self.owner, max(self.copies.values(), default=1))

    # -- who owns what --------------------------------------------------------------------------
    def learn(self, service: str) -> dict[int, str | None]:
        """One pass over a template log: each event's owning elder (None: shared by all, e.g. a
        facility opening or a run), and the ids its owned events mint. Returns position → owner."""
        import sqlite3
        conn = sqlite3.connect(self.paths[service])
        owners, streams = {}, {}
        for position, stream_id, event_id, data in conn.execute(
                "SELECT position, stream_id, event_id, data FROM events ORDER BY position"):
            found = [m.group(0) for m in TOKEN.finditer(data) if m.lastgroup in ("uuid", "hex")]
            owner = self.owner.get(stream_id) or next((self.owner[t] for t in found if t in self.owner), None)
            owners[position] = owner
            streams.setdefault(stream_id, set()).add(owner)
            if owner is not None:
                for token in [event_id, *found]:
                    self.owner.setdefault(token, owner)
        for stream_id, stream_owners in streams.items():
            if len(stream_owners) == 1 and None not in stream_owners and TOKEN.fullmatch(stream_id):
                self.owner.setdefault(stream_id, next(iter(stream_owners)))
        if service == "facilities":
            for facility_id, kind, division in conn.execute("SELECT facility_id, kind, division_code FROM facilities "
                                                            "ORDER BY facility_id"):
                if division.startswith(COUNTY):
                    self.facilities.setdefault(kind, []).append(facility_id)
            self.facility_kind = {f: k for k, ids in self.facilities.items() for f in ids}
        conn.close()
        return owners

    def positions(self, owners: dict[int, str | None]) -> dict[int, int]:
        """Where each template event's first clone lands in the loaded log (clone j of it is
        at that position + j): the loaded log is every event's clones in template order."""
        first, position = {}, 0
        for template_position in sorted(owners):
            owner = owners[template_position]
            first[template_position] = position + 1
            position += self.copies[owner] if owner else 1
        return first

    def row_owner(self, values) -> str | None:
        for value in values:
            if isinstance(value, str):
                for match in TOKEN.finditer(value):
                    owner = self.owner.get(match.group(0))
                    if owner is not None:
                        return owner
        return None

    # -- each id in clone j ---------------------------------------------------------------------
    def compile(self, text, owner: str):
        """``text`` as a %-format whose fields are what differs between clones of ``owner``:
        parsed once per template value, formatted once per clone. A UUID's first 8 hex digits
        and a prefixed id's first 6 become the clone number (``%(u)s``, ``%(h)s``); the owner's
        village, township and resident ID become the clone's (``%(v)s``, ``%(t)s``, ``%(r)s``);
        a facility becomes its kind's next one in the county (``%(f:<id>)s``). Values without
        such ids come back as they are."""
        if not isinstance(text, str):
            return text
        village, out, last = self.village_of[owner], [], 0
        for match in TOKEN.finditer(text):
            token, kind = match.group(0), match.lastgroup
            if kind == "uuid" and token in self.owner:
                field, before, after = "u", "", token[8:]
            elif kind == "hex" and token in self.owner:
                field, before, after = "h", token[:3], token[9:]
            elif kind == "village" and token == village:
                field, before, after = "v", "", ""
            elif kind == "township" and token == village[:9]:
                field, before, after = "t", "", ""
            elif kind == "rid" and token == self.rid_of[owner]:
                field, before, after = "r", "", ""
            elif kind == "facility" and token in self.facility_kind:
                field, before, after = f"f:{token}", "", ""
            else:
                continue
            out.append(f"{text[last:match.start()]}{before}".replace("%", "%%") + f"%({field})s" + after)
            last = match.end()
        if not out:
            return text
        out.append(text[last:].replace("%", "%%"))
        return _Compiled("".join(out))

    def clone_of(self, owner: str, j: int) -> "_Clone":
        return _Clone(self, owner, j)

    def _resident_id(self, owner: str, j: int) -> str:
        """A valid, unused resident ID with the template elder's birth date and sex. One birth
        date and sex have at most 499 order codes per address code, and a template elder has up
        to thousands of clones: the next ones take the address code of another county of the
        province (where the ID was issued; the registry checks the code is a real one)."""
        from demo.residents import make_resident_id, order_code
        key = (owner, j)
        if key not in self.rids:
            birth, sex = self.birth[owner]
            n = self.order_codes[(birth, sex)]
            self.order_codes[(birth, sex)] += 1
            address = _address_codes()[n // ORDER_CODES_PER_ADDRESS]
            self.rids[key] = make_resident_id(address, date.fromisoformat(birth),
                                              order_code(n % ORDER_CODES_PER_ADDRESS, sex), sex)
        return self.rids[key]


ORDER_CODES_PER_ADDRESS = 499      # women: 002 … 998 (men have 500)


@lru_cache(maxsize=1)
def _address_codes() -> list[str]:
    """The county's own address code, then every other county-level code of its province."""
    from kernel.resident_id import is_known_address_code
    province = COUNTY[:2]
    others = [f"{province}{n:04d}" for n in range(10000) if n % 100 and f"{province}{n:04d}" != COUNTY
              and is_known_address_code(f"{province}{n:04d}")]
    return [COUNTY, *others]


def clone_letter(tokens, copies: int) -> str:
    """The first hex letter under which no uuid's first 8 or prefixed hex id's first 6 digits
    read as a clone number below ``copies``."""
    taken = set()
    for token in tokens:
        found = TOKEN.fullmatch(token)
        kind = found.lastgroup if found else None
        prefix = token[:8] if kind == "uuid" else token[3:9] if kind == "hex" else None
        if prefix is not None and int(prefix[1:], 16) < copies:
            taken.add(prefix[0])
    letter = next((letter for letter in "edcbaf9876543210" if letter not in taken), None)
    if letter is None:
        raise RuntimeError("every hex letter begins a template id in the clones' number range")
    return letter


class _Compiled(str):
    """A value's %-format (see ``Cloner.compile``)."""


class _Clone(dict):
    """Clone ``j`` of one template elder: the fields of a compiled value, computed on first use."""

    def __init__(self, cloner: Cloner, owner: str, j: int):
        letter = cloner.clone_letter
        super().__init__(u=f"{letter}%07x" % j, h=f"{letter}%05x" % j)
        self.cloner, self.owner, self.j = cloner, owner, j

    def __missing__(self, field: str) -> str:
        cloner, owner, j = self.cloner, self.owner, self.j
        village = cloner.village_of[owner]
        moved = cloner.villages[(cloner.village_index[village] + j) % len(cloner.villages)]
        if field == "v":
            value = moved
        elif field == "t":
            value = moved[:9]
        elif field == "r":
            value = cloner._resident_id(owner, j)
        else:
            facility = field[2:]
            same_kind = cloner.facilities[cloner.facility_kind[facility]]
            value = same_kind[(same_kind.index(facility) + j) % len(same_kind)]
        self[field] = value
        return value

    def fill(self, value):
        return value % self if isinstance(value, _Compiled) else value


def load(template: dict[str, str], urls: dict[str, str], elders: int, processes: int = 2) -> dict:
    """Clone the template into the (migrated, empty) databases at ``urls``, one child process
    per service, ``processes`` at a time (the biggest logs first); returns the counts."""
    import json
    import subprocess
    import sys

    from kernel.config import REPOSITORY_ROOT
    directory = Path(template["registry"][len("sqlite:///"):]).parent
    waiting = sorted(CLONE_ORDER, key=lambda s: -os.path.getsize(directory / f"{s}.db"))
    running, figures = {}, {}
    while waiting or running:
        while waiting and len(running) < processes:
            service = waiting.pop(0)
            running[service] = subprocess.Popen(
                [sys.executable, "-m", "bench.gateway_load", "clone", str(directory), service, urls[service],
                 str(elders)], cwd=REPOSITORY_ROOT, stdout=subprocess.PIPE, text=True)
        time.sleep(0.2)
        for service, child in list(running.items()):
            if child.poll() is None:
                continue
            out = child.stdout.read()
            del running[service]
            if child.returncode:
                for other in running.values():
                    other.kill()
                raise RuntimeError(f"cloning {service} failed (exit {child.returncode})")
            figures[service] = json.loads(out.strip().splitlines()[-1])
            progress(f"load: {service} {figures[service]['events']:,} events, {figures[service]['rows']:,} other rows "
                     f"in {figures[service]['seconds']:.1f} s")
    return {"elders": figures["registry"]["elders"], "events": sum(f["events"] for f in figures.values()),
            **{s: f["events"] for s, f in figures.items()}}


def clone_service(directory: Path, service: str, url: str, elders: int) -> dict:
    """One service's share of ``load`` (run in a child process)."""
    from cli.services import catalogue_of
    started = time.perf_counter()
    catalogue_of(service)      # registers the personal fields its events were sealed under
    template = {name: f"sqlite:///{directory / (name + '.db')}" for name in TEMPLATE_SERVICES}
    cloner = Cloner(template, elders)
    owners = {name: cloner.learn(name) for name in CLONE_ORDER}
    for name, owned in owners.items():
        cloner.first_positions[name] = cloner.positions(owned)
    with _Sink(url) as sink:
        events, run_totals = _clone_events(cloner, service, owners[service], sink)
        rows = _clone_tables(cloner, service, sink)
        sink.finish(service, run_totals)
    return {"elders": cloner.elders, "events": events, "rows": rows, "seconds": time.perf_counter() - started}


EVENT_COLUMNS = ("position", "event_id", "stream_id", "sequence", "type", "source", "time", "recorded_time", "actor",
                 "jurisdiction", "correlation_id", "causation_id", "data", "previous_hash", "hash")


def _clone_events(cloner: Cloner, service: str, owners: dict, sink) -> tuple[int, dict]:
    """Every template event once per clone of its owner (shared ones once), in template order,
    chained as ``kernel.store`` chains them (same canonical JSON, same SHA-256)."""
    import sqlite3

    from kernel.envelope import GENESIS_HASH, canonical_event_json, sha256_hex

    from kernel.db import create_service_engine
    from kernel.envelope import canonical_json
    from kernel.personal import needs_opening, open_text

    conn = sqlite3.connect(cloner.paths[service])
    # Sealed personal values (kernel.personal) are bound to their person and event: a textual
    # clone cannot keep them sealed, so the clones carry the template's values in clear.
    template_engine = create_service_engine(f"sqlite:///{cloner.paths[service]}")
    template_conn = template_engine.connect()
    position, previous, sequences = 0, GENESIS_HASH, Counter()
    run_entries: dict[str, dict] = {}
    for (template_position, event_id, stream_id, sequence, type_, source, time_, recorded, actor, jurisdiction,
         correlation_id, causation_id, data, _, _) in conn.execute(
            f"SELECT {', '.join(EVENT_COLUMNS)} FROM events ORDER BY position"):
        if needs_opening(data):
            data = canonical_json(open_text(template_conn, data, event_id, type_))
        owner = owners[template_position]
        shared_stream = cloner.owner.get(stream_id) is None
        varying = [cloner.compile(v, owner) for v in (event_id, stream_id, jurisdiction, causation_id, data)] \
            if owner is not None else None
        for j in range(cloner.copies[owner] if owner else 1):
            if j:
                clone = cloner.clone_of(owner, j)
                event_id, stream_id, jurisdiction, causation_id, data = [clone.fill(v) for v in varying]
            if shared_stream:                                      # numbered as written
                sequences[stream_id] += 1
                sequence = sequences[stream_id]
            if service == "subsidies":
                data = _run_totals(type_, data, run_entries)
            position += 1
            hash_ = sha256_hex(canonical_event_json(
                actor_json=actor, causation_id=causation_id, correlation_id=correlation_id, data_json=data,
                event_id=event_id, jurisdiction=jurisdiction, position=position, previous_hash=previous,
                recorded_time=recorded, sequence=sequence, source=source, subject=stream_id, time=time_, type_=type_))
            sink.add("events", EVENT_COLUMNS, (position, event_id, stream_id, sequence, type_, source, time_,
                                               recorded, actor, jurisdiction, correlation_id, causation_id, data,
                                               previous, hash_))
            previous = hash_
    conn.close()
    template_conn.close()
    template_engine.dispose()
    return position, {run: {k: v for k, v in totals.items() if k in RUN_TOTALS} for run, totals in run_entries.items()}


def _run_totals(kind: str, text: str, runs: dict) -> str:
    """A run's completion carries totals over its entries: the clones' totals, not the template's."""
    import json

    from kernel.envelope import canonical_json
    if kind not in ("subsidies.disbursement_computed.v1", "subsidies.adjustment_computed.v1",
                    "subsidies.run_completed.v1"):
        return text
    data = json.loads(text)
    totals = runs.setdefault(data["run_id"], {**dict.fromkeys(RUN_TOTALS, 0), "seen": set()})
    if kind == "subsidies.run_completed.v1":
        data.update({k: totals[k] for k in RUN_TOTALS})
        return canonical_json(data)
    disbursement = kind == "subsidies.disbursement_computed.v1"
    totals["disbursements" if disbursement else "adjustments"] += 1
    totals["disbursed_fen" if disbursement else "adjusted_fen"] += data["amount_fen"]
    if data["beneficiary_id"] not in totals["seen"]:
        totals["seen"].add(data["beneficiary_id"])
        totals["beneficiaries"] += 1
    return text


def _clone_tables(cloner: Cloner, service: str, sink) -> int:
    """Projection, consumer and inbox rows: an elder's once per clone, the rest once."""
    import sqlite3
    conn = sqlite3.connect(cloner.paths[service])
    written = 0
    tables = [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                                "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    counted = count_fills(service)
    for table in tables:
        if table in KERNEL_MANAGED or table in counted:
            continue
        cursor = conn.execute(f'SELECT * FROM "{table}"')
        columns = [d[0] for d in cursor.description]
        keep = [i for i, c in enumerate(columns) if c != sink.autoincrement_column(table)]
        columns = tuple(columns[i] for i in keep)
        # A log position (a visit record's, an inbox record's in its producer's log) moves with
        # the loaded log: clone j of the event at template position p is at first[p] + j.
        at = columns.index("position") if "position" in columns else None
        source = columns.index("source") if "source" in columns else None
        for template in cursor:
            values = [template[i] for i in keep]
            owner = None if table in GLOBAL_TABLES else cloner.row_owner(values)
            first = (cloner.first_positions[values[source] if source is not None else service].get(values[at])
                     if at is not None and (source is None or values[source] in cloner.first_positions) else None)
            if owner is None:
                if first is not None:
                    values[at] = first
                sink.add(table, columns, tuple(values))
                written += 1
                continue
            compiled = [cloner.compile(v, owner) for v in values]
            for j in range(cloner.copies[owner]):
                if j:
                    clone = cloner.clone_of(owner, j)
                    row = [clone.fill(v) for v in compiled]
                else:
                    row = list(values)
                if first is not None:
                    row[at] = first + j
                sink.add(table, columns, tuple(row))
            written += cloner.copies[owner]
    conn.close()
    return written


class _Sink:
    """Batched inserts into one service's database: the sqlite3 module directly for SQLite
    (the load is not what is measured), ``kernel.db.insert_many`` for PostgreSQL."""

    BATCH = 5_000

    def __init__(self, url: str):
        from sqlalchemy import MetaData

        from kernel.db import create_service_engine
        self.url, self.engine = url, create_service_engine(url)
        self.metadata = MetaData()
        with warnings.catch_warnings():    # the log's expression index (kernel k0005): its rows are written all the same
            warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
            self.metadata.reflect(self.engine)
        self.pending: dict[str, tuple[tuple, list[tuple]]] = {}
        self.sqlite = None
        if self.engine.dialect.name == "sqlite":
            import sqlite3
            self.engine.dispose()
            self.sqlite = sqlite3.connect(url[len("sqlite:///"):], isolation_level=None)
            self.sqlite.execute("PRAGMA journal_mode=OFF")      # WAL again once loaded
            self.sqlite.execute("PRAGMA synchronous=OFF")
            self.sqlite.execute("PRAGMA cache_size=-2000000")   # 2 GB: index pages stay in memory
            self.sqlite.execute("BEGIN")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.sqlite is not None:
            self.sqlite.close()
        self.engine.dispose()

    def autoincrement_column(self, table: str) -> str | None:
        column = self.metadata.tables[table].autoincrement_column
        return column.name if column is not None else None

    def add(self, table: str, columns: tuple, row: tuple) -> None:
        rows = self.pending.setdefault(table, (columns, []))[1]
        rows.append(row)
        if len(rows) >= self.BATCH:
            self.flush(table)

    def flush(self, table: str) -> None:
        columns, rows = self.pending.pop(table, ((), []))
        if not rows:
            return
        if self.sqlite is not None:
            import sqlite3
            try:
                self.sqlite.executemany(
                    f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES ({", ".join("?" * len(columns))})', rows)
            except sqlite3.IntegrityError as error:
                raise RuntimeError(f"{table}: {error}; {self._clash(table, columns, rows)}") from error
            return
        from sqlalchemy import Boolean, LargeBinary, insert

        from kernel.db import insert_many
        target = self.metadata.tables[table]
        # The template is SQLite, which keeps booleans as 0/1.
        flags = {c for c in columns if isinstance(target.c[c].type, Boolean)}
        rows = [{c: (bool(v) if c in flags and v is not None else v) for c, v in zip(columns, row)} for row in rows]
        with self.engine.begin() as conn:
            if any(isinstance(c.type, LargeBinary) for c in target.columns):
                conn.execute(insert(target), rows)
            else:
                insert_many(conn, target, rows)

    def _clash(self, table: str, columns: tuple, rows: list) -> str:
        """Which row of a refused batch met one already loaded (a template id the cloner does
        not vary per clone), for the error."""
        if table != "events":
            return f"first row {rows[0]!r}"[:600]
        at = {c: i for i, c in enumerate(columns)}
        for row in rows:
            found = self.sqlite.execute("SELECT position, type, data FROM events WHERE stream_id = ? AND sequence = ?",
                                        (row[at["stream_id"]], row[at["sequence"]])).fetchone()
            if found is not None:
                return (f"stream {row[at['stream_id']]!r} sequence {row[at['sequence']]} ({row[at['type']]}, "
                        f"data {row[at['data']][:300]}) is already at position {found[0]} ({found[1]}, "
                        f"data {found[2][:300]})")
        return "the clash is within the batch"

    def finish(self, service: str, run_totals: dict) -> None:
        """Flush; the relay cursor at the head (the log is published); figures over elders
        that rows shared by all hold (facility occupancy and version, run totals)."""
        from sqlalchemy import text
        for table in list(self.pending):
            self.flush(table)
        statements = [("INSERT INTO relay_cursor (relay, position, updated_at) "
                       "SELECT 'outbox', COALESCE(MAX(position), 0), '2026-11-23T00:00:00.000000Z' FROM events", {})]
        if service == "facilities":
            statements.append(("UPDATE facilities SET occupancy = (SELECT COUNT(*) FROM residences r WHERE "
                               "r.facility_id = facilities.facility_id AND r.left_on IS NULL), version = "
                               "(SELECT MAX(sequence) FROM events e WHERE e.stream_id = facilities.facility_id)", {}))
        for table, fills in count_fills(service).items():
            statements += [(f"DELETE FROM {table}", {})] + [(fill, {}) for fill in fills]
        for run_id, totals in run_totals.items():
            statements.append((f"UPDATE runs SET {', '.join(f'{k} = :{k}' for k in totals)} "
                                "WHERE run_id = :run_id AND beneficiaries IS NOT NULL", {**totals, "run_id": run_id}))
        if self.sqlite is not None:
            for statement, values in statements:
                self.sqlite.execute(statement, values)
            self.sqlite.execute("COMMIT")
            self.sqlite.execute("PRAGMA journal_mode=WAL")
            return
        with self.engine.begin() as conn:
            for statement, values in statements:
                conn.execute(text(statement), values)
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")     # what autovacuum would have done by now



# -- 3. the measurement: the system as the Procfile runs it ------------------------------------------
def gateway_processes() -> dict[str, str]:
    """Every service the gateway calls (its /ready waits for them all), and the gateway."""
    from contracts.services import PROCESSES
    from gateway.service import CALLED_SERVICES
    return {name: PROCESSES[name].runs for name in (*CALLED_SERVICES, "gateway")}


class RunningSystem:
    """Every service and the gateway in its own ``nameko run`` process over ``urls``, with the
    repository's config.yml but for the broker, the databases, today and the timers (an hour:
    nothing sweeps while we measure). Logs go to ``<directory>/<service>.log``."""

    def __init__(self, directory: Path, urls: dict[str, str], amqp_uri: str):
        import socket

        import yaml

        from contracts.services import PROCESSES
        from gateway.auth import Keyring, Principal
        from kernel.checkpoints import init_keys
        from kernel.config import REPOSITORY_ROOT, load_config
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        keyring = Keyring(directory / "tokens.yml")
        keyring.rotate()
        self.token = keyring.issue(Principal("bench", "civil_affairs", "county_coordinator", COUNTY.ljust(12, "0")))
        config = load_config(REPOSITORY_ROOT / "config.yml")
        config.update(AMQP_URI=amqp_uri, WEB_SERVER_ADDRESS=f"127.0.0.1:{self.port}", FIXED_TODAY=TODAY.isoformat(),
                      DATABASES={**config["DATABASES"], **urls},
                      SUBSIDY_POLICY_FILE=str(subsidy_policy_file(directory)))
        config["REGISTRY"]["status_review_interval_seconds"] = 3600
        config["NOTIFICATIONS"].update(sweep_interval_seconds=3600, delivery_interval_seconds=3600)
        config["CHECKPOINTS"].update(interval_seconds=3600, key_dir=str(directory / "keys"))
        init_keys(list(PROCESSES), directory / "keys")   # relays sign their batches, consumers check them
        config["ACCOUNTS"]["secret_key"] = base64.b64encode(os.urandom(32)).decode()   # seals TOTP secrets
        # Every worker over SLOW_WORKER_MS is logged: the report names the calls behind a tail.
        config["DIAGNOSTICS"] = {"slow_worker_seconds": SLOW_WORKER_MS / 1000}
        config["GATEWAY"].update(token_keyring=str(directory / "tokens.yml"))
        self.config_path = directory / "config.yml"
        self.config_path.write_text(yaml.safe_dump(config, allow_unicode=True))
        self.directory, self.amqp_uri, self.processes = directory, amqp_uri, {}
        self.base = f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        import subprocess
        import sys

        from kernel.config import REPOSITORY_ROOT
        for name, target in gateway_processes().items():
            log = open(self.directory / f"{name}.log", "w")
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "nameko", "run", "--config", str(self.config_path), target],
                cwd=REPOSITORY_ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "LOG_FORMAT": "json"})
        self._await_ready()
        return self

    def slow_workers(self) -> Counter:
        """``(service, entrypoint)`` → how many of its workers have logged "slow worker" so far."""
        slow: Counter = Counter()
        for name in self.processes:
            with open(self.directory / f"{name}.log", errors="replace") as log:
                for line in log:
                    if '"slow worker"' not in line:
                        continue
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        continue
                    slow[(name, entry.get("entrypoint", "?"))] += 1
        return slow

    def _await_ready(self, timeout: float = 180.0) -> None:
        import requests
        deadline = time.monotonic() + timeout
        while True:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited ({process.returncode}); see {self.directory / (name + '.log')}")
            try:
                if requests.get(f"{self.base}/ready", timeout=15).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"the services were not ready within {timeout:.0f} s")
            time.sleep(0.5)

    def __exit__(self, *exc):
        import signal
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except Exception:  # noqa: BLE001 - a process that will not stop is killed
                process.kill()
                process.wait()


TIMELINE_BUDGET_SECONDS = 600.0
SLOW_WORKER_MS = 40
MIN_TIMELINE_REQUESTS = 30


def _percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]
    return {"p50": at(0.50), "p99": at(0.99), "mean": sum(ordered) / len(ordered), "n": len(ordered)}


def measure(system: RunningSystem, urls: dict[str, str], requests_per_page: int, seed: int = 7) -> dict:
    """Sequential requests from one client, after a warm-up of each page; seconds per request."""
    import requests
    from nameko.standalone.rpc import ClusterRpcProxy

    from kernel.divisions import configured_division_table
    villages = configured_division_table({}).villages_within(COUNTY)
    pages = {"county": COUNTY.ljust(12, "0"), "township": villages[0][:9].ljust(12, "0"), "village": villages[0]}
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {system.token}"
    elder_ids = _sample_elders(urls["registry"], requests_per_page, seed)
    results: dict[str, dict] = {}

    def timed(url: str, check) -> float:
        started = time.perf_counter()
        response = session.get(url, timeout=60)
        elapsed = time.perf_counter() - started
        check(response)
        return elapsed

    def dashboard_ok(response) -> None:
        if response.status_code != 200 or "data-figure" not in response.text:
            raise RuntimeError(f"dashboard answered {response.status_code}: {response.text[:300]}")
        missing = response.text.count("暂不可用")
        if missing:
            results.setdefault("sections unavailable", 0)
            results["sections unavailable"] += missing

    def timeline_ok(response) -> None:
        if response.status_code != 200:
            raise RuntimeError(f"timeline answered {response.status_code}: {response.text[:300]}")
        for missing in response.json()["sources_unavailable"]:     # e.g. a service past the RPC timeout
            key = f"timelines without {missing['service']} ({missing['reason']})"
            results[key] = results.get(key, 0) + 1

    for level, code in pages.items():
        url = f"{system.base}/dashboard/{code}"
        for _ in range(5):
            timed(url, dashboard_ok)
        before = system.slow_workers()
        results[f"dashboard {level}"] = _percentiles([timed(url, dashboard_ok) for _ in range(requests_per_page)])
        slow = system.slow_workers() - before
        if slow:
            results[f"workers over {SLOW_WORKER_MS} ms during the {level} dashboards"] = ", ".join(
                f"{service}.{entrypoint} ×{count}" for (service, entrypoint), count in slow.most_common(6))
    with ClusterRpcProxy({"AMQP_URI": system.amqp_uri, "serializer": "json"}, timeout=30) as rpc:
        for _ in range(20):
            rpc.registry.ping()
        pings = []
        for _ in range(requests_per_page):
            started = time.perf_counter()
            rpc.registry.ping()
            pings.append(time.perf_counter() - started)
    results["rpc ping"] = _percentiles(pings)
    results["sql count"] = _percentiles(_count_county(urls["registry"]))
    # Last: at scale each service's scan of its log for the elder outlasts the request (the RPC
    # timeout) and keeps the service busy for a while after.
    for elder_id in elder_ids[:5]:
        timed(f"{system.base}/api/elders/{elder_id}/timeline?purpose=bench", timeline_ok)
    for key in [k for k in results if k.startswith("timelines without")]:    # warm-up's: not counted
        del results[key]
    timeline, deadline = [], time.monotonic() + TIMELINE_BUDGET_SECONDS
    for elder_id in elder_ids:       # each service scans its log for the elder: slow at scale, so budgeted
        timeline.append(timed(f"{system.base}/api/elders/{elder_id}/timeline?purpose=bench", timeline_ok))
        if time.monotonic() > deadline and len(timeline) >= MIN_TIMELINE_REQUESTS:
            break
    results["timeline"] = _percentiles(timeline)
    return results


def _sample_elders(url: str, count: int, seed: int) -> list[str]:
    from sqlalchemy import select

    from kernel.db import create_service_engine
    from services.registry.adapters.tables import elders
    engine = create_service_engine(url)
    try:
        with engine.connect() as conn:
            ids = list(conn.execute(select(elders.c.elder_id)).scalars())
    finally:
        engine.dispose()
    return random.Random(seed).sample(ids, min(count, len(ids)))


def _count_county(url: str, runs: int = 5) -> list[float]:
    """The raw scan the dashboard's elder counts stood for: COUNT(*) of the county's elders."""
    from sqlalchemy import text

    from kernel.db import create_service_engine
    engine = create_service_engine(url)
    timings = []
    try:
        with engine.connect() as conn:
            for _ in range(runs):
                started = time.perf_counter()
                conn.execute(text("SELECT COUNT(*) FROM elders WHERE division_code LIKE :p"),
                             {"p": f"{COUNTY}%"}).scalar()
                timings.append(time.perf_counter() - started)
    finally:
        engine.dispose()
    return timings


# -- the row -------------------------------------------------------------------------------------------
DASHBOARD_P99_TARGET = 0.050


@dataclass
class LatencyResult(Result):
    """The gateway row: request rates instead of event rates (the county dashboard against the
    bare RPC round trip, both sequential from one client), judged on the dashboard's p99."""

    latencies: dict = field(default_factory=dict)
    requests: int = 1

    @property
    def kernel_rate(self) -> float:
        return self.requests / self.kernel_seconds if self.kernel_seconds > 0 else float("inf")

    @property
    def baseline_rate(self) -> float:
        return self.requests / self.baseline_seconds if self.baseline_seconds > 0 else float("inf")

    @property
    def worst_dashboard_p99(self) -> float:
        return max(v["p99"] for k, v in self.latencies.items() if k.startswith("dashboard "))

    @property
    def target(self) -> str:
        return f"dashboard p99 < {DASHBOARD_P99_TARGET * 1000:g} ms"

    @property
    def passed(self) -> bool:
        return self.worst_dashboard_p99 < DASHBOARD_P99_TARGET and not self.details.get("sections unavailable")

    @property
    def missed_reason(self) -> str:
        if self.details.get("sections unavailable"):
            return f"{self.details['sections unavailable']} dashboard sections were unavailable"
        return f"dashboard p99 {self.worst_dashboard_p99 * 1000:.1f} ms ≥ {DASHBOARD_P99_TARGET * 1000:g} ms"

    @property
    def note(self) -> str:
        ms = lambda v: f"{v * 1000:.1f}"   # noqa: E731
        parts = [f"{name} p50/p99 {ms(v['p50'])}/{ms(v['p99'])} ms"
                 + (f" (n {v['n']})" if v["n"] != self.requests else "")
                 for name, v in self.latencies.items() if name != "sql count"]
        parts.append(f"raw SQL COUNT of the county's elders {ms(self.latencies['sql count']['p50'])} ms")
        parts.extend(f"{k} {v}" for k, v in self.details.items())
        return "; ".join(parts)


def template_size(elders: int) -> int:
    """Demo elders run through the real services: enough histories to spread over the county's
    279 villages, few enough that the template takes minutes (about 1 s per elder here)."""
    return max(100, min(500, elders // 2000))


def bench_gateway(backend, elders: int = DEFAULT_GATEWAY_ELDERS, requests: int = DEFAULT_REQUESTS,
                  template: int | None = None) -> LatencyResult:
    import tempfile

    from bench.infra import throwaway_vhost
    from kernel import migrate

    template = min(elders, template or template_size(elders))
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as scratch, throwaway_vhost() as amqp_uri:
        scratch = Path(scratch)
        (scratch / "template").mkdir()
        started = time.perf_counter()
        with _quiet_logs():
            template_urls = build_template(scratch / "template", amqp_uri, template, elders)
        template_seconds = time.perf_counter() - started
        # Every process /ready waits for gets a database; the services outside the template start empty.
        urls = {name: backend.new_url(name) for name in gateway_processes()}
        for name, url in urls.items():
            migrate.upgrade(name, url)
        started = time.perf_counter()
        figures = load(template_urls, urls, elders)
        load_seconds = time.perf_counter() - started
    # After a bulk load an operator vacuums and analyzes (PostgreSQL): otherwise autovacuum's
    # first pass over the new gigabytes runs during the timed phase, and the planner has no
    # statistics. SQLite keeps none that matter here. Then a CHECKPOINT: the vacuum writes
    # half a gigabyte of WAL per checkpoint, and the checkpoint it triggers went on writing
    # for 76 s, all through the timed phase (every service's workers stalled at once: county
    # p99 76 ms against a 19 ms p50, in the run of 2026-12-02 07:30).
    started = time.perf_counter()
    if backend.name == "postgresql":
        _vacuum_analyze_checkpoint(urls.values())
    vacuum_seconds = time.perf_counter() - started
    # The load leaves gigabytes of dirty pages; written back during the timed phase they stall
    # every process now and then (the RPC ping's p99 was 85 ms against a 3.5 ms p50). A
    # running system has them on disk: so does the measured one.
    started = time.perf_counter()
    os.sync()
    sync_seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="bench-gateway-run-") as scratch, throwaway_vhost() as amqp_uri:
        with RunningSystem(Path(scratch), urls, amqp_uri) as system:
            latencies = measure(system, urls, requests)
    unavailable = latencies.pop("sections unavailable", 0)
    partial = {key: latencies.pop(key) for key in [k for k in latencies
                                                   if k.startswith(("timelines without", "workers over"))]}
    county, ping = latencies["dashboard county"], latencies["rpc ping"]
    details = {"elders": f"{figures['elders']:,}",
               "events by service": ", ".join(f"{s} {figures[s]:,}" for s in TEMPLATE_SERVICES),
               "set-up": f"template of {template:,} elders through the services {template_seconds:.0f} s, "
                         f"load {load_seconds:.0f} s, written to disk {sync_seconds:.0f} s"
                         + (f", VACUUM (ANALYZE) and CHECKPOINT {vacuum_seconds:.0f} s"
                            if backend.name == "postgresql" else "")}
    if unavailable:
        details["sections unavailable"] = unavailable
    details.update(partial)
    return LatencyResult(
        "gateway", backend.name, figures["events"], county["mean"] * county["n"], ping["mean"] * ping["n"],
        kernel_does=("GET /dashboard/<county|township|village> (token check, RPC to registry, visits, "
                     "notifications ×2, facilities, subsidies, HTML) and GET /api/elders/<id>/timeline (RPC to "
                     "registry for the scope, every service's elder_events, the access-log append) from one client, "
                     "sequentially, each service and the gateway in its own nameko process; rate = county "
                     "dashboards/s"),
        baseline_does="nameko RPC round trip (registry.ping) from the same client, sequentially; also a raw SQL "
                      "COUNT of the county's elders on the registry database",
        details=details, latencies=latencies, requests=county["n"])


def _vacuum_analyze_checkpoint(urls) -> None:
    """VACUUM (ANALYZE) each database, then one CHECKPOINT (it is server-wide)."""
    from sqlalchemy import text

    from kernel.db import create_service_engine
    for position, url in enumerate(urls, 1):
        engine = create_service_engine(url)
        try:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM (ANALYZE)"))
                if position == len(urls):
                    conn.execute(text("CHECKPOINT"))
        finally:
            engine.dispose()


@contextmanager
def _quiet_logs():
    """The template's services log every escalation and relay report; the table is the output
    (BENCH_LOG_LEVEL=INFO shows them)."""
    import logging
    root = logging.getLogger()
    level = root.level
    root.setLevel(os.environ.get("BENCH_LOG_LEVEL", "CRITICAL").upper())
    try:
        yield
    finally:
        root.setLevel(level)


if __name__ == "__main__":
    import json
    import sys
    if len(sys.argv) != 6 or sys.argv[1] != "clone":
        raise SystemExit("usage: python -m bench.gateway_load clone TEMPLATE_DIR SERVICE URL ELDERS")
    print(json.dumps(clone_service(Path(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]))))
