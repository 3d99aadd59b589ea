"""Probable duplicates in the elder ledger: which two records may be the same person.

Shared by the registry (a row against the records it holds) and the ledger import (rows of
one file against each other), so both name the same pairs for the same reasons.

- the same resident ID is always the same person (not a question to ask anyone);
- the same name and birth date in one township, the same household and name, or resident
  IDs one character apart are *probably* the same person: a person decides.

"One character apart" compares the first 17 characters (the check character follows from
them): MOD 11-2 detects every single substitution, so two *valid* numbers never differ in
exactly one character; a typo re-entered with its check character recomputed differs in the
body and the check, and a typo left as typed fails its check. Both are caught here.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

SAME_RESIDENT_ID = "same_resident_id"
NAME_BIRTH_DATE_TOWNSHIP = "name_birth_date_township"
HOUSEHOLD_NAME = "household_name"
RESIDENT_ID_ONE_OFF = "resident_id_one_character_off"
PROBABLE_REASONS = (NAME_BIRTH_DATE_TOWNSHIP, HOUSEHOLD_NAME, RESIDENT_ID_ONE_OFF)

REASON_LABELS = {
    SAME_RESIDENT_ID: ("身份证号相同", "same resident ID"),
    NAME_BIRTH_DATE_TOWNSHIP: ("同一乡镇姓名和出生日期相同", "same name and birth date in one township"),
    HOUSEHOLD_NAME: ("同户同名", "same household and name"),
    RESIDENT_ID_ONE_OFF: ("身份证号仅差一位", "resident ID one character off"),
}
BODY_LENGTH = 17


@dataclass(frozen=True)
class Person:
    """What likeness compares; ``ref`` is the caller's handle (a row number, an elder id)."""

    ref: object
    resident_id: str
    name: str
    birth_date: str           # ISO text, as it came
    village_code: str         # 12 digits (the township is its first 9)
    household_id: str

    @property
    def township_code(self) -> str:
        return self.village_code[:9]


def normalised_id(resident_id: str) -> str:
    return (resident_id or "").strip().upper()


def masked_keys(resident_id: str) -> list[str]:
    """The body with each position blanked in turn: two bodies one character apart share one."""
    body = normalised_id(resident_id)[:BODY_LENGTH]
    if len(body) != BODY_LENGTH:
        return []
    return [f"{i}:{body[:i]}{body[i + 1:]}" for i in range(BODY_LENGTH)]


def one_character_apart(a: str, b: str) -> bool:
    a, b = normalised_id(a), normalised_id(b)
    if a == b or len(a) != 18 or len(b) != 18:
        return False
    return sum(x != y for x, y in zip(a[:BODY_LENGTH], b[:BODY_LENGTH])) <= 1


class LikenessIndex:
    """People indexed so that each probable duplicate of a newcomer is found in O(1)."""

    def __init__(self, people=()):
        self._by_id: dict[str, list[Person]] = defaultdict(list)
        self._by_mask: dict[str, list[Person]] = defaultdict(list)
        self._by_name_birth: dict[tuple, list[Person]] = defaultdict(list)
        self._by_household_name: dict[tuple, list[Person]] = defaultdict(list)
        for person in people:
            self.add(person)

    def add(self, person: Person) -> None:
        self._by_id[normalised_id(person.resident_id)].append(person)
        for key in masked_keys(person.resident_id):
            self._by_mask[key].append(person)
        self._by_name_birth[(person.name.strip(), person.birth_date, person.township_code)].append(person)
        if person.household_id:
            self._by_household_name[(person.village_code, person.household_id.strip(), person.name.strip())
                                    ].append(person)

    def same_person(self, person: Person) -> list[Person]:
        """Indexed people with exactly this resident ID."""
        return [p for p in self._by_id.get(normalised_id(person.resident_id), ()) if p.ref != person.ref]

    def probable(self, person: Person) -> list[tuple[Person, str]]:
        """Indexed people who are probably ``person`` (not counting an identical resident ID),
        each once with the first reason that applies."""
        found: dict[object, tuple[Person, str]] = {}
        exact = normalised_id(person.resident_id)

        def note(candidates, reason):
            for other in candidates:
                if other.ref != person.ref and other.ref not in found and normalised_id(other.resident_id) != exact:
                    found[other.ref] = (other, reason)

        note(self._by_name_birth.get((person.name.strip(), person.birth_date, person.township_code), ()),
             NAME_BIRTH_DATE_TOWNSHIP)
        if person.household_id:
            note(self._by_household_name.get((person.village_code, person.household_id.strip(),
                                              person.name.strip()), ()), HOUSEHOLD_NAME)
        for key in masked_keys(person.resident_id):
            note((p for p in self._by_mask.get(key, ()) if one_character_apart(p.resident_id, exact)),
                 RESIDENT_ID_ONE_OFF)
        return list(found.values())
