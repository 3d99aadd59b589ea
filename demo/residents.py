"""Resident identity numbers (GB 11643-1999) for demo elders.

18 characters: 6-digit address code, 8-digit birth date ``YYYYMMDD``, 3-digit order code
whose parity is the sex (odd = male, even = female) and one check character computed by
ISO 7064 MOD 11-2 (``0``–``9`` or ``X``). The check character comes from
``stdnum.cn.ric.calc_check_digit``.

Validation lives in ``kernel.resident_id`` (shared with the registry).
"""
from __future__ import annotations

from datetime import date

from kernel.resident_id import check_character, is_known_address_code, sex_of
from kernel.resident_id import validate as validate_resident_id

__all__ = ["make_resident_id", "order_code", "check_character", "validate_resident_id",
           "is_known_address_code", "sex_of"]

SEXES = ("male", "female")
MAX_ORDER_CODES_PER_SEX = 500  # 001, 003 … 999 for men; 000, 002 … 998 for women


def make_resident_id(address_code6: str, birth_date: date, sequence: int, sex: str) -> str:
    """The 18-character number for the given parts.

    ``sequence`` is the 3-digit order code itself (0–999); its parity must match ``sex``
    (``"male"``: odd, ``"female"``: even). Use :func:`order_code` to get the n-th code of a sex.
    """
    if len(address_code6) != 6 or not address_code6.isascii() or not address_code6.isdigit():
        raise ValueError(f"address code must be 6 digits, got {address_code6!r}")
    if sex not in SEXES:
        raise ValueError(f"sex must be 'male' or 'female', got {sex!r}")
    if not 0 <= sequence <= 999:
        raise ValueError(f"order code must be 0..999, got {sequence}")
    if (sequence % 2 == 1) != (sex == "male"):
        raise ValueError(f"order code {sequence:03d} is {'odd' if sequence % 2 else 'even'}, "
                         f"which does not encode sex {sex!r}")
    if not 1000 <= birth_date.year <= 9999:
        raise ValueError(f"birth year {birth_date.year} does not fit in 4 digits")
    body = f"{address_code6}{birth_date.year:04d}{birth_date.month:02d}{birth_date.day:02d}{sequence:03d}"
    return body + check_character(body)


def order_code(n: int, sex: str) -> int:
    """The n-th (0-based) order code of a sex: men 1, 3, 5 …; women 2, 4, 6 … (000 unused)."""
    if sex not in SEXES:
        raise ValueError(f"sex must be 'male' or 'female', got {sex!r}")
    code = 2 * n + (1 if sex == "male" else 2)
    if not 0 <= n or code > 999:
        raise ValueError(f"no {n}-th order code for {sex}: at most 499 women / 500 men per "
                         "address code and birth date")
    return code


