"""Identifiers. Event ids are UUIDv7 (RFC 9562): unique and ordered by creation time.

Why not ``uuid6.uuid7()``: it moves its millisecond timestamp one ms forward for every id
made within the same millisecond, so at the log's append rate (≈25k ids/s) the ids run
ahead of real time — 25 seconds per second — and stop telling when an event was created.
RFC 9562 §6.2 method 1 keeps the real millisecond and puts a counter in ``rand_a``
(12 bits, random start each millisecond); only when 4,096 ids share one millisecond does
the timestamp step forward. It is also several times cheaper (no UUID object).
"""
from __future__ import annotations

import os
import threading
import time

_lock = threading.Lock()
_last_ms = -1
_counter = 0


def _reserve(count: int) -> list[tuple[int, int]]:
    """``count`` consecutive (millisecond, counter) pairs, taken under one lock."""
    global _last_ms, _counter
    reserved = []
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        for _ in range(count):
            if now_ms > _last_ms:
                _last_ms, _counter = now_ms, int.from_bytes(os.urandom(2), "big") & 0x7FF  # leave room to count
            else:
                _counter += 1
                if _counter > 0xFFF:           # 4,096 ids in one millisecond: borrow the next one
                    _last_ms, _counter = _last_ms + 1, 0
            reserved.append((_last_ms, _counter))
    return reserved


def uuid7_strings(count: int) -> list[str]:
    """``count`` ids in increasing order. The log appends in batches, so the lock and the
    read of randomness are paid once per batch rather than once per id."""
    randomness = os.urandom(8 * count)
    ids = []
    for index, (milliseconds, counter) in enumerate(_reserve(count)):
        random_62 = int.from_bytes(randomness[8 * index:8 * index + 8], "big") & 0x3FFF_FFFF_FFFF_FFFF
        value = (milliseconds & 0xFFFF_FFFF_FFFF) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | random_62
        text = f"{value:032x}"
        ids.append(f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}")
    return ids


def uuid7_string() -> str:
    return uuid7_strings(1)[0]


def new_event_id() -> str:
    return uuid7_string()


def new_event_ids(count: int) -> list[str]:
    return uuid7_strings(count)


def new_stream_id() -> str:
    return uuid7_string()
