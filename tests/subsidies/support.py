"""Helpers for the subsidies tests: the shipped rule book, registry/facilities envelopes as
the consumers receive them, and a subsidies database driven through its handlers."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select

from contracts import CATALOGUE
from kernel.clock import FixedClock, start_of_local_day
from kernel.db import create_service_engine
from kernel.envelope import Actor, CommandMeta, Envelope
from kernel.schema import kernel_metadata
from kernel.store import SqlAlchemyEventStore
from kernel.uow import unit_of_work
from services.subsidies.adapters.tables import ledger, subsidies_metadata
from services.subsidies.domain import Month
from services.subsidies.handlers import SubsidiesContext, observe_event, start_run
from services.subsidies.rules import load_subsidy_rules, subsidies_projections

RULES = load_subsidy_rules("policies/subsidies.yml")
JINCHENG_VILLAGE = "140522100201"        # Yangcheng county, Jincheng
JINCHENG_OTHER_VILLAGE = "140522100202"
SANMENXIA_VILLAGE = "411202100201"
FINANCE = Actor("finance", "cashier-1", "department_officer")
CLERK = Actor("civil_affairs", "clerk-1", "county_coordinator")
META = CommandMeta(CLERK)
_counter = iter(range(1, 10**9))


def envelope(type_: str, subject: str, data: dict, recorded: datetime | None = None,
             source: str | None = None) -> Envelope:
    """An event as the durable consumer hands it over (validated by the contract)."""
    CATALOGUE.validate(type_, data)
    recorded = recorded or datetime.now(timezone.utc)
    number = next(_counter)
    return Envelope(id=str(uuid.uuid4()), source=source or type_.split(".")[0], type=type_, subject=subject,
                    time=start_of_local_day(date.fromisoformat(data["effective_date"])), recorded_time=recorded,
                    sequence=number, position=number, actor=CLERK, jurisdiction=JINCHENG_VILLAGE, data=data)


def registered(elder_id: str, on: str, *, born="1941-03-09", division=JINCHENG_VILLAGE, level="semi_disabled",
               dibao=False, tekun=True) -> tuple:
    return ("registry.elder_registered.v1", elder_id, {
        "elder_id": elder_id, "effective_date": on, "resident_id": "140522194103090021", "name": "王秀英",
        "sex": "female", "birth_date": born, "division_code": division, "household_id": "h-1",
        "address": "一组3号", "phone": None, "contacts": [], "supporters": [], "carer": None, "income_sources": [],
        "support_status": {"dibao": dibao, "tekun": tekun, "poverty_registered": False}, "health": None,
        "self_care_level": level, "lives_alone": False})


def assessed(elder_id: str, on: str, level: str, previous="semi_disabled") -> tuple:
    return ("registry.self_care_assessed.v1", elder_id, {"elder_id": elder_id, "effective_date": on, "level": level,
                                                         "previous_level": previous, "assessor": "county team"})


def died(elder_id: str, on: str) -> tuple:
    return ("registry.elder_died.v1", elder_id, {"elder_id": elder_id, "effective_date": on})


def status_changed(elder_id: str, on: str, *, dibao=False, tekun=False) -> tuple:
    return ("registry.support_status_changed.v1", elder_id, {
        "elder_id": elder_id, "effective_date": on, "reason": "review",
        "support_status": {"dibao": dibao, "tekun": tekun, "poverty_registered": False},
        "previous_support_status": {"dibao": False, "tekun": False, "poverty_registered": False}})


def moved(elder_id: str, on: str, division: str, from_division=JINCHENG_VILLAGE) -> tuple:
    return ("registry.elder_moved.v1", elder_id, {"elder_id": elder_id, "effective_date": on,
                                                  "from_division_code": from_division, "division_code": division,
                                                  "address": "新址", "household_id": "h-2"})


def admitted(elder_id: str, on: str, facility_id="home-1", kind="centralised_support",
             division=JINCHENG_VILLAGE) -> tuple:
    return ("facilities.elder_admitted.v1", facility_id, {
        "facility_id": facility_id, "effective_date": on, "elder_id": elder_id, "division_code": division,
        "facility_kind": "township_nursing_home", "admission_kind": kind})


def discharged(elder_id: str, on: str, facility_id="home-1", kind="centralised_support") -> tuple:
    return ("facilities.elder_discharged.v1", facility_id, {
        "facility_id": facility_id, "effective_date": on, "elder_id": elder_id, "division_code": JINCHENG_VILLAGE,
        "facility_kind": "township_nursing_home", "admission_kind": kind, "reason": "went home"})


def star_award(facility_id: str, on: str, stars=3, division=SANMENXIA_VILLAGE) -> tuple:
    return ("facilities.star_award_granted.v1", facility_id, {
        "facility_id": facility_id, "effective_date": on, "division_code": division,
        "amount_fen": stars * 1000000, "policy_jurisdiction": "4112", "policy_source": "Sanmenxia 2023",
        "stars": stars})


@dataclass
class Subsidies:
    """A subsidies database driven through the handlers, as the service does (no broker)."""

    engine: object
    store: SqlAlchemyEventStore
    clock: FixedClock
    ctx: SubsidiesContext

    @classmethod
    def create(cls, url: str, today: date = date(2026, 11, 23), rules=RULES) -> "Subsidies":
        engine = create_service_engine(url)
        kernel_metadata.create_all(engine)
        subsidies_metadata.create_all(engine)
        clock = FixedClock()
        clock.set_today(today)
        return cls(engine, SqlAlchemyEventStore(engine, "subsidies", CATALOGUE), clock,
                   SubsidiesContext(CATALOGUE, rules))

    def uow(self):
        return unit_of_work(self.engine, self.store, self.clock, subsidies_projections({}))

    def learn(self, *facts) -> None:
        """Consume registry/facilities events now (recorded at the current clock)."""
        for type_, subject, data in facts:
            self.clock.advance(seconds=1)
            with self.uow() as uow:
                observe_event(uow, envelope(type_, subject, data, self.clock.now()))

    def run(self, month: str, jurisdiction: str = "1405", today: date | None = None, page_size: int = 1000) -> dict:
        if today is not None:
            self.clock.set_today(today)
        self.clock.advance(seconds=1)
        return start_run(self.uow, self.ctx, jurisdiction, Month.parse(month), self.clock.today(), META,
                         page_size=page_size)

    def entries(self, beneficiary_id: str | None = None) -> list[dict]:
        statement = select(ledger).order_by(ledger.c.recorded_at, ledger.c.entry_id)
        if beneficiary_id:
            statement = statement.where(ledger.c.beneficiary_id == beneficiary_id)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(statement)]

    def total(self, beneficiary_id: str, period: str | None = None, programme: str | None = None) -> int:
        return sum(e["amount_fen"] for e in self.entries(beneficiary_id)
                   if (period is None or e["period"] == period) and (programme is None or e["programme"] == programme))


def month_end_today(month: str) -> date:
    """A day inside ``month`` (runs are allowed for the current month)."""
    parsed = Month.parse(month)
    return parsed.first_day + timedelta(days=9)
