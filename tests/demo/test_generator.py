import io
import json
import re
import statistics
import uuid
from collections import Counter
from datetime import date
from itertools import islice

import pytest

from demo.divisions import (
    DEFAULT_DIVISION_FILES,
    DEMO_DIVISION_FILE,
    Division,
    generate_demo_county,
    load_division_rows,
)
from demo.generator import generate_county, main, write_jsonl
from demo.residents import sex_of, validate_resident_id

TODAY = date(2026, 11, 1)
SUPPORTER_RELATIONSHIPS = {"son", "daughter", "son_in_law", "daughter_in_law", "grandchild", "other"}
REGISTER_KEYS = {"elder_id", "resident_id", "name", "sex", "birth_date", "division_code", "household_id",
                 "address", "phone", "contacts", "supporters", "carer", "income_sources", "support_status",
                 "health", "self_care_level", "lives_alone", "effective_date"}
CHANGE_KEYS = {
    "record_supporter_returned": {"elder_id", "supporter_id", "effective_date"},
    "record_supporter_left": {"elder_id", "supporter_id", "whereabouts", "phone", "effective_date"},
    "assess_self_care": {"elder_id", "level", "assessor", "effective_date"},
    "record_hospitalisation": {"elder_id", "hospital", "effective_date"},
    "record_death": {"elder_id", "effective_date"},
}


@pytest.fixture(scope="module")
def divisions():
    return load_division_rows(DEFAULT_DIVISION_FILES)


@pytest.fixture(scope="module")
def commands(divisions):
    return list(generate_county("410928", elders=3000, seed=42, today=TODAY, divisions=divisions))


@pytest.fixture(scope="module")
def many(divisions):
    return list(generate_county("410928", elders=20000, seed=7, today=TODAY, divisions=divisions))


def registrations(commands):
    return [c["payload"] for c in commands if c["command"] == "register_elder"]


def jsonl(commands):
    out = io.StringIO()
    write_jsonl(iter(commands), out)
    return out.getvalue()


def age_on(day, birth_date):
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


# --- the division table ------------------------------------------------------------------

def test_shipped_table_has_the_seed_jurisdictions(divisions):
    by_code = {d.code: d for d in divisions}
    expected = {
        "410000000000": ("河南省", "province"), "410900000000": ("濮阳市", "city"),
        "410928000000": ("濮阳县", "county"), "410902000000": ("华龙区", "county"),
        "411200000000": ("三门峡市", "city"), "411203000000": ("陕州区", "county"),
        "411282000000": ("灵宝市", "county"), "140000000000": ("山西省", "province"),
        "140500000000": ("晋城市", "city"), "140581000000": ("高平市", "county"),
        "610000000000": ("陕西省", "province"), "610300000000": ("宝鸡市", "city"),
        "610330000000": ("凤县", "county"), "150000000000": ("内蒙古自治区", "province"),
        "150100000000": ("呼和浩特市", "city"), "150121000000": ("土默特左旗", "county"),
    }
    for code, (name, level) in expected.items():
        assert (by_code[code].name, by_code[code].level) == (name, level)
    counties = {d.code[:6] for d in divisions if d.level == "county"}
    assert counties == {"410902", "410922", "410923", "410926", "410927", "410928", "411202", "411203",
                        "411221", "411224", "411281", "411282", "140502", "140521", "140522", "140524",
                        "140525", "140581", "610330", "150121"}


def test_demo_county_has_12_townships_of_15_to_30_villages(divisions):
    townships = [d for d in divisions if d.level == "township" and d.code.startswith("410928")]
    assert len(townships) == 12
    assert [t.code for t in townships] == [f"410928{100 + i}000" for i in range(12)]
    for township in townships:
        villages = [d for d in divisions if d.parent_code == township.code]
        assert 15 <= len(villages) <= 30
        assert all(v.level == "village" and v.name.endswith("村") for v in villages)
        assert villages[0].code == township.code[:9] + "201"
        assert len({v.name for v in villages}) == len(villages)


def test_demo_csv_is_what_the_generator_writes(divisions):
    shipped = load_division_rows([DEFAULT_DIVISION_FILES[0], DEMO_DIVISION_FILE])
    assert [d for d in shipped if d.code.startswith("410928") and d.level in ("township", "village")] \
        == generate_demo_county()


def test_demo_county_generation_is_seeded():
    assert generate_demo_county("410928", 3, (2, 4), seed=1) == generate_demo_county("410928", 3, (2, 4), seed=1)
    assert generate_demo_county("410928", 3, (2, 4), seed=1) != generate_demo_county("410928", 3, (2, 4), seed=2)
    assert len(generate_demo_county("140521", 2, 5, seed=1)) == 2 + 2 * 5
    with pytest.raises(ValueError):
        generate_demo_county("410900", 3, 5, seed=1)  # a city, not a county


GOOD = "code,name,level,parent_code\n410000000000,河南省,province,\n410900000000,濮阳市,city,410000000000\n"


@pytest.mark.parametrize("extra, line, column", [
    ("41092800000,濮阳县,county,410900000000\n", 4, "code"),           # 11 digits
    ("41092800000x,濮阳县,county,410900000000\n", 4, "code"),          # not a digit
    ("410928000000,,county,410900000000\n", 4, "name"),                # empty name
    ("410928000000,濮阳县,district,410900000000\n", 4, "level"),       # unknown level
    ("410928000000,濮阳县,city,410900000000\n", 4, "level"),           # zeros say county
    ("410928000000,濮阳县,county,411200000000\n", 4, "parent_code"),   # not its ancestor
    ("410928000000,濮阳县,county,\n", 4, "parent_code"),               # missing parent
    ("410928100000,城关镇,township,410928000000\n", 4, "parent_code"),  # parent not in table
    ("410928000000,濮阳县,county,410000000000\n", 4, "parent_code"),   # skips the city that exists
    ("410928000000,濮阳县,county,410900000000\n410928000000,濮阳县,county,410900000000\n", 5, "code"),
    ("410000000000,河南,province,410000000000\n", 4, "code"),          # duplicate of line 2
])
def test_bad_rows_are_reported_with_file_line_and_column(tmp_path, extra, line, column):
    path = tmp_path / "bad.csv"
    path.write_text(GOOD + extra, encoding="utf-8")
    with pytest.raises(ValueError) as raised:
        load_division_rows([path])
    message = str(raised.value)
    assert f"{path}:{line}:" in message
    assert f"column {column!r}" in message


def test_bad_header_and_column_count_are_reported(tmp_path):
    header = tmp_path / "header.csv"
    header.write_text("code,name,level\n410000000000,河南省,province\n", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"{re.escape(str(header))}:1: header"):
        load_division_rows([header])
    short = tmp_path / "short.csv"
    short.write_text(GOOD + "410928000000,濮阳县\n", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"{re.escape(str(short))}:4: expected 4 columns"):
        load_division_rows([short])


def test_rows_may_refer_to_parents_in_an_earlier_file(tmp_path):
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text(GOOD, encoding="utf-8")
    second.write_text("code,name,level,parent_code\n410928000000,濮阳县,county,410900000000\n", encoding="utf-8")
    rows = load_division_rows([first, second])
    assert rows[-1] == Division("410928000000", "濮阳县", "county", "410900000000")
    with pytest.raises(ValueError, match=rf"{re.escape(str(second))}:2: column 'parent_code'"):
        load_division_rows([second])


# --- the command stream ------------------------------------------------------------------

def test_same_seed_gives_identical_bytes_and_another_seed_other_data(commands, divisions):
    again = list(generate_county("410928", elders=3000, seed=42, today=TODAY, divisions=divisions))
    assert jsonl(again) == jsonl(commands)
    other = list(generate_county("410928", elders=3000, seed=43, today=TODAY, divisions=divisions))
    assert jsonl(other) != jsonl(commands)
    assert not {p["elder_id"] for p in registrations(other)} & {p["elder_id"] for p in registrations(commands)}


def test_registrations_come_first_then_changes(commands):
    kinds = [c["command"] for c in commands]
    assert kinds[:3000] == ["register_elder"] * 3000
    assert "register_elder" not in kinds[3000:]
    assert set(kinds[3000:]) == set(CHANGE_KEYS)


def test_payloads_have_the_documented_shape(commands):
    for command in commands:
        assert set(command) == {"command", "payload"}
        payload = command["payload"]
        if command["command"] == "register_elder":
            assert set(payload) == REGISTER_KEYS
            assert payload["sex"] in ("male", "female")
            assert payload["health"] in ("good", "chronic_illness", "serious_illness")
            assert payload["self_care_level"] in ("full_self_care", "semi_disabled", "fully_disabled")
            assert set(payload["support_status"]) == {"dibao", "tekun", "poverty_registered"}
            assert payload["phone"] is None or re.fullmatch(r"1[3-9]\d{9}", payload["phone"])
            assert re.fullmatch(rf"{payload['division_code']}-\d{{4}}", payload["household_id"])
            assert re.fullmatch(r"\S+镇\S+村\d+组\d+号", payload["address"])
            assert 1 <= len(payload["supporters"]) <= 4
            for supporter in payload["supporters"]:
                assert set(supporter) == {"supporter_id", "name", "relationship", "phone", "whereabouts", "left_on"}
                assert supporter["relationship"] in SUPPORTER_RELATIONSHIPS
                assert (supporter["whereabouts"] is None) == (supporter["left_on"] is None)
            for person in payload["contacts"] + ([payload["carer"]] if payload["carer"] else []):
                assert set(person) == {"name", "relationship", "phone"}
        else:
            assert set(payload) == CHANGE_KEYS[command["command"]]


def test_identifiers_are_unique_and_valid(commands):
    elders = registrations(commands)
    assert len({p["elder_id"] for p in elders}) == len(elders)
    assert len({p["resident_id"] for p in elders}) == len(elders)
    for payload in elders:
        assert str(uuid.UUID(payload["elder_id"])) == payload["elder_id"]
        number = payload["resident_id"]
        assert validate_resident_id(number) == number
        assert number[:6] == "410928"
        assert number[6:14] == payload["birth_date"].replace("-", "")
        assert sex_of(number) == payload["sex"]


def test_every_village_of_the_county_has_elders_and_no_one_lives_elsewhere(commands, divisions):
    villages = {d.code for d in divisions if d.level == "village" and d.code.startswith("410928")}
    used = Counter(p["division_code"] for p in registrations(commands))
    assert set(used) == villages


def test_dates_are_consistent_and_never_after_today(commands):
    registered = {}
    for payload in registrations(commands):
        birth = date.fromisoformat(payload["birth_date"])
        effective = date.fromisoformat(payload["effective_date"])
        assert 60 <= age_on(TODAY, birth) <= 100
        assert age_on(effective, birth) >= 60
        assert effective <= TODAY
        for supporter in payload["supporters"]:
            if supporter["left_on"]:
                left_on = date.fromisoformat(supporter["left_on"])
                assert date(2023, 11, 1) <= left_on <= effective
        registered[payload["elder_id"]] = effective
    for command in commands[len(registered):]:
        effective = date.fromisoformat(command["payload"]["effective_date"])
        assert registered[command["payload"]["elder_id"]] < effective <= TODAY


def test_change_commands_follow_each_elders_state(commands):
    """Replaying the stream: only away supporters return, only supporters at home leave,
    each elder's changes are in date order and nothing follows a death."""
    away, last_date, dead = {}, {}, set()
    for command in commands:
        payload = command["payload"]
        elder_id, day = payload["elder_id"], payload["effective_date"]
        if command["command"] == "register_elder":
            away[elder_id] = {s["supporter_id"]: s["left_on"] is not None for s in payload["supporters"]}
        else:
            assert elder_id not in dead
            assert day >= last_date[elder_id]
        last_date[elder_id] = day
        if command["command"] == "record_supporter_returned":
            assert away[elder_id][payload["supporter_id"]] is True
            away[elder_id][payload["supporter_id"]] = False
        elif command["command"] == "record_supporter_left":
            assert away[elder_id][payload["supporter_id"]] is False
            away[elder_id][payload["supporter_id"]] = True
        elif command["command"] == "record_death":
            dead.add(elder_id)


def test_couples_share_a_household(commands):
    households = {}
    for payload in registrations(commands):
        households.setdefault(payload["household_id"], []).append(payload)
    couples = [members for members in households.values() if len(members) == 2]
    assert 0.3 < len(couples) / len(households) < 0.5
    for husband, wife in couples:
        assert (husband["sex"], wife["sex"]) == ("male", "female")
        assert husband["address"] == wife["address"]
        assert husband["supporters"] == wife["supporters"]
        assert not husband["lives_alone"] and not wife["lives_alone"]
    assert max(len(members) for members in households.values()) == 2


def test_distributions_are_roughly_as_documented(many):
    elders = registrations(many)
    n = len(elders)

    def share(predicate):
        return sum(1 for p in elders if predicate(p)) / n

    ages = [age_on(TODAY, date.fromisoformat(p["birth_date"])) for p in elders]
    assert 68 <= statistics.median(ages) <= 72
    assert 0.52 <= share(lambda p: p["sex"] == "female") <= 0.58
    assert 0.66 <= share(lambda p: all(s["left_on"] for s in p["supporters"])) <= 0.74
    assert 0.065 <= share(lambda p: p["support_status"]["dibao"]) <= 0.095
    assert 0.012 <= share(lambda p: p["support_status"]["tekun"]) <= 0.03
    assert 0.085 <= share(lambda p: p["support_status"]["poverty_registered"]) <= 0.115
    assert 0.12 <= share(lambda p: p["lives_alone"]) <= 0.18
    assert 0.82 <= share(lambda p: p["self_care_level"] == "full_self_care") <= 0.88
    assert 0.08 <= share(lambda p: p["self_care_level"] == "semi_disabled") <= 0.12
    assert 0.035 <= share(lambda p: p["self_care_level"] == "fully_disabled") <= 0.07
    assert not any(p["support_status"]["dibao"] and p["support_status"]["tekun"] for p in elders)
    destinations = Counter(s["whereabouts"][:3] for p in elders for s in p["supporters"] if s["whereabouts"])
    assert [province for province, _ in destinations.most_common(3)] == ["广东省", "浙江省", "江苏省"]
    deaths = sum(1 for c in many if c["command"] == "record_death")
    assert 0.005 <= deaths / n <= 0.015
    assert sum(1 for c in many if c["command"] != "register_elder") / n > 0.15


@pytest.mark.parametrize("elders", range(0, 12))
def test_exactly_the_requested_number_of_elders(divisions, elders):
    commands = list(generate_county("410928", elders=elders, seed=elders, divisions=divisions))
    registered = {p["elder_id"] for p in registrations(commands)}
    assert len(registered) == elders
    assert {c["payload"]["elder_id"] for c in commands} == registered


def test_the_stream_is_lazy(divisions):
    first = list(islice(generate_county("410928", elders=10**9, seed=1, divisions=divisions), 5))
    assert [c["command"] for c in first] == ["register_elder"] * 5


def test_unknown_county_or_county_without_villages_is_rejected(divisions):
    with pytest.raises(ValueError, match="not in the division table"):
        generate_county("419999", divisions=divisions)
    with pytest.raises(ValueError, match="no village rows"):
        generate_county("140521", divisions=divisions)


def test_command_line_writes_the_same_json_lines(tmp_path, divisions):
    out = tmp_path / "demo.jsonl"
    assert main(["--elders", "40", "--seed", "5", "--out", str(out)]) == 0
    expected = jsonl(generate_county("410928", elders=40, seed=5, today=TODAY, divisions=divisions))
    assert out.read_text(encoding="utf-8") == expected
    assert all(json.loads(line)["command"] for line in expected.splitlines())
