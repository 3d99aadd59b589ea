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


def _next_ms_and_counter() -> tuple[int, int]:
    global _last_ms, _counter
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms > _last_ms:
            _last_ms, _counter = now_ms, int.from_bytes(os.urandom(2), "big") & 0x7FF  # leave room to count
        else:
            _counter += 1
            if _counter > 0xFFF:           # 4,096 ids in one millisecond: borrow the next one
                _last_ms, _counter = _last_ms + 1, 0
        return _last_ms, _counter


def uuid7_string() -> str:
    milliseconds, counter = _next_ms_and_counter()
    random_62 = int.from_bytes(os.urandom(8), "big") & 0x3FFF_FFFF_FFFF_FFFF
    value = (milliseconds & 0xFFFF_FFFF_FFFF) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | random_62
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def new_event_id() -> str:
    return uuid7_string()


def new_stream_id() -> str:
    return uuid7_string()
