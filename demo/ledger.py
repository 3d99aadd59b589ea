"""The demo county as the Excel/CSV ledger a county keeps (台账): the rows its villages would
type, Chinese headers and values (``services.imports.ledger``'s columns), for trying the
ledger import and for its tests and benchmark.

    python -m demo.ledger --elders 3000 --out 台账.xlsx
"""
from __future__ import annotations

import argparse
import csv
import io
from datetime import date

from demo.generator import generate_county
from kernel.divisions import DivisionTable, configured_division_table
from services.imports.ledger import COLUMNS

HEADERS = [column.header for column in COLUMNS]
KEY_OF = {column.key: column.header for column in COLUMNS}
RELATIONSHIP_ZH = {"son": "儿子", "daughter": "女儿", "daughter_in_law": "儿媳", "son_in_law": "女婿",
                   "grandchild": "孙子女", "other": "其他"}
SELF_CARE_ZH = {"full_self_care": "全自理", "semi_disabled": "半失能", "fully_disabled": "全失能"}
HEALTH_ZH = {"good": "良好", "chronic_illness": "慢性病", "serious_illness": "重病"}
INCOME_ZH = {"pension": "养老金", "farming": "务农", "children": "子女供给", "dibao": "低保金", "tekun": "特困供养金",
             "wages": "工资", "other": "其他"}


def ledger_row(payload: dict, divisions: DivisionTable) -> dict:
    """One ledger line (header → cell text) for a demo ``register_elder`` payload."""
    village = divisions.get(payload["division_code"])
    township = divisions.get(payload["division_code"][:9] + "000")
    row = {KEY_OF["name"]: payload["name"], KEY_OF["sex"]: "男" if payload["sex"] == "male" else "女",
           KEY_OF["resident_id"]: payload["resident_id"], KEY_OF["birth_date"]: payload["birth_date"],
           KEY_OF["township"]: township.name, KEY_OF["village"]: payload["division_code"],
           KEY_OF["household_id"]: payload["household_id"], KEY_OF["address"]: payload["address"],
           KEY_OF["phone"]: payload["phone"] or "",
           KEY_OF["income_sources"]: "、".join(INCOME_ZH[i] for i in payload["income_sources"]),
           KEY_OF["support_status"]: "、".join(label for key, label in (("dibao", "低保"), ("tekun", "特困"),
                                                                       ("poverty_registered", "建档立卡"))
                                              if payload["support_status"].get(key)),
           KEY_OF["health"]: HEALTH_ZH.get(payload["health"], payload["health"] or ""),
           KEY_OF["self_care_level"]: SELF_CARE_ZH[payload["self_care_level"]],
           KEY_OF["lives_alone"]: "是" if payload["lives_alone"] else "否",
           KEY_OF["registered_on"]: payload["effective_date"]}
    if village is not None and _unique_name(divisions, village):
        row[KEY_OF["village"]] = village.name
    for n, supporter in enumerate(payload["supporters"][:3], start=1):
        row.update({f"赡养人{n}姓名": supporter["name"],
                    f"赡养人{n}关系": RELATIONSHIP_ZH.get(supporter["relationship"], supporter["relationship"]),
                    f"赡养人{n}电话": supporter["phone"] or "", f"赡养人{n}去向": supporter["whereabouts"] or "",
                    f"赡养人{n}外出日期": supporter["left_on"] or ""})
    if payload["carer"]:
        row.update({"委托照料人": payload["carer"]["name"],
                    "委托照料人关系": RELATIONSHIP_ZH.get(payload["carer"]["relationship"], "其他"),
                    "委托照料人电话": payload["carer"]["phone"]})
    return row


_UNIQUE: dict = {}


def _unique_name(divisions, village) -> bool:
    key = (id(divisions), village.code[:9], village.name)
    if key not in _UNIQUE:
        same = [c for c in divisions.villages_within(village.code[:9]) if divisions.get(c).name == village.name]
        _UNIQUE[key] = len(same) == 1
    return _UNIQUE[key]


def demo_rows(count: int, seed: int = 7, today: date = date(2026, 11, 23)) -> list[dict]:
    """The register_elder commands of a demo county of ``count`` elders, as ledger rows."""
    divisions = configured_division_table({})
    commands = generate_county("410928", elders=count, seed=seed, today=today)
    return [ledger_row(c["payload"], divisions) for c in commands if c["command"] == "register_elder"][:count]


def to_csv(rows: list[dict], headers=HEADERS) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    for row in rows:
        writer.writerow([row.get(h, "") for h in headers])
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(rows: list[dict], headers=HEADERS) -> bytes:
    from openpyxl import Workbook
    book = Workbook(write_only=True)
    sheet = book.create_sheet("台账")
    sheet.append(headers)
    for row in rows:
        sheet.append([row.get(h, "") for h in headers])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo.ledger", description=__doc__)
    parser.add_argument("--elders", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", default="台账.xlsx", help="a .xlsx or .csv file")
    args = parser.parse_args(argv)
    rows = demo_rows(args.elders, args.seed)
    with open(args.out, "wb") as out:
        out.write(to_csv(rows) if args.out.endswith(".csv") else to_xlsx(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
