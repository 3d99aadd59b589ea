"""The dashboard's alert figures, kept per village by the alert board, equal a scan of the
alerts, their routes and the referrals: as alerts are raised (some routed to departments),
escalate, are acknowledged and closed; after rebuilding the board; and when the migration
fills the counts from an existing board."""
from collections import Counter
from datetime import date, datetime, timedelta

from sqlalchemy import select, text

from contracts import CATALOGUE
from kernel import migrate
from kernel.clock import FixedClock
from kernel.db import create_service_engine
from kernel.divisions import significant_prefix
from kernel.projection import rebuild
from kernel.store import SqlAlchemyEventStore
from kernel.uow import unit_of_work
from services.notifications import handlers as h
from services.notifications import queries
from services.notifications.adapters.projections import notifications_projections
from services.notifications.adapters.tables import alert_counts, alert_department_counts, alert_routes, alerts, referrals
from services.notifications.domain import AcknowledgeAlert, CloseAlert, CloseReferral, CreateReferral, RaiseAlert
from services.notifications.domain.model import level_party, party_department
from services.notifications.rules import notifications_context
from tests.notifications.support import T0

META = h.CommandMeta(h.SYSTEM_ACTOR)
VILLAGES = ("410928101201", "410928101202", "410928102201")
PLACES = ("410928000000", "410928101000", "410928102000", *VILLAGES, "410900000000")
KINDS = ("infringement", "critical_illness", "visit_overdue", "major_hardship", "home_safety_hazard")


class Board:
    def __init__(self, url: str):
        self.engine = create_service_engine(url)
        self.store = SqlAlchemyEventStore(self.engine, "notifications", CATALOGUE)
        self.projections = notifications_projections(CATALOGUE)
        self.ctx, self.clock = notifications_context({}), FixedClock(current=T0)

    def run(self, work):
        with unit_of_work(self.engine, self.store, self.clock, self.projections) as uow:
            return work(uow)


def build(board: Board) -> None:
    """Ten alerts over three villages raised over four days; some escalate, some are answered;
    three referrals, one closed."""
    for number in range(10):
        board.clock.current = T0 + timedelta(hours=10 * number)
        village = VILLAGES[number % 3]
        board.run(lambda uow: h.raise_alert(uow, board.ctx, RaiseAlert(
            f"al-{number}", board.clock.current, kind=KINDS[number % len(KINDS)], incident_key=f"risk:{number}",
            division_code=village, severity="high", summary="found on a visit", elder_id=f"elder-{number}"), META))
    for number in range(3):
        due = date(2026, 11, 24) if number == 2 else None
        board.run(lambda uow: h.referral_command(uow, board.ctx, CreateReferral(
            f"rf-{number}", T0, "civil_affairs", to_department="health",
            division_code=VILLAGES[number], request="see the doctor", due_on=due, created_by="clerk",
            alert_id=f"al-{number}", elder_id=f"elder-{number}"), META))
    board.run(lambda uow: h.referral_command(uow, board.ctx, CloseReferral(
        "rf-0", board.clock.current, "civil_affairs", outcome="resolved"), META))
    board.clock.current = T0 + timedelta(days=4)
    while board.run(lambda uow: h.escalate_due(uow, board.ctx, board.clock.current, META)):
        pass
    for number in (1, 2, 4, 6):
        state = board.run(lambda uow: h.load_alert(uow, f"al-{number}", CATALOGUE))
        party = level_party(state.level, state.division_code)
        board.run(lambda uow: h.answer_alert(uow, board.ctx, AcknowledgeAlert(
            f"al-{number}", board.clock.current, party=party, actor_department="civil_affairs"), META))
        if number != 6:
            board.run(lambda uow: h.answer_alert(uow, board.ctx, CloseAlert(
                f"al-{number}", board.clock.current, party=party, actor_department="civil_affairs",
                outcome="resolved"), META))
    board.run(lambda uow: h.mark_overdue_referrals(uow, board.ctx, board.clock.current, META))


def scanned(engine, division_code: str, now) -> dict:
    """The figures as the dashboard used to work them out from the listed alerts."""
    prefix = significant_prefix(division_code)
    with engine.connect() as conn:
        open_alerts = conn.execute(select(alerts).where(alerts.c.status != "closed",
                                                        alerts.c.division_code.startswith(prefix))).all()
        routes = conn.execute(select(alert_routes)).all()
        open_referrals = conn.execute(select(referrals).where(referrals.c.status != "closed",
                                                              referrals.c.division_code.startswith(prefix))).all()
    ages, departments = Counter(), Counter()
    ids = {a.alert_id for a in open_alerts}
    for alert in open_alerts:
        hours = (now - datetime.fromisoformat(alert.raised_at.replace("Z", "+00:00"))).total_seconds() / 3600
        ages["under_24h" if hours < 24 else "24h_to_72h" if hours < 72 else "over_72h"] += 1
    for route in routes:
        if route.alert_id in ids and party_department(route.party):
            departments[party_department(route.party)] += 1
    return {"division_code": division_code, "open_alerts": len(open_alerts),
            "by_age": {k: ages[k] for k in ("under_24h", "24h_to_72h", "over_72h")},
            "by_department": dict(departments), "open_referrals": len(open_referrals),
            "overdue_referrals": sum(1 for r in open_referrals if r.overdue)}


def answered(board: Board, division_code: str, now) -> dict:
    with board.engine.connect() as conn:
        return queries.alert_summary(conn, division_code, now)


def test_summary_equals_a_scan_of_the_board_live_and_after_a_rebuild(database_url):
    migrate.upgrade("notifications", database_url)
    board = Board(database_url)
    build(board)
    now = board.clock.current
    live = {place: answered(board, place, now) for place in PLACES}
    assert live == {place: scanned(board.engine, place, now) for place in PLACES}
    county = live[PLACES[0]]
    assert county["open_alerts"] >= 7 and county["open_referrals"] == 2 and county["overdue_referrals"] == 1
    assert all(county["by_age"].values()) and county["by_department"]
    with board.engine.begin() as conn:
        conn.execute(alert_counts.delete())
        conn.execute(alert_department_counts.delete())
    rebuild(board.engine, board.store, board.projections[0])
    assert {place: answered(board, place, now) for place in PLACES} == live
    board.engine.dispose()


def test_the_migration_fills_the_counts_from_an_existing_board(sqlite_url):
    migrate.upgrade("notifications", sqlite_url)
    board = Board(sqlite_url)
    build(board)
    now = board.clock.current
    live = {place: answered(board, place, now) for place in PLACES}
    with board.engine.begin() as conn:
        conn.execute(text("DROP TABLE alert_counts"))
        conn.execute(text("DROP TABLE alert_department_counts"))
        conn.execute(text("DROP INDEX ix_alerts_raised"))
        conn.execute(text("DROP INDEX ix_referrals_division"))
        conn.execute(text("UPDATE alembic_version SET version_num = 'n0001' WHERE version_num = 'n0002'"))
    migrate.upgrade("notifications", sqlite_url)
    assert {place: answered(board, place, now) for place in PLACES} == live
    board.engine.dispose()
