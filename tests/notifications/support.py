"""Shared test data for the notifications tests: a routing book built from plain data."""
from copy import deepcopy
from datetime import datetime, timezone

from services.notifications.domain import ALERT_KINDS, RoutingBook

VILLAGE = "410928101201"
T0 = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)    # 09:00 local
LEVEL_MINUTES = {"village_committee": 60, "township": 120, "county_civil_affairs": 240}


def policy_entry(jurisdiction="", effective_from="2017-12-08", **overrides) -> dict:
    kinds = {kind: {"start_level": "village_committee"} for kind in ALERT_KINDS}
    kinds["infringement"] = {"start_level": "village_committee", "inform_family": True,
                             "departments": ["public_security", "justice"]}
    kinds["smoke_alarm"] = {"start_level": "village_committee", "inform_family": True,
                            "ack_within_minutes": {"village_committee": 10}}
    entry = {"jurisdiction": jurisdiction, "effective_from": effective_from, "source": "test policy",
             "ack_within_minutes": dict(LEVEL_MINUTES), "kinds": kinds,
             "heartbeat_allowance_minutes": {"one_key_button": 1440, "smart_bracelet": 120, "smoke_alarm": 1440,
                                             "smart_pill_box": 720},
             "referral_due_days": 7, "retry": {"attempts_per_channel": 2, "backoff_seconds": [30, 120]}}
    for name, value in overrides.items():
        entry[name] = value
    return deepcopy(entry)


def book(*entries) -> RoutingBook:
    return RoutingBook.from_dict({"routing_policies": list(entries) or [policy_entry()]})
