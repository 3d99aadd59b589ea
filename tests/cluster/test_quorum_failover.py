"""A real 3-node RabbitMQ cluster on loopback, quorum queues, and a node killed (SIGKILL) in
the middle of a stream of registry commands: every event reaches visits exactly once and
every projection equals a replay of its log.

Set-up: the three nodes (bench/cluster_load.py) are separate Erlang VMs with their own names,
ports and data directories, joined with `rabbitmqctl join_cluster`. The consumer queues are
declared as quorum queues through node 2, so node 2 leads them. The registry and visits
services run in this process and connect to node 1, with node 3 as kombu's failover
(`amqp://n1;amqp://n3`). A third of the way through the stream, node 2 is killed: the quorum
queues elect a new leader on node 1 or 3 while the relay publishes and visits consumes.

Size: CLUSTER_TEST_COMMANDS demo-county registry commands, default 5,000 so that the test fits
its share of CI's time on this 2-core machine; CLUSTER_TEST_COMMANDS=10000 runs the issue's
10k (measured: 270 s with the machine also running another test suite and a benchmark). The
cluster itself takes 20-40 s to start. Run just this test with `bin/test -m cluster`, or leave
it out with `-m "not cluster"`.
"""
import os
from collections import Counter

import pytest
from sqlalchemy import select

from bench.cluster_load import (LoopbackRabbitCluster, declare_topology, demo_commands, rabbitmq_available,
                                run_stream, visits_subscribed_types)
from contracts import CATALOGUE
from kernel.db import create_service_engine
from kernel.replay import replay_and_compare
from kernel.schema import events, inbox
from services.registry.service import RegistryService
from services.visits.service import VisitsService

COMMANDS = int(os.environ.get("CLUSTER_TEST_COMMANDS", "5000"))
pytestmark = [pytest.mark.cluster, pytest.mark.timeout(600)]


@pytest.fixture
def cluster(tmp_path):
    if not rabbitmq_available():
        pytest.skip("rabbitmq-server is not installed (Debian: apt-get install rabbitmq-server)")
    cluster = LoopbackRabbitCluster(size=3, base=tmp_path / "rabbit")
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.close()           # stops every node and removes their directories, even on failure
    assert not (tmp_path / "rabbit").exists()


def _rows(url, statement):
    engine = create_service_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(statement).all()
    finally:
        engine.dispose()


def test_a_node_killed_mid_stream_loses_nothing_and_applies_nothing_twice(cluster, tmp_path, monkeypatch):
    monkeypatch.setenv("LOG_LEVEL", os.environ.get("CLUSTER_TEST_LOG_LEVEL", "WARNING"))  # 10k commands
    leader_node, survivors = cluster.nodes[1].name, {cluster.nodes[0].name, cluster.nodes[2].name}
    assert set(cluster.running_nodes()) == {node.name for node in cluster.nodes}
    declare_topology(cluster.uri(1), "quorum")
    before = cluster.queue_leaders()
    assert before["visits.on_registry_event"] == ("quorum", leader_node)

    commands = demo_commands(COMMANDS)
    kill_at = len(commands) // 3

    def kill_the_leader(sent):
        if sent == kill_at:
            cluster.kill(1)

    work = tmp_path / "databases"
    work.mkdir()
    result = run_stream(cluster.failover_uri(0, 2), "quorum", work, commands, on_progress=kill_the_leader)
    print(f"\n{len(commands)} commands: accepted in {result.seconds_to_accept:.1f} s, visits caught up "
          f"{result.seconds_to_converge:.1f} s later; outcomes {dict(result.outcomes)}; "
          f"retried after a broker error: {result.retried}")

    # The node is gone and the queues live on, led by a survivor.
    assert set(cluster.running_nodes()) == survivors
    after = cluster.queue_leaders()
    assert after["visits.on_registry_event"][0] == "quorum"
    assert after["visits.on_registry_event"][1] in survivors

    # Nothing lost: every registration is in the registry's log once; every command was answered
    # (a command whose reply was lost to the broker was sent again and then refused as a duplicate).
    registered = [c["payload"]["elder_id"] for c in commands if c["command"] == "register_elder"]
    logged = [row.stream_id for row in _rows(result.urls["registry"], select(events.c.stream_id).where(
        events.c.type == "registry.elder_registered.v1"))]
    assert sorted(logged) == sorted(set(registered)) == sorted(registered)
    refused = {kind: n for kind, n in result.outcomes.items() if kind.startswith("refused")}
    assert sum(refused.values()) <= result.retried, refused

    # Every registry event visits subscribes to was applied by visits exactly once.
    types = visits_subscribed_types()
    published = {row.event_id for row in _rows(result.urls["registry"], select(events.c.event_id).where(
        events.c.type.in_(types)))}
    applied = [row.event_id for row in _rows(result.urls["visits"], select(inbox.c.event_id).where(
        inbox.c.consumer == "visits.on_registry_event"))]
    assert len(applied) == len(set(applied))
    assert set(applied) == published
    assert len(published) > len(commands) // 4            # the stream exercised visits

    # Nothing applied twice downstream either: no visits event derived twice from one cause.
    derived = Counter((row.stream_id, row.type, row.causation_id) for row in _rows(
        result.urls["visits"], select(events.c.stream_id, events.c.type, events.c.causation_id)
        .where(events.c.causation_id.is_not(None))))
    assert not [key for key, count in derived.items() if count > 1]

    # Every projection equals a replay of its service's log.
    config = {"DATABASES": result.urls}
    for name, service in (("registry", RegistryService), ("visits", VisitsService)):
        engine = create_service_engine(result.urls[name])
        try:
            replayed, drifts = replay_and_compare(name, engine, service.db.projections_for(config), CATALOGUE,
                                                  scratch_dir=str(tmp_path))
        finally:
            engine.dispose()
        assert replayed > 0
        assert drifts == [], f"{name}: {[d.to_dict() for d in drifts[:5]]}"
