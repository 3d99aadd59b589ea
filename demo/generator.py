"""A deterministic stream of registry commands for one county's left-behind elders.

``generate_county()`` yields plain dicts ``{"command": ..., "payload": {...}}``: first one
``register_elder`` per elder, then the change commands (``record_supporter_returned``,
``record_supporter_left``, ``assess_self_care``, ``record_hospitalisation``,
``record_death``), elder by elder in registration order, each elder's changes in date
order and nothing after a death. All dates are ISO strings and never after ``today``.

Determinism and scale: every household draws from its own ``random.Random`` seeded by
(county, seed, household number), and its elder ids (version-4-shaped UUIDs) come from
that stream, so the same arguments give byte-identical output (on the pinned Python)
and another seed gives other data. The change pass rebuilds only the 20% of households
picked by a hash of (run, household) instead of remembering elders, so memory is
O(villages + birth dates), not O(elders): 1,000,000 elders take about 26 MB and 50 s
(about 24,000 commands/s; writing JSON lines costs about as much again).

Assumptions (rough figures for a rural county of the North China plain; tests check them
with tolerance):

* **Households**: 40% are couples who are both 60+ and registered together (same
  household, address, children, carer, 低保 status); the rest are single elders. Men are
  0–6 years older than their wives.
* **Age** on ``today``: 60–100, truncated exponential with scale 16 years (median about
  69–70; 80+ about 21%, above the national 14% because the young-old are likelier to
  migrate with their children). Birth day uniform within the year of age.
* **Sex**: couples one of each; single elders 62% women (widows outlive husbands), about
  55% women overall.
* **Supporters**: 1–4 (20/35/28/17%); sons 45%, daughters 35%, daughters-in-law 8%,
  grandchildren 7%, sons-in-law 3%, other 2%. Children carry the husband's surname.
  ~70% of elders have *all* supporters away, ~14% some, ~16% none. Destinations: Guangdong
  30%, Zhejiang 18%, Jiangsu 16%, Beijing 11%, Zhengzhou 12%, Shanghai 6%, elsewhere 7%.
  ``left_on`` falls in the last 3 years; half of departures are in the four weeks after
  the Spring Festival, when migrant workers go back to work.
* **Registration** (``effective_date``): up to 180 days after the latest departure, or any
  day of the last 3 years if nobody is away; never before the elder turned 60.
* **Support status**: 低保 (dibao) ~8%, 特困 (tekun) ~2% (single elders only, never with
  dibao), poverty-registered (建档立卡) ~10%, half of the dibao/tekun elders among them.
* **Self-care**: full/semi/fully disabled about 85/10/5%, worse with age. **Health**
  (good/chronic/serious) follows self-care, about 38/53/9% overall.
* **Lives alone**: ~15% of elders (singles only; likelier when all supporters are away).
  A carer (委托照料人: relative, neighbour or village cadre) is named for ~60% of elders
  whose supporters are all away.
* **Income**: pension 96%; farming falls with age and disability; children's remittances
  when a supporter is away (85%) or at home (60%); dibao / tekun when on them; wages for
  ~12% of those under 70.
* **Phones**: elders ~72% (95% at 60, falling 2 points a year), supporters always; random 11-digit numbers
  on real mobile prefixes, so never send real messages to them.
* **Changes**, dated after registration and up to ``today``: an away supporter returns for good (6% of elders with
  one away; 40% of those leave again later), a supporter at home leaves (15% of elders
  with one at home), self-care reassessed (8%, usually one step worse), hospitalised (6%,
  more when ill or old), death (~1%, rising with age and disability).

Villages: the first households go one to each village of the county (so every village
has elders), later ones to villages weighted 0.5–1.5 by a seeded draw.
Resident ID numbers use the county code as address code and a per-(birth date, sex)
counter as order code, so they are unique within a run (at most 500 per sex and day).
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from bisect import bisect
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from hashlib import sha256
from itertools import accumulate
from pathlib import Path
from typing import Iterator, Sequence

from demo.divisions import DEFAULT_DIVISION_FILES, Division, load_division_rows
from demo.residents import MAX_ORDER_CODES_PER_SEX, make_resident_id, order_code

DEFAULT_TODAY = date(2026, 11, 1)

MIN_AGE, MAX_AGE = 60, 100
AGE_SCALE_YEARS = 16.0
COUPLE_SHARE = 0.40
SINGLE_FEMALE_SHARE = 0.62
LEFT_WINDOW_DAYS = 3 * 365
CHANGE_GATE = 0.20  # share of households regenerated in the change pass; >= every change probability

SUPPORTER_COUNTS = ((1, 2, 3, 4), (20, 35, 28, 17))
RELATIONSHIPS = (("son", "daughter", "daughter_in_law", "grandchild", "son_in_law", "other"),
                 (45, 35, 8, 7, 3, 2))
DESTINATIONS = (
    ("广东省深圳市", 9), ("广东省东莞市", 8), ("广东省广州市", 7), ("广东省佛山市", 4), ("广东省中山市", 2),
    ("浙江省杭州市", 5), ("浙江省宁波市", 5), ("浙江省温州市", 4), ("浙江省义乌市", 4),
    ("江苏省苏州市", 7), ("江苏省南京市", 4), ("江苏省无锡市", 3), ("江苏省昆山市", 2),
    ("北京市", 11), ("河南省郑州市", 12), ("上海市", 6),
    ("天津市", 2), ("山东省青岛市", 2), ("新疆维吾尔自治区乌鲁木齐市", 1), ("福建省厦门市", 2),
)
SPRING_FESTIVALS = {
    2019: date(2019, 2, 5), 2020: date(2020, 1, 25), 2021: date(2021, 2, 12), 2022: date(2022, 2, 1),
    2023: date(2023, 1, 22), 2024: date(2024, 2, 10), 2025: date(2025, 1, 29), 2026: date(2026, 2, 17),
    2027: date(2027, 2, 6), 2028: date(2028, 1, 26), 2029: date(2029, 2, 13), 2030: date(2030, 2, 3),
}
MOBILE_PREFIXES = ("130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151",
                   "152", "153", "155", "156", "157", "158", "159", "166", "173", "176", "177", "180",
                   "181", "182", "183", "185", "186", "187", "188", "189", "199")

SURNAMES = ("王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高",
            "郭", "马", "何", "宋", "郑", "韩", "冯", "董", "程", "曹", "袁", "许", "魏", "田", "贾",
            "史", "范", "申", "牛", "段", "侯", "孟", "崔", "梁", "岳")
SURNAME_CUM = tuple(accumulate((30, 28, 27, 22, 14, 12, 10, 8, 8, 8, 7, 6, 6, 6, 6, 6, 6, 5, 5, 5,
                                5, 4, 4, 4, 4, 4, 4, 4, 4, 3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2)))
ELDER_FEMALE_NAMES = ("秀英", "桂英", "秀兰", "玉兰", "桂兰", "凤英", "秀珍", "玉珍", "淑珍", "兰英",
                      "玉梅", "秀荣", "桂荣", "素珍", "凤兰", "玉英", "素梅", "秀云", "桂珍", "爱英",
                      "翠兰", "金花", "春花", "改英", "小妮", "荣花", "月娥", "香兰", "粉英", "巧云",
                      "凤", "兰", "英", "梅", "芳", "珍")
ELDER_MALE_NAMES = ("建国", "国庆", "建华", "德胜", "保国", "振华", "志强", "国强", "建军", "长山",
                    "金山", "福来", "德福", "春生", "明亮", "庆云", "广田", "玉林", "树林", "国富",
                    "学文", "保全", "运来", "成立", "文明", "新民", "胜利", "和平", "援朝", "卫东",
                    "山", "林", "忠", "义", "海", "明")
YOUNG_FEMALE_NAMES = ("丽", "芳", "娜", "敏", "静", "艳", "娟", "霞", "燕", "红", "玲", "丽娟", "海燕",
                      "晓红", "春梅", "红霞", "玉洁", "雪梅", "慧", "倩")
YOUNG_MALE_NAMES = ("伟", "强", "磊", "军", "洋", "勇", "杰", "涛", "明", "超", "刚", "鹏", "辉", "斌",
                    "海涛", "建伟", "志刚", "红军", "卫国", "晓东", "振宇", "浩")
FEMALE_RELATIONSHIPS = frozenset({"daughter", "daughter_in_law"})
CONTACT_RELATIONSHIPS = (("relative", "neighbour", "village_cadre"), (45, 35, 20))
SELF_CARE_LEVELS = ("full_self_care", "semi_disabled", "fully_disabled")


@dataclass(frozen=True)
class _Village:
    code: str
    name: str
    township_name: str


@dataclass(slots=True)
class _Supporter:
    supporter_id: str
    name: str
    relationship: str
    phone: str
    whereabouts: str | None
    left_on: date | None


@dataclass(slots=True)
class _Elder:
    elder_id: str
    name: str
    sex: str
    birth_date: date
    age: int
    self_care: str
    health: str
    lives_alone: bool
    phone: str | None
    income_sources: list[str]
    support_status: dict[str, bool]


@dataclass(slots=True)
class _Household:
    number: int
    village_index: int
    village: _Village
    group: int
    house: int
    elders: list[_Elder]
    supporters: list[_Supporter]
    carer: dict | None
    contacts: list[dict]
    registered_on: date


class _County:
    """What the generator needs of the division table, loaded once per run."""

    def __init__(self, county_code: str, divisions: Sequence[Division], seed: int):
        code12 = county_code.ljust(12, "0")
        by_code = {d.code: d for d in divisions}
        county = by_code.get(code12)
        if county is None or county.level != "county":
            raise ValueError(f"county {county_code} is not in the division table")
        prefix = code12[:6]
        self.code6 = prefix
        self.name = county.name
        city = by_code.get(county.parent_code or "")
        self.city_name = city.name if city is not None and city.level == "city" else county.name
        self.villages = [
            _Village(d.code, d.name, by_code[d.parent_code].name if d.parent_code in by_code else "")
            for d in divisions if d.level == "village" and d.code.startswith(prefix)
        ]
        if not self.villages:
            raise ValueError(f"county {county_code} has no village rows in the division table")
        weights_rng = random.Random(f"villages/{code12}/{seed}")
        self.village_cum = list(accumulate(0.5 + weights_rng.random() for _ in self.villages))


def generate_county(
    county_code: str = "410928",
    elders: int = 3000,
    seed: int = 42,
    today: date = DEFAULT_TODAY,
    divisions: Sequence[Division] | None = None,
) -> Iterator[dict]:
    """Yield registry commands for ``elders`` synthetic elders of ``county_code`` (6 or 12 digits).

    ``divisions`` defaults to the shipped table (``DEFAULT_DIVISION_FILES``); the county and
    its village rows must be in it. See the module docstring for the distributions.
    """
    if elders < 0:
        raise ValueError("elders must be >= 0")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError("seed must be an int")
    county = _County(county_code, divisions if divisions is not None else load_division_rows(DEFAULT_DIVISION_FILES),
                     seed)
    return _generate(county, elders, seed, today)


_AGE_CUM = tuple(accumulate(2.718281828459045 ** (-(age - MIN_AGE) / AGE_SCALE_YEARS)
                            for age in range(MIN_AGE, MAX_AGE + 1)))
_DESTINATION_NAMES = tuple(name for name, _ in DESTINATIONS)
_DESTINATION_CUM = tuple(accumulate(weight for _, weight in DESTINATIONS))
_SUPPORTER_COUNT_CUM = tuple(accumulate(SUPPORTER_COUNTS[1]))
_RELATIONSHIP_CUM = tuple(accumulate(RELATIONSHIPS[1]))
_CONTACT_CUM = tuple(accumulate(CONTACT_RELATIONSHIPS[1]))
_ANY_FEMALE_NAMES = YOUNG_FEMALE_NAMES + ELDER_FEMALE_NAMES
_ANY_MALE_NAMES = YOUNG_MALE_NAMES + ELDER_MALE_NAMES
_RELATIONSHIP_NAMES = RELATIONSHIPS[0]
_RELATIONSHIP_TOTAL = _RELATIONSHIP_CUM[-1]
_BLOOD_RELATIONSHIPS = frozenset({"son", "daughter", "grandchild"})
_MALE_RELATIONSHIPS = frozenset({"son", "son_in_law"})
_SURNAME_TOTAL = SURNAME_CUM[-1]
_MASK64 = (1 << 64) - 1
_SPOUSE_AGE_GAPS = (0, 1, 1, 2, 2, 2, 3, 3, 4, 5, 6)


def _generate(county: _County, elders: int, seed: int, today: date) -> Iterator[dict]:
    household_counts = [0] * len(county.villages)
    order_counters: dict[tuple[int, str], int] = {}
    run_key = _run_key(county, seed)
    households = produced = 0
    last_room = 2
    while produced < elders:
        last_room = min(2, elders - produced)
        household = _make_household(_household_rng(run_key, households), county, households, today, last_room)
        household_counts[household.village_index] += 1
        household_id = f"{household.village.code}-{household_counts[household.village_index]:04d}"
        for elder in household.elders:
            yield _register_command(household, household_id, elder,
                                    _next_resident_id(county.code6, elder, order_counters))
        produced += len(household.elders)
        households += 1
    # Second pass: rebuild only the gated households (same stream, same state) and draw
    # their changes from where that stream left off.
    for number in range(households):
        if not _gated(run_key, number):
            continue
        rng = _household_rng(run_key, number)
        room = last_room if number == households - 1 else 2
        household = _make_household(rng, county, number, today, room)
        yield from _change_commands(rng, county, household, today)


def _run_key(county: _County, seed: int) -> int:
    return int.from_bytes(sha256(f"{county.code6}/{seed}".encode()).digest()[:8], "big")


def _household_rng(run_key: int, number: int) -> random.Random:
    return random.Random((run_key << 40) | number)


def _gated(run_key: int, number: int) -> bool:
    """Whether a household is rebuilt in the change pass: splitmix64 of (run, household)."""
    z = (run_key ^ (number * 0x9E3779B97F4A7C15)) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return (z ^ (z >> 31)) < CHANGE_GATE * 2.0 ** 64


def _make_household(rng: random.Random, county: _County, number: int, today: date, room: int) -> _Household:
    if number < len(county.villages):
        village_index = number
    else:
        village_index = bisect(county.village_cum, rng.random() * county.village_cum[-1])
    village = county.villages[village_index]
    couple = rng.random() < COUPLE_SHARE and room >= 2
    first_age = _draw_age(rng)
    if couple:
        ages_sexes = [(first_age, "male"), (max(MIN_AGE, first_age - _pick(rng, _SPOUSE_AGE_GAPS)), "female")]
    else:
        ages_sexes = [(first_age, "female" if rng.random() < SINGLE_FEMALE_SHARE else "male")]
    husband_surname = _surname(rng)
    family_surname = husband_surname if ages_sexes[0][1] == "male" else _surname(rng)

    start = today - timedelta(days=LEFT_WINDOW_DAYS)
    supporters = _make_supporters(rng, family_surname, start, today)
    away = [s for s in supporters if s.left_on is not None]
    all_away = len(away) == len(supporters)
    if away:
        registered_on = min(today, max(s.left_on for s in away) + timedelta(days=_int(rng, 0, 180)))
    else:
        registered_on = _day_between(rng, start, today)

    u = rng.random()
    dibao = u < 0.08
    tekun = not couple and not dibao and u < 0.08 + 0.047
    poverty = rng.random() < (0.5 if dibao or tekun else 0.058)
    lives_alone = not couple and rng.random() < (0.40 if all_away else 0.23)
    carer = _person(rng, _CONTACT_CUM, CONTACT_RELATIONSHIPS[0]) if all_away and rng.random() < 0.6 else None
    contacts = [_person(rng, _CONTACT_CUM, CONTACT_RELATIONSHIPS[0]) for _ in range(_int(rng, 1, 2))]

    members: list[_Elder] = []
    for index, (age, sex) in enumerate(ages_sexes):
        birth_date = _draw_birth_date(rng, today, age)
        if age < MIN_AGE + 4:  # older elders were 60 before any registration date we draw
            registered_on = max(registered_on, _years_after(birth_date, MIN_AGE))
        surname = husband_surname if sex == "male" else _surname(rng)
        given = _pick(rng, ELDER_MALE_NAMES if sex == "male" else ELDER_FEMALE_NAMES)
        self_care = _draw_self_care(rng, age)
        members.append(_Elder(
            elder_id=_uuid(rng),
            name=surname + given, sex=sex, birth_date=birth_date, age=age, self_care=self_care,
            health=_draw_health(rng, age, self_care), lives_alone=lives_alone,
            phone=_phone(rng) if rng.random() < max(0.2, 0.95 - 0.02 * (age - MIN_AGE)) else None,
            income_sources=_income(rng, age, self_care, bool(away), dibao, tekun),
            support_status={"dibao": dibao, "tekun": tekun, "poverty_registered": poverty},
        ))
    return _Household(number=number, village_index=village_index, village=village,
                      group=_int(rng, 1, 12), house=_int(rng, 1, 80), elders=members,
                      supporters=supporters, carer=carer, contacts=contacts, registered_on=registered_on)


def _make_supporters(rng: random.Random, family_surname: str, start: date, today: date) -> list[_Supporter]:
    count = SUPPORTER_COUNTS[0][bisect(_SUPPORTER_COUNT_CUM, rng.random() * _SUPPORTER_COUNT_CUM[-1])]
    u = rng.random()
    if u < 0.70:
        away_count = count
    elif u < 0.87 and count > 1:
        away_count = _int(rng, 1, count - 1)
    else:
        away_count = 0
    away_ids = range(count) if away_count == count else set(rng.sample(range(count), away_count))
    random_ = rng.random
    supporters = []
    for index in range(count):
        relationship = _RELATIONSHIP_NAMES[bisect(_RELATIONSHIP_CUM, random_() * _RELATIONSHIP_TOTAL)]
        surname = family_surname if relationship in _BLOOD_RELATIONSHIPS else _surname(rng)
        female = relationship in FEMALE_RELATIONSHIPS or (relationship not in _MALE_RELATIONSHIPS and random_() < 0.5)
        names = YOUNG_FEMALE_NAMES if female else YOUNG_MALE_NAMES
        given = names[int(random_() * len(names))]
        is_away = index in away_ids
        supporters.append(_Supporter(
            f"s{index + 1}", surname + given, relationship, _phone(rng),
            _destination(rng) if is_away else None,
            _departure(rng, start, today) if is_away else None,
        ))
    return supporters


def _departure(rng: random.Random, start: date, today: date) -> date:
    if rng.random() < 0.5:
        festivals = _festivals_between(start, today)
        if festivals:
            return _pick(rng, festivals) + timedelta(days=_int(rng, 5, 33))
    return _day_between(rng, start, today)


@lru_cache(maxsize=8)
def _festivals_between(start: date, today: date) -> tuple[date, ...]:
    """Spring Festivals whose four weeks of departures fall inside [start, today]."""
    return tuple(d for d in SPRING_FESTIVALS.values()
                 if d + timedelta(days=5) >= start and d + timedelta(days=33) <= today)


def _draw_age(rng: random.Random) -> int:
    return MIN_AGE + bisect(_AGE_CUM, rng.random() * _AGE_CUM[-1])


def _draw_birth_date(rng: random.Random, today: date, age: int) -> date:
    earliest, span = _birth_window(today, age)
    return earliest + timedelta(days=int(rng.random() * span))


@lru_cache(maxsize=1024)
def _birth_window(today: date, age: int) -> tuple[date, int]:
    """First possible birth date of someone ``age`` years old on ``today``, and how many days follow."""
    latest = _years_before(today, age)
    earliest = _years_before(today, age + 1) + timedelta(days=1)
    return earliest, (latest - earliest).days + 1


def _draw_self_care(rng: random.Random, age: int) -> str:
    semi, full = ((0.06, 0.025) if age < 70 else (0.11, 0.05) if age < 80
                  else (0.19, 0.11) if age < 90 else (0.25, 0.20))
    u = rng.random()
    return "fully_disabled" if u < full else "semi_disabled" if u < full + semi else "full_self_care"


def _draw_health(rng: random.Random, age: int, self_care: str) -> str:
    if self_care == "full_self_care":
        serious, chronic = 0.04, min(0.75, 0.45 + 0.01 * (age - MIN_AGE))
    elif self_care == "semi_disabled":
        serious, chronic = 0.2, 0.7
    else:
        serious, chronic = 0.5, 0.5
    u = rng.random()
    return "serious_illness" if u < serious else "chronic_illness" if u < serious + chronic else "good"


def _income(rng: random.Random, age: int, self_care: str, someone_away: bool, dibao: bool,
            tekun: bool) -> list[str]:
    sources = []
    if rng.random() < 0.96:
        sources.append("pension")
    farming = (0.05 if self_care != "full_self_care" else 0.7 if age < 70 else 0.45 if age < 80 else 0.15)
    if rng.random() < farming:
        sources.append("farming")
    if age < 70 and self_care == "full_self_care" and rng.random() < 0.12:
        sources.append("wages")
    if rng.random() < (0.85 if someone_away else 0.6):
        sources.append("children")
    if dibao:
        sources.append("dibao")
    if tekun:
        sources.append("tekun")
    return sources or ["other"]


def _person(rng: random.Random, cum: tuple, relationships: tuple) -> dict:
    relationship = relationships[bisect(cum, rng.random() * cum[-1])]
    given = _pick(rng, _ANY_FEMALE_NAMES if rng.random() < 0.5 else _ANY_MALE_NAMES)
    return {"name": _surname(rng) + given, "relationship": relationship, "phone": _phone(rng)}


def _surname(rng: random.Random) -> str:
    return SURNAMES[bisect(SURNAME_CUM, rng.random() * _SURNAME_TOTAL)]


def _destination(rng: random.Random) -> str:
    return _DESTINATION_NAMES[bisect(_DESTINATION_CUM, rng.random() * _DESTINATION_CUM[-1])]


def _phone(rng: random.Random) -> str:
    random_ = rng.random
    return f"{MOBILE_PREFIXES[int(random_() * len(MOBILE_PREFIXES))]}{int(random_() * 100_000_000):08d}"


def _pick(rng: random.Random, items: Sequence):
    # Cheaper than rng.choice (one C call instead of _randbelow); bias below 2**-40.
    return items[int(rng.random() * len(items))]


def _int(rng: random.Random, low: int, high: int) -> int:
    """A uniformly drawn int in [low, high], like rng.randint but cheaper."""
    return low + int(rng.random() * (high - low + 1))


def _uuid(rng: random.Random) -> str:
    """A version-4-shaped UUID drawn from the (seeded, so deterministic) stream."""
    bits = rng.getrandbits(128) & ~(0xF << 76) & ~(0x3 << 62) | (0x4 << 76) | (0x2 << 62)
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _day_between(rng: random.Random, first: date, last: date) -> date:
    """A uniformly drawn day in [first, last]."""
    return first + timedelta(days=_int(rng, 0, (last - first).days))


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # born 29 February: the birthday is kept on 1 March
        return day.replace(year=day.year + years, month=3, day=1)


def _next_resident_id(code6: str, elder: _Elder, counters: dict[tuple[int, str], int]) -> str:
    key = (elder.birth_date.toordinal(), elder.sex)
    n = counters.get(key, 0)
    if n >= MAX_ORDER_CODES_PER_SEX - (elder.sex == "female"):
        raise ValueError(f"more than {n} {elder.sex} elders born on {elder.birth_date} in {code6}: "
                         "resident ID order codes exhausted; generate fewer elders per county")
    counters[key] = n + 1
    return make_resident_id(code6, elder.birth_date, order_code(n, elder.sex), elder.sex)


def _register_command(household: _Household, household_id: str, elder: _Elder, resident_id: str) -> dict:
    village = household.village
    return {"command": "register_elder", "payload": {
        "elder_id": elder.elder_id,
        "resident_id": resident_id,
        "name": elder.name,
        "sex": elder.sex,
        "birth_date": elder.birth_date.isoformat(),
        "division_code": village.code,
        "household_id": household_id,
        "address": f"{village.township_name}{village.name}{household.group}组{household.house}号",
        "phone": elder.phone,
        "contacts": [dict(contact) for contact in household.contacts],
        "supporters": [{
            "supporter_id": s.supporter_id, "name": s.name, "relationship": s.relationship, "phone": s.phone,
            "whereabouts": s.whereabouts, "left_on": s.left_on.isoformat() if s.left_on else None,
        } for s in household.supporters],
        "carer": dict(household.carer) if household.carer else None,
        "income_sources": list(elder.income_sources),
        "support_status": dict(elder.support_status),
        "health": elder.health,
        "self_care_level": elder.self_care,
        "lives_alone": elder.lives_alone,
        "effective_date": household.registered_on.isoformat(),
    }}


# --- change commands ---------------------------------------------------------------------
# Every probability below is divided by CHANGE_GATE because only gated households get here.

_RANK = {"record_supporter_returned": 0, "record_supporter_left": 1, "assess_self_care": 2,
         "record_hospitalisation": 3, "record_death": 4}
_REASSESSMENT = {
    "full_self_care": (("semi_disabled", "fully_disabled", "full_self_care"), (0.75, 0.90)),
    "semi_disabled": (("fully_disabled", "semi_disabled", "full_self_care"), (0.55, 0.80)),
    "fully_disabled": (("fully_disabled", "semi_disabled", "full_self_care"), (0.80, 1.0)),
}


def _change_commands(rng: random.Random, county: _County, household: _Household, today: date) -> Iterator[dict]:
    first = household.registered_on
    if first >= today:
        return
    shared = _supporter_changes(rng, household, first, today)
    for elder in household.elders:
        changes = list(shared)
        changes += _elder_changes(rng, county, household, elder, first, today)
        changes.sort(key=lambda change: (change[0], _RANK[change[1]]))
        for day, command, fields in changes:
            yield {"command": command, "payload": {"elder_id": elder.elder_id, **fields,
                                                   "effective_date": day.isoformat()}}
            if command == "record_death":
                break


def _supporter_changes(rng: random.Random, household: _Household, first: date, today: date) -> list[tuple]:
    changes: list[tuple] = []
    away = [s for s in household.supporters if s.left_on is not None]
    home = [s for s in household.supporters if s.left_on is None]
    if away and rng.random() < 0.06 / CHANGE_GATE:
        supporter = _pick(rng, away)
        returned = _day_after(rng, first, today)
        changes.append((returned, "record_supporter_returned", {"supporter_id": supporter.supporter_id}))
        if returned < today and rng.random() < 0.4:
            changes.append(_left(rng, supporter, _day_after(rng, returned, today)))
    if home and rng.random() < 0.15 / CHANGE_GATE:
        changes.append(_left(rng, _pick(rng, home), _day_after(rng, first, today)))
    return changes


def _left(rng: random.Random, supporter: _Supporter, day: date) -> tuple:
    phone = supporter.phone if rng.random() < 0.7 else _phone(rng)
    return (day, "record_supporter_left",
            {"supporter_id": supporter.supporter_id, "whereabouts": _destination(rng), "phone": phone})


def _elder_changes(rng: random.Random, county: _County, household: _Household, elder: _Elder,
                   first: date, today: date) -> list[tuple]:
    changes: list[tuple] = []
    township = household.village.township_name
    if rng.random() < 0.08 / CHANGE_GATE:
        levels, cum = _REASSESSMENT[elder.self_care]
        level = levels[bisect(cum, rng.random())]
        changes.append((_day_after(rng, first, today), "assess_self_care",
                        {"level": level, "assessor": f"{township}民政所"}))
    p_hospital = 0.04 * (3 if elder.health == "serious_illness" else 1.5 if elder.health == "chronic_illness"
                         else 1) * (1.5 if elder.age >= 80 else 1)
    if rng.random() < min(p_hospital, CHANGE_GATE) / CHANGE_GATE:
        u = rng.random()
        hospital = (f"{township}卫生院" if u < 0.4 else f"{county.name}人民医院" if u < 0.75
                    else f"{county.name}中医院" if u < 0.9 else f"{county.city_name}人民医院")
        changes.append((_day_after(rng, first, today), "record_hospitalisation", {"hospital": hospital}))
    p_death = 0.0035 * (1 if elder.age < 70 else 2 if elder.age < 80 else 4 if elder.age < 90 else 8) \
        * (1 if elder.self_care == "full_self_care" else 2 if elder.self_care == "semi_disabled" else 4)
    if rng.random() < p_death / CHANGE_GATE:
        changes.append((_day_after(rng, first, today), "record_death", {}))
    return changes


def _day_after(rng: random.Random, after: date, last: date) -> date:
    """A uniformly drawn day in (after, last]; ``after < last``."""
    return after + timedelta(days=_int(rng, 1, (last - after).days))


# --- command line --------------------------------------------------------------------------

def write_jsonl(commands: Iterator[dict], handle) -> int:
    count = 0
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    for command in commands:
        handle.write(dumps(command))
        handle.write("\n")
        count += 1
    return count


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo.generator",
                                     description="Write registry commands for a synthetic county as JSON lines.")
    parser.add_argument("--elders", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--county", default="410928", help="6- or 12-digit county code (default 410928)")
    parser.add_argument("--today", type=date.fromisoformat, default=DEFAULT_TODAY,
                        help="latest effective date, YYYY-MM-DD (default %(default)s)")
    parser.add_argument("--divisions", nargs="+", type=Path, default=list(DEFAULT_DIVISION_FILES),
                        help="division CSV files (default: the shipped table)")
    parser.add_argument("--out", default="-", help="output file; '-' for standard output")
    args = parser.parse_args(argv)
    try:
        commands = generate_county(args.county, args.elders, args.seed, args.today,
                                   load_division_rows(args.divisions))
        if args.out == "-":
            count = write_jsonl(commands, sys.stdout)
        else:
            with open(args.out, "w", encoding="utf-8", newline="\n") as handle:
                count = write_jsonl(commands, handle)
    except ValueError as exc:
        parser.exit(2, f"error: {exc}\n")
    print(f"wrote {count} commands for {args.elders} elders", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
