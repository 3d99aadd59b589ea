"""Status policy as data: inheritance down the division tree and versions by effective date."""
from datetime import date

import pytest

from kernel.errors import PolicyError
from services.registry.domain import PolicyBook, SelfCareLevel, StatusPolicy

VILLAGE = "410928100201"  # a village in Puyang county (410928), Puyang city (4109), Henan (41)


def policy_entry(**overrides) -> dict:
    entry = {
        "jurisdiction": "",
        "effective_from": "2017-12-29",
        "months_away": 6,
        "advanced_age": 80,
        "hard_up_statuses": ["dibao", "tekun", "poverty_registered"],
        "disabled_levels": ["semi_disabled", "fully_disabled"],
        "living_alone_is_key": True,
        "source": "民发〔2017〕193号",
    }
    return {**entry, **overrides}


def book_of(*entries: dict) -> PolicyBook:
    return PolicyBook.from_dict({"status_policies": list(entries)})


def test_from_dict_builds_typed_policies():
    book = book_of(policy_entry())

    policy = book.policy_for(VILLAGE, date(2024, 1, 1))

    assert policy == StatusPolicy(
        jurisdiction="", effective_from=date(2017, 12, 29), months_away=6, advanced_age=80,
        hard_up_statuses=frozenset({"dibao", "tekun", "poverty_registered"}),
        disabled_levels=frozenset({SelfCareLevel.SEMI_DISABLED, SelfCareLevel.FULLY_DISABLED}),
        living_alone_is_key=True, source="民发〔2017〕193号")


@pytest.mark.parametrize("jurisdiction, level", [
    ("410928100201", "village"), ("410928100", "township"), ("410928", "county"),
    ("4109", "city"), ("41", "province"), ("", "national"),
])
def test_village_uses_the_most_specific_jurisdiction_with_a_policy(jurisdiction, level):
    enclosing = ["", "41", "4109", "410928", "410928100", "410928100201"]
    book = book_of(*(policy_entry(jurisdiction=j, source=f"rule of {j or 'nation'}")
                     for j in enclosing[:enclosing.index(jurisdiction) + 1]))

    assert book.policy_for(VILLAGE, date(2024, 1, 1)).jurisdiction == jurisdiction, level


def test_a_neighbouring_county_does_not_inherit_another_countys_policy():
    book = book_of(policy_entry(), policy_entry(jurisdiction="410928", advanced_age=75))

    assert book.policy_for("410922100201", date(2024, 1, 1)).advanced_age == 80


def test_the_latest_version_in_force_on_the_date_applies():
    book = book_of(policy_entry(jurisdiction="4109", effective_from="2020-01-01", advanced_age=80),
                   policy_entry(jurisdiction="4109", effective_from="2024-07-01", advanced_age=75))

    assert book.policy_for(VILLAGE, date(2024, 6, 30)).advanced_age == 80
    assert book.policy_for(VILLAGE, date(2024, 7, 1)).advanced_age == 75


def test_a_parent_applies_until_the_local_policy_takes_effect():
    book = book_of(policy_entry(jurisdiction="41", effective_from="2018-01-01"),
                   policy_entry(jurisdiction="410928", effective_from="2023-05-01", months_away=3))

    assert book.policy_for(VILLAGE, date(2023, 4, 30)).jurisdiction == "41"
    assert book.policy_for(VILLAGE, date(2023, 5, 1)).jurisdiction == "410928"


def test_no_policy_in_force_is_an_error_naming_the_division():
    book = book_of(policy_entry(jurisdiction="41", effective_from="2018-01-01"))

    with pytest.raises(PolicyError) as raised:
        book.policy_for(VILLAGE, date(2017, 12, 31))
    assert raised.value.field == "division_code"
    with pytest.raises(PolicyError):
        book.policy_for("140502100201", date(2024, 1, 1))  # Jincheng: no Shanxi policy, no national one


def test_a_malformed_division_code_is_refused():
    with pytest.raises(PolicyError) as raised:
        book_of(policy_entry()).policy_for("4109", date(2024, 1, 1))
    assert raised.value.field == "division_code"


@pytest.mark.parametrize("field, bad_value", [
    ("jurisdiction", "410"),
    ("jurisdiction", "41a9"),
    ("effective_from", "2024-13-01"),
    ("months_away", 0),
    ("months_away", "6"),
    ("months_away", True),
    ("advanced_age", -80),
    ("hard_up_statuses", ["dibao", "wealthy"]),
    ("hard_up_statuses", "dibao"),
    ("disabled_levels", ["bedridden"]),
    ("living_alone_is_key", "yes"),
    ("source", " "),
])
def test_bad_policy_data_names_the_entry_and_field(field, bad_value):
    with pytest.raises(PolicyError) as raised:
        book_of(policy_entry(), policy_entry(**{"jurisdiction": "41", field: bad_value}))

    assert raised.value.field == f"status_policies[1].{field}"
    assert f"status_policies[1].{field}" in raised.value.message


def test_missing_and_unknown_fields_are_named():
    entry = policy_entry()
    del entry["advanced_age"]
    with pytest.raises(PolicyError) as missing:
        book_of(entry)
    with pytest.raises(PolicyError) as unknown:
        book_of(policy_entry(months_awya=6))

    assert missing.value.field == "status_policies[0].advanced_age"
    assert unknown.value.field == "status_policies[0].months_awya"


@pytest.mark.parametrize("data", [{}, {"status_policies": "all"}, [], {"status_policies": ["x"]}])
def test_policy_data_of_the_wrong_shape_is_refused(data):
    with pytest.raises(PolicyError):
        PolicyBook.from_dict(data)


def test_two_versions_of_one_jurisdiction_on_the_same_day_are_refused():
    with pytest.raises(PolicyError) as raised:
        book_of(policy_entry(jurisdiction="41"), policy_entry(jurisdiction="41", advanced_age=75))
    assert raised.value.field == "effective_from"


def test_versions_covering_lists_every_enclosing_version():
    book = book_of(policy_entry(), policy_entry(jurisdiction="41"), policy_entry(jurisdiction="42"),
                   policy_entry(jurisdiction="41", effective_from="2024-01-01"))

    assert sorted((p.jurisdiction, p.effective_from) for p in book.versions_covering(VILLAGE)) == [
        ("", date(2017, 12, 29)), ("41", date(2017, 12, 29)), ("41", date(2024, 1, 1))]
