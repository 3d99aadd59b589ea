"""Resident identity numbers (GB 11643-1999), checked with python-stdnum.

18 characters: 6-digit address code, 8-digit birth date ``YYYYMMDD``, 3-digit order code
whose parity is the sex (odd = male, even = female) and one ISO 7064 MOD 11-2 check
character (``0``–``9`` or ``X``).

Why not plain ``stdnum.cn.ric.validate``: stdnum 2.2 also requires the address code to
have existed *in the birth year* (its table says 濮阳县 410928 exists from 1987), so it
rejects genuine numbers of elders born before a county was (re)coded — the address code is
where the number was assigned, not where the person was born. We keep stdnum's length,
format, checksum and date checks and ask only that the address code appears in stdnum's
table at some time.
"""
from __future__ import annotations

from datetime import date
from functools import lru_cache

from stdnum import numdb
from stdnum.cn import ric
from stdnum.exceptions import (InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength,
                               ValidationError)


def check_character(body17: str) -> str:
    """ISO 7064 MOD 11-2 check character of the first 17 digits."""
    # stdnum's calc_check_digit expects the full number and ignores its last character.
    return ric.calc_check_digit(body17 + "0")


def validate(number: str) -> str:
    """The compacted number if valid; else a ``stdnum.exceptions.ValidationError`` (a ValueError)."""
    number = ric.compact(number)
    if len(number) != 18:
        raise InvalidLength()
    if not number[:17].isascii() or not number[:17].isdigit():
        raise InvalidFormat()
    if number[-1] != ric.calc_check_digit(number):
        raise InvalidChecksum()
    ric.get_birth_date(number)
    if not is_known_address_code(number[:6]):
        raise InvalidComponent()
    return number


PROBLEMS = {
    InvalidLength: "must be 18 characters: 17 digits and a check digit or X",
    InvalidFormat: "must be 18 characters: 17 digits and a check digit or X",
    InvalidChecksum: "check character does not match (GB 11643)",
    InvalidComponent: "characters 1-6 are not a known address code, or 7-14 not a valid birth date",
}


def problems(number: object) -> list[str]:
    """Why ``number`` is not a valid resident identity number (empty when it is)."""
    if not isinstance(number, str):
        return [PROBLEMS[InvalidFormat]]
    try:
        validate(number)
    except ValidationError as error:
        return [PROBLEMS.get(type(error), str(error))]
    return []


@lru_cache(maxsize=8192)
def is_known_address_code(code6: str) -> bool:
    """Whether stdnum's table lists ``code6`` as a county-level code at any time."""
    return any("county" in props for _, props in numdb.get("cn/loc").info(code6))


def birth_date_of(number: str) -> date:
    return ric.get_birth_date(number)


def sex_of(number: str) -> str:
    return "male" if int(number[16]) % 2 else "female"
