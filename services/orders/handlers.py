"""Home-service orders' units of work. The domain decides; these gather what it needs from
orders' own tables (the elder and the facilities as their services reported them, each
facility's load that day), append the order's events and update the tables in one
transaction, and keep the views of elders and facilities from the consumed events."""
from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import date, datetime

import structlog
from sqlalchemy import and_, bindparam, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from kernel.divisions import significant_prefix
from kernel.envelope import Actor, Envelope, PendingEvent, format_time, parse_time
from kernel.errors import ConcurrencyError
from kernel.uow import retry_on_concurrency
from services.orders import domain as d
from services.orders.adapters.tables import (daily_load, home_offers, meals_delivered, order_elders, order_facilities,
                                             orders)

log = structlog.get_logger(__name__)
SYSTEM = Actor.system("orders")
TYPES = {d.OrderPlaced: "orders.order_placed.v1", d.OrderOffered: "orders.order_offered.v1",
         d.OrderDeclined: "orders.order_declined.v1", d.OrderAccepted: "orders.order_accepted.v1",
         d.OrderCompleted: "orders.order_completed.v1", d.MealDelivered: "orders.meal_delivered.v1",
         d.OrderUnaccepted: "orders.order_unaccepted.v1"}
CLASSES = {type_: cls for cls, type_ in TYPES.items()}
DATE_FIELDS = ("service_date", "delivered_on")
TIME_FIELDS = ("accept_by",)
PAGE = 500


def new_order_id() -> str:
    return f"ord-{uuid.uuid4().hex[:20]}"


# --- events ↔ the wire -------------------------------------------------------------------

def _wire(value):
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, date):
        return value.isoformat()
    return list(value) if isinstance(value, tuple) else value


def _pending(event, jurisdiction: str, actor: Actor, now: datetime) -> PendingEvent:
    """Every event of an order is filed under the elder's village."""
    data = {k: _wire(v) for k, v in asdict(event).items()}
    return PendingEvent(event.order_id, TYPES[type(event)], data, now, actor, jurisdiction)


def _event(envelope: Envelope):
    def value(key, raw):
        if raw is None:
            return None
        if key in DATE_FIELDS:
            return date.fromisoformat(raw)
        if key in TIME_FIELDS:
            return parse_time(raw)
        return tuple(raw) if isinstance(raw, list) else raw
    return CLASSES[envelope.type](**{k: value(k, v) for k, v in envelope.data.items()})


def load_order(source, order_id: str) -> d.Order:
    return d.fold(order_id, [_event(e) for e in source.read_stream(order_id)])


# --- the order's tables, in the append's transaction ----------------------------------------

# Statements built once: building SQLAlchemy expressions per order cost more than running them.
_KEY = (daily_load.c.facility_id == bindparam("f"), daily_load.c.service_kind == bindparam("k"),
        daily_load.c.service_date == bindparam("d"))
_CAPACITY = select(home_offers.c.daily_capacity).where(home_offers.c.facility_id == bindparam("f"),
                                                      home_offers.c.service_kind == bindparam("k")).scalar_subquery()
TAKE_PLACE = update(daily_load).where(*_KEY, daily_load.c.taken < _CAPACITY).values(taken=daily_load.c.taken + 1)
FREE_PLACE = update(daily_load).where(*_KEY).values(taken=daily_load.c.taken - 1)
LOAD_OF = select(daily_load.c.taken).where(*_KEY)
UPDATE_ORDER = update(orders).where(orders.c.order_id == bindparam("o"))
ELDER = select(order_elders).where(order_elders.c.elder_id == bindparam("e"))
_LOAD = daily_load.alias("load")
CANDIDATES = (
    select(home_offers.c.facility_id, order_facilities.c.division_code, home_offers.c.daily_capacity, _LOAD.c.taken)
    .join(order_facilities, order_facilities.c.facility_id == home_offers.c.facility_id)
    .outerjoin(_LOAD, and_(_LOAD.c.facility_id == home_offers.c.facility_id, _LOAD.c.service_kind == bindparam("k"),
                           _LOAD.c.service_date == bindparam("d")))
    .where(home_offers.c.county_code == bindparam("county"), home_offers.c.service_kind == bindparam("k"),
           order_facilities.c.in_operation.is_(True)))


def _append(uow, events: list, state: d.Order, actor: Actor, loaded: dict | None = None) -> d.Order:
    """``loaded``: for each candidate facility, whether it has a load row that day (as read
    in this transaction), so taking a place is one statement."""
    if not events:
        return state
    before = state
    jurisdiction = state.division_code or events[0].division_code        # a placing sets it
    uow.append([_pending(e, jurisdiction, actor, uow.now()) for e in events], {state.order_id: state.version})
    for event in events:
        state = d.evolve(state, event)
        _apply_load(uow.conn, event, state, loaded or {})
    row = {"status": state.status, "facility_id": state.facility_id, "unaccepted": state.unaccepted,
           "delivered_on": state.delivered_on.isoformat() if state.delivered_on else None, "version": state.version}
    if not before.exists:
        uow.conn.execute(insert(orders), {
            "order_id": state.order_id, "elder_id": state.elder_id, "division_code": state.division_code,
            "service_kind": state.service_kind, "service_date": state.service_date.isoformat(),
            "caller": state.caller, "accept_by": format_time(state.accept_by), **row})
    else:
        uow.conn.execute(UPDATE_ORDER, {"o": state.order_id, **row})
    return state


def _apply_load(conn: Connection, event, state: d.Order, loaded: dict) -> None:
    if isinstance(event, d.OrderOffered):
        _reserve(conn, event.facility_id, event.service_kind, event.service_date, loaded.get(event.facility_id))
    elif isinstance(event, d.OrderDeclined):
        conn.execute(FREE_PLACE, {"f": event.facility_id, "k": state.service_kind, "d": state.service_date.isoformat()})
    elif isinstance(event, d.MealDelivered):
        key = (meals_delivered.c.elder_id == event.elder_id, meals_delivered.c.month == event.month)
        if conn.execute(update(meals_delivered).where(*key).values(meals=event.meals_in_month)).rowcount == 0:
            conn.execute(insert(meals_delivered).values(elder_id=event.elder_id, month=event.month,
                                                        division_code=event.division_code,
                                                        meals=event.meals_in_month))


def _reserve(conn: Connection, facility_id: str, kind: str, on: date, has_row: bool | None) -> None:
    """Take one place of the facility's day. Conditional on a place being left (and the
    first place by an INSERT the primary key guards), so two orders routed at once on
    PostgreSQL cannot both take the last one: the loser's transaction is retried and routes
    again on the new load. ``has_row``: whether the day's load row existed when routed."""
    key = {"f": facility_id, "k": kind, "d": on.isoformat()}
    if has_row is None:
        has_row = conn.execute(LOAD_OF, key).first() is not None
    if has_row:
        if conn.execute(TAKE_PLACE, key).rowcount == 0:
            raise ConcurrencyError(f"daily load of {facility_id} ({kind}, {on})", 0, 1)
        return
    try:
        conn.execute(insert(daily_load), {"facility_id": facility_id, "service_kind": kind,
                                          "service_date": on.isoformat(), "taken": 1})
    except IntegrityError as exc:          # another order took the day's first place meanwhile
        raise ConcurrencyError(f"daily load of {facility_id} ({kind}, {on})", 0, 1) from exc


# --- what the rules are given ---------------------------------------------------------------

def known_elder(conn: Connection, elder_id: str) -> d.KnownElder | None:
    row = conn.execute(ELDER, {"e": elder_id}).first()
    return d.KnownElder(row.elder_id, row.division_code, row.record_status) if row else None


def candidates(conn: Connection, division_code: str, kind: str, on: date) -> tuple[list[d.Candidate], dict]:
    """Facilities in operation in the county of ``division_code`` offering ``kind``, with
    their load on ``on``; and for each, whether it has a load row that day."""
    rows = conn.execute(CANDIDATES, {"county": division_code[:6], "k": kind, "d": on.isoformat()}).all()
    return ([d.Candidate(f, division, capacity, taken or 0) for f, division, capacity, taken in rows],
            {row[0]: row[3] is not None for row in rows})


# --- commands ------------------------------------------------------------------------------

def place_order(db, policy: d.DeadlinePolicy, command: d.PlaceOrder, actor: Actor) -> d.Order:
    def attempt():
        with db.unit_of_work() as uow:
            state = load_order(uow, command.order_id)
            elder = known_elder(uow.conn, command.elder_id)
            found, loaded = candidates(uow.conn, elder.division_code, command.service_kind,
                                       command.service_date) if elder else ([], {})
            events = d.decide_place(state, command, elder, found, policy, uow.now(), db.clock.today())
            return _append(uow, events, state, actor, loaded)
    state = retry_on_concurrency(attempt)
    log.info("order placed", order_id=state.order_id, elder_id=state.elder_id, kind=state.service_kind,
             facility_id=state.facility_id, nearness=state.nearness)
    return state


def accept_order(db, command: d.AcceptOrder, actor: Actor) -> d.Order:
    def attempt():
        with db.unit_of_work() as uow:
            state = load_order(uow, command.order_id)
            return _append(uow, d.decide_accept(state, command), state, actor)
    return retry_on_concurrency(attempt)


def decline_order(db, command: d.DeclineOrder, actor: Actor) -> d.Order:
    def attempt():
        with db.unit_of_work() as uow:
            state = load_order(uow, command.order_id)
            found, loaded = candidates(uow.conn, state.division_code, state.service_kind,
                                       state.service_date) if state.exists else ([], {})
            return _append(uow, d.decide_decline(state, command, found), state, actor, loaded)
    state = retry_on_concurrency(attempt)
    log.info("order declined", order_id=state.order_id, now_offered_to=state.facility_id, status=state.status)
    return state


def complete_order(db, command: d.CompleteOrder, actor: Actor) -> d.Order:
    def attempt():
        with db.unit_of_work() as uow:
            state = load_order(uow, command.order_id)
            before = uow.conn.execute(select(meals_delivered.c.meals).where(
                meals_delivered.c.elder_id == state.elder_id,
                meals_delivered.c.month == command.delivered_on.strftime("%Y-%m"))).scalar() or 0
            return _append(uow, d.decide_complete(state, command, before, db.clock.today()), state, actor)
    return retry_on_concurrency(attempt)


def raise_overdue(db) -> int:
    """Raise every order still waiting for acceptance past its deadline, once each (the
    event notifications turns into an alert). Returns how many."""
    now, raised = db.clock.now(), 0
    while True:
        with db.connect() as conn:
            due = conn.execute(select(orders.c.order_id).where(
                orders.c.status == "offered", orders.c.unaccepted.is_(False),
                orders.c.accept_by <= format_time(now)).order_by(orders.c.accept_by).limit(PAGE)).scalars().all()
        for order_id in due:
            def attempt(order_id=order_id) -> bool:
                with db.unit_of_work() as uow:
                    state = load_order(uow, order_id)
                    events = d.decide_overdue(state, now)      # accepted meanwhile: nothing
                    _append(uow, events, state, SYSTEM)
                    return bool(events)
            raised += retry_on_concurrency(attempt)
        if len(due) < PAGE:
            return raised


# --- consumed facts --------------------------------------------------------------------------

REGISTRY_CHANGES = {
    "registry.elder_registered.v1": lambda data: {"division_code": data["division_code"], "record_status": "active"},
    "registry.elder_moved.v1": lambda data: {"division_code": data["division_code"]},
    "registry.elder_died.v1": lambda data: {"record_status": "deceased"},
    "registry.record_merged_into.v1": lambda data: {"record_status": "merged"},
    "registry.record_unmerged.v1": lambda data: {"record_status": "active"},
}


def apply_registry_fact(conn: Connection, envelope: Envelope) -> None:
    """The registry's stream version is kept: a replayed or repeated event changes nothing."""
    current = conn.execute(select(order_elders.c.version).where(order_elders.c.elder_id == envelope.subject)).scalar()
    if current is not None and envelope.sequence <= current:
        return
    changes = {**REGISTRY_CHANGES[envelope.type](envelope.data), "version": envelope.sequence}
    if current is None:
        # The registration may have been published before this queue existed: start here.
        conn.execute(insert(order_elders).values(**{"elder_id": envelope.subject, "division_code":
                                                    envelope.jurisdiction, "record_status": "active", **changes}))
    else:
        conn.execute(update(order_elders).where(order_elders.c.elder_id == envelope.subject).values(**changes))


FACILITY_OPERATING = {"facilities.facility_opened.v1": True, "facilities.facility_reinstated.v1": True,
                      "facilities.facility_suspended.v1": False, "facilities.facility_merged.v1": False,
                      "facilities.facility_closed.v1": False}


def apply_facility_fact(conn: Connection, envelope: Envelope) -> bool:
    """Where a facility is, whether it operates and what it offers, kept at the facility
    stream's version (a replayed or repeated event changes nothing: answers False)."""
    data, facility_id = envelope.data, envelope.subject
    current = conn.execute(select(order_facilities).where(order_facilities.c.facility_id == facility_id)).first()
    if current is not None and envelope.sequence <= current.version:
        return False
    changes: dict = {"version": envelope.sequence}
    if envelope.type in FACILITY_OPERATING:
        changes["in_operation"] = FACILITY_OPERATING[envelope.type]
    if envelope.type == "facilities.facility_opened.v1":
        changes["name"] = data["name"]
    if "division_code" in data and envelope.type in ("facilities.facility_opened.v1",
                                                      "facilities.home_services_declared.v1"):
        changes.update(division_code=data["division_code"], county_code=data["division_code"][:6])
    if current is None:
        division = changes.get("division_code", envelope.jurisdiction)
        conn.execute(insert(order_facilities).values(**{
            "facility_id": facility_id, "division_code": division, "county_code": division[:6], "name": "",
            "in_operation": True, **changes}))
    else:
        conn.execute(update(order_facilities).where(order_facilities.c.facility_id == facility_id).values(**changes))
    if envelope.type == "facilities.home_services_declared.v1":
        conn.execute(home_offers.delete().where(home_offers.c.facility_id == facility_id))
        offers = [{"facility_id": facility_id, "service_kind": offer["service_kind"],
                   "county_code": data["division_code"][:6], "daily_capacity": offer["daily_capacity"]}
                  for offer in data["offers"]]
        if offers:
            conn.execute(insert(home_offers), offers)
    return True


STOPPED = {"facilities.facility_suspended.v1": "机构暂停运营", "facilities.facility_merged.v1": "机构已合并",
           "facilities.facility_closed.v1": "机构已关闭"}


def apply_facility_event(uow, envelope: Envelope) -> int:
    """A consumed facilities event, in the consumer's transaction: the view of the facility,
    and when it stops operating, every order it was offered, or accepted for today or later,
    goes to the next nearest facility (as if it had declined). Answers how many orders moved."""
    if not apply_facility_fact(uow.conn, envelope) or envelope.type not in STOPPED:
        return 0
    today = uow.clock.today()
    held = uow.conn.execute(select(orders.c.order_id).where(
        orders.c.facility_id == envelope.subject, orders.c.status.in_(("offered", "accepted")))).scalars().all()
    moved = 0
    for order_id in held:
        state = load_order(uow, order_id)
        found, loaded = candidates(uow.conn, state.division_code, state.service_kind, state.service_date)
        events = d.decide_facility_stopped(state, envelope.subject, f"{STOPPED[envelope.type]}（{envelope.type}）",
                                           found, today)
        if events:
            _append(uow, events, state, SYSTEM, loaded)
            moved += 1
    if moved:
        log.info("orders moved from a facility that stopped operating", facility_id=envelope.subject, orders=moved)
    return moved


# --- reads --------------------------------------------------------------------------------

def _rows(conn: Connection, condition, order_by, limit: int, offset: int) -> list[dict]:
    rows = conn.execute(select(orders).where(*condition).order_by(*order_by).limit(limit).offset(offset)).all()
    return [{k: v for k, v in r._mapping.items() if k != "version"} for r in rows]


def facility_orders(conn: Connection, query: dict) -> list[dict]:
    """A facility's orders: offered to it now, or accepted or completed by it."""
    condition = [orders.c.facility_id == query["facility_id"]]
    if query["status"]:
        condition.append(orders.c.status == query["status"])
    if query["service_date"]:
        condition.append(orders.c.service_date == query["service_date"].isoformat())
    return _rows(conn, condition, (orders.c.service_date, orders.c.accept_by, orders.c.order_id),
                 query["limit"], query["offset"])


def elder_orders(conn: Connection, query: dict) -> list[dict]:
    return _rows(conn, [orders.c.elder_id == query["elder_id"]], (orders.c.service_date.desc(), orders.c.order_id),
                 query["limit"], query["offset"])


def meals_in_month(conn: Connection, month: str, division_code: str) -> list[dict]:
    rows = conn.execute(select(meals_delivered).where(
        meals_delivered.c.month == month,
        meals_delivered.c.division_code.startswith(significant_prefix(division_code)))
        .order_by(meals_delivered.c.elder_id)).all()
    return [dict(r._mapping) for r in rows]
