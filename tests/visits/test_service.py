"""The visits service end to end: real registry and visits containers, real databases
(SQLite and PostgreSQL), real RabbitMQ between them; a listener stands in for
notifications and receives the visits events through the broker."""
import base64
from datetime import date

import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import func, select, update

from tests.counting import written_events
from contracts import CATALOGUE
from kernel import migrate
from kernel.consumer import durable_event_handler
from kernel.db import create_service_engine
from kernel.errors import CommandRejected, ConflictError, NotFoundError, ValidationError
from kernel.hashchain import verify_log
from kernel.projection import rebuild
from kernel.providers import ServiceDatabase, find_database
from kernel.schema import events as events_table, relay_cursor
from services.registry.service import RegistryService
from services.visits.service import VisitsService
from tests.registry.test_service import CLERK, VILLAGE, registration, wait_for

TODAY = date(2026, 11, 23)
OTHER_TOWNSHIP_VILLAGE = "410928102201"
VILLAGE_WORKER = {"department": "civil_affairs", "user": "cadre-7", "role": "village_worker"}
HEARD = []


class VisitsListener:
    """Stands in for notifications: consumes visits events through RabbitMQ."""

    name = "visits_listener"
    db = ServiceDatabase(CATALOGUE)

    @durable_event_handler("visits", ["visits.visit_overdue.v1", "visits.risk_reported.v1",
                                      "visits.obligation_changed.v1", "visits.overdue_resolved.v1"])
    def on_visits_event(self, event, uow):
        HEARD.append((event.type, event.subject, event.data))


@pytest.fixture
def county(rabbit_config, database_url, tmp_path, container_factory):
    urls = {"registry": f"sqlite:///{tmp_path / 'registry.db'}", "visits": database_url,
            "visits_listener": f"sqlite:///{tmp_path / 'listener.db'}"}
    for service, url in urls.items():
        migrate.upgrade(service, url)
    config = {**rabbit_config, "DATABASES": urls, "FIXED_TODAY": TODAY.isoformat(),
              "RELAY": {"poll_interval": 0.1}, "REGISTRY": {"status_review_interval_seconds": 3600},
              "VISITS": {"period_close_interval_seconds": 3600}}
    HEARD.clear()
    containers = {}
    for service_class in (VisitsListener, VisitsService, RegistryService):
        containers[service_class.name] = container_factory(service_class, config)
        containers[service_class.name].start()
    with ServiceRpcProxy("registry", config) as registry, ServiceRpcProxy("visits", config) as visits:
        visits.clock = find_database(containers["visits"]).clock
        visits.database = find_database(containers["visits"])
        yield registry, visits, urls, config


def _count(url, event_type=None):
    engine = create_service_engine(url)
    statement = written_events()
    if event_type:
        statement = statement.where(events_table.c.type == event_type)
    with engine.connect() as conn:
        count = conn.execute(statement).scalar()
    engine.dispose()
    return count


def visitor(visits, villages=(VILLAGE,), **overrides):
    payload = {"name": "李明", "phone": "13800000001", "role": "village_cadre",
               "organisation": "东关村民委员会", "village_codes": list(villages), **overrides}
    return visits.register_visitor(payload, VILLAGE_WORKER)


def a_visit(elder_id, visitor_id, on, **overrides):
    return {"elder_id": elder_id, "visitor_id": visitor_id, "mode": "home", "visited_on": on,
            "services": ["daily_life_care", "emotional_comfort"],
            "findings": {"health": "血压偏高", "home_safety": "良好"}, **overrides}


def left_behind_elder(registry, visits, elder_id="elder-1", sequence=0):
    registry.register_elder(registration(elder_id, left_on="2025-12-01", sequence=sequence), CLERK)
    wait_for(lambda: _has_plan(visits, elder_id), message="the obligation to appear in visits")
    return visits.get_plan(elder_id)


def _has_plan(visits, elder_id):
    try:
        return bool(visits.get_plan(elder_id)["classes"])
    except NotFoundError:
        return False


def test_a_left_behind_elder_in_the_registry_gets_an_obligation_in_visits(county):
    registry, visits, _, _ = county
    plan = left_behind_elder(registry, visits)
    # Born 1941: 85, so a key target as well; Puyang owes key targets two visits a month.
    assert plan["classes"] == ["general", "key_target"]
    assert plan["tracking_from"] == "2026-11-01"
    wait_for(lambda: any(t == "visits.obligation_changed.v1" for t, _, _ in HEARD))


def test_duplicate_registry_events_give_one_obligation(county):
    registry, visits, urls, _ = county
    left_behind_elder(registry, visits)
    changes = _count(urls["visits"], "visits.obligation_changed.v1")
    # Make the registry's relay publish its whole log again: every event is delivered twice.
    engine = create_service_engine(urls["registry"])
    with engine.begin() as conn:
        conn.execute(update(relay_cursor).values(position=0))
    engine.dispose()
    # A later event: once visits has applied it, every republished one before it was delivered.
    registry.record_move({"elder_id": "elder-1", "division_code": "410928100202", "address": "二组5号",
                          "household_id": "h-2", "effective_date": "2026-11-20"}, CLERK)
    wait_for(lambda: visits.get_plan("elder-1")["division_code"] == "410928100202",
             message="the move (after the republished events) to be applied")
    assert _count(urls["visits"], "visits.obligation_changed.v1") == changes
    assert _count(urls["visits"], "visits.plan_opened.v1") == 1


def test_a_missed_period_is_overdue_once_and_a_late_record_resolves_it(county):
    registry, visits, urls, _ = county
    left_behind_elder(registry, visits)
    cadre = visitor(visits)
    visits.record_visit(a_visit("elder-1", cadre["visitor_id"], "2026-11-10"), VILLAGE_WORKER)
    assert visits.close_periods()["overdue"] == 0          # November is not over yet
    visits.clock.set_today(date(2026, 12, 2))
    assert visits.close_periods() == {"elders": 1, "met": 0, "overdue": 1}
    assert visits.close_periods()["overdue"] == 0           # once
    [overdue] = visits.list_overdue({"division_code": "410928000000", "period": "2026-11"})
    assert (overdue["required_visits"], overdue["visits"], overdue["days_late"]) == (2, 1, 2)
    assert overdue["target_class"] == "key_target"
    wait_for(lambda: any(t == "visits.visit_overdue.v1" for t, _, _ in HEARD),
             message="the overdue event to reach the listener")
    late = visits.record_visit(a_visit("elder-1", cadre["visitor_id"], "2026-11-28"), VILLAGE_WORKER)
    assert "visits.overdue_resolved.v1" in late["events"]
    assert visits.list_overdue({"division_code": "410928000000"}) == []
    coverage = visits.coverage({"division_code": "410928000000", "period": "2026-11"})
    assert (coverage["due"], coverage["visited_late"], coverage["overdue"]) == (1, 1, 0)
    assert coverage["by_class"]["key_target"]["coverage_rate"] == 1.0
    assert verify_log(create_service_engine(urls["visits"])).ok


def test_coverage_as_known_then_and_after_rebuild_match_the_live_answer(county):
    registry, visits, urls, _ = county
    for number in range(3):
        left_behind_elder(registry, visits, f"elder-{number}", sequence=number)
    cadre = visitor(visits)
    for day in ("2026-11-05", "2026-11-18"):
        visits.record_visit(a_visit("elder-0", cadre["visitor_id"], day), VILLAGE_WORKER)
    visits.clock.set_today(date(2026, 12, 1))
    visits.close_periods()
    before_late = visits.clock.now().isoformat()     # the service's (moved) clock stamps recorded_time
    visits.record_visit(a_visit("elder-1", cadre["visitor_id"], "2026-11-29"), VILLAGE_WORKER)
    visits.record_visit(a_visit("elder-1", cadre["visitor_id"], "2026-11-30"), VILLAGE_WORKER)
    query = {"division_code": "410900000000", "period": "2026-11"}
    live = visits.coverage(query)
    assert (live["due"], live["visited_on_time"], live["visited_late"], live["overdue"]) == (3, 1, 1, 1)
    assert live["by_division"][0]["division_code"] == "410928000000"
    then = visits.coverage({**query, "known_at": before_late})
    assert (then["visited_late"], then["overdue"]) == (0, 2)
    replayed_now = visits.coverage({**query, "known_at": visits.clock.now().isoformat()})
    assert {k: replayed_now[k] for k in ("due", "visited_on_time", "visited_late", "overdue")} == \
           {k: live[k] for k in ("due", "visited_on_time", "visited_late", "overdue")}
    service_db = visits.database
    for projection in service_db.projections:
        rebuild(service_db.engine, service_db.store, projection)
    assert visits.coverage(query)["by_division"] == live["by_division"]


def test_assignment_issues_a_written_notice_as_html_and_pdf(county):
    registry, visits, _, _ = county
    left_behind_elder(registry, visits)
    cadre = visitor(visits)
    issued = visits.assign_visitor({"elder_id": "elder-1", "visitor_id": cadre["visitor_id"]}, VILLAGE_WORKER)
    page = visits.get_notice(issued["notice_id"])
    assert "李明" in page["html"] and "13800000001" in page["html"] and "王秀英" in page["html"]
    pdf = base64.b64decode(visits.get_notice(issued["notice_id"], "pdf")["pdf_base64"])
    assert pdf.startswith(b"%PDF")
    import hashlib
    assert hashlib.sha256(pdf).hexdigest() == issued["sha256"]
    assert visits.get_plan("elder-1")["visitor_id"] == cadre["visitor_id"]


def test_a_move_out_of_the_visitors_villages_asks_for_reassignment(county):
    registry, visits, _, _ = county
    left_behind_elder(registry, visits)
    cadre = visitor(visits)
    visits.assign_visitor({"elder_id": "elder-1", "visitor_id": cadre["visitor_id"]}, VILLAGE_WORKER)
    registry.record_move({"elder_id": "elder-1", "division_code": OTHER_TOWNSHIP_VILLAGE, "address": "新村1号",
                          "household_id": "h-9", "effective_date": "2026-11-20"}, CLERK)
    wait_for(lambda: visits.reassignments_needed({"division_code": "410928000000"}),
             message="the reassignment flag")
    [flagged] = visits.reassignments_needed({"division_code": "410928000000"})
    assert flagged["division_code"] == OTHER_TOWNSHIP_VILLAGE


def test_a_risk_found_on_a_visit_reaches_the_listener_with_severity(county):
    registry, visits, _, _ = county
    left_behind_elder(registry, visits)
    cadre = visitor(visits)
    visits.record_visit(a_visit("elder-1", cadre["visitor_id"], "2026-11-22",
                                risks=[{"kind": "critical_illness", "severity": "high", "description": "咳血"}]),
                        VILLAGE_WORKER)
    wait_for(lambda: any(t == "visits.risk_reported.v1" for t, _, _ in HEARD), message="the risk report")
    [(_, subject, data)] = [h for h in HEARD if h[0] == "visits.risk_reported.v1"]
    assert (subject, data["severity"], data["kind"], data["division_code"]) == \
           ("elder-1", "high", "critical_illness", VILLAGE)


def test_disagreeing_same_day_records_are_flagged_for_review(county):
    registry, visits, _, _ = county
    left_behind_elder(registry, visits)
    first, second = visitor(visits), visitor(visits, name="赵芳", phone="13900000002")
    visits.record_visit(a_visit("elder-1", first["visitor_id"], "2026-11-22"), VILLAGE_WORKER)
    result = visits.record_visit(a_visit("elder-1", second["visitor_id"], "2026-11-22",
                                         findings={"health": "卧床不起"}), VILLAGE_WORKER)
    assert "visits.visit_conflict_flagged.v1" in result["events"]
    [conflict] = visits.list_conflicts({"division_code": "410928000000"})
    assert "findings.health" in conflict["differences"]


def test_refused_input_names_the_field_and_writes_nothing(county):
    registry, visits, urls, _ = county
    left_behind_elder(registry, visits)
    cadre = visitor(visits)
    registry.register_elder(registration("elder-gone", left_on="2025-12-01", sequence=5), CLERK)
    registry.record_death({"elder_id": "elder-gone", "effective_date": "2026-11-15"}, CLERK)
    wait_for(lambda: visits.get_plan("elder-gone")["classes"] == [] if _plan_exists(visits, "elder-gone") else False)
    before = _count(urls["visits"])
    cases = [
        (a_visit("elder-1", cadre["visitor_id"], "2026-11-30"), ValidationError, "visited_on"),   # future
        (a_visit("nobody", cadre["visitor_id"], "2026-11-20"), NotFoundError, "elder_id"),
        (a_visit("elder-1", "ghost", "2026-11-20"), NotFoundError, "visitor_id"),
        (a_visit("elder-gone", cadre["visitor_id"], "2026-11-20"), CommandRejected, "visited_on"),   # died
        (a_visit("elder-1", cadre["visitor_id"], "2026-11-20", mode="telepathy"), ValidationError, "mode"),
        (a_visit("elder-1", cadre["visitor_id"], "2026-11-20", services=["gossip"]), ValidationError, "services.0"),
        (a_visit("elder-1", cadre["visitor_id"], "2026-11-20",
                 risks=[{"kind": "wandering", "severity": "apocalyptic", "description": "x"}]),
         ValidationError, "risks.0.severity"),
    ]
    for payload, error, field in cases:
        with pytest.raises(error) as refused:
            visits.record_visit(payload, VILLAGE_WORKER)
        named = getattr(refused.value, "errors", None) or {refused.value.field: None}
        assert field in named, (payload, refused.value)
    with pytest.raises(CommandRejected) as refused:
        visits.assign_visitor({"elder_id": "elder-1", "visitor_id": visitor(visits, villages=[
            OTHER_TOWNSHIP_VILLAGE])["visitor_id"]}, VILLAGE_WORKER)
    assert refused.value.field == "visitor_id"
    with pytest.raises(ValidationError) as refused:
        visitor(visits, village_codes=["4109"])
    assert "village_codes.0" in refused.value.errors
    # Only the second visitor registration above was written.
    assert _count(urls["visits"]) == before + 1


def test_a_visit_id_names_one_visit_of_one_elder(county):
    registry, visits, urls, _ = county
    left_behind_elder(registry, visits)
    left_behind_elder(registry, visits, "elder-2", sequence=1)
    cadre = visitor(visits)
    visits.record_visit(a_visit("elder-1", cadre["visitor_id"], "2026-11-20", visit_id="app-visit-17"), VILLAGE_WORKER)
    before = _count(urls["visits"])
    # Again for the same elder (the plan knows it) and for another elder (the read model does):
    # a conflict naming the field, never a database error, and nothing written.
    for elder_id in ("elder-1", "elder-2"):
        with pytest.raises(ConflictError) as refused:
            visits.record_visit(a_visit(elder_id, cadre["visitor_id"], "2026-11-21", visit_id="app-visit-17"),
                                VILLAGE_WORKER)
        assert refused.value.field == "visit_id"
    assert _count(urls["visits"]) == before
    assert visits.record_visit(a_visit("elder-2", cadre["visitor_id"], "2026-11-21", visit_id="app-visit-18"),
                               VILLAGE_WORKER)["visit_id"] == "app-visit-18"


def _plan_exists(visits, elder_id):
    try:
        visits.get_plan(elder_id)
        return True
    except NotFoundError:
        return False


def test_visitors_are_listed_by_the_villages_they_cover(county):
    _, visits, _, _ = county
    here = visitor(visits)
    there = visitor(visits, villages=(OTHER_TOWNSHIP_VILLAGE, VILLAGE), name="赵芳", phone="13900000002")
    far = visitor(visits, villages=(OTHER_TOWNSHIP_VILLAGE,), name="孙强", phone="13900000003")
    in_township = {v["visitor_id"] for v in visits.list_visitors({"division_code": "410928101000"})}
    assert in_township == {here["visitor_id"], there["visitor_id"]}
    [listed] = [v for v in visits.list_visitors({"division_code": "410928102000"}) if v["visitor_id"] == there["visitor_id"]]
    assert listed["village_codes"] == there["village_codes"] and set(there["village_codes"]) == {OTHER_TOWNSHIP_VILLAGE, VILLAGE}
    assert {v["visitor_id"] for v in visits.list_visitors({"division_code": "410928102000"})} == \
           {there["visitor_id"], far["visitor_id"]}
