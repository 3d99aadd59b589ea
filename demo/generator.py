"""A deterministic stream of registry commands for one county's left-behind elders.

``generate_county()`` yields plain dicts ``{"command": ..., "payload": {...}}``: first one
``register_elder`` per elder, then the change commands (``record_supporter_returned``,
``record_supporter_left``, ``assess_self_care``, ``record_hospitalisation``,
``record_death``), elder by elder in registration order, each elder's changes in date
order and nothing after a death. All dates are ISO strings and never after ``today``.

Determinism and scale: every household draws from its own ``random.Random`` seeded by
(county, seed, household number), and identifiers come from that stream or from uuid5,
so the same arguments give byte-identical output and another seed gives other data.
The change pass regenerates only the households that may change (a first draw gates
them) instead of remembering elders, so memory is O(villages + birth dates), not
O(elders).

Assumptions (rough figures for a rural county of the North China plain; tests check them
with tolerance):

* **Households**: 40% are couples who are both 60+ and registered together (same
  household, address, children, carer, 低保 status); the rest are single elders. Men are
  0–6 years older than their wives.
* **Age** on ``today``: 60–100, truncated exponential with scale 14 years (median about
  70; 80+ about 18%). Birth day uniform within the year of age.
* **Sex**: couples one of each; single elders 62% women (widows outlive husbands), about
  55% women overall.
* **Supporters**: 1–4 (20/35/28/17%); sons 45%, daughters 35%, daughters-in-law 8%,
  grandchildren 7%, sons-in-law 3%, other 2%. Children carry the husband's surname.
  ~70% of elders have *all* supporters away, ~15% some, ~15% none. Destinations: Guangdong
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
* **Phones**: elders 80% (falling with age), supporters always; random 11-digit numbers
  on real mobile prefixes, so never send real messages to them.
* **Changes** after registration: an away supporter returns for good (6% of elders with
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
import uuid
from bisect import bisect
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Iterator, Sequence

from demo.divisions import DEFAULT_DIVISION_FILES, Division, load_division_rows
from demo.residents import MAX_ORDER_CODES_PER_SEX, make_resident_id, order_code

DEFAULT_TODAY = date(2026, 11, 1)
ELDER_NAMESPACE = uuid.UUID("6f1d7a52-3c1e-5b8e-9a57-2f0e41092800")

MIN_AGE, MAX_AGE = 60, 100
AGE_SCALE_YEARS = 14.0
COUPLE_SHARE = 0.40
SINGLE_FEMALE_SHARE = 0.62
LEFT_WINDOW_DAYS = 3 * 365
CHANGE_GATE = 0.30  # share of households regenerated in the change pass; >= every change probability

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
                    "山", "林", "忠", "義", "海", "明")
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


@dataclass
class _Supporter:
    supporter_id: str
    name: str
    relationship: str
    phone: str
    whereabouts: str | None
    left_on: date | None


@dataclass
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


@dataclass
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


def _generate(county: _County, elders: int, seed: int, today: date) -> Iterator[dict]:
    household_counts = [0] * len(county.villages)
    order_counters: dict[tuple[int, str], int] = {}
    households = 0
    last_room = 2
    while elders - _produced(households, last_room, elders) > 0 if False else True:
        break
    produced = 0
    while produced < elders:
        room = min(2, elders - produced)
        household = _make_household(_household_rng(county, seed, households), county, seed, households, today, room)
        household_counts[household.village_index] += 1
        household_id = f"{household.village.code}-{household_counts[household.village_index]:04d}"
        for elder in household.elders:
            yield _register_command(household, household_id, elder,
                                    _next_resident_id(county.code6, elder, order_counters))
        produced += len(household.elders)
        households += 1
        last_room = room
    for number in range(households):
        rng = _household_rng(county, seed, number)
        room = last_room if number == households - 1 else 2
        household = _make_household(rng, county, seed, number, today, room, gated=True)
        if household is not None:
            yield from _change_commands(rng, county, household, today)
