"""Contacts for the demo county's responsible parties, through the notifications RPC: every
village committee, township, the county's civil affairs and each department's county bureau
gets its in-app inbox (the one channel a demo has without an SMS gateway or mail server), so
the demo's alerts reach someone and its dashboard shows real alerts, not ``contact_unreachable``
about contacts nobody could have set. Family members keep the phones the registry holds."""
from __future__ import annotations

from collections import Counter, deque

from nameko.standalone.rpc import ClusterRpcProxy

from contracts.actors import DEFAULT_DEPARTMENTS
from kernel.divisions import configured_division_table
from kernel.errors import EldercareError

DEMO_ACTOR = {"department": "civil_affairs", "user": "demo-loader", "role": "county_coordinator"}


def demo_parties(villages: list[str]) -> list[str]:
    """The parties alert routing names for these villages (``notifications.domain.model``):
    one per village, township and county, and each department's county bureau."""
    counties = sorted({code[:6] for code in villages})
    return ([f"village_committee:{code}" for code in villages]
            + [f"township:{township}" for township in sorted({code[:9] for code in villages})]
            + [f"county_civil_affairs:{county}" for county in counties]
            + [f"department:{department}:{county}" for county in counties for department in DEFAULT_DEPARTMENTS])


def load_contacts(config: dict, *, county: str, console, in_flight: int = 16) -> Counter:
    villages = configured_division_table(config).villages_within(county)
    outcomes: Counter = Counter()
    with ClusterRpcProxy({"AMQP_URI": config["AMQP_URI"], "serializer": "json"}, timeout=60) as cluster:
        pending: deque = deque()
        for party in demo_parties(villages):
            if len(pending) >= in_flight:
                _collect(pending.popleft(), outcomes)
            pending.append(cluster.notifications.set_party_contacts.call_async(
                {"party": party, "channels": [{"channel": "inbox", "address": party}]}, DEMO_ACTOR))
        while pending:
            _collect(pending.popleft(), outcomes)
    console.print(f"[green]✓[/] demo contacts: the in-app inbox of {outcomes['set']} parties in {county}"
                  + "".join(f", {count} {kind}" for kind, count in outcomes.items() if kind != "set"))
    return outcomes


def _collect(reply, outcomes: Counter) -> None:
    try:
        reply.result()
        outcomes["set"] += 1
    except EldercareError as error:
        outcomes[f"refused ({error.code})"] += 1
