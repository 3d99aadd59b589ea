"""The registry service end to end: real nameko container, real database (SQLite and
PostgreSQL), real RabbitMQ; a small consumer proves the events arrive through the broker."""
import time
from datetime import date

import eventlet
import structlog
import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import func, select

from tests.counting import written_events
from contracts import CATALOGUE
from demo.residents import make_resident_id, order_code
from kernel import migrate
from kernel.consumer import durable_event_handler
from kernel.db import create_service_engine
from kernel.errors import ConflictError, NotFoundError, ValidationError
from kernel.hashchain import verify_log
from kernel.providers import ServiceDatabase, find_database
from kernel.schema import events as events_table
from services.registry.service import RegistryService

VILLAGE = "410928101201"
OTHER_VILLAGE = "410928102201"
TODAY = date(2026, 11, 23)
CLERK = {"department": "civil_affairs", "user": "clerk-1", "role": "county_coordinator"}
RECEIVED = []


def wait_for(predicate, timeout=20.0, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        eventlet.sleep(0.05)
    raise AssertionError(f"timed out waiting for {message}")


class RegistryListener:
    """Stands in for visits/notifications: consumes registry events through RabbitMQ."""

    name = "listener"
    db = ServiceDatabase(CATALOGUE)

    @durable_event_handler("registry", ["registry.elder_registered.v1", "registry.became_left_behind.v1",
                                        "registry.key_target_changed.v1", "registry.elder_died.v1"])
    def on_registry_event(self, event, uow):
        RECEIVED.append((event.type, event.subject, event.data.get("effective_date")))


def registration(elder_id="elder-1", *, born=date(1941, 3, 9), sex="female", left_on="2025-12-20",
                 sequence=0, **overrides):
    payload = {
        "elder_id": elder_id,
        "resident_id": make_resident_id("410928", born, order_code(sequence, sex), sex),
        "name": "王秀英", "sex": sex, "birth_date": born.isoformat(), "division_code": VILLAGE,
        "household_id": f"{VILLAGE}-0001", "address": "城关镇东关村一组3号",
        "supporters": [{"supporter_id": "s1", "name": "李强", "relationship": "son",
                        "phone": "13800000001", "whereabouts": "广东省东莞市", "left_on": left_on}],
        "self_care_level": "full_self_care", "lives_alone": False, "effective_date": "2026-01-05",
    }
    payload.update(overrides)
    return payload


@pytest.fixture
def registry(rabbit_config, database_url, tmp_path, container_factory):
    urls = {"registry": database_url, "listener": f"sqlite:///{tmp_path / 'listener.db'}"}
    for service, url in urls.items():
        migrate.upgrade(service, url)
    config = {**rabbit_config, "DATABASES": urls, "FIXED_TODAY": TODAY.isoformat(),
              "RELAY": {"poll_interval": 0.1}, "REGISTRY": {"status_review_interval_seconds": 3600}}
    RECEIVED.clear()
    listener = container_factory(RegistryListener, config)
    listener.start()
    container = container_factory(RegistryService, config)
    container.start()
    with ServiceRpcProxy("registry", config) as proxy:
        proxy.container = container
        proxy.database_url = database_url
        yield proxy


def event_count(url):
    engine = create_service_engine(url)
    with engine.connect() as conn:
        count = conn.execute(written_events()).scalar()
    engine.dispose()
    return count


def test_register_then_events_reach_a_consumer_through_rabbitmq(registry):
    elder = registry.register_elder(registration(left_on=None), CLERK)
    assert elder["elder_id"] == "elder-1" and elder["left_behind"] is False
    wait_for(lambda: ("registry.elder_registered.v1", "elder-1", "2026-01-05") in RECEIVED,
             message="the registration to arrive at the listener")


def test_left_behind_is_derived_when_six_months_pass_with_no_new_input(registry):
    # Supporter left 2026-05-24: six months later is 2026-11-24, tomorrow.
    registry.register_elder(registration(left_on="2026-05-24", effective_date="2026-11-01", lives_alone=True), CLERK)
    assert registry.get_elder("elder-1")["left_behind"] is False
    assert registry.review_statuses() == 0
    find_database(registry.container).clock.set_today(date(2026, 11, 24))
    assert registry.review_statuses() == 1
    elder = registry.get_elder("elder-1")
    assert elder["left_behind"] is True and elder["left_behind_since"] == "2026-11-24"
    assert elder["key_target"] is True and elder["key_target_reasons"] == ["advanced_age", "living_alone"]
    assert registry.review_statuses() == 0   # idempotent
    wait_for(lambda: ("registry.became_left_behind.v1", "elder-1", "2026-11-24") in RECEIVED)
    wait_for(lambda: any(t == "registry.key_target_changed.v1" for t, _, _ in RECEIVED))


def test_backdated_departure_makes_left_behind_at_once_with_past_date(registry):
    elder = registry.register_elder(registration(left_on="2025-12-01"), CLERK)
    assert elder["left_behind"] is True and elder["left_behind_since"] == "2026-06-01"


def test_bad_input_names_the_field_and_writes_nothing(registry):
    before = event_count(registry.database_url)
    bad_id = registration()
    bad_id["resident_id"] = bad_id["resident_id"][:17] + ("0" if bad_id["resident_id"][17] != "0" else "1")
    with pytest.raises(ValidationError) as refused:
        registry.register_elder(bad_id, CLERK)
    assert "resident_id" in refused.value.errors
    with pytest.raises(ValidationError) as refused:
        registry.register_elder(registration(division_code="410928999999"), CLERK)
    assert "division_code" in refused.value.errors
    with pytest.raises(ValidationError) as refused:
        # Which departments exist is the accounts service's data; here only the code's form is checked.
        registry.register_elder(registration(), {"department": "Bakery!", "user": "x", "role": "admin"})
    assert "department" in refused.value.errors
    with pytest.raises(ValidationError) as refused:
        registry.register_elder(registration(effective_date="not a date"), CLERK)
    assert "effective_date" in refused.value.errors
    assert event_count(registry.database_url) == before


def test_duplicate_resident_id_is_a_conflict(registry):
    registry.register_elder(registration(), CLERK)
    with pytest.raises(ConflictError) as refused:
        registry.register_elder(registration("elder-2"), CLERK)
    assert refused.value.field == "resident_id"


def test_unknown_elder_is_not_found(registry):
    with pytest.raises(NotFoundError):
        registry.get_elder("nobody")
    with pytest.raises(NotFoundError) as refused:
        registry.record_death({"elder_id": "nobody", "effective_date": "2026-11-01"}, CLERK)
    assert refused.value.field == "elder_id"


def test_changes_as_of_a_date_and_as_known_then(registry):
    registry.register_elder(registration(), CLERK)
    registry.assess_self_care({"elder_id": "elder-1", "effective_date": "2026-09-01",
                               "level": "semi_disabled", "assessor": "Dr Zhao"}, CLERK)
    registry.record_move({"elder_id": "elder-1", "effective_date": "2026-10-01", "division_code": OTHER_VILLAGE,
                          "address": "河口镇", "household_id": f"{OTHER_VILLAGE}-0007"}, CLERK)
    assert registry.get_elder_as_of("elder-1", "2026-08-31")["self_care_level"] == "full_self_care"
    assert registry.get_elder_as_of("elder-1", "2026-09-15")["self_care_level"] == "semi_disabled"
    assert registry.get_elder_as_of("elder-1", "2026-09-15")["division_code"] == VILLAGE
    assert registry.get_elder("elder-1")["division_code"] == OTHER_VILLAGE
    registered_at = registry.elder_history("elder-1")[0]["recorded_time"]
    as_known = registry.get_elder_as_of("elder-1", "2026-11-01", known_at=registered_at)
    assert as_known["self_care_level"] == "full_self_care" and as_known["division_code"] == VILLAGE
    with pytest.raises(NotFoundError):
        registry.get_elder_as_of("elder-1", "2025-12-31")


def test_search_by_division_and_status(registry):
    registry.register_elder(registration("a", left_on="2025-01-01"), CLERK)
    registry.register_elder(registration("b", sequence=1, left_on=None), CLERK)
    registry.register_elder(registration("c", sequence=2, division_code=OTHER_VILLAGE, left_on="2025-01-01"), CLERK)
    ids = lambda rows: sorted(r["elder_id"] for r in rows)  # noqa: E731
    assert ids(registry.search_elders({"division_code": "410928101000"})) == ["a", "b"]
    assert ids(registry.search_elders({"division_code": "410928", "left_behind": True})) == ["a", "c"]
    assert ids(registry.search_elders({"division_code": "410928000000"})) == ["a", "b", "c"]
    with pytest.raises(ValidationError) as refused:
        registry.search_elders({"division_code": "41x"})
    assert "division_code" in refused.value.errors


def test_merge_and_unmerge_touch_both_streams_in_one_step(registry):
    registry.register_elder(registration("a"), CLERK)
    registry.register_elder(registration("b", sequence=1), CLERK)
    merged = registry.merge_records({"elder_id": "b", "survivor_id": "a", "reason": "same person",
                                     "effective_date": "2026-11-01"}, CLERK)
    assert merged["record_status"] == "merged" and merged["merged_into"] == "a"
    assert registry.get_elder("a")["absorbed_duplicates"] == ["b"]
    registry.unmerge_records({"elder_id": "b", "reason": "not the same", "effective_date": "2026-11-02"}, CLERK)
    assert registry.get_elder("b")["record_status"] == "active"
    assert registry.get_elder("a")["absorbed_duplicates"] == []


def test_log_chain_verifies_after_commands(registry):
    registry.register_elder(registration(left_on="2025-01-01"), CLERK)
    registry.record_death({"elder_id": "elder-1", "effective_date": "2026-11-01"}, CLERK)
    engine = create_service_engine(registry.database_url)
    report = verify_log(engine)
    engine.dispose()
    assert report.ok and report.checked == event_count(registry.database_url)


def test_command_log_lines_carry_service_entrypoint_correlation_and_elder(registry):
    from structlog.testing import capture_logs
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        registry.register_elder(registration(left_on=None), CLERK)
    accepted = [line for line in logs if line["event"] == "command accepted"]
    assert accepted, logs
    line = accepted[0]
    assert line["service"] == "registry" and line["entrypoint"] == "register_elder"
    assert line["correlation_id"] and line["elder_id"] == "elder-1" and line["call_id"]


def test_concurrent_commands_on_one_elder_are_all_applied(registry):
    """Commands racing on the same elder: the loser of each append decides again on the new
    state, so every command lands and the stream stays consistent."""
    registry.register_elder(registration(left_on=None), CLERK)
    replies = [
        registry.correct_details.call_async({"elder_id": "elder-1", "effective_date": "2026-11-02",
                                             "changes": {"phone": "1390000000%d" % n},
                                             "reason": f"new phone {n}"}, CLERK)
        for n in range(4)
    ] + [registry.entrust_carer.call_async({"elder_id": "elder-1", "effective_date": "2026-11-02",
                                            "carer": {"name": "赵敏", "relationship": "neighbour",
                                                      "phone": "13700000000"}}, CLERK)]
    for reply in replies:
        reply.result()
    history = registry.elder_history("elder-1")
    assert [e["sequence"] for e in history] == list(range(1, len(history) + 1))
    assert sum(e["type"] == "registry.elder_details_corrected.v1" for e in history) == 4
    assert registry.get_elder("elder-1")["carer"]["name"] == "赵敏"


def test_refused_commands_are_logged_without_traceback(registry, caplog):
    import logging
    with caplog.at_level(logging.INFO, logger="nameko.containers"):
        with pytest.raises(NotFoundError):
            registry.record_death({"elder_id": "nobody", "effective_date": "2026-11-01"}, CLERK)
    lines = [r for r in caplog.records if r.name == "nameko.containers" and "nobody" in r.getMessage()]
    assert lines and all(r.exc_info is None and r.levelno == logging.INFO for r in lines)


def test_correction_with_bad_values_names_each_field_and_writes_nothing(registry):
    registry.register_elder(registration(left_on=None), CLERK)
    before = event_count(registry.database_url)
    with pytest.raises(ValidationError) as refused:
        registry.correct_details({"elder_id": "elder-1", "effective_date": "2026-11-02", "reason": "typo",
                                  "changes": {"birth_date": "31/12/1941", "favourite_colour": "red"}}, CLERK)
    assert set(refused.value.errors) == {"changes.birth_date", "changes.favourite_colour"}
    assert event_count(registry.database_url) == before
    corrected = registry.correct_details({"elder_id": "elder-1", "effective_date": "2026-11-02",
                                          "reason": "typo", "changes": {"address": "东关村二组5号"}}, CLERK)
    assert corrected["address"] == "东关村二组5号"
