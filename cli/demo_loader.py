"""Feed the generated demo county to the running registry over RPC, many calls in flight."""
from __future__ import annotations

from collections import Counter, deque

from nameko.standalone.rpc import ClusterRpcProxy

from demo.generator import generate_county
from kernel.errors import EldercareError

DEMO_ACTOR = {"department": "civil_affairs", "user": "demo-loader", "role": "county_coordinator"}


def load_demo_county(config: dict, *, elders: int, seed: int, county: str, in_flight: int,
                     progress_factory, console) -> Counter:
    outcomes: Counter = Counter()
    commands = list(generate_county(county_code=county, elders=elders, seed=seed))
    with ClusterRpcProxy({"AMQP_URI": config["AMQP_URI"], "serializer": "json"}, timeout=60) as cluster, \
            progress_factory() as progress:
        task = progress.add_task(f"demo county {county}: {elders} elders", total=len(commands))
        pending: deque = deque()   # (elder id, reply) in the order sent
        for command in commands:
            elder_id = command["payload"]["elder_id"]
            # An elder's commands must land in order (a change before its registration is
            # refused): finish everything sent before this elder's previous command.
            while pending and (len(pending) >= in_flight or any(e == elder_id for e, _ in pending)):
                _collect(pending.popleft()[1], outcomes)
                progress.advance(task)
            method = getattr(cluster.registry, command["command"])
            pending.append((elder_id, method.call_async(command["payload"], DEMO_ACTOR)))
        while pending:
            _collect(pending.popleft()[1], outcomes)
            progress.advance(task)
    console.print(f"[green]✓[/] demo county loaded: {outcomes['accepted']} commands accepted"
                  + "".join(f", {count} {kind}" for kind, count in outcomes.items() if kind != "accepted"))
    return outcomes


def _collect(reply, outcomes: Counter) -> None:
    try:
        reply.result()
        outcomes["accepted"] += 1
    except EldercareError as error:
        outcomes[f"refused ({error.code})"] += 1
