"""The synthetic demo county: townships and villages under 濮阳县 (410928).

The division table itself (loading, validation) belongs to the registry:
``kernel.divisions``. Rewrite ``data/divisions/demo.csv`` with
``python -m demo.divisions``, and the marked villages of the counties the shipped policies
name (``data/divisions/synthetic.csv``) with ``python -m demo.divisions --synthetic``.
"""
from __future__ import annotations

import argparse
import csv
import random
import sys
from pathlib import Path
from typing import Sequence

from kernel.divisions import (  # noqa: F401 - re-exported for demo users
    BASE_DIVISION_FILE, DEFAULT_DIVISION_FILES, DEMO_COUNTY_CODE, DEMO_DIVISION_FILE,
    DEMO_DIVISION_SEED, DEMO_TOWNSHIPS, DEMO_VILLAGES_PER_TOWNSHIP, HEADER, POLICY_COUNTIES,
    SYNTHETIC_DIVISION_FILE, SYNTHETIC_NAME_MARK, Division, level_of, load_division_rows, parent_of)


# --- the synthetic demo county -------------------------------------------------------

_TOWNSHIP_NAMES = (
    "东关镇", "河口镇", "新集镇", "柳林镇", "白堤镇", "高庄镇", "南堤镇", "三里店镇",
    "古城镇", "双庙镇", "金堤镇", "马寨镇", "清河镇", "石桥镇", "杨集镇", "梨园镇",
    "北坡镇", "西河镇", "槐树镇", "沙窝镇",
)
_VILLAGE_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
_VILLAGE_SUFFIXES = ("庄", "寨", "屯", "楼", "营", "集", "店", "堤", "口", "湾", "坊", "庙", "岗", "堂", "园", "井", "桥", "村", "河", "固")
_VILLAGE_PREFIXES = ("", "", "", "", "东", "西", "南", "北", "前", "后", "大", "小", "新")


def generate_demo_county(
    county_code: str = DEMO_COUNTY_CODE,
    townships: int = DEMO_TOWNSHIPS,
    villages_per_township: int | tuple[int, int] = DEMO_VILLAGES_PER_TOWNSHIP,
    seed: int = DEMO_DIVISION_SEED,
) -> list[Division]:
    """Synthetic township and village rows under ``county_code`` (6 or 12 digits).

    Townships are numbered 100, 101, … in the township part; the first is 城关镇, the seat.
    Each gets ``villages_per_township`` villages (an int, or an inclusive ``(low, high)``
    range drawn per township), numbered 201, 202, … in the village part. Names are drawn
    without repetition inside their parent. Same arguments, same rows.
    """
    county = county_code.ljust(12, "0")
    if len(county) != 12 or not county.isdigit() or level_of(county) != "county":
        raise ValueError(f"{county_code!r} is not a county code")
    low, high = (villages_per_township, villages_per_township) if isinstance(villages_per_township, int) \
        else villages_per_township
    if not 1 <= townships <= len(_TOWNSHIP_NAMES) + 1 or not 1 <= low <= high <= 199:
        raise ValueError("townships must be 1..21 and villages per township 1..199")
    rng = random.Random(f"demo-divisions/{county}/{seed}")
    township_names = ["城关镇", *rng.sample(_TOWNSHIP_NAMES, townships - 1)]
    rows: list[Division] = []
    for index, township_name in enumerate(township_names):
        township_code = f"{county[:6]}{100 + index:03d}000"
        rows.append(Division(township_code, township_name, "township", county))
        for village_index, village_name in enumerate(_village_names(rng, rng.randint(low, high))):
            rows.append(Division(f"{township_code[:9]}{201 + village_index:03d}", village_name,
                                 "village", township_code))
    return rows


def generate_policy_counties(counties=POLICY_COUNTIES, townships: int = 4,
                             villages_per_township: tuple[int, int] = (6, 10)) -> list[Division]:
    """Synthetic townships and villages for ``counties`` (real counties in the jurisdictions
    the shipped policies name), every name marked ``（示例）`` so nobody takes one for a real
    place; the codes follow the same numbering as the demo county's."""
    rows = []
    for county in counties:
        rows += [Division(row.code, row.name + SYNTHETIC_NAME_MARK, row.level, row.parent_code)
                 for row in generate_demo_county(county, townships, villages_per_township, int(county))]
    return rows


def _village_names(rng: random.Random, count: int) -> list[str]:
    names: list[str] = []
    while len(names) < count:
        name = rng.choice(_VILLAGE_PREFIXES) + rng.choice(_VILLAGE_SURNAMES) + rng.choice(_VILLAGE_SUFFIXES)
        name = name if name.endswith("村") else name + "村"
        if name not in names:
            names.append(name)
    return names


def write_division_rows(rows: Sequence[Division], path: str | Path) -> None:
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        for row in rows:
            writer.writerow((row.code, row.name, row.level, row.parent_code or ""))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo.divisions",
                                     description="Rewrite the synthetic demo county's division rows.")
    parser.add_argument("--out", default=str(DEMO_DIVISION_FILE))
    parser.add_argument("--county", default=DEMO_COUNTY_CODE)
    parser.add_argument("--townships", type=int, default=DEMO_TOWNSHIPS)
    parser.add_argument("--seed", type=int, default=DEMO_DIVISION_SEED)
    parser.add_argument("--synthetic", action="store_true",
                        help=f"write the policy counties' marked villages ({SYNTHETIC_DIVISION_FILE.name}) instead")
    args = parser.parse_args(argv)
    if args.synthetic:
        rows, out = generate_policy_counties(), (args.out if args.out != str(DEMO_DIVISION_FILE)
                                                 else str(SYNTHETIC_DIVISION_FILE))
    else:
        rows, out = generate_demo_county(args.county, args.townships, DEMO_VILLAGES_PER_TOWNSHIP, args.seed), args.out
    write_division_rows(rows, out)
    args.out = out
    print(f"wrote {len(rows)} rows to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
