"""The ``eldercare subsidies run`` entry point: a monthly run computed in the command's own
process with a progress bar. Same handler and unit of work as the ``start_run`` RPC; the
subsidies service's outbox relay publishes the appended events (it polls its log)."""
from __future__ import annotations

from sqlalchemy import func, select

from contracts import CATALOGUE
from kernel.config import database_url
from kernel.db import create_service_engine
from kernel.envelope import Actor, CommandMeta
from kernel.errors import ValidationError
from kernel.providers import clock_from_config
from kernel.store import SqlAlchemyEventStore
from kernel.uow import unit_of_work
from services.subsidies.adapters.tables import elder_divisions
from services.subsidies.domain import Month
from services.subsidies.handlers import normalise_jurisdiction, start_run
from services.subsidies.rules import subsidies_context, subsidies_projections


def run_month(config: dict, jurisdiction: str, month: str, user: str, progress) -> dict:
    """``progress`` is a rich ``Progress``: one task advanced a page of elders at a time."""
    try:
        parsed = Month.parse(month)
    except ValueError as exc:
        raise ValidationError({"month": [str(exc)]}) from None
    prefix = normalise_jurisdiction(jurisdiction)
    engine = create_service_engine(database_url(config, "subsidies"))
    try:
        store = SqlAlchemyEventStore(engine, "subsidies", CATALOGUE)
        clock, context, projections = clock_from_config(config), subsidies_context(config), subsidies_projections(config)
        with engine.connect() as conn:
            # What the run pages through: (division, elder) rows inside the jurisdiction.
            total = conn.execute(select(func.count()).select_from(elder_divisions).where(
                elder_divisions.c.division_code.between(prefix.ljust(12, "0"), prefix.ljust(12, "9")))).scalar()
        task = progress.add_task(f"subsidies {prefix} {parsed}", total=total or None)
        meta = CommandMeta(Actor("civil_affairs", user, "county_coordinator"))
        return start_run(lambda: unit_of_work(engine, store, clock, projections), context, prefix, parsed,
                         clock.today(), meta, progress=lambda n: progress.advance(task, n))
    finally:
        engine.dispose()
