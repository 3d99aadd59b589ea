"""Reading a policy file (YAML) for any service: one place that turns an unreadable file or a
bad entry into a ``PolicyError`` naming the file, the entry and the setting to fix."""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable, Mapping, TypeVar

import yaml

from kernel.config import repository_path
from kernel.errors import PolicyError

T = TypeVar("T")


@lru_cache(maxsize=32)
def load_policy_file(path: str, parse: Callable[[Mapping[str, Any]], T], setting: str) -> T:
    """``parse`` builds the policy object from the file's data (raising PolicyError); the
    result is cached per process, so a service reads and checks its file once at start-up."""
    try:
        with open(repository_path(path), encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyError(f"cannot read policy file {path} (set {setting}): {exc}", field=setting) from exc
    try:
        return parse(data or {})
    except PolicyError as exc:
        raise PolicyError(f"{path}: {exc.message}", field=exc.field) from exc
