"""The dashboard's elder counts, kept per village by the directory projection, equal a count
over the directory itself: as records change (a move between townships, a death, a stay in
hospital), after a rebuild from the log, and when the migration fills them from an existing
directory."""
from collections import Counter

from sqlalchemy import select, text

from kernel import migrate
from kernel.clock import FixedClock
from kernel.divisions import CHILD_PREFIX_LENGTH, significant_prefix
from kernel.envelope import Actor
from kernel.projection import rebuild
from kernel.uow import unit_of_work
from services.registry.adapters.tables import ELDER_COUNT_COLUMNS, elder_counts, elders
from services.registry.handlers import CommandMeta, execute
from services.registry.queries import division_counts
from services.registry.rules import registry_context
from services.registry.schemas import COMMAND_SCHEMAS
from tests.registry.test_rebuild import TODAY, load_demo

PLACES = ("410928000000", "410928101000", "410928102000", "410928101201", "410900000000")


def counted_from_directory(engine, division_code: str) -> dict:
    """The figures as a scan of every elder gives them (what the dashboard used to run)."""
    prefix = significant_prefix(division_code)
    child_length = CHILD_PREFIX_LENGTH[len(prefix)]
    total, children = Counter(), {}
    with engine.connect() as conn:
        rows = conn.execute(select(elders).where(elders.c.division_code.startswith(prefix))).all()
    for row in rows:
        active = row.record_status == "active"
        key_target = active and row.key_target
        figures = Counter({"active": active, "left_behind": active and row.left_behind, "key_target": key_target,
                           "hospitalised": active and row.hospitalised, "deceased": row.record_status == "deceased",
                           **{f"key_target_{r}": key_target and r in row.key_target_reasons.split(",")
                              for r in ("hard_up", "advanced_age", "disabled", "living_alone")}})
        total.update(figures)
        children.setdefault(row.division_code[:child_length].ljust(12, "0"), Counter()).update(figures)
    as_dict = lambda c: {k: int(c[k]) for k in ELDER_COUNT_COLUMNS}  # noqa: E731
    return {"division_code": division_code, **as_dict(total),
            "children": [{"division_code": code, **as_dict(c)} for code, c in sorted(children.items())
                         if any(c.values())]}


def answered(engine, division_code: str) -> dict:
    with engine.connect() as conn:
        return division_counts(conn, division_code)


def run(engine, store, projections, command: str, payload: dict) -> None:
    context = registry_context({})
    clock = FixedClock()
    clock.set_today(TODAY)
    with unit_of_work(engine, store, clock, projections) as uow:
        execute(uow, context, COMMAND_SCHEMAS[command].load(payload),
                CommandMeta(Actor("civil_affairs", "tester", "county_coordinator")), TODAY)


def test_counts_per_village_equal_a_count_of_the_directory_as_records_change_and_after_a_rebuild(database_url):
    migrate.upgrade("registry", database_url)
    engine, store, projections = load_demo(database_url, count=80)
    with engine.connect() as conn:
        active = [r.elder_id for r in conn.execute(select(elders).where(elders.c.record_status == "active")
                                                   .order_by(elders.c.elder_id))]
    day = TODAY.isoformat()
    run(engine, store, projections, "record_move", {"elder_id": active[0], "effective_date": day,
                                                    "division_code": "410928102201", "address": "新村1号",
                                                    "household_id": "moved-1"})
    run(engine, store, projections, "record_death", {"elder_id": active[1], "effective_date": day})
    run(engine, store, projections, "record_hospitalisation", {"elder_id": active[2], "effective_date": day,
                                                               "hospital": "县人民医院"})
    for place in PLACES:
        assert answered(engine, place) == counted_from_directory(engine, place)
    county = answered(engine, PLACES[0])
    assert county["active"] > 0 and county["left_behind"] > 0 and county["deceased"] > 0
    assert county["hospitalised"] > 0 and county["key_target"] > 0
    live = {place: answered(engine, place) for place in PLACES}
    with engine.begin() as conn:
        conn.execute(elder_counts.delete())
    rebuild(engine, store, projections[0])
    assert {place: answered(engine, place) for place in PLACES} == live
    engine.dispose()


def test_the_migration_fills_the_counts_from_an_existing_directory(sqlite_url):
    migrate.upgrade("registry", sqlite_url)
    engine, _store, _projections = load_demo(sqlite_url, count=40)
    live = answered(engine, PLACES[0])
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE elder_counts"))
        conn.execute(text("UPDATE alembic_version SET version_num = 'r0001' WHERE version_num = 'r0002'"))
    migrate.upgrade("registry", sqlite_url)
    assert answered(engine, PLACES[0]) == live == counted_from_directory(engine, PLACES[0])
    engine.dispose()
