"""Throttling of failed authentication (issue 25): bad bearer tokens and bad passwords, per
client address and per account, counted by the gateway before anything is asked of the
accounts service or argon2 is run.

Each key (``("client", "10.0.0.7")``, ``("account", "wang")``) keeps the times of its
failures in a sliding window; once a key has ``limit`` of them, every attempt under it is
refused (429, ``Retry-After``: when its oldest failure leaves the window) — a right guess
included, or guessing would go on. The counts live in this gateway process's memory: each
replica counts for itself, and a restart forgets them (the accounts service's own lockout
and address throttle, kept in its log, still hold).
"""
from __future__ import annotations

import math
import threading
import time
from collections import deque

from kernel.errors import AuthenticationError, TooManyAttemptsError

CLIENT_FAILURES = 30
ACCOUNT_FAILURES = 10
WINDOW_SECONDS = 300.0
MAX_KEYS = 100_000        # bounded memory under a flood of made-up accounts


class FailureThrottle:
    def __init__(self, client_failures: int = CLIENT_FAILURES, account_failures: int = ACCOUNT_FAILURES,
                 window_seconds: float = WINDOW_SECONDS, clock=time.monotonic):
        self.limits = {"client": int(client_failures), "account": int(account_failures)}
        self.window, self.clock = float(window_seconds), clock
        self._failures: dict[tuple[str, str], deque] = {}
        self._lock = threading.Lock()

    def attempt(self, keys: dict[str, str | None], action):
        """``action()`` unless a key is out of tries; its ``AuthenticationError`` counts as a
        failure of every key, its success clears the account's count."""
        self.check(keys)
        try:
            result = action()
        except AuthenticationError:
            self.failed(keys)
            raise
        self.succeeded(keys)
        return result

    def check(self, keys: dict[str, str | None]) -> None:
        """Raise ``TooManyAttemptsError`` (naming ``client_address`` or ``login``) when any of
        ``keys`` (``{"client": address, "account": login}``) has used up its failures."""
        now = self.clock()
        with self._lock:
            for kind, value in _present(keys):
                times = self._recent((kind, value), now)
                if times is not None and len(times) >= self.limits[kind]:
                    wait = max(1, math.ceil(times[0] + self.window - now))
                    who = "this client address" if kind == "client" else "this account"
                    raise TooManyAttemptsError(
                        f"too many failed authentications from {who}; try again in {wait} seconds",
                        retry_after_seconds=wait, field="client_address" if kind == "client" else "login")

    def failed(self, keys: dict[str, str | None]) -> None:
        now = self.clock()
        with self._lock:
            if len(self._failures) >= MAX_KEYS:
                self._failures = {key: times for key, times in self._failures.items()
                                  if times and times[-1] > now - self.window}
            for key in _present(keys):
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, keys: dict[str, str | None]) -> None:
        """A right password clears its account's count (not its client's: one good account
        must not let a client go on guessing others)."""
        with self._lock:
            account = keys.get("account")
            if account:
                self._failures.pop(("account", account), None)

    def _recent(self, key, now):
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times


def _present(keys: dict[str, str | None]):
    return [(kind, str(value)[:256]) for kind, value in keys.items() if value]
