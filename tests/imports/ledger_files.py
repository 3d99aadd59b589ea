"""Ledger files for the import tests: the demo county's ledger (``demo.ledger``) with bad rows
and near-duplicates put in on purpose at known row numbers."""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date

from demo.ledger import HEADERS, KEY_OF, demo_rows, to_csv, to_xlsx  # noqa: F401 - re-exported for the tests
from demo.residents import check_character

TODAY = date(2026, 11, 23)


def with_id_character(resident_id: str, position: int, character: str, recompute_check: bool = True) -> str:
    body = resident_id[:position] + character + resident_id[position + 1:17]
    return body + (check_character(body) if recompute_check else resident_id[17])


BAD_KINDS = ("check_character", "unknown_village", "future_birth_date", "bad_sex", "blank_name",
             "future_registration", "not_a_date")


@dataclass
class Ledger:
    rows: list[dict]
    bad: dict[int, str] = field(default_factory=dict)            # spreadsheet row number → kind
    near: dict[int, int] = field(default_factory=dict)           # row number → the row it nearly repeats

    def number(self, index: int) -> int:
        return index + 2           # header is row 1


def spoiled(rows: list[dict], bad_share: float, near_share: float, seed: int = 11) -> Ledger:
    """``rows`` with ``bad_share`` of them made bad (each kind in turn) and ``near_share``
    near-duplicates added: the same person typed again under another resident ID (same name
    and birth date, same household), or with one digit of the ID mistyped."""
    rng = random.Random(seed)
    rows = [dict(r) for r in rows]
    ledger = Ledger(rows)
    bad_indexes = rng.sample(range(len(rows)), int(len(rows) * bad_share))
    for n, index in enumerate(bad_indexes):
        kind = BAD_KINDS[n % len(BAD_KINDS)]
        _spoil(rows[index], kind)
        ledger.bad[ledger.number(index)] = kind
    good = [i for i in range(len(rows)) if ledger.number(i) not in ledger.bad]
    for n, index in enumerate(rng.sample(good, int(len(rows) * near_share))):
        copy = dict(rows[index])
        resident_id = copy[KEY_OF["resident_id"]]
        if n % 2 == 0:      # another order code of the same sex and birthday, name and household
            order = int(resident_id[14:17])
            copy[KEY_OF["resident_id"]] = with_id_character(resident_id[:14] + f"{(order + 800) % 1000:03d}",
                                                            16, resident_id[16])
        else:               # one digit of the order code mistyped, its check recomputed; another name
            copy[KEY_OF["resident_id"]] = with_id_character(resident_id, 14, "9" if resident_id[14] != "9" else "8")
            copy[KEY_OF["name"]] = copy[KEY_OF["name"]] + "华"
            copy[KEY_OF["household_id"]] = copy[KEY_OF["household_id"]] + "-b"
        rows.append(copy)
        ledger.near[ledger.number(len(rows) - 1)] = ledger.number(index)
    return ledger


def _spoil(row: dict, kind: str) -> None:
    if kind == "check_character":
        rid = row[KEY_OF["resident_id"]]
        row[KEY_OF["resident_id"]] = rid[:17] + ("0" if rid[17] != "0" else "1")
    elif kind == "unknown_village":
        row[KEY_OF["village"]] = "不存在村"
    elif kind == "future_birth_date":
        row[KEY_OF["birth_date"]] = "2027-05-01"
    elif kind == "bad_sex":
        row[KEY_OF["sex"]] = "未知"
    elif kind == "blank_name":
        row[KEY_OF["name"]] = ""
    elif kind == "future_registration":
        row[KEY_OF["registered_on"]] = "2026-12-30"
    elif kind == "not_a_date":
        row[KEY_OF["birth_date"]] = "一九四五年"


