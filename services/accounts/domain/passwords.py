"""How strong a password must be: long enough, not one of the commonly used passwords, not
the login or name, and not guessable by zxcvbn's estimate. Pure: the common list and the
estimator are passed in (``adapters.secrets``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Collection

MIN_LENGTH = 10
MAX_LENGTH = 128
MIN_SCORE = 3          # zxcvbn 0–4: 3 is "safely unguessable: moderate protection from offline attack"


@dataclass(frozen=True)
class PasswordRules:
    common: Collection[str]
    score: Callable[[str, list[str]], int]     # (password, words the person is known by) -> 0..4
    min_length: int = MIN_LENGTH

    def problems(self, password: object, login: str = "", name: str = "") -> list[str]:
        if not isinstance(password, str):
            return ["must be a string"]
        if len(password) < self.min_length:
            return [f"must be at least {self.min_length} characters"]
        if len(password) > MAX_LENGTH:
            return [f"must be at most {MAX_LENGTH} characters"]
        lowered = password.lower()
        if lowered in self.common or lowered.rstrip("0123456789!.") in self.common:
            return ["is one of the most commonly used passwords; choose another"]
        if login and login.lower() in lowered:
            return ["must not contain the login name"]
        if self.score(password, [w for w in (login, name) if w]) < MIN_SCORE:
            return ["is too easy to guess (a few words, or a longer mix of letters, digits and signs, is better)"]
        return []
