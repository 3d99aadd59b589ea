"""``check_registrations``: what ``register_elder`` would answer, for a batch, writing nothing
(the ledger import's dry run) — on SQLite and PostgreSQL, through RabbitMQ."""
from datetime import date

import pytest

from demo.residents import make_resident_id, order_code
from kernel.errors import ValidationError
from tests.imports.ledger_files import with_id_character
from tests.registry.test_service import CLERK, OTHER_VILLAGE, VILLAGE, event_count, registration
from tests.registry.test_service import registry  # noqa: F401 - the fixture


def test_each_payload_gets_the_commands_answer_and_nothing_is_written(registry):  # noqa: F811
    before = event_count(registry.database_url)
    good = registration("e1")
    answers = registry.check_registrations([
        good,
        registration("e2", sequence=1, resident_id="410928194103090021"),           # check character
        registration("e3", sequence=2, division_code="410928999999"),               # no such village
        registration("e4", sequence=3, effective_date="2026-12-30"),                # in the future
        registration("e5", sequence=4, born=date(1941, 3, 9), birth_date="1942-01-01"),  # ID disagrees
        {"name": "no more than a name"},
    ], CLERK)
    assert answers[0] == {"errors": {}, "existing": None, "similar": []}
    assert "check character" in answers[1]["errors"]["resident_id"][0]
    assert "division table" in answers[2]["errors"]["division_code"][0]
    assert "in the future" in answers[3]["errors"]["effective_date"][0]
    assert "birth date" in answers[4]["errors"]["resident_id"][0]
    assert {"resident_id", "division_code", "elder_id"} <= set(answers[5]["errors"])
    assert event_count(registry.database_url) == before
    # The command itself agrees: what the check accepted registers.
    assert registry.register_elder(good, CLERK)["elder_id"] == "e1"


def test_recorded_elders_are_named_as_the_same_person_or_a_probable_duplicate(registry):  # noqa: F811
    recorded = registry.register_elder(registration("e1"), CLERK)
    same_person = registration("e9", resident_id=recorded["resident_id"])
    born = date(1941, 3, 9)
    namesake = registration("e10", resident_id=make_resident_id("410928", born, order_code(40, "female"), "female"),
                            household_id="another")
    typo = registration("e11", name="李桂花", household_id="h-11", birth_date="1941-03-09",
                        resident_id=with_id_character(recorded["resident_id"], 14, "9"))
    household = registration("e12", resident_id=make_resident_id("410928", date(1950, 1, 1), order_code(0, "female"),
                                                                 "female"), birth_date="1950-01-01")
    elsewhere = registration("e13", division_code=OTHER_VILLAGE, household_id="x",
                             resident_id=make_resident_id("410928", born, order_code(41, "female"), "female"))
    answers = registry.check_registrations([same_person, namesake, typo, household, elsewhere], CLERK)
    assert answers[0]["existing"] == "e1"
    assert answers[1]["similar"] == [{"elder_id": "e1", "reason": "name_birth_date_township"}]
    assert answers[2]["similar"] == [{"elder_id": "e1", "reason": "resident_id_one_character_off"}]
    assert answers[3]["similar"] == [{"elder_id": "e1", "reason": "household_name"}]
    assert answers[4]["similar"] == []         # another township: a namesake, not a probable duplicate
    assert VILLAGE[:9] != OTHER_VILLAGE[:9]


def test_a_batch_that_is_not_a_list_of_payloads_is_refused(registry):  # noqa: F811
    with pytest.raises(ValidationError) as refused:
        registry.check_registrations([], CLERK)
    assert "payloads" in refused.value.errors
    with pytest.raises(ValidationError):
        registry.check_registrations([registration("e1")], {"department": "civil_affairs"})
